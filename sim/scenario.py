"""Scenario files: YAML loading with line numbers, the Scenario object, dotted paths, overrides.

A scenario is the facts of one case (factions, backers, mediator, events, horizon, seed); the
behavioural constants come from ``defaults.yaml`` and may be overridden under ``behaviour:``.
Every field has a dotted path (``backers.turkey.support``) by which ``--set`` and sweeps reach it.
Any numeric fact may be a distribution (``{uniform: [lo, hi]}``, ``{normal: [mean, sd]}``,
``{triangular: [lo, mode, hi]}``), drawn once per world by the model.

The schema and its validator are in :mod:`sim.schema`; errors are :class:`ScenarioError` with one
line: ``file:line: field.path: what is wrong``.
"""
from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .schema import (BACKER_FIELDS, BEHAVIOUR_FIELDS, DEFAULTS_PATH, DISTRIBUTIONS, FACTION_FIELDS,  # noqa: F401
                     MEDIATOR_FIELDS, REQUIRED, SECTIONS, TOP_FIELDS, Distribution, Field, ScenarioError,
                     _did_you_mean, _short, _Validator, field_for, one_line)

# ----------------------------------------------------------------------------------------------
# Typed scenario
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    day: int
    set: dict
    scale: dict
    add: dict
    talks: bool
    label: str


class Scenario:
    """A validated scenario: plain data by dotted path, with typed views for the model.

    Build one with :func:`load_scenario` or :meth:`Scenario.from_dict`; change one with
    :meth:`with_overrides`, which validates again.
    """

    def __init__(self, data: dict, source: str = "<scenario>"):
        self.data = data
        self.source = source

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
        return [Event(e["day"], e.get("set", {}), e.get("scale", {}), e.get("add", {}),
                      bool(e.get("talks", False)), e.get("label", "")) for e in self.data["events"]]

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
            out["mediator.monitoring"] = self.data["mediator"]["monitoring"]
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
        return yaml.safe_dump(self.to_yaml_dict(), sort_keys=False, allow_unicode=True)

    def with_overrides(self, overrides: dict[str, Any] | list[str] | None) -> "Scenario":
        """A new scenario with fields replaced, given as {path: value} or ["PATH=VALUE", ...]."""
        raw = self.to_yaml_dict()
        origins = _apply_overrides(raw, overrides)
        return Scenario.from_dict(raw, source=self.source, origins=origins)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<scenario>", lines: dict | None = None,
                  origins: dict | None = None) -> "Scenario":
        return cls(_Validator(source, lines or {}, origins or {}).scenario(raw), source)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, factions={list(self.factions)}, backers={list(self.backers)})"


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------
def load_scenario(path: str | Path, overrides: dict | list[str] | None = None) -> Scenario:
    """Read, validate and return the scenario in ``path``, with ``overrides`` applied.

    ``overrides`` is a mapping {dotted.path: value} or a list of "PATH=VALUE" strings (as given
    to ``--set``); values in strings are read as YAML, so ``{uniform: [0.3, 0.5]}`` works.
    """
    path = Path(path)
    source = one_line(path)
    text = read_text_file(path, source)
    raw, lines = parse_yaml(text, source)
    origins = _apply_overrides(raw, overrides)
    return Scenario.from_dict(raw, source=source, lines=lines, origins=origins)


MAX_FILE_BYTES = 10 * 2**20  # a scenario or sweep file is a few kilobytes


def read_text_file(path: Path, source: str) -> str:
    """The text of a user's file, or a one-line ScenarioError saying why it cannot be read."""
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise ScenarioError(f"{source}: not a regular file")
        if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{source}: larger than {MAX_FILE_BYTES // 2**20} MB; a scenario file is a few KB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, not a scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except ValueError:  # a NUL byte in the path
        raise ScenarioError(f"{source}: not a valid file name") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read ({exc.strerror})") from None


def parse_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """``yaml.safe_load`` the text, and map each dotted path to its 1-based line."""
    node = _guarded(yaml.compose, text, source)
    lines: dict[str, int] = {}
    if node is not None:
        _walk_lines(node, "", lines, source)
    try:
        data = _guarded(yaml.safe_load, text, source)
    except ScenarioError:
        raise
    except BUILD_ERRORS as exc:  # a scalar YAML parses but cannot build, e.g. 2020-02-30 or !!int ""
        raise ScenarioError(f"{source}{_bad_scalar(node)}: cannot read this value ({one_line(exc) or type(exc).__name__})") from None
    return data, lines


def _guarded(read, text: str, source: str):
    """Run a PyYAML reader, turning its errors into one-line ScenarioErrors."""
    try:
        return read(text, Loader=yaml.SafeLoader) if read is yaml.compose else read(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{source}{line}: {exc.problem} (tags that build Python objects are refused)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        what = (exc.problem or exc.context or "invalid YAML").strip()
        raise ScenarioError(f"{source}{line}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: YAML error: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: YAML nested too deeply") from None


# What PyYAML's safe constructors raise on a scalar they cannot build (2020-02-30, !!int "").
BUILD_ERRORS = (ValueError, OverflowError, IndexError, KeyError, AttributeError, TypeError)


def _bad_scalar(node, prefix: str = "", seen: set | None = None) -> str:
    """':LINE: path' of the first scalar that safe_load cannot construct ('' if none is found)."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: already looked at
        return ""
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        try:
            yaml.SafeLoader("").construct_object(node, deep=True)
        except BUILD_ERRORS:
            return f":{node.start_mark.line + 1}: {one_line(prefix) or '<top>'}"
        return ""
    children = node.value if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) else []
    for i, child in enumerate(children):
        key, value = (str(child[0].value), child[1]) if isinstance(node, yaml.MappingNode) else (str(i), child)
        found = _bad_scalar(value, f"{prefix}.{key}" if prefix else key, seen)
        if found:
            return found
    return ""


def _walk_lines(node, prefix: str, lines: dict, source: str, depth: int = 0, seen: set | None = None) -> None:
    seen = set() if seen is None else seen
    if depth > 50:
        raise ScenarioError(f"{source}:{node.start_mark.line + 1}: {one_line(prefix) or '<top>'}: nested too deeply")
    lines[prefix] = node.start_mark.line + 1
    if id(node) in seen:  # an alias of a node already mapped: do not walk it again (alias bombs)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            if key in keys:
                raise ScenarioError(f"{source}:{key_node.start_mark.line + 1}: {one_line(path)}: duplicate key")
            keys.add(key)
            _walk_lines(value_node, path, lines, source, depth + 1, seen)
            lines[path] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk_lines(item, f"{prefix}.{i}" if prefix else str(i), lines, source, depth + 1, seen)


def parse_override(text: str) -> tuple[str, Any]:
    """Split "PATH=VALUE" and read VALUE as YAML."""
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected PATH=VALUE, e.g. backers.turkey.support=0.02")
    path, value = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ScenarioError(f"--set {text}: empty field path")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        raise ScenarioError(f"--set {text}: value is not valid YAML") from None
    if parsed is None:
        raise ScenarioError(f"--set {text}: missing value after '='")
    return path, parsed


def _apply_overrides(raw: Any, overrides) -> dict[str, str]:
    """Write overrides into the raw mapping; return {path: origin} for error messages."""
    if not overrides:
        return {}
    if not isinstance(raw, dict):
        return {}
    items = [parse_override(o) if isinstance(o, str) else o for o in
             (overrides if isinstance(overrides, (list, tuple)) else overrides.items())]
    origins = {}
    for path, value in items:
        label = f"--set {path}={_short(value)}"
        for concrete in _expand_wildcards(raw, path, label):
            _set_path(raw, concrete, copy.deepcopy(value), label)
            origins[concrete] = label
    return origins


def _expand_wildcards(raw: dict, path: str, label: str) -> list[str]:
    parts = path.split(".")
    if "*" not in parts:
        return [path]
    i = parts.index("*")
    node = raw
    for part in parts[:i]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or not node:
        raise ScenarioError(f"{label}: {'.'.join(parts[:i])}: nothing for '*' to match")
    out = []
    for key in node:
        out += _expand_wildcards(raw, ".".join(parts[:i] + [str(key)] + parts[i + 1:]), label)
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
                raise ScenarioError(f"{label}: {here}: unknown field{_did_you_mean(part, known)}")
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


def builtin_scenarios(directory: str | Path) -> list[tuple[str, str, Path]]:
    """(name, description, path) of the scenario files in a directory."""
    out = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            s = load_scenario(path)
            out.append((s.name, s.description, path))
        except ScenarioError as exc:
            out.append((path.stem, f"(invalid: {exc})", path))
    return out
