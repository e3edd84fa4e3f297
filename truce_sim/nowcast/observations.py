"""A running truce's observed record (OBS.csv), read and checked against its scenario.

One row per observed day: ``date`` (ISO, needs the scenario's ``start_date``) or ``day`` (days
since the truce began, day 1 its first), and any of ``violations_<faction>``, ``violations`` (all
factions together), ``truce_holds`` (true/false) and ``control_<faction>`` (0-1). Days may be
missing and cells empty: an empty cell observes nothing. A mistake is told in one line naming
the file, the line and the column, with exit status 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from truce_sim.core.errors import UserError
from truce_sim.core.scenario import Scenario, read_input_bytes
from truce_sim.core.schema import did_you_mean, one_line

MAX_OBSERVATION_BYTES = 10_000_000
MAX_COUNT = 1_000_000  # violations a day: far above any record, and the likelihood stays finite
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "1", "holds"}, {"false", "no", "0", "broken"}


class ObservationError(UserError):
    """A mistake in an observation file, in one line."""


@dataclass(frozen=True)
class DayObserved:
    """What was observed on one day; None where nothing was."""

    day: int
    violations: dict[str, int] = field(default_factory=dict)  # by faction
    violations_total: int | None = None
    truce_holds: bool | None = None
    control: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedRecord:
    source: str
    days: tuple[DayObserved, ...]  # in day order, one per observed day

    @property
    def last_day(self) -> int:
        return self.days[-1].day if self.days else 0


def columns_for(scenario: Scenario) -> list[str]:
    """Every column an observation file of this scenario may have."""
    names = list(scenario.factions)
    return (
        ["date", "day", "violations", "truce_holds"]
        + [f"violations_{f}" for f in names]
        + [f"control_{f}" for f in names]
    )


def read_observations(
    path: str | Path, scenario: Scenario, as_of: int | None = None, steps: int | None = None
) -> ObservedRecord:
    """The observed record in ``path`` for ``scenario``, up to day ``as_of`` (default: its last
    observed day) within a run of ``steps`` days (default: the scenario's horizon); raises
    ObservationError in one line for any mistake."""
    steps = steps or scenario.horizon_days
    source = one_line(str(path))
    raw = read_input_bytes(path, source, MAX_OBSERVATION_BYTES, "an observation file holds a row per observed day")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ObservationError(f"{source}: not UTF-8 text (byte {e.start})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ObservationError(f"{source}: empty file; expected a header row with 'date' or 'day'")
    header = [h.strip() for h in header]
    _check_header(header, scenario, source)
    start = scenario.start_date if "date" in header else None
    if "date" in header and start is None:
        raise ObservationError(f"{source}:1: a 'date' column needs the scenario's start_date; give 'day' instead")
    days: dict[int, DayObserved] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ObservationError(f"{source}:{line}: {len(row)} cells, the header has {len(header)}")
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        day = _day(cells, start, source, line)
        if day in days:
            raise ObservationError(f"{source}:{line}: day {day} is observed twice")
        if as_of is not None and day > as_of:
            raise ObservationError(f"{source}:{line}: day {day} is after the as-of day {as_of}")
        if day > steps:
            raise ObservationError(f"{source}:{line}: day {day} is past the run's last day ({steps})")
        days[day] = _observed(day, cells, scenario, source, line)
    if not days:
        raise ObservationError(f"{source}: no observed day")
    return ObservedRecord(source, tuple(days[d] for d in sorted(days)))


def _check_header(header: list[str], scenario: Scenario, source: str) -> None:
    allowed = columns_for(scenario)
    for i, name in enumerate(header):
        if name in allowed:
            continue
        if name.startswith(("violations_", "control_")):
            kind, faction = name.split("_", 1)
            close = did_you_mean(faction, scenario.factions)  # on the faction alone: the prefix matches all
            hint = (
                close.replace("'", f"'{kind}_", 1) if close else f" (the factions are {', '.join(scenario.factions)})"
            )
        else:
            hint = did_you_mean(name, allowed)
        raise ObservationError(f"{source}:1: column {i + 1} {name!r}: not an observation column{hint}")
    if len(set(header)) < len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise ObservationError(f"{source}:1: column {twice!r} appears twice")
    if ("date" in header) == ("day" in header):
        raise ObservationError(f"{source}:1: give one of the columns 'date' and 'day'")
    if not set(header) - {"date", "day"}:
        raise ObservationError(
            f"{source}:1: no observation column: give any of violations_<faction>, violations, truce_holds, "
            "control_<faction>"
        )


def _day(cells: dict, start: dt.date | None, source: str, line: int) -> int:
    if start is not None:
        text = cells["date"]
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            raise ObservationError(f"{source}:{line}: date {text!r} is not a date like 2020-01-20") from None
        day = (date - start).days
        if day < 1:
            raise ObservationError(f"{source}:{line}: date {text} is not after the truce's start ({start})")
        return day
    text = cells["day"]
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        raise ObservationError(f"{source}:{line}: day {text!r} is not a whole number of days")
    if int(text) < 1:
        raise ObservationError(f"{source}:{line}: day {text}: days are counted from 1, the truce's first")
    return int(text)


def _observed(day: int, cells: dict, scenario: Scenario, source: str, line: int) -> DayObserved:
    violations, control = {}, {}
    total = holds = None
    for name, text in cells.items():
        if not text or name in ("date", "day"):
            continue
        where = f"{source}:{line}: column {name}"
        if name == "truce_holds":
            word = text.lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise ObservationError(f"{where}: {text!r} is not true or false")
            holds = word in TRUE_WORDS
        elif name.startswith("control_"):
            value = _number(text, where)
            if not 0 <= value <= 1:
                raise ObservationError(f"{where}: control {text} is outside 0-1")
            control[name[len("control_") :]] = value
        else:
            value = _number(text, where)
            if value < 0 or value != int(value):
                raise ObservationError(f"{where}: {text} is not a count (a whole number, 0 or more)")
            if value > MAX_COUNT:
                raise ObservationError(f"{where}: {text} violations in a day is above {MAX_COUNT:,}")
            if name == "violations":
                total = int(value)
            else:
                violations[name[len("violations_") :]] = int(value)
    if total is not None and violations:
        raise ObservationError(f"{source}:{line}: give violations by faction or in total on a day, not both")
    return DayObserved(day, violations, total, holds, control)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ObservationError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ObservationError(f"{where}: {text!r} is not a finite number")
    return value
