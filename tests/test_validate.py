"""`validate`'s report, effects and constraint scan, and its exit codes.

The report tests use synthetic FactResults (no simulation). The effects and scan tests run
small ensembles with fixed seeds; their margins are explained where they are asserted.
"""

import numpy as np
import pandas as pd
import pytest

from truce_sim import cli
from truce_sim.validity import facts
from truce_sim.validity.effects import LEVERS, measure_effects, within
from truce_sim.validity.facts import FactResult
from truce_sim.validity.report import TABLE_COLUMNS, facts_table, holds, rule_fails, verdict, write_validation
from truce_sim.validity.sensitivity import SCAN_COLUMNS, constraint_scan, constraints_table

BARS = [("on", 0.8, 0.75, 0.85), ("off", 0.6, 0.55, 0.65)]
CONTROL_BARS = [("on", 0.62, 0.57, 0.67), ("off", 0.6, 0.55, 0.65)]


def fact(number=1, passed=True, control_passed=False, name="Synthetic fact") -> FactResult:
    return FactResult(
        number,
        name,
        "the lever lengthens the truce",
        "on 0.8 [0.75, 0.85]; off 0.6 [0.55, 0.65]",
        passed,
        BARS,
        "survival at 90 days",
        rule="the paired gain has its lower bound above 0",
        control="the lever's mechanism off (some_weight = 0)",
        control_measured="on 0.62 [0.57, 0.67]; off 0.6 [0.55, 0.65]",
        control_passed=control_passed,
        control_bars=CONTROL_BARS if control_passed is not None else [],
    )


@pytest.mark.parametrize(
    ("passed", "control", "expected", "fails"),
    [
        (True, False, "holds", False),
        (True, True, "does not hold: its control passes too", True),
        (False, False, "does not hold: fails as shipped", True),
        (False, True, "does not hold: fails as shipped", True),
        (True, None, "not shown: no control measured", False),
        # numpy's bools, as a rule computed on arrays gives them: np.False_ is not False
        (np.True_, np.False_, "holds", False),
        (np.True_, np.True_, "does not hold: its control passes too", True),
    ],
)
def test_verdict_holds_only_when_passed_and_control_failed(passed, control, expected, fails):
    r = fact(passed=passed, control_passed=control)
    assert verdict(r) == expected
    assert holds(r) == (expected == "holds")
    assert rule_fails(r) == fails


def test_report_shows_rule_and_control(tmp_path):
    results = [
        fact(1, True, False, "Holds"),
        fact(2, True, True, "Control passes"),
        fact(3, False, False, "Fails"),
        fact(4, True, None, "No control"),
    ]
    table = facts_table(results)
    assert list(table.columns[: len(TABLE_COLUMNS)]) == TABLE_COLUMNS
    assert list(table["verdict"]) == [
        "holds",
        "does not hold: its control passes too",
        "does not hold: fails as shipped",
        "not shown: no control measured",
    ]
    assert list(table["control result"]) == [
        "fails as it must",
        "PASSES: the fact does not rest on its mechanism",
        "fails as it must",
        "no control measured",
    ]
    effects = pd.DataFrame(
        [
            {
                "lever": "signed agreement",
                "model hazard ratio": 0.45,
                "lo": 0.4,
                "hi": 0.5,
                "published ratio": "0.4",
                "published lo": 0.4,
                "published hi": 0.4,
                "source": "Fortna 2003",
                "within factor 3": "yes",
                "note": "both signed against neither",
            }
        ]
    )
    scan = pd.DataFrame(
        [
            ["case_a", "(as shipped)", 1.0, np.nan, "median", 10.0, 7, 75, True, False],
            ["case_a", "gain_weight", 0.5, 1.0, "median", 80.0, 7, 75, False, True],
            ["case_b", "(as shipped)", 1.0, np.nan, "s365", 0.8, 0.6, 0.98, True, False],
            ["case_b", "gain_weight", 0.5, 1.0, "s365", 0.9, 0.6, 0.98, True, False],
            ["case_c", "(as shipped)", 1.0, np.nan, "s365", 0.3, 0.6, 0.98, False, False],
            ["case_c", "gain_weight", 0.5, 1.0, "s365", 0.2, 0.6, 0.98, False, False],
        ],
        columns=list(SCAN_COLUMNS),
    )
    out = write_validation(results, tmp_path / "validation", effects=effects, constraints=scan)
    page = (out / "report.html").read_text()
    assert "Validation: 1 of 4 stylized facts hold" in page
    for heading in ("pass rule", "as shipped", "control result", "verdict"):
        assert f"<th>{heading}</th>" in page
    assert "Rule: the paired gain has its lower bound above 0." in page
    assert "no control measured, so the fact is not shown" in page
    assert "Effects of the published order" in page and "Fortna 2003" in page
    assert "What the brackets constrain: 1 of 3 cases constrained" in page
    for name in ("validation.csv", "effects.csv", "constraints.csv", "constraints_scan.csv", "fact_1.png"):
        assert (out / name).is_file()
    summary = pd.read_csv(out / "constraints.csv")
    assert list(summary["constrained"]) == ["yes", "no", "no: out of a bracket as shipped"]


def test_within_a_factor_of_three():
    assert within(0.14, (0.4, 0.4)) and not within(0.13, (0.4, 0.4))
    assert within(1.5, (0.25, 0.5)) and not within(1.6, (0.25, 0.5))


def test_effects_give_hazard_ratios_with_intervals():
    # 400 worlds a arm, seed fixed: the signed-agreement ratio is about 0.4 (0.44 [0.40, 0.48] at
    # 2,000 worlds), about 100 collapses in the unsigned arm, so its upper bound (about 0.55)
    # is far below 1; the test asks only that it be below 1.
    effects = measure_effects(worlds=400)
    assert list(effects["lever"]) == [lever.name for lever in LEVERS]
    assert (effects["lo"] < effects["model hazard ratio"]).all()
    assert (effects["model hazard ratio"] < effects["hi"]).all()
    signed = effects.set_index("lever").loc["signed agreement"]
    assert signed["hi"] < 1
    assert signed["within factor 3"] == "yes"  # about 0.4 against the published 0.4


def test_constraint_scan_on_one_case():
    scan = constraint_scan(cases=["syria_2016_september"], constants=("offensive_threshold",), scale=0.05)
    assert list(scan.columns) == list(SCAN_COLUMNS)
    assert set(scan["case"]) == {"syria_2016_september"}
    # the shipped row and one per factor, for each bracketed quantity (Syria has one: median)
    assert list(scan["factor"]) == [1.0, 0.5, 1.5]
    summary = constraints_table(scan)
    assert list(summary.columns) == [
        "case",
        "constrained",
        "constants that move it out",
        "quantity and value out of bracket",
        "out of bracket as shipped",
    ]
    assert len(summary) == 1 and summary["constrained"].iloc[0] in ("yes", "no")


@pytest.mark.parametrize(
    ("passed", "control", "status"),
    [(True, False, 0), (True, True, 1), (False, False, 1), (True, None, 0)],
)
def test_validate_exit_code(tmp_path, monkeypatch, capsys, passed, control, status):
    monkeypatch.setattr(facts, "FACTS", [lambda worlds: fact(1, passed, control)])
    out = tmp_path / "validation"
    assert cli.main(["validate", "--out", str(out), "--no-sensitivity", "--no-effects"]) == status
    printed = capsys.readouterr().out
    assert "rule: the paired gain has its lower bound above 0" in printed
    assert str(out / "report.html") in printed
    assert (out / "report.html").is_file()
