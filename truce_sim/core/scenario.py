"""Scenario files: YAML loading with line numbers, the Scenario object, dotted paths, overrides.

A scenario is the facts of one case (factions, backers, mediator, events, horizon, seed); the
behavioural constants come from ``defaults.yaml`` and may be overridden under ``behaviour:``.
Every field has a dotted path (``backers.turkey.support``) by which ``--set``, ``--scale`` and sweeps
reach it. ``--set`` replaces a field's value as the file writes it, which an event that sets the
field replaces in turn; ``--scale`` multiplies the field and every value an event sets or adds to it;
``--event 'DAY: PATH=VALUE'`` adds an event, checked as the file's events are. ``--label`` names
the what-if.
Any numeric fact may be a distribution (``{uniform: [lo, hi]}``, ``{normal: [mean, sd]}``,
``{triangular: [lo, mode, hi]}``), drawn once per world by the model.

The schema and its validator are in :mod:`sim.schema`; errors are :class:`ScenarioError` with one
line: ``file:line: field.path: what is wrong``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import stat
import sys
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import yaml

# re-exported: the schema's names that readers of scenarios use, so they need one import
from truce_sim.core.schema import BACKER_FIELDS as BACKER_FIELDS
from truce_sim.core.schema import BEHAVIOUR_FIELDS as BEHAVIOUR_FIELDS
from truce_sim.core.schema import DEFAULTS_PATH as DEFAULTS_PATH
from truce_sim.core.schema import DISTRIBUTIONS as DISTRIBUTIONS
from truce_sim.core.schema import FACTION_FIELDS as FACTION_FIELDS
from truce_sim.core.schema import MEDIATOR_FIELDS as MEDIATOR_FIELDS
from truce_sim.core.schema import (
    SECTIONS,
    Distribution,
    ScenarioError,
    Validator,
    did_you_mean,
    one_line,
    short_repr,
)
from truce_sim.core.schema import TOP_FIELDS as TOP_FIELDS
from truce_sim.core.schema import Field as Field
from truce_sim.core.schema import field_for as field_for

if TYPE_CHECKING:
    from truce_sim.core.posterior import Posterior


# ----------------------------------------------------------------------------------------------
# Typed scenario
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Overwritten:
    """An override that events undo: the path as given, the field an event sets, and the days."""

    override: str
    path: str
    days: tuple[int, ...]


@dataclass(frozen=True)
class Event:
    day: int
    set: dict
    scale: dict
    add: dict
    talks: bool
    label: str


@dataclass(frozen=True)
class AddedEvent:
    """An event given as ``--event 'DAY: PATH=VALUE'`` (or ``PATH*=FACTOR``, ``PATH+=DELTA``):
    the day, what it does to the field (``set``, ``scale`` or ``add``), the path and value as
    given, and the text as given, which is its label."""

    day: int
    op: str
    path: str
    value: Any
    text: str

    @property
    def change(self) -> str:
        """The event as a what-if's change: ``event day 30: backers.russia.pressure=0``."""
        return f"event day {self.day}: {self.path}{_EVENT_SIGNS[self.op]}{short_repr(self.value)}"

    @property
    def label_value(self) -> str:
        """Its value as a what-if's label shows it: ``0``, ``x2`` (a factor), ``+0.5`` (added)."""
        return {"set": "", "scale": "x", "add": "+"}[self.op] + short_repr(self.value)

    def raw(self) -> dict:
        """The event as a scenario file writes it."""
        return {"day": self.day, self.op: {self.path: copy.deepcopy(self.value)}, "label": self.text}


def _short_path(path: str) -> str:
    """A dotted path without its section, as what-if labels show it: ``russia.pressure``."""
    head, _, rest = path.partition(".")
    return rest if head in ("factions", "backers", "behaviour") and rest else path


class Scenario:
    """A validated scenario: plain data by dotted path, with typed views for the model.

    Build one with :func:`load_scenario` or :meth:`Scenario.from_dict`; change one with
    :meth:`with_overrides`, :meth:`with_scales` or :meth:`with_events`, which validate again, and
    name the change with :meth:`with_label`. A scenario may hold a posterior of its behavioural
    constants (:meth:`with_posterior`), which travels with it to worker processes.
    """

    def __init__(
        self,
        data: dict,
        source: str = "<scenario>",
        overrides: dict[str, str] | None = None,
        scales: dict[str, float] | None = None,
        posterior: Posterior | None = None,
        added_events: tuple[AddedEvent, ...] = (),
        label: str | None = None,
    ):
        self.data = data
        self.source = source
        # the what-if: {dotted path as given: value as written}, in the order applied
        self.overrides: dict[str, str] = dict(overrides or {})
        # and its factors: {dotted path as given: factor}, applied after the overrides
        self.scales: dict[str, float] = dict(scales or {})
        # weighted samples of behavioural constants, drawn per world (None: the scenario's values)
        self.posterior = posterior
        # events added to the file's (--event), in the order given; their data is in data["events"]
        self.added_events: tuple[AddedEvent, ...] = tuple(added_events)
        # the what-if's name (--label), or None: then it is named from its changes (what_if_label)
        self.label = label

    @property
    def what_if(self) -> dict[str, str]:
        """The what-if's changes to fields as {path: text}: an override's value (``0.01``), a
        scale's factor (``x2``), or both (``0.01 x2``). Empty for the scenario as written. Every
        change, added events too, is in :attr:`what_if_changes`; the what-if's name in :attr:`label`."""
        out = dict(self.overrides)
        for path, factor in self.scales.items():
            times = factor_text(factor)
            out[path] = f"{out[path]} {times}" if path in out else times
        return out

    @property
    def what_if_changes(self) -> list[str]:
        """Every change of the what-if as one text each, overrides, then scales, then added
        events: ``backers.russia.pressure=0``, ``backers.turkey.support*=2``,
        ``event day 30: backers.russia.pressure=0``. Empty for the scenario as written."""
        out = [f"{path}={value}" for path, value in self.overrides.items()]
        out += [f"{path}*={factor:.12g}" for path, factor in self.scales.items()]
        return out + [event.change for event in self.added_events]

    @property
    def what_if_label(self) -> str:
        """A short name of the what-if, safe in a file name: its :attr:`label` when it has one,
        else one made from its changes: ``russia.pressure=0+gna.cohesion=0.4``, ``turkey.support=x2``,
        ``day30.russia.pressure=0`` (empty for the scenario as written). Section names are
        dropped; long labels end in a hash."""
        if self.label:
            return self.label
        parts = [f"{_short_path(path)}={value}" for path, value in self.what_if.items()]
        for event in self.added_events:
            parts.append(f"day{event.day}.{_short_path(event.path)}={event.label_value}")
        if self.posterior is not None:  # a run with a posterior never replaces one without
            # the file's content and the draws, not only its name: calibrate always writes posterior.csv
            p = self.posterior
            parts.append(f"posterior={Path(p.source).stem}-{p.sha256[:8]}-k{p.draws}")
        label = re.sub(r"[^A-Za-z0-9._=+*-]+", "_", "+".join(parts)).replace("*", "all")
        if len(label) > 80:
            label = label[:63] + "-" + hashlib.sha256(label.encode()).hexdigest()[:16]
        return label

    # typed views --------------------------------------------------------------------------
    name = property(lambda self: self.data["name"])
    description = property(lambda self: self.data["description"])
    start_date = property(lambda self: self.data["start_date"])
    horizon_days = property(lambda self: self.data["horizon_days"])
    replicates = property(lambda self: self.data["replicates"])
    seed = property(lambda self: self.data["seed"])
    factions = property(lambda self: self.data["factions"])
    backers = property(lambda self: self.data["backers"])
    mediator = property(lambda self: self.data["mediator"])
    behaviour = property(lambda self: self.data["behaviour"])

    @property
    def events(self) -> list[Event]:
        return [
            Event(
                e["day"],
                e.get("set", {}),
                e.get("scale", {}),
                e.get("add", {}),
                bool(e.get("talks", False)),
                e.get("label", ""),
            )
            for e in self.data["events"]
        ]

    def get(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def numeric_facts(self) -> dict[str, Any]:
        """Every numeric fact and behavioural constant by dotted path (numbers or distributions)."""
        out: dict[str, Any] = {}
        for section, fields in SECTIONS.items():
            for ident, spec in self.data[section].items():
                for key, f in fields.items():
                    if f.kind == "number" and spec.get(key) is not None:
                        out[f"{section}.{ident}.{key}"] = spec[key]
        if self.data["mediator"] is not None:
            for key, f in MEDIATOR_FIELDS.items():
                if f.kind == "number":
                    out[f"mediator.{key}"] = self.data["mediator"][key]
        for key, value in self.data["behaviour"].items():
            out[f"behaviour.{key}"] = value
        return out

    def to_yaml_dict(self) -> dict:
        def plain(v):
            if isinstance(v, Distribution):
                return v.to_yaml()
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, dt.date):
                return v.isoformat()
            return v

        return plain(self.data)

    def to_yaml(self) -> str:
        # libyaml's writer where it is installed: the same text, several times faster on large scenarios
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump(self.to_yaml_dict(), Dumper=dumper, sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: dict[str, Any] | list[str] | None) -> Scenario:
        """A new scenario with fields replaced, given as {path: value} or ["PATH=VALUE", ...]."""
        raw = self.to_yaml_dict()
        origins = _apply_overrides(raw, overrides)
        return Scenario.from_dict(
            raw,
            source=self.source,
            origins=origins,
            overrides={**self.overrides, **_override_labels(overrides)},
            scales=self.scales,
            posterior=self.posterior,
            added_events=self.added_events,
            label=self.label,
        )

    def with_values(self, values: dict[str, float]) -> Scenario:
        """A new scenario with the values of a sweep's point or the explorer's levers: each key is
        a dotted path (its value replaces the field's, as ``--set``) or ``scale.PATH`` (a factor
        of the field everywhere, as ``--scale``). Overrides apply first, then scales."""
        overrides = {k: float(v) for k, v in values.items() if not k.startswith(SCALE_PREFIX)}
        scales = {k[len(SCALE_PREFIX) :]: float(v) for k, v in values.items() if k.startswith(SCALE_PREFIX)}
        scenario = self.with_overrides(overrides) if overrides else self
        return scenario.with_scales(scales) if scales else scenario

    def with_scales(self, scales: dict[str, Any] | list | None) -> Scenario:
        """A new scenario with numeric fields multiplied everywhere, given as {path: factor} or
        ["PATH=FACTOR", ...]: the field's value (its default where the file leaves it out; an unset
        field stays unset), and every value an event sets it to or adds to it (an event's own
        ``scale`` multiplies the current value, so it is left as it is). A distribution has all
        its parameters multiplied. ``*`` matches every id, or every numeric field. A backer's
        ``max_support`` equal to its ``support`` (the default: no room to escalate) follows it."""
        items = _scale_items(scales)
        raw = self.to_yaml_dict()
        origins = _apply_scales(raw, items)
        factors = dict(self.scales)
        for path, factor in items:
            factors[path] = factors.get(path, 1.0) * factor
        return Scenario.from_dict(
            raw,
            source=self.source,
            origins=origins,
            overrides=self.overrides,
            scales=factors,
            posterior=self.posterior,
            added_events=self.added_events,
            label=self.label,
        )

    def with_events(self, events: list[str] | tuple | None) -> Scenario:
        """A new scenario with events added after the file's, each given as ``--event`` takes it:
        ``"DAY: PATH=VALUE"`` sets a field on that day, ``"DAY: PATH*=FACTOR"`` multiplies it
        (``"DAY: PATH+=DELTA"`` adds to it); VALUE is read as YAML. Each is checked as an event
        in the file is (day within the horizon, a field events may change, a value in its range)
        and labelled with its text. The scenario's scales multiply the values they set or add,
        as they do the file's events."""
        added = _event_items(events)
        if not added:
            return self
        raw = self.to_yaml_dict()
        first = len(raw["events"])
        origins = _append_events(raw, added)
        if self.scales:
            # the new events checked alone (their '*' expanded), scaled as --scale scales every
            # event, then put after the file's
            alone = self.to_yaml_dict()
            alone["events"] = []
            alone_origins = _append_events(alone, added)
            alone = Scenario.from_dict(alone, source=self.source, origins=alone_origins).to_yaml_dict()
            scaled = _apply_scales(alone, _scale_items(self.scales), fields=False)
            raw["events"] = raw["events"][:first] + alone["events"]
            origins = {f"events.{first + i}": _event_origin(e["label"]) for i, e in enumerate(alone["events"])}
            origins = {_shift_event(k, first): v for k, v in scaled.items()} | origins
        return Scenario.from_dict(
            raw,
            source=self.source,
            origins=origins,
            overrides=self.overrides,
            scales=self.scales,
            posterior=self.posterior,
            added_events=self.added_events + tuple(added),
            label=self.label,
        )

    def with_label(self, label: str | None) -> Scenario:
        """The same scenario with its what-if named ``label`` (letters, digits, ``_``, ``-``, ``.``),
        which names its default out dir and its summary; None removes the name."""
        return Scenario(
            self.data,
            self.source,
            self.overrides,
            self.scales,
            self.posterior,
            self.added_events,
            None if label is None else check_label(label),
        )

    def with_posterior(self, posterior: Posterior | str | Path | Any | None, draws: int | None = None) -> Scenario:
        """A new scenario whose worlds take the behavioural constants ``posterior`` holds from
        draws of it (see :mod:`truce_sim.core.posterior`): a :class:`Posterior`, the path of a
        ``posterior.csv``, or columns in memory ({column: values}, e.g. a DataFrame); ``draws``
        is K, the number of rows a run draws (default 50, or the posterior's). None removes it.
        The posterior replaces the scenario's own values (``behaviour:``, ``--set``, ``--scale``)
        of the constants it holds; :meth:`caveats` says so where both give one."""
        from truce_sim.core.posterior import Posterior, load_posterior, posterior_from_table

        if posterior is None:
            table = None
        elif isinstance(posterior, Posterior):
            table = posterior.with_draws(draws)
        elif isinstance(posterior, (str, Path)):
            table = load_posterior(posterior, draws)
        else:
            table = posterior_from_table(posterior, draws)
        return Scenario(self.data, self.source, self.overrides, self.scales, table, self.added_events, self.label)

    def behaviour_from_posterior(self) -> dict[str, str]:
        """The constants the posterior replaces that the scenario also gives (in its file, or by
        --set or --scale), as {behaviour.NAME: how the scenario gives it}."""
        if self.posterior is None:
            return {}
        out = {}
        for name in self.posterior.constants:
            path = f"behaviour.{name}"
            value = self.data["behaviour"][name]
            given = [f"--set {p}={v}" for p, v in self.overrides.items() if p in (path, "behaviour.*")]
            given += [f"--scale {p}={f:.12g}" for p, f in self.scales.items() if p in (path, "behaviour.*")]
            if given or value != BEHAVIOUR_FIELDS[name].default:
                shown = short_repr(str(value) if isinstance(value, Distribution) else value)
                out[path] = ", ".join(given) or f"{shown} in the scenario"
        return out

    def overwritten_overrides(self) -> list[Overwritten]:
        """Each field an override sets that an event sets again, with the events' days: the
        override holds only until the first of them. An event that adds or scales builds on the
        override, so it does not count."""
        days: dict[str, list[int]] = {}
        for event in self.events:
            for path in event.set:
                days.setdefault(path, []).append(event.day)
        out = []
        for given in self.overrides:
            try:
                reached = _expand_wildcards(self.data, given, "")
            except ScenarioError:
                continue
            for path in reached:
                for target, when in days.items():
                    if target == path or target.startswith(path + "."):
                        out.append(Overwritten(given, target, tuple(sorted(set(when)))))
        return out

    def caveats(self) -> list[str]:
        """What a reader of this what-if's results must know, one sentence each (printed as
        warnings, recorded in summary.json and shown on the report)."""
        out = []
        for o in self.overwritten_overrides():
            where = "" if o.path == o.override else f" at {o.path}"
            days = ", ".join(map(str, o.days))
            out.append(
                f"--set {o.override}={self.overrides[o.override]} is overwritten{where} by events on "
                f"day{'s' if len(o.days) > 1 else ''} {days}; --scale {o.path}=FACTOR changes it everywhere"
            )
        replaced = self.behaviour_from_posterior()
        if replaced and self.posterior is not None:
            given = "; ".join(f"{path} ({how})" for path, how in replaced.items())
            out.append(
                f"the posterior {self.posterior.source} replaces {given}: each world takes "
                "these constants from its posterior draw"
            )
        return out

    @classmethod
    def from_dict(
        cls,
        raw: Any,
        source: str = "<scenario>",
        lines: dict | None = None,
        origins: dict | None = None,
        overrides: dict[str, str] | None = None,
        scales: dict[str, float] | None = None,
        posterior: Posterior | None = None,
        added_events: tuple[AddedEvent, ...] = (),
        label: str | None = None,
    ) -> Scenario:
        data = Validator(source, lines or {}, origins or {}).scenario(raw)
        return cls(data, source, overrides, scales, posterior, added_events, label)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, factions={list(self.factions)}, backers={list(self.backers)})"


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------
def load_scenario(
    path: str | Path,
    overrides: dict | list[str] | None = None,
    scales: dict | list | None = None,
    posterior: str | Path | Posterior | None = None,
    posterior_draws: int | None = None,
    events: list[str] | tuple | None = None,
    label: str | None = None,
) -> Scenario:
    """Read, validate and return the scenario in ``path``, with ``events`` added, ``overrides``
    and then ``scales`` applied, and ``posterior`` (a ``posterior.csv``, see
    :meth:`Scenario.with_posterior`) with ``posterior_draws`` draws per run; ``label`` names the
    what-if (see :meth:`Scenario.with_label`).

    ``overrides`` is a mapping {dotted.path: value} or a list of "PATH=VALUE" strings (as given
    to ``--set``); values in strings are read as YAML, so ``{uniform: [0.3, 0.5]}`` works.
    ``scales`` is a mapping {dotted.path: factor} or a list of "PATH=FACTOR" strings (as given to
    ``--scale``): see :meth:`Scenario.with_scales`. ``events`` is a list of "DAY: PATH=VALUE" or
    "DAY: PATH*=FACTOR" strings (as given to ``--event``), added after the file's events as if
    the file held them: see :meth:`Scenario.with_events`.
    """
    label = None if label is None else check_label(label)  # before the file: a bad name fails first
    added = _event_items(events)
    path = resolve_scenario(path)
    source = one_line(str(path))
    text = read_text_file(path, source)
    raw, lines = parse_yaml(text, source)
    items = _override_items(overrides)  # each --set value parsed once, for the data and the labels
    factors = _scale_items(scales)
    origins = _append_events(raw, added)
    origins.update(_apply_overrides(raw, items))
    scenario = Scenario.from_dict(
        raw,
        source=source,
        lines=lines,
        origins=origins,
        overrides=_override_labels(items),
        added_events=tuple(added),
        label=label,
    )
    scenario = scenario.with_scales(factors) if factors else scenario
    if posterior is not None:
        scenario = scenario.with_posterior(posterior, posterior_draws)
    elif posterior_draws is not None:
        raise ScenarioError("posterior draws are given without a posterior; give --posterior FILE too")
    return scenario


# A real scenario or sweep file is a few KB. At this cap the costliest file is read, checked and
# printed back by `check` in about two seconds.
MAX_FILE_BYTES = 128 * 2**10
SCENARIO_FILE = "a scenario file is a few KB"
# Values a file may hold with its aliases written out: a real file holds a few hundred, but an
# alias can stand for a whole subtree, so a file of a few hundred bytes can stand for billions.
MAX_VALUES = 50_000
MAX_DEPTH = 50  # levels of nesting; a real file has at most six
MAX_PATH_CHARS = 500  # a dotted field path; a real one is ids and field names, under 100

_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def size_text(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:g} MB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:g} KB"


def _os_error(exc: Exception, source: str) -> ScenarioError:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return ScenarioError(f"{source}: file not found")
    if isinstance(exc, ValueError):  # os functions refuse a NUL byte in a path with ValueError
        return ScenarioError(f"{source}: not a valid file name (it holds a NUL byte)")
    return ScenarioError(f"{source}: cannot read ({getattr(exc, 'strerror', None) or exc})")


def _check_stat(info: os.stat_result, source: str, max_bytes: int, size_hint: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for is_kind, name in _FILE_TYPES if is_kind(info.st_mode)), "not a file")
        raise ScenarioError(f"{source}: not a regular file ({kind})")
    if info.st_size > max_bytes:
        raise ScenarioError(f"{source}: larger than {size_text(max_bytes)}; {size_hint}")


def check_input_file(path: str | Path, source: str, max_bytes: int, size_hint: str) -> None:
    """Refuse in one line a path that is not a regular file of at most ``max_bytes`` bytes.

    Only ``os.stat`` is used: a FIFO would block an open, and opening a device can act on it."""
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _os_error(exc, source) from None
    _check_stat(info, source, max_bytes, size_hint)


def open_input_file(path: str | Path, source: str, max_bytes: int, size_hint: str) -> BinaryIO:
    """The user's file opened for reading (binary), once :func:`check_input_file` accepts it."""
    check_input_file(path, source, max_bytes, size_hint)
    try:
        # O_NONBLOCK: should the path become a FIFO after the stat, the open still returns at once
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise _os_error(exc, source) from None
    try:
        _check_stat(os.fstat(fd), source, max_bytes, size_hint)  # the file opened may not be the one stat saw
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_input_bytes(path: str | Path, source: str, max_bytes: int, size_hint: str) -> bytes:
    """The bytes of a user's file of at most ``max_bytes``, or a one-line ScenarioError."""
    with open_input_file(path, source, max_bytes, size_hint) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise _os_error(exc, source) from None
    if len(data) > max_bytes:  # it grew since the stat
        raise ScenarioError(f"{source}: larger than {size_text(max_bytes)}; {size_hint}")
    return data


def read_json_file(path: Path, source: str, max_bytes: int, size_hint: str) -> Any:
    """The JSON data of a results file of at most ``max_bytes``, or a one-line ScenarioError."""
    data = read_input_bytes(path, source, max_bytes, size_hint)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # JSONDecodeError, or a number of thousands of digits
        raise ScenarioError(f"{source}: not valid JSON ({one_line(str(exc).splitlines()[0])})") from None
    except RecursionError:
        raise ScenarioError(f"{source}: JSON nested too deeply to read") from None


def read_text_file(path: Path, source: str, size_hint: str = SCENARIO_FILE) -> str:
    """The text of a user's scenario or sweep file, or a one-line ScenarioError saying why it
    cannot be read."""
    data = read_input_bytes(path, source, MAX_FILE_BYTES, size_hint)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as a file opened in text mode reads


# libyaml's parser with PyYAML's safe constructors: the same data as yaml.safe_load, ten times as
# fast; libyaml also refuses nesting deeper than 1000 without recursing.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Unreadable(Exception):
    """Why a YAML text cannot be read: a message, and where (line, dotted path) when known."""

    def __init__(self, message: str, line: int | None = None, path: str | None = None, syntax: bool = False):
        super().__init__(message)
        self.message, self.line, self.path, self.syntax = message, line, path, syntax

    def located(self, source: str) -> ScenarioError:
        line = f":{self.line}" if self.line else ""
        path = f": {one_line(self.path) or '<top>'}" if self.path is not None else ""
        return ScenarioError(f"{source}{line}{path}: {self.message}")


_kept: tuple[str, Any, dict] | None = None  # the last text read with keep=True, and its data and lines
_kept_lock = threading.Lock()  # two threads must never both be handed the same kept data to change


def parse_yaml(text: str, source: str, keep: bool = False) -> tuple[Any, dict[str, int]]:
    """Read the text as ``yaml.safe_load`` does, and map each dotted path to its 1-based line.

    The text is parsed once. With ``keep`` the result is also kept for the next call with the
    same text (which then costs nothing); a caller passing ``keep`` must not change the data."""
    global _kept
    with _kept_lock:
        kept, _kept = _kept, None
    if kept is not None and kept[0] == text:
        return kept[1], kept[2]
    try:
        data, lines = _read_yaml(text)
    except _Unreadable as problem:
        raise problem.located(source) from None
    if keep:
        with _kept_lock:
            _kept = (text, data, lines)
    return data, lines


def _read_yaml(text: str) -> tuple[Any, dict[str, int]]:
    node, loader = None, None
    lines: dict[str, int] = {}
    try:
        loader = _LOADER(text)
        node = loader.get_single_node()
        if node is None:
            return None, lines
        _Survey(lines).walk(node, "", 0)  # before building: an alias bomb is refused unbuilt
        return loader.construct_document(node), lines
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        hint = " (tags that build Python objects are refused)" if "constructor for the tag" in str(exc.problem) else ""
        raise _Unreadable(f"{exc.problem}{hint}", mark.line + 1 if mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "maximum nesting depth" in what:  # libyaml's own limit, far above ours
            raise _Unreadable(f"nested more than {MAX_DEPTH} levels deep", mark.line + 1 if mark else None) from None
        raise _Unreadable(f"YAML syntax error: {what}", mark.line + 1 if mark else None, syntax=True) from None
    except yaml.YAMLError as exc:
        raise _Unreadable(
            f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", syntax=True
        ) from None
    except RecursionError:
        raise _Unreadable(f"YAML nested more than {MAX_DEPTH} levels deep") from None
    except BUILD_ERRORS as exc:  # a scalar YAML parses but cannot build, e.g. 2020-02-30 or !!int ""
        line, path = _bad_scalar(node) if node is not None else (None, None)
        raise _Unreadable(f"cannot read this value ({_build_reason(exc)})", line, path) from None
    finally:
        if loader is not None:
            loader.dispose()


# What PyYAML's safe constructors raise on a scalar they cannot build (2020-02-30, !!int "").
BUILD_ERRORS = (ValueError, OverflowError, IndexError, KeyError, AttributeError, TypeError)


def _build_reason(exc: Exception) -> str:
    if isinstance(exc, ValueError) and "sys.set_int_max_str_digits" in str(exc):
        return f"a whole number of more than {sys.get_int_max_str_digits()} digits"
    return one_line(str(exc)) or type(exc).__name__


def _bad_scalar(node, prefix: str = "", seen: set | None = None) -> tuple[int | None, str | None]:
    """(line, path) of the first scalar that safe_load cannot construct ((None, None) if none is found)."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: already looked at
        return None, None
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        try:
            yaml.SafeLoader("").construct_object(node, deep=True)
        except BUILD_ERRORS:
            return node.start_mark.line + 1, prefix
        return None, None
    children = node.value if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) else []
    for i, child in enumerate(children):
        key, value = (str(child[0].value), child[1]) if isinstance(node, yaml.MappingNode) else (str(i), child)
        found = _bad_scalar(value, f"{prefix}.{key}" if prefix else key, seen)
        if found[0] is not None:
            return found
    return None, None


class _Survey:
    """One walk over a composed document, before anything is built from it: maps each dotted path
    to its line, and refuses duplicate keys, keys that are not text, and data too deep or, with
    its aliases written out, too large to check quickly.

    Each node is walked once. An alias of a walked node costs that node's values again (``done``
    keeps each node's (values, height)), so a file too large with its aliases written out is
    refused as soon as it passes the limit, however few bytes it has."""

    def __init__(self, lines: dict[str, int]):
        self.lines, self.left = lines, MAX_VALUES
        self.done: dict[int, tuple[int, int]] = {}
        self.open: set[int] = set()

    def spend(self, values: int, line: int, path: str) -> None:
        self.left -= values
        if self.left < 0:
            raise _Unreadable(
                f"the file passes {MAX_VALUES:,} values here, with its aliases written out; a "
                "scenario or sweep file holds a few hundred",
                line,
                path,
            )

    def walk(self, node, path: str, depth: int) -> int:
        """The height of ``node`` (0 for a scalar), its paths recorded and its values counted."""
        line = node.start_mark.line + 1
        self.lines[path] = line
        if depth > MAX_DEPTH:
            raise _Unreadable(f"nested more than {MAX_DEPTH} levels deep", line, path)
        if isinstance(node, yaml.ScalarNode):
            self.spend(1, line, path)
            return 0
        if id(node) in self.done:  # an alias of a node already walked
            values, height = self.done[id(node)]
            self.spend(values, line, path)
        elif id(node) in self.open:
            raise _Unreadable("an alias stands for a value that holds it", line, path)
        else:
            self.open.add(id(node))
            before, height = self.left, 0
            self.spend(1, line, path)
            for sub, entry_line, child in self.entries(node, path):
                if isinstance(child, yaml.ScalarNode):  # the most common node, walked here for speed
                    self.spend(1, entry_line, sub)
                    below = 0
                else:
                    below = self.walk(child, sub, depth + 1)
                self.lines[sub] = entry_line
                height = max(height, below + 1)
            self.open.discard(id(node))
            self.done[id(node)] = before - self.left, height
        if depth + height > MAX_DEPTH:
            raise _Unreadable(f"nested more than {MAX_DEPTH} levels deep", line, path)
        return height

    def entries(self, node, path: str):
        """(path, line, value) of each item of a list or entry of a mapping; a mapping's keys are
        checked and counted here."""
        prefix = f"{path}." if path else ""
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                yield prefix + str(i), item.start_mark.line + 1, item
            return
        keys = set()
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Unreadable("a key must be text, not a list or mapping", line, path)
            key = key_node.value
            sub = prefix + key
            if len(sub) > MAX_PATH_CHARS:
                raise _Unreadable(
                    f"a key makes a field path of more than {MAX_PATH_CHARS} characters; keys are ids and field names",
                    line,
                    short_repr(sub),
                )
            if key in keys:
                raise _Unreadable("duplicate key", line, sub)
            keys.add(key)
            self.spend(1, line, sub)
            yield sub, line, value_node


def _split_assignment(text: str, option: str, example: str) -> tuple[str, str, str]:
    """Split an option's "PATH=VALUE" into the path, the value's text and the text as shown."""
    shown = short_text(text)
    if "=" not in text:
        raise ScenarioError(f"{option} {shown}: expected {example}")
    path, value = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ScenarioError(f"{option} {shown}: empty field path")
    return path, value, shown


def parse_override(text: str) -> tuple[str, Any]:
    """Split "PATH=VALUE" and read VALUE as YAML."""
    path, value, shown = _split_assignment(text, "--set", "PATH=VALUE, e.g. backers.turkey.support=0.02")
    return path, _yaml_value(value, f"--set {shown}")


def _yaml_value(value: str, where: str) -> Any:
    """An option's VALUE read as YAML, or a one-line error after ``where``."""
    try:
        parsed = _read_yaml(value)[0] if value.strip() else None
    except _Unreadable as problem:
        what = f"value is not valid YAML ({problem.message})" if problem.syntax else problem.message
        raise ScenarioError(f"{where}: {what}") from None
    if parsed is None:
        raise ScenarioError(f"{where}: missing value after '='")
    return parsed


# ----------------------------------------------------------------------------------------------
# Events added from the command line, and what-if names
# ----------------------------------------------------------------------------------------------
EVENT_FORMS = "'DAY: PATH=VALUE' or 'DAY: PATH*=FACTOR', e.g. '30: backers.russia.pressure=0'"
_EVENT_SIGNS = {"set": "=", "scale": "*=", "add": "+="}
_EVENT_SECTIONS = ("factions", "backers", "mediator")
LABEL_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def _event_origin(text: str) -> str:
    return f"--event '{short_text(text.strip())}'"


def parse_event(text: str) -> AddedEvent:
    """Read ``--event``'s "DAY: PATH=VALUE" (set), "DAY: PATH*=FACTOR" (scale) or "DAY: PATH+=DELTA"
    (add); VALUE is read as YAML. The day's range, the path and the value are checked with the
    scenario (:meth:`Scenario.with_events`), as a file's events are."""
    if not isinstance(text, str):
        raise ScenarioError(f"--event {short_repr(text)}: expected text, {EVENT_FORMS}")
    where = _event_origin(text)
    day_text, colon, change = text.partition(":")
    if not colon:
        raise ScenarioError(f"{where}: no ':' after the day; expected {EVENT_FORMS}")
    day_text = day_text.strip()
    if not re.fullmatch(r"[0-9]+", day_text):  # [0-9], not \d: other scripts' digits are no day
        got = repr(short_text(day_text, 40)) if day_text else "nothing"
        raise ScenarioError(f"{where}: DAY must be a whole number of days, got {got}")
    if len(day_text) > 9:  # the schema refuses any day past 3650; int() of thousands of digits would fail
        raise ScenarioError(f"{where}: DAY must be in [1, 3650], got {short_text(day_text, 40)}")
    if "=" not in change:
        raise ScenarioError(f"{where}: no '=' after the field path; expected {EVENT_FORMS}")
    path, value = change.split("=", 1)
    path, op = path.strip(), "set"
    if path[-1:] in ("*", "+"):
        path, op = path[:-1].rstrip(), "scale" if path[-1] == "*" else "add"
    if not path:
        raise ScenarioError(f"{where}: empty field path")
    head = path.split(".")[0]
    if head not in _EVENT_SECTIONS:
        raise ScenarioError(
            f"{where}: {short_text(path)}: events change factions.ID.FIELD, backers.ID.FIELD or "
            f"mediator.FIELD{did_you_mean(head, _EVENT_SECTIONS)}"
        )
    return AddedEvent(int(day_text), op, path, _yaml_value(value, where), text.strip())


def _event_items(events) -> list[AddedEvent]:
    if not events:
        return []
    if isinstance(events, str):  # one event, not its characters
        events = [events]
    return [e if isinstance(e, AddedEvent) else parse_event(e) for e in events]


def _append_events(raw: Any, added: list[AddedEvent]) -> dict[str, str]:
    """Add events after a raw scenario's own; return {path: origin} for error messages. A file
    whose ``events`` is not a list is left for the validator to refuse."""
    if not added or not isinstance(raw, dict):
        return {}
    if raw.get("events") is None:
        raw["events"] = []
    if not isinstance(raw["events"], list):
        return {}
    first = len(raw["events"])
    raw["events"] = raw["events"] + [event.raw() for event in added]
    return {f"events.{first + i}": _event_origin(event.text) for i, event in enumerate(added)}


def _shift_event(path: str, by: int) -> str:
    """``events.I.rest`` as ``events.(I + by).rest``."""
    head, index, rest = path.split(".", 2)
    return f"{head}.{int(index) + by}.{rest}"


def check_label(label: Any) -> str:
    """A what-if's name as given to ``--label``, or a one-line error: 1 to 80 letters, digits,
    ``_``, ``-`` or ``.``, so that it is safe in a file name."""
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label) or set(label) == {"."}:
        shown = repr(short_text(label, 40)) if isinstance(label, str) else short_repr(label)
        raise ScenarioError(f"--label {shown}: a label is 1 to 80 letters, digits, '_', '-' or '.' (not only dots)")
    return label


def short_text(text: str, limit: int = 100) -> str:
    """A user's text shortened to ``limit`` characters for a message, on one line."""
    return one_line(text if len(text) <= limit else text[: limit - 3] + "...")


def _override_items(overrides) -> list[tuple[str, Any]]:
    if not overrides:
        return []
    return [
        parse_override(o) if isinstance(o, str) else o
        for o in (overrides if isinstance(overrides, (list, tuple)) else overrides.items())
    ]


def _override_labels(overrides) -> dict[str, str]:
    """{path: the value as a short text} of overrides, for names, summaries and reports."""
    return {path: short_repr(value) for path, value in _override_items(overrides)}


def _apply_overrides(raw: Any, overrides) -> dict[str, str]:
    """Write overrides into the raw mapping; return {path: origin} for error messages."""
    if not overrides:
        return {}
    if not isinstance(raw, dict):
        return {}
    items = _override_items(overrides)
    origins = {}
    for path, value in items:
        label = f"--set {path}={short_repr(value)}"
        for concrete in _expand_wildcards(raw, path, label):
            _set_path(raw, concrete, copy.deepcopy(value), label)
            origins[concrete] = label
    return origins


def _expand_wildcards(raw: dict, path: str, label: str) -> list[str]:
    parts = path.split(".")
    if "*" not in parts:
        return [path]
    i = parts.index("*")
    node: Any = raw
    for part in parts[:i]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or not node:
        raise ScenarioError(f"{label}: {'.'.join(parts[:i])}: nothing for '*' to match")
    out = []
    for key in node:
        out += _expand_wildcards(raw, ".".join(parts[:i] + [str(key)] + parts[i + 1 :]), label)
    return out


def _set_path(raw: dict, path: str, value: Any, label: str) -> None:
    parts = path.split(".")
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(f"{label}: {here}: no such list item")
            node = node[int(part)]
            continue
        if part not in node or node[part] is None:
            if depth == 0 and part in ("backers", "behaviour", "mediator"):
                node[part] = {}
            else:
                known = list(node) if isinstance(node, dict) else []
                raise ScenarioError(f"{label}: {here}: unknown field{did_you_mean(part, known)}")
        node = node[part]
        if not isinstance(node, (dict, list)):
            raise ScenarioError(f"{label}: {here}: is a value, not a section")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise ScenarioError(f"{label}: {path}: no such list item")
        node[int(last)] = value
    else:
        node[last] = value


# ----------------------------------------------------------------------------------------------
# Scales: a field multiplied everywhere
# ----------------------------------------------------------------------------------------------
# A sweep's varied name, or an explorer lever's key, for a field's factor rather than its value:
# scale.backers.turkey.support. No section of a scenario is called "scale".
SCALE_PREFIX = "scale."
_NOT_NUMBERS = {
    "int": "a whole number",
    "str": "text",
    "date": "a date",
    "days": "a list of days",
    "clients": "a backer's clients",
    "factions": "a list of factions",
}


def _not_a_number(kind: str) -> str:
    return f"holds {_NOT_NUMBERS.get(kind, kind)}, not a number --scale multiplies; use --set"


class ScaleError(ScenarioError):
    """A path that --scale cannot multiply: where (a dotted path) and why, for each caller to
    place (after ``--scale PATH=FACTOR`` on the command line, at ``vary.`` in a sweep file)."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = short_text(where), reason
        super().__init__(f"{self.where}: {reason}")


def factor_text(factor: float) -> str:
    """A scale's factor as the what-if names it: ``x2``, ``x0.5``."""
    return f"x{factor:.12g}"


def parse_scale(text: str) -> tuple[str, float]:
    """Split "PATH=FACTOR" and read FACTOR as a number >= 0."""
    path, value, shown = _split_assignment(text, "--scale", "PATH=FACTOR, e.g. backers.turkey.support=2")
    return path, _factor(value.strip(), f"--scale {shown}")


def _factor(value: Any, where: str) -> float:
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    # a number as typed; other text quoted, so that an empty or blank factor shows
    shown = short_repr(value) if not isinstance(value, str) else short_text(value, 40) if number else repr(value[:40])
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ScenarioError(f"{where}: FACTOR must be a number >= 0, got {shown}")
    try:
        factor = float(number)
    except OverflowError:
        factor = math.inf
    if not math.isfinite(factor) or factor < 0:
        raise ScenarioError(f"{where}: FACTOR must be a finite number >= 0, got {shown}")
    return factor


def _scale_items(scales) -> list[tuple[str, float]]:
    if not scales:
        return []
    out = []
    for item in scales if isinstance(scales, (list, tuple)) else scales.items():
        if isinstance(item, str):
            out.append(parse_scale(item))
            continue
        path, value = item
        out.append((path, _factor(value, f"--scale {short_text(str(path))}={short_repr(value)}")))
    return out


def scale_targets(data: dict, path: str) -> list[str]:
    """The fields a scale of ``path`` multiplies, in a scenario's data (canonical, as validated):
    ``factions.ID.FIELD``, ``backers.ID.FIELD``, ``mediator.FIELD`` or ``behaviour.FIELD`` of a
    numeric fact or constant, ``*`` matching every id or every such field. A path that reaches
    none, or reaches a field that is not a number, is a :class:`ScaleError`."""
    parts = path.split(".")
    head = parts[0]
    if head in SECTIONS:
        if len(parts) != 3:
            raise ScaleError(path, f"give {head}.ID.FIELD")
        ids = list(data[head]) if parts[1] == "*" else [parts[1]]
        for ident in ids:
            if ident not in data[head]:
                raise ScaleError(
                    f"{head}.{ident}", f"'{ident}' is not one of the {head}{did_you_mean(ident, data[head])}"
                )
        prefixes, fields = [f"{head}.{i}" for i in ids], SECTIONS[head]
    elif head in ("mediator", "behaviour"):
        if len(parts) != 2:
            raise ScaleError(path, f"give {head}.FIELD")
        prefixes, fields = [head], MEDIATOR_FIELDS if head == "mediator" else BEHAVIOUR_FIELDS
    elif head in TOP_FIELDS:
        raise ScaleError(path, _not_a_number(TOP_FIELDS[head].kind))
    else:
        known = [*SECTIONS, "mediator", "behaviour"]
        raise ScaleError(
            path,
            f"not a field --scale reaches{did_you_mean(head, known)}; give factions.ID.FIELD, "
            "backers.ID.FIELD, mediator.FIELD or behaviour.FIELD",
        )
    keys = list(fields) if parts[-1] == "*" else [parts[-1]]
    for key in keys:
        if key not in fields:
            raise ScaleError(f"{prefixes[0]}.{key}", f"unknown field{did_you_mean(key, fields)}")
    out = []
    for prefix in prefixes:
        for key in keys:
            kind = fields[key].kind
            why = (
                _not_a_number(kind)
                if kind != "number"
                else "control shares must sum to 1, so control cannot be scaled; scale strength instead"
                if head == "factions" and key == "control"
                else None
            )
            if why is None:
                out.append(f"{prefix}.{key}")
            elif "*" not in parts:
                raise ScaleError(f"{prefix}.{key}", why)
    if not out:
        raise ScaleError(path, "'*' matches no field --scale can multiply")
    return out


def _times(value: Any, factor: float) -> Any:
    """A fact multiplied: a number, or every parameter of a distribution ({kind: [params]})."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {kind: [p * factor for p in params] for kind, params in value.items()}
    return value * factor


def _apply_scales(raw: dict, items: list[tuple[str, float]], fields: bool = True) -> dict[str, str]:
    """Multiply fields (unless not ``fields``) and the events' values for them in a scenario's
    data (canonical, as written by ``to_yaml_dict``); return {path: origin} for error messages."""
    planned = []
    for path, factor in items:
        label = f"--scale {short_text(path)}={factor:.12g}"
        try:
            planned += [(label, target, factor) for target in scale_targets(raw, path)]
        except ScaleError as exc:
            raise ScenarioError(f"{label}: {exc}") from None
    scaled = {target for _, target, _ in planned}
    origins: dict[str, str] = {}
    for label, target, factor in planned:
        *owner, key = target.split(".")
        node = raw[owner[0]] if len(owner) == 1 else raw[owner[0]][owner[1]]
        follows = key == "support" and "max_support" in node and f"{target[: -len(key)]}max_support" not in scaled
        if fields and follows and node["max_support"] == node["support"]:
            node["max_support"] = _times(node["max_support"], factor)
        if fields:
            node[key] = _times(node[key], factor)
            origins[target] = label
        for i, event in enumerate(raw["events"]):
            for op in ("set", "add"):  # an event's scale multiplies the (scaled) current value
                changes = event.get(op) or {}
                if target in changes:
                    changes[target] = _times(changes[target], factor)
                    origins[f"events.{i}.{op}.{target}"] = label
    return origins


BUILTIN_SCENARIOS = Path(str(resources.files("truce_sim.core") / "scenarios"))


def resolve_scenario(path_or_name: str | Path, builtins: Path = BUILTIN_SCENARIOS) -> Path:
    """A file's path: the path itself, or the built-in file of that name (``libya_2020_january``)
    when the name is bare and no such file exists here."""
    path = Path(path_or_name)
    if not path_exists(path) and path.suffix == "" and len(path.parts) == 1:
        builtin = builtins / f"{path.name}.yaml"
        if path_exists(builtin):
            return builtin
    return path


def path_exists(path: Path) -> bool:
    """Whether anything is at ``path``; a name the system refuses (too long, a NUL byte) is not
    there, and reading it then says why."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def builtin_scenarios(directory: str | Path = BUILTIN_SCENARIOS) -> list[tuple[str, str, Path]]:
    """(name, description, path) of the scenario files in a directory (default: the built-ins)."""
    out = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            s = load_scenario(path)
            out.append((s.name, s.description, path))
        except ScenarioError as exc:
            out.append((path.stem, f"(invalid: {exc})", path))
    return out
