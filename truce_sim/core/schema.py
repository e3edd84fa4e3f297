"""The scenario schema: every field's kind, range, default and meaning, and the validator.

Facts of a case (factions, backers, mediator) and behavioural constants (from ``defaults.yaml``)
are described here once; the validator turns raw YAML data into a scenario's canonical data or
raises a :class:`ScenarioError` of one line: ``file:line: field.path: what is wrong``. The README's
field reference and docs/ODD.md list the same fields (tests check both).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from truce_sim.core.errors import UserError

DEFAULTS_PATH = Path(__file__).with_name("defaults.yaml")
REQUIRED = object()
DISTRIBUTIONS = {"uniform": 2, "normal": 2, "triangular": 3}
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class ScenarioError(UserError, ValueError):
    """A user's mistake in a scenario file or override, told in one line."""


@dataclass(frozen=True)
class Field:
    """One field of the schema: its kind, legal range, default and meaning."""

    kind: str  # number | int | str | date | days | clients
    lo: float | None = None
    hi: float | None = None
    default: Any = REQUIRED
    about: str = ""
    event: bool = True  # may a scheduled event change it?

    def range_text(self) -> str:
        if self.lo is None and self.hi is None:
            return ""
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"[{lo}, {hi}]"


TOP_FIELDS = {
    "name": Field("str", default=REQUIRED, about="identifier of the case; names the default out dir"),
    "description": Field("str", default="", about="one line shown by `run.py list`"),
    "start_date": Field(
        "date", default=None, about="calendar date of day 0 (the truce's start), between 1800-01-01 and 2200-12-31"
    ),
    "known_outcome": Field(
        "str",
        default="",
        about="what happened in the historical case, for the report ('LNA offensive day 14'); not simulated",
    ),
    "horizon_days": Field("int", 1, 3650, 180, "days simulated after the truce starts"),
    "replicates": Field("int", 1, 10_000_000, 1000, "number of simulated worlds"),
    "seed": Field("int", 0, 2**63 - 1, 0, "seed of the worlds' random streams"),
}
FACTION_FIELDS = {
    "strength": Field("number", 0, 1e6, REQUIRED, "fighting capacity, in units comparable between factions"),
    "control": Field(
        "number", 0, 1, REQUIRED, "share of the stake held on day 0; shares are renormalised to sum to 1", event=False
    ),
    "cohesion": Field(
        "number", 0, 1, 0.7, "leadership's control of its units; low cohesion means unauthorised violations"
    ),
    "demand": Field("number", 0, 1, None, "control share insisted on in a settlement (default: its control)"),
    "war_cost": Field("number", 0, 1e6, 1.0, "how much a day of fighting hurts it"),
    "grievance": Field("number", 0, 1e6, 0.0, "grievance on day 0 (events may add to it)"),
    "belief_bias": Field(
        "number", -1, 1, 0.0, "error of its belief about its power share on day 0: + optimistic, - pessimistic"
    ),
    "belief_precision": Field(
        "number", 0.01, 1e6, 30.0, "weight of its prior belief, in days of combat: the evidence that halves its bias"
    ),
    "holding_benefit": Field(
        "number", 0, 100, 0.0, "value per day of a holding truce to it (revenue, aid, access, prisoner exchanges)"
    ),
    "signatory": Field(
        "number", 0, 1, 1.0, "1: it signs truces; 0: a spoiler or splinter that violates and fights but never signs"
    ),
    "allies": Field(
        "factions", default=(), about="factions it fights alongside (all others are its enemies)", event=False
    ),
}
BACKER_FIELDS = {
    "clients": Field(
        "clients", default=REQUIRED, about="factions it supports: a list of ids, or a map id -> weight", event=False
    ),
    "support": Field("number", 0, 1e6, 0.0, "strength units per day delivered to its clients"),
    "announced_support": Field(
        "number",
        0,
        1e6,
        None,
        "support it has publicly committed to deliver, which every faction counts in projecting the balance "
        "(default: its support)",
    ),
    "signs_for_clients": Field(
        "number", 0, 1, 0.0, "chance that its signature at talks binds its clients, whether or not they sign"
    ),
    "max_support": Field(
        "number", 0, 1e6, None, "ceiling of support when it escalates (default: its support; never below support)"
    ),
    "escalation": Field(
        "number", 0, 1, 0.0, "share of the gap to max_support closed per day while its client is losing"
    ),
    "truce_preference": Field("number", -1, 1, 0.0, "+1 wants the truce to hold, -1 wants its client to win by force"),
    "pressure": Field("number", 0, 1, 0.0, "how hard it leans on its clients to act on its preference"),
    "pressure_decay": Field("number", 0, 1, 0.0, "share of pressure that fades per day"),
    "credibility": Field(
        "number", 0, 1, 0.5, "chance that it carries out a threat to cut support to a client (or a pressed faction)"
    ),
    "conditionality": Field(
        "number",
        0,
        1,
        0.0,
        "share of its support it withholds from a client seen to defect (an offensive, or a violation it detects); "
        "a war-seeking backer withholds it from a client that holds instead",
    ),
    "provided": Field(
        "number",
        0,
        1e6,
        None,
        "capability it has already provided to its clients on day 0, in strength units, qualitative support "
        "(drones, air defence) included (default: support / strength_turnover, its support kept up for long)",
        event=False,
    ),
    "presses": Field(
        "pressed",
        default={},
        about="factions it does not arm but can press (sanctions, access, a blockade): map id -> the share of "
        "that faction's means it controls",
        event=False,
    ),
    "guarantees_with": Field(
        "backers",
        default=(),
        about="backers with which it guarantees the truce: each restrains its clients only while the others "
        "restrain theirs (co-guarantee)",
        event=False,
    ),
    "forces": Field("number", 0, 1e6, 0.0, "its own forces fighting beside its clients, in strength units"),
    "domestic_limit": Field(
        "number",
        0,
        1e6,
        None,
        "cost (support delivered, forces' upkeep and losses) its public bears before it withdraws everything; "
        "each world draws the breaking point within +-50% (none by default)",
    ),
    "red_line": Field(
        "number", 0, 1, None, "client control share below which it intervenes directly (none by default)"
    ),
    "red_line_credibility": Field(
        "number", 0, 1, None, "chance that it intervenes at its red line (default: its credibility)"
    ),
}
MEDIATOR_FIELDS = {
    "monitoring": Field("number", 0, 1, 0.0, "share of violations verified and correctly attributed"),
    "facilitation": Field(
        "number", 0, 1, 0.0, "verified information the mediator shares about the balance, which corrects beliefs"
    ),
    "formulation": Field(
        "number",
        0,
        1,
        0.0,
        "how far its proposals move toward what each side believes it can win; a signatory's demand moves as far "
        "toward the proposal",
    ),
    "inducements": Field(
        "number", 0, 100, 0.0, "value per day to each signatory of the carrots and sticks that hold a new truce"
    ),
    "inducement_days": Field(
        "number", 0.01, 3650, 30.0, "time scale (days) over which inducements fade after a truce forms"
    ),
    "embargo_cap": Field(
        "number", 0, 1e6, 0.0, "deliveries per day (strength units) a backer may make to a client under the embargo"
    ),
    "embargo_enforcement": Field(
        "number", 0, 1, 0.0, "daily chance that deliveries above embargo_cap are stopped (0: no embargo)"
    ),
    "talks": Field(
        "days", default=(), about="days on which the parties are convened and a split is proposed", event=False
    ),
    "settlement": Field(
        "number",
        0,
        1,
        1.0,
        "1: talks propose a split of control that must meet each side's demand; 0: a cessation of hostilities, "
        "accepted by a side that values holding above fighting; between: a mix",
        event=False,
    ),
    "term_days": Field(
        "int",
        0,
        3650,
        0,
        "days after which a truce lapses unless all its signatories extend it at talks (0: no term)",
        event=False,
    ),
}
EVENT_KEYS = ("day", "set", "scale", "add", "talks", "label")
# Fields changed by all events together, each '*' counted as its matches. A real scenario changes
# a few dozen; unbounded, events times factions grows with the square of the file's size.
MAX_EVENT_CHANGES = 10_000
SECTIONS = {"factions": FACTION_FIELDS, "backers": BACKER_FIELDS}


def _load_behaviour_defaults() -> dict[str, Field]:
    with open(DEFAULTS_PATH, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    fields = {}
    for key, entry in raw.items():
        kind = entry.get("kind", "number")
        lo, hi = entry["range"]
        fields[key] = Field(kind, lo, hi, entry["value"], entry["about"], event=False)
    return fields


BEHAVIOUR_FIELDS = _load_behaviour_defaults()


@dataclass(frozen=True)
class Distribution:
    """An uncertain fact, drawn once per world."""

    kind: str
    params: tuple[float, ...]

    def to_yaml(self) -> dict:
        return {self.kind: list(self.params)}

    def __str__(self) -> str:
        return f"{self.kind}{list(self.params)}"


def int_text(value: int) -> str:
    """A whole number as text; one of thousands of digits (which str() refuses) by its size."""
    if -(10**30) < value < 10**30:
        return str(value)
    digits = int(abs(value).bit_length() * math.log10(2)) + 1
    return f"{'-' if value < 0 else ''}a number of about {digits:,} digits"


class _ShortRepr(reprlib.Repr):
    def repr_int(self, x, level):
        text = int_text(x)
        return text if text[-1].isdigit() else f"<{text}>"


_REPR = _ShortRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 3, 4, 4, 40, 40


def short_repr(value: Any) -> str:
    """A value as a short, single-line text (bounded even for deep, self-repeating or huge YAML)."""
    text = value if isinstance(value, str) else _REPR.repr(value)
    return one_line(text if len(text) <= 40 else text[:37] + "...")


def one_line(text: str) -> str:
    """Escape line breaks and other control characters, so a message stays on one line."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in str(text)
    )


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Validator:
    """Turns raw YAML data into the scenario's canonical dict, or raises a one-line error."""

    def __init__(self, source: str, lines: dict[str, int], origins: dict[str, str]):
        self.source, self.lines, self.origins = source, lines, origins
        self.event_changes_left = MAX_EVENT_CHANGES

    def fail(self, path: str, message: str) -> NoReturn:
        path, message = one_line(path), one_line(message)
        for p, origin in self.origins.items():
            if path == p or path.startswith(p + "."):
                raise ScenarioError(f"{origin}: {path}: {message}")
        probe = path
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0]
        line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        raise ScenarioError(f"{where}: {path or '<top>'}: {message}")

    # generic pieces -------------------------------------------------------------------------
    def mapping(self, raw: Any, path: str, allowed: dict | None) -> dict:
        if not isinstance(raw, dict):
            self.fail(path, f"must be a mapping, got {_type_name(raw)}")
        for key in raw:
            if not isinstance(key, str):
                self.fail(path, f"keys must be text, got {_type_name(key)} {key!r}")
            if allowed is not None and key not in allowed:
                self.fail(f"{path}.{key}" if path else key, f"unknown field{did_you_mean(key, allowed)}")
        return raw

    def identifier(self, key: Any, path: str) -> str:
        if not isinstance(key, str) or not ID_PATTERN.match(key):
            self.fail(path, f"id {key!r} must start with a letter and hold only letters, digits and _ (at most 64)")
        return key

    def number(self, raw: Any, path: str, f: Field) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            self.fail(path, f"must be a number, got {_type_name(raw)} {short_repr(raw)!s}")
        try:
            value = float(raw)
        except OverflowError:
            bound = f"in {f.range_text()}" if f.range_text() else "a finite number"
            self.fail(path, f"must be {bound}, got {int_text(int(raw))}")
        if math.isnan(value) or math.isinf(value):
            self.fail(path, f"must be a finite number, got {raw}")
        if (f.lo is not None and value < f.lo) or (f.hi is not None and value > f.hi):
            self.fail(path, f"must be in {f.range_text()}, got {raw:g}")
        return value

    def integer(self, raw: Any, path: str, f: Field) -> int:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.fail(path, f"must be a whole number, got {_type_name(raw)} {short_repr(raw)!s}")
        if (f.lo is not None and raw < f.lo) or (f.hi is not None and raw > f.hi):
            self.fail(path, f"must be in {f.range_text()}, got {int_text(raw)}")
        return raw

    def fact(self, raw: Any, path: str, f: Field) -> float | Distribution:
        """A number, or a distribution whose support lies in the field's range."""
        if f.kind == "int":  # whole-number constants (a window in days) take no distribution
            return self.integer(raw, path, f)
        if not isinstance(raw, dict):
            return self.number(raw, path, f)
        if len(raw) != 1:
            self.fail(path, f"a distribution has exactly one of {sorted(DISTRIBUTIONS)}")
        kind, params = next(iter(raw.items()))
        if kind not in DISTRIBUTIONS:
            self.fail(
                f"{path}.{kind}",
                f"unknown distribution{did_you_mean(kind, DISTRIBUTIONS)}; use one of {sorted(DISTRIBUTIONS)}",
            )
        n = DISTRIBUTIONS[kind]
        if not isinstance(params, list) or len(params) != n:
            self.fail(f"{path}.{kind}", f"needs a list of {n} numbers")
        free = Field("number", None, None)
        vals = [self.number(p, f"{path}.{kind}.{i}", free) for i, p in enumerate(params)]
        if kind == "normal":
            if vals[1] < 0:
                self.fail(f"{path}.normal.1", f"standard deviation must be >= 0, got {vals[1]:g}")
            self.number(vals[0], f"{path}.normal.0", f)
        else:
            if sorted(vals) != vals:
                order = "lo <= hi" if kind == "uniform" else "lo <= mode <= hi"
                self.fail(f"{path}.{kind}", f"needs {order}, got {vals}")
            self.number(vals[0], f"{path}.{kind}.0", f)
            self.number(vals[-1], f"{path}.{kind}.{n - 1}", f)
        return Distribution(kind, tuple(vals))

    def section(self, raw: Any, path: str, fields: dict[str, Field]) -> dict:
        raw = self.mapping(raw, path, fields)
        out = {}
        for key, f in fields.items():
            p = f"{path}.{key}"
            if key not in raw or raw[key] is None:
                if f.default is REQUIRED:
                    self.fail(p, "is required")
                out[key] = f.default
                continue
            value = raw[key]
            if f.kind in ("number", "int"):
                out[key] = self.fact(value, p, f)
            elif f.kind == "days":
                out[key] = self.days(value, p)
            elif f.kind in ("clients", "factions", "pressed", "backers"):
                out[key] = value  # checked once factions are known
        return out

    def days(self, raw: Any, path: str) -> list[int]:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail(path, f"must be a list of days, got {_type_name(raw)}")
        day = Field("int", 1, 3650)
        return sorted({self.integer(d, f"{path}.{i}", day) for i, d in enumerate(raw)})

    # the scenario ---------------------------------------------------------------------------
    def scenario(self, raw: Any) -> dict:
        if raw is None:
            self.fail("", "the file is empty; a scenario needs at least name and factions")
        allowed = {**TOP_FIELDS, "factions": 0, "backers": 0, "mediator": 0, "events": 0, "behaviour": 0}
        raw = self.mapping(raw, "", allowed)
        out: dict[str, Any] = {}
        for key, f in TOP_FIELDS.items():
            out[key] = self.top_field(raw, key, f)
        out["factions"] = self.factions(raw.get("factions"))
        out["backers"] = self.backers(raw.get("backers") or {}, out["factions"])
        out["mediator"] = self.section(raw.get("mediator") or {}, "mediator", MEDIATOR_FIELDS)
        for i, d in enumerate(out["mediator"]["talks"]):
            if d > out["horizon_days"]:
                self.fail(f"mediator.talks.{i}", f"talks on day {d} are past the horizon ({out['horizon_days']} days)")
        behaviour = self.mapping(raw.get("behaviour") or {}, "behaviour", BEHAVIOUR_FIELDS)
        out["behaviour"] = {
            key: self.fact(behaviour.get(key, f.default), f"behaviour.{key}", f) for key, f in BEHAVIOUR_FIELDS.items()
        }
        out["events"] = self.events(raw.get("events") or [], out)
        return out

    def top_field(self, raw: dict, key: str, f: Field) -> Any:
        value = raw.get(key, f.default)
        if value is REQUIRED or (value is None and f.default is REQUIRED):
            self.fail(key, "is required")
        if f.kind == "int":
            return self.integer(value, key, f)
        if f.kind == "date":
            if value is None:
                return value
            if not isinstance(value, dt.date):
                try:
                    value = dt.date.fromisoformat(str(value))
                except ValueError:
                    self.fail(key, f"must be a date like 2020-01-12, got {short_repr(value)}")
            if not dt.date(1800, 1, 1) <= value <= dt.date(2200, 12, 31):
                self.fail(key, f"must lie between 1800-01-01 and 2200-12-31, got {value.isoformat()}")
            return value
        if not isinstance(value, str):
            self.fail(key, f"must be text, got {_type_name(value)}")
        if key == "name" and not ID_PATTERN.match(value):
            self.fail(
                key, f"{value!r} must start with a letter and hold only letters, digits and _ (it names the out dir)"
            )
        if len(value) > 500:
            self.fail(key, "is longer than 500 characters")
        return value

    def factions(self, raw: Any) -> dict:
        if raw is None:
            self.fail("factions", "is required: at least two factions")
        raw = self.mapping(raw, "factions", None)
        if len(raw) < 2:
            self.fail("factions", f"needs at least two factions, got {len(raw)}")
        out = {}
        for ident, spec in raw.items():
            self.identifier(ident, f"factions.{ident}")
            out[ident] = self.section(spec, f"factions.{ident}", FACTION_FIELDS)
        for ident, spec in out.items():
            spec["allies"] = self.allies(spec["allies"], f"factions.{ident}.allies", ident, out)
        fixed = [f["control"] for f in out.values()]
        if all(isinstance(c, float) for c in fixed):
            total = sum(fixed)
            if abs(total - 1.0) > 0.01:
                self.fail("factions", f"control shares must sum to 1, got {total:g}")
        return out

    def allies(self, raw: Any, path: str, ident: str, factions: dict) -> list[str]:
        return self.id_list(raw, path, ident, factions, "faction", "a faction cannot be its own ally")

    def id_list(self, raw: Any, path: str, ident: str, known: dict, kind: str, itself: str) -> list[str]:
        """A list of other ids of one kind (factions, backers), each known and none ``ident``."""
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, (list, tuple)) or not all(isinstance(a, str) for a in raw):
            self.fail(path, f"must be a list of {kind} ids")
        for other in raw:
            if other not in known:
                self.fail(path, f"'{other}' is not a {kind}{did_you_mean(other, known)}; {kind}s are {sorted(known)}")
            if other == ident:
                self.fail(path, itself)
        return sorted(set(raw))

    def backers(self, raw: Any, factions: dict) -> dict:
        raw = self.mapping(raw, "backers", None)
        out = {}
        for ident, spec in raw.items():
            self.identifier(ident, f"backers.{ident}")
            if ident in factions:
                self.fail(f"backers.{ident}", "a backer may not share its id with a faction")
            b = self.section(spec, f"backers.{ident}", BACKER_FIELDS)
            b["clients"] = self.clients(b["clients"], f"backers.{ident}.clients", factions)
            b["presses"] = self.pressed(b["presses"], f"backers.{ident}.presses", factions, b["clients"])
            if b["max_support"] is None:
                b["max_support"] = b["support"]
            out[ident] = b
        for ident, b in out.items():
            b["guarantees_with"] = self.guarantors(b["guarantees_with"], f"backers.{ident}.guarantees_with", ident, out)
        for ident, b in out.items():  # a guarantee binds both ways
            for other in b["guarantees_with"]:
                if ident not in out[other]["guarantees_with"]:
                    out[other]["guarantees_with"] = sorted({*out[other]["guarantees_with"], ident})
        return out

    def pressed(self, raw: Any, path: str, factions: dict, clients: dict) -> dict[str, float]:
        if not isinstance(raw, dict):
            self.fail(path, "must be a map faction id -> share of its means the backer controls")
        out = {}
        for target, share in raw.items():
            if target not in factions:
                self.fail(
                    path,
                    f"'{target}' is not a faction{did_you_mean(str(target), factions)}; "
                    f"factions are {sorted(factions)}",
                )
            if target in clients:
                self.fail(f"{path}.{target}", "is already a client: a backer presses its clients through its support")
            out[target] = self.number(share, f"{path}.{target}", Field("number", 0, 1))
        return out

    def guarantors(self, raw: Any, path: str, ident: str, backers: dict) -> list[str]:
        return self.id_list(raw, path, ident, backers, "backer", "a backer cannot guarantee a truce with itself")

    def clients(self, raw: Any, path: str, factions: dict) -> dict[str, float]:
        if isinstance(raw, str):
            raw = [raw]
        if isinstance(raw, list):
            raw = {c: 1.0 for c in raw} if all(isinstance(c, str) for c in raw) else raw
        if not isinstance(raw, dict) or not raw:
            self.fail(path, "must be a non-empty list of faction ids or a map id -> weight")
        out = {}
        for client, weight in raw.items():
            if client not in factions:
                self.fail(
                    path,
                    f"'{client}' is not a faction{did_you_mean(client, factions)}; factions are {sorted(factions)}",
                )
            out[client] = self.number(weight, f"{path}.{client}", Field("number", 0, 1e6))
        total = sum(out.values())
        if total <= 0:
            self.fail(path, "client weights must not all be zero")
        return {c: w / total for c, w in out.items()}

    def events(self, raw: Any, scenario: dict) -> list[dict]:
        if not isinstance(raw, list):
            self.fail("events", f"must be a list of events, got {_type_name(raw)}")
        out = []
        for i, ev in enumerate(raw):
            p = f"events.{i}"
            ev = self.mapping(ev, p, dict.fromkeys(EVENT_KEYS))
            if "day" not in ev:
                self.fail(f"{p}.day", "is required")
            day = self.integer(ev["day"], f"{p}.day", Field("int", 1, 3650))
            if day > scenario["horizon_days"]:
                self.fail(f"{p}.day", f"event on day {day} is past the horizon ({scenario['horizon_days']} days)")
            item: dict[str, Any] = {"day": day}
            for op in ("set", "scale", "add"):
                if op in ev:
                    item[op] = self.event_changes(ev[op], f"{p}.{op}", op, scenario)
            if "talks" in ev:
                if not isinstance(ev["talks"], bool):
                    self.fail(f"{p}.talks", f"must be true or false, got {short_repr(ev['talks'])}")
                item["talks"] = ev["talks"]
            if "label" in ev:
                if not isinstance(ev["label"], str):
                    self.fail(f"{p}.label", "must be text")
                item["label"] = ev["label"]
            if len(item) == 1:
                self.fail(p, "does nothing: give set, scale, add or talks")
            out.append(item)
        return sorted(out, key=lambda e: e["day"])

    def event_changes(self, raw: Any, path: str, op: str, scenario: dict) -> dict:
        raw = self.mapping(raw, path, None)
        out = {}
        for target, value in raw.items():
            tp = f"{path}.{target}"
            targets = self.expand_target(target, tp, scenario)
            self.event_changes_left -= len(targets)
            if self.event_changes_left < 0:
                self.fail(
                    tp,
                    f"the events change more than {MAX_EVENT_CHANGES:,} fields in all ('*' counts each "
                    "match); a scenario's events change a few dozen",
                )
            for concrete in targets:
                f = self.target_field(concrete, tp, scenario)
                if op == "set":
                    out[concrete] = self.fact(value, tp, f)
                elif op == "scale":
                    out[concrete] = self.fact(value, tp, Field("number", 0, 1e6))
                else:
                    out[concrete] = self.fact(value, tp, Field("number", -1e6, 1e6))
        return out

    def expand_target(self, target: str, path: str, scenario: dict) -> list[str]:
        parts = target.split(".")
        if len(parts) == 3 and parts[1] == "*" and parts[0] in SECTIONS:
            ids = list(scenario[parts[0]])
            if not ids:
                self.fail(path, f"'*' matches no {parts[0]}")
            return [f"{parts[0]}.{i}.{parts[2]}" for i in ids]
        return [target]

    def target_field(self, target: str, path: str, scenario: dict) -> Field:
        parts = target.split(".")
        if parts[0] == "mediator" and len(parts) == 2:
            f = MEDIATOR_FIELDS.get(parts[1])
            if f is None or not f.event:
                changeable = [k for k, g in MEDIATOR_FIELDS.items() if g.event]
                self.fail(
                    path, f"events can change mediator.{'|'.join(changeable)}{did_you_mean(parts[1], changeable)}"
                )
            return f
        if parts[0] not in SECTIONS or len(parts) != 3:
            self.fail(path, "events change factions.ID.FIELD, backers.ID.FIELD or mediator.FIELD")
        section, ident, key = parts
        if ident not in scenario[section]:
            self.fail(path, f"'{ident}' is not one of the {section}{did_you_mean(ident, scenario[section])}")
        fields = SECTIONS[section]
        if key not in fields:
            self.fail(path, f"unknown field{did_you_mean(key, fields)}")
        if not fields[key].event:
            self.fail(path, f"{key} cannot be changed by an event")
        return fields[key]


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        type(None): "nothing",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def field_for(path: str) -> Field:
    """The schema field behind a dotted path of a numeric fact or constant."""
    parts = path.split(".")
    if parts[0] in SECTIONS and len(parts) == 3:
        return SECTIONS[parts[0]][parts[2]]
    if parts[0] == "mediator" and len(parts) == 2:
        return MEDIATOR_FIELDS[parts[1]]
    if parts[0] == "behaviour" and len(parts) == 2:
        return BEHAVIOUR_FIELDS[parts[1]]
    raise KeyError(path)
