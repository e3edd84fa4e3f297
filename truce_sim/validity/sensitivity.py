"""How far the historical cases move when the behavioural constants move: the sensitivity table
of the validation report, and the scan of which constants each case's brackets constrain."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from truce_sim.core.scenario import BEHAVIOUR_FIELDS
from truce_sim.validity.facts import ensemble, s90, scenario
from truce_sim.validity.targets import BRACKETS, CASES, HISTORICAL


def _legal(key: str, value: float):
    f = BEHAVIOUR_FIELDS[key]
    value = int(round(value)) if f.kind == "int" else float(value)
    return min(max(value, f.lo), f.hi)


def constants_sensitivity(
    worlds: int = 600, change: float = 0.2, progress: Callable[[int], None] | None = None
) -> pd.DataFrame:
    """Survival at 90 days of each historical case when each behavioural constant moves by
    -20% and +20% (common random numbers: the same worlds for every value). ``progress`` is
    called with 1 after each constant of each case."""

    rows = []
    for name in HISTORICAL:
        base = scenario(name)
        as_set = s90(ensemble(base, 90, worlds))[0]
        for key, f in BEHAVIOUR_FIELDS.items():
            row = {"case": name, "constant": key, "value": f.default, "s90": as_set}
            for sign, label in ((-1, "minus_20"), (1, "plus_20")):
                value = _legal(key, f.default * (1 + sign * change))
                row[f"s90_{label}"] = s90(ensemble(base.with_overrides({f"behaviour.{key}": value}), 90, worlds))[0]
            row["swing"] = abs(row["s90_plus_20"] - row["s90_minus_20"])
            rows.append(row)
            if progress is not None:
                progress(1)
    return pd.DataFrame(rows).sort_values(["case", "swing"], ascending=[True, False], ignore_index=True)


def fitted_constants() -> tuple[str, ...]:
    """The constants calibrate fits (its tuple FITTED)."""
    from truce_sim.validity import calibrate

    return tuple(calibrate.FITTED)


def _outcomes(values: dict[str, float], scale: float, cases) -> dict[str, dict]:
    """calibrate.case_outcomes for these cases only."""
    from truce_sim.validity.calibrate import case_outcomes

    return case_outcomes(values, scale, cases=[c.name for c in cases])


SCAN_COLUMNS = ("case", "constant", "factor", "value", "quantity", "simulated", "lo", "hi", "in bracket", "moves out")


def constraint_scan(
    cases=None,
    constants: tuple[str, ...] | None = None,
    change: float = 0.5,
    scale: float = 0.5,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Each case's bracketed quantities with each fitted constant at (1 - change) and
    (1 + change) times its shipped value (clipped to its legal range), against the case's
    brackets. One row per case, constant, factor and bracketed quantity; ``moves out`` marks
    a quantity in its bracket as shipped and out of it at that value. ``scale`` scales each
    case's worlds (calibrate.case_outcomes); every run uses the same seeds (common random
    numbers). ``progress`` is called with 1 after each evaluation (1 + 2 per constant)."""
    by_name = {c.name: c for c in CASES}
    cases = tuple(by_name[c] if isinstance(c, str) else c for c in (CASES if cases is None else cases))
    constants = fitted_constants() if constants is None else tuple(constants)
    names = {c.name for c in cases}
    brackets = [b for b in BRACKETS if b.case in names]
    shipped = _outcomes({}, scale, cases)
    if progress is not None:
        progress(1)
    rows = []
    for b in brackets:
        value = float(shipped[b.case][b.quantity])
        rows.append(
            {
                "case": b.case,
                "constant": "(as shipped)",
                "factor": 1.0,
                "value": float("nan"),
                "quantity": b.quantity,
                "simulated": value,
                "lo": b.lo,
                "hi": b.hi,
                "in bracket": b.holds(value),
                "moves out": False,
            }
        )
    held = {(b.case, b.quantity): b.holds(float(shipped[b.case][b.quantity])) for b in brackets}
    for key in constants:
        default = float(BEHAVIOUR_FIELDS[key].default)
        for factor in (1 - change, 1 + change):
            value = _legal(key, default * factor)
            out = _outcomes({key: value}, scale, cases)
            if progress is not None:
                progress(1)
            for b in brackets:
                simulated = float(out[b.case][b.quantity])
                inside = b.holds(simulated)
                rows.append(
                    {
                        "case": b.case,
                        "constant": key,
                        "factor": factor,
                        "value": value,
                        "quantity": b.quantity,
                        "simulated": simulated,
                        "lo": b.lo,
                        "hi": b.hi,
                        "in bracket": inside,
                        "moves out": held[(b.case, b.quantity)] and not inside,
                    }
                )
    return pd.DataFrame(rows, columns=list(SCAN_COLUMNS))


def constraints_table(scan: pd.DataFrame) -> pd.DataFrame:
    """Per case: whether it is constrained (some fitted constant at +-50% takes it out of a
    bracket it holds as shipped), which constants do, and the quantity and value that leave."""
    rows = []
    for case, group in scan.groupby("case", sort=False):
        shipped = group[group["constant"] == "(as shipped)"]
        out = group[group["moves out"]]
        moves = [
            f"{r.constant} x{r.factor:g}: {r.quantity} {r.simulated:.3g} (bracket {r.lo:g}-{r.hi:g})"
            for r in out.itertuples()
        ]
        missed = [
            f"{r.quantity} {r.simulated:.3g} (bracket {r.lo:g}-{r.hi:g})"
            for r in shipped[~shipped["in bracket"].astype(bool)].itertuples()
        ]
        rows.append(
            {
                "case": case,
                "constrained": "yes" if len(out) else ("no: out of a bracket as shipped" if missed else "no"),
                "constants that move it out": ", ".join(dict.fromkeys(out["constant"])) or "none",
                "quantity and value out of bracket": "; ".join(moves) or "-",
                "out of bracket as shipped": "; ".join(missed) or "-",
            }
        )
    return pd.DataFrame(rows)
