"""Fuzzed input files: every mutation of a valid scenario or sweep file either runs or is refused.

The contract (README, "Exit status"; truce_sim/cli.py): whatever a user's file holds, the command line
ends with status 0, or with status 2 and exactly one line ``error: ...`` on stderr. It never
prints a traceback, never hangs, never writes outside its out dir, and never runs code named by
a YAML tag. Names and ids that would lead a path out of the out dir (``../``, absolute paths,
``/``) are refused.

How: hypothesis mutates the built-in files (``scenarios/libya_2020_january.yaml``,
``scenarios/stalemate_joint_pressure.yaml`` and a four-point cut of
``sweeps/libya_russia_pressure_monitoring.yaml``): deleted, renamed and duplicated keys, leaves
replaced by values of the wrong type, huge, tiny, NaN, unicode or nested values, in-range extremes,
YAML tags (``!!python/object/apply:os.system``, ``!!binary``, ``!!set``, ``!foo``...), deep
nesting, binary junk, truncation, empty files and 1 MB values. ``sim.cli.main`` is called in this
process (fast); each example runs under a SIGALRM time limit, so a hang fails the test instead
of stalling it.

Replaying a failure. The examples are derandomized: every run tries the same ones, so a failure
is replayed by running the test again; hypothesis also prints a ``@reproduce_failure`` blob, and
each assertion message shows the mutation and the start of the mutated file. To explore other
examples set ``TRUCE_FUZZ_SEED=<int>`` (the seed is printed in every failure message) and, for a
longer run, ``TRUCE_FUZZ_SCALE=<factor>`` to multiply the number of examples. A failing example is
reported as found, not shrunk, so that a failure too ends within the time budget; set
``TRUCE_FUZZ_SHRINK=1`` to have hypothesis shrink it to a minimal one (this can take minutes).

Known bugs. Each bug these tests have found has a minimal reproducer at the end of the file,
kept as a regression test. While a bug is open, its reproducer is marked
``xfail(strict=True)`` and its inputs are listed in ``KNOWN_BUGS``, the only inputs the fuzz
tests let go (with ``assume``); any other breach fails. Once fixed, the mark and the entry go.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import io
import json
import math
import os
import re
import shutil
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from truce_sim.cli import main
from truce_sim.core.scenario import (
    BACKER_FIELDS,
    BEHAVIOUR_FIELDS,
    FACTION_FIELDS,
    MEDIATOR_FIELDS,
    TOP_FIELDS,
    ScenarioError,
)

from .conftest import SMALL_SCENARIO, Hang, edit, time_limit

try:
    from hypothesis import HealthCheck, Phase, assume, event, given, note, seed, settings
    from hypothesis import strategies as st

    HAVE_HYPOTHESIS = True
except ImportError:  # pragma: no cover - the tests below say why they are skipped
    HAVE_HYPOTHESIS = False

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
SEED_SCENARIOS = ("libya_2020_january", "stalemate_joint_pressure")
SWEEP_SOURCE = REPO / "sweeps" / "libya_russia_pressure_monitoring.yaml"
SWEEP_BASE = SCENARIOS / "libya_2020_january.yaml"  # copied next to each fuzzed sweep as base.yaml

FUZZ_SEED = os.environ.get("TRUCE_FUZZ_SEED")
FUZZ_SCALE = float(os.environ.get("TRUCE_FUZZ_SCALE", "1"))
FUZZ_SHRINK = os.environ.get("TRUCE_FUZZ_SHRINK", "") not in ("", "0")  # shrinking a failure can take minutes
CHECK_LIMIT_S = 20  # a `check` of any file, even 1 MB, takes well under a second
RUN_LIMIT_S = 60  # a run of 3 worlds x 5 days with its plots takes a few seconds
SWEEP_LIMIT_S = 90  # at most 4 points of 3 worlds, their plots and the Cox fit

# Inputs that trigger a bug already reported (see the xfail reproducers at the end of the file).
# The fuzz tests skip only these inputs; delete an entry once its bug is fixed.
KNOWN_BUGS: set[str] = set()  # all reported bugs are fixed; their reproducers below now pass


# ------------------------------------------------------------------------------------------------
# Running the command line in this process, with a time limit, and judging the outcome
# ------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    rc: int | None
    out: str
    err: str
    crash: str = ""  # the traceback of an exception that escaped main()


def call_main(argv: list[str], cwd: Path, limit: int) -> Outcome:
    """``sim.cli.main(argv)`` in ``cwd`` with stdout and stderr captured; a hang is an AssertionError."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with (
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            time_limit(limit, " ".join(argv[:2])),
        ):
            rc = main(argv)
    except Hang as exc:
        raise AssertionError(f"{exc} (argv {argv})") from None
    except BaseException:  # noqa: BLE001 - anything escaping main() would be a traceback for the user
        return Outcome(None, out.getvalue(), err.getvalue(), traceback.format_exc())
    return Outcome(rc, out.getvalue(), err.getvalue())


def show(raw: bytes | str, limit: int = 300) -> str:
    """The start of a fuzzed file, for assertion messages."""
    text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="backslashreplace")
    return repr(text[:limit]) + (f" ... ({len(text)} chars)" if len(text) > limit else "")


def replay_hint() -> str:
    if FUZZ_SEED is not None:
        return f"replay: TRUCE_FUZZ_SEED={FUZZ_SEED} pytest tests/test_fuzz.py"
    return "replay: pytest tests/test_fuzz.py (derandomized: the same examples every run; see the blob above)"


def assert_contract(outcome: Outcome, context: str) -> None:
    """Exit status 0, or 2 with exactly one non-empty line starting with 'error:'; no traceback."""
    where = f"\n{context}\n{replay_hint()}"
    assert not outcome.crash, f"an exception escaped main():\n{outcome.crash}{where}"
    assert "Traceback" not in outcome.err, f"traceback on stderr:\n{outcome.err[-3000:]}{where}"
    # 1 (a failure of the machine: disk, permission) has no cause here: the tmp dir is writable
    assert outcome.rc in (0, 2), f"exit status {outcome.rc}, stderr {outcome.err[-1000:]!r}{where}"
    if outcome.rc == 2:
        err = outcome.err
        assert err.endswith("\n") and err.count("\n") == 1 and "\r" not in err, (
            f"exit status {outcome.rc} must come with exactly one line on stderr, got {err[:2000]!r}{where}"
        )
        assert err.startswith("error: ") and err[len("error: ") :].strip(), f"not an 'error: ...' line: {err!r}{where}"


def judge(outcome: Outcome, raw: bytes, kind: str, context: str) -> None:
    """assert_contract, except that an input triggering a bug listed in KNOWN_BUGS is rejected
    (hypothesis draws another). The costly known-bug test runs only when the contract fails."""
    try:
        assert_contract(outcome, context)
    except AssertionError:
        assume(known_bug(raw, kind) is None)
        raise


def tree(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def assert_only_inside(before: set[Path], root: Path, out_name: str | None, context: str) -> None:
    """No new entry under ``root`` except inside ``root/out_name``; no PWNED marker anywhere."""
    after = tree(root)
    stray = sorted(str(p) for p in after - before if out_name is None or p.parts[0] != out_name)
    assert not stray, f"written outside the out dir: {stray[:10]}\n{context}\n{replay_hint()}"
    pwned = [str(p) for p in after if "PWNED" in p.name]
    assert not pwned and not (REPO / "PWNED").exists(), f"a YAML tag ran code: {pwned}\n{context}"


CONSTRUCTOR_CRASH = object()  # safe_load failed with an error parse_yaml does not expect


def parse_quietly(raw: bytes):
    """The YAML data of a fuzzed file; None when it does not parse, CONSTRUCTOR_CRASH when PyYAML
    fails with an exception other than its own, ValueError or OverflowError."""
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError):
        return None
    except Exception:  # noqa: BLE001
        return CONSTRUCTOR_CRASH


def _strings(data, depth: int = 0):
    if depth > 60:
        return
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(k, depth + 1)
            yield from _strings(v, depth + 1)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v, depth + 1)


def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def known_bug(raw: bytes, kind: str) -> str | None:
    """The entry of KNOWN_BUGS this input would trigger (kind: check, run or sweep), or None."""
    data = parse_quietly(raw)
    if data is CONSTRUCTOR_CRASH and "tagged_scalar_constructor_crash" in KNOWN_BUGS:
        return "tagged_scalar_constructor_crash"
    if data is None or data is CONSTRUCTOR_CRASH:
        return None
    if "newline_echoed_in_error" in KNOWN_BUGS and any("\n" in s or "\r" in s for s in _strings(data)):
        return "newline_echoed_in_error"
    if not isinstance(data, dict):
        return None
    if kind == "run":
        day = _date(data.get("start_date")) if data.get("start_date") is not None else None
        if (
            "start_date_outside_pandas_range" in KNOWN_BUGS
            and day is not None
            and not dt.date(1678, 1, 1) <= day <= dt.date(2252, 1, 1)
        ):
            return "start_date_outside_pandas_range"
        factions = data.get("factions")
        if (
            "all_control_distributions" in KNOWN_BUGS
            and isinstance(factions, dict)
            and factions
            and all(isinstance(f, dict) and isinstance(f.get("control"), dict) for f in factions.values())
        ):
            return "all_control_distributions"
    if kind in ("sweep", "sweep_run"):
        vary = data.get("vary")
        if "vary_key_not_text" in KNOWN_BUGS and isinstance(vary, dict) and any(not isinstance(k, str) for k in vary):
            return "vary_key_not_text"
        if "base_with_nul" in KNOWN_BUGS and isinstance(data.get("base"), str) and "\x00" in data["base"]:
            return "base_with_nul"
    if kind == "sweep_run" and "heatmap_metric_all_nan" in KNOWN_BUGS:
        metrics = data.get("metrics")
        metrics = metrics if isinstance(metrics, list) and metrics else ["median_survival_days"]  # the default's
        survival = [m for m in metrics if isinstance(m, str) and m.startswith("survival_at_")]
        if (
            data.get("design", "grid") == "grid"
            and isinstance(data.get("vary"), dict)
            and len(data["vary"]) == 2
            and not survival
            and metrics[0] == "median_survival_days"
        ):
            return "heatmap_metric_all_nan"
    return None


# ------------------------------------------------------------------------------------------------
# The valid files the mutations start from
# ------------------------------------------------------------------------------------------------


def seed_scenarios() -> dict[str, str]:
    return {name: (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8") for name in SEED_SCENARIOS}


# collapse_share first: it is the metric of the two-lever heatmap when no survival_at_* fits in 5 days
SWEEP_METRICS = (
    "metrics: [collapse_share, median_survival_days, mean_violations_per_day, breaker_share_gna,\n"
    "          breaker_share_lna]\n"
)


def seed_sweeps() -> dict[str, str]:
    """The built-in sweep cut to four points of few worlds and days, its base beside it."""
    text = SWEEP_SOURCE.read_text(encoding="utf-8")
    text = edit(text, "base: libya_2020_january", "base: base.yaml")
    text = edit(text, "replicates: 500", "replicates: 3\nsteps: 5")
    head, _, _ = text.partition("vary:\n")
    grid = head + (
        "vary:\n  backers.russia.pressure: {from: 0.0, to: 1.0, num: 2}\n"
        "  mediator.monitoring: [0.0, 1.0]\n" + SWEEP_METRICS
    )
    lhs = edit(head, "design: grid", "design: lhs\nn: 3").replace(
        "name: libya_russia_pressure_monitoring", "name: libya_russia_lhs"
    )
    lhs += (
        "vary:\n  backers.russia.pressure: {uniform: [0.0, 1.0]}\n"
        "  mediator.monitoring: {uniform: [0.0, 1.0]}\n" + SWEEP_METRICS
    )
    return {"sweep_grid": grid, "sweep_lhs": lhs}


def write_sweep_dir(directory: Path, raw: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SWEEP_BASE, directory / "base.yaml")
    path = directory / "sweep.yaml"
    path.write_bytes(raw)
    return path


def test_seed_files_are_valid(tmp_path):
    """The mutations start from files that pass: a failure below is the mutation's doing."""
    for name, text in seed_scenarios().items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        outcome = call_main(["check", str(path)], tmp_path, CHECK_LIMIT_S)
        assert outcome.rc == 0, outcome
    for name, text in seed_sweeps().items():
        path = write_sweep_dir(tmp_path / name, text.encode())
        out = tmp_path / name / "out"
        outcome = call_main(
            [
                "sweep",
                str(path),
                "--out",
                str(out),
                "-q",
                "--workers",
                "1",
                "-n",
                "3",
                "--steps",
                "5",
                "--max-points",
                "4",
            ],
            tmp_path / name,
            SWEEP_LIMIT_S,
        )
        assert outcome.rc == 0, outcome
        assert (out / "points.csv").is_file()


# ------------------------------------------------------------------------------------------------
# Named escapes: names and ids that would lead out of the out dir are refused, nothing is written
# ------------------------------------------------------------------------------------------------
ESCAPE_MARK = "truce_fuzz_escape_mark"  # one name for every test process, so parallel runs collect the same ids
ESCAPE_NAMES = [
    "../x",
    f"../../{ESCAPE_MARK}",
    f"/tmp/{ESCAPE_MARK}",
    f"/{ESCAPE_MARK}",
    "/abs",
    "a/b",
    "x" * 200,
    "",
    "..",
    ".",
    "a\\b",
    "~/x",
    "a\u2215b",
    "a/../../b",
]

SMALL = SMALL_SCENARIO


@pytest.mark.parametrize("name", ESCAPE_NAMES, ids=[repr(n)[:24] for n in ESCAPE_NAMES])
def test_scenario_name_that_would_escape_is_refused(tmp_path, name):
    (tmp_path / "cwd").mkdir()
    text = edit(SMALL, "name: base_case", "name: " + json.dumps(name))  # JSON strings are YAML strings
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    before = tree(tmp_path)
    for argv in (["check", str(path)], ["run", str(path), "-n", "3", "--steps", "5", "-q", "--workers", "1"]):
        outcome = call_main(argv, tmp_path / "cwd", RUN_LIMIT_S)  # run without --out: the name picks the dir
        assert_contract(outcome, f"name {name!r}")
        assert outcome.rc == 2 and "name" in outcome.err, outcome
        assert_only_inside(before, tmp_path, None, f"name {name!r}")
    assert not (Path("/tmp") / ESCAPE_MARK).exists() and not (Path("/") / ESCAPE_MARK).exists()


BAD_IDS = ["../gna", "a/b", "..", "g na", "/abs", "", "gna/../lna", "gna\\x", " gna", "gna ", "."]


@pytest.mark.parametrize("section", ["factions", "backers"])
@pytest.mark.parametrize("ident", BAD_IDS, ids=[repr(i)[:20] for i in BAD_IDS])
def test_faction_or_backer_id_that_would_escape_is_refused(tmp_path, section, ident):
    quoted = json.dumps(ident)
    if section == "factions":
        text = edit(SMALL, "  gna: {strength", f"  {quoted}: {{strength")
        text = edit(text, "clients: [gna]", f"clients: [{quoted}]")
    else:
        text = edit(SMALL, "  turkey: {", f"  {quoted}: {{")
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "cwd").mkdir()
    out = tmp_path / "out"
    before = tree(tmp_path)
    outcome = call_main(
        ["run", str(path), "-n", "3", "--steps", "5", "--out", str(out), "-q", "--workers", "1"],
        tmp_path / "cwd",
        RUN_LIMIT_S,
    )
    assert_contract(outcome, f"{section} id {ident!r}")
    assert outcome.rc == 2 and f"{section}." in outcome.err and "id" in outcome.err, outcome
    assert_only_inside(before, tmp_path, None, f"{section} id {ident!r}")


SWEEP_ESCAPES = ["../x", f"../../{ESCAPE_MARK}", f"/tmp/{ESCAPE_MARK}", "a/b", "", "..", "x/../y", "a\\b"]


@pytest.mark.parametrize("name", SWEEP_ESCAPES, ids=[repr(n)[:24] for n in SWEEP_ESCAPES])
def test_sweep_name_that_would_escape_is_refused(tmp_path, name):
    text = seed_sweeps()["sweep_grid"]
    text = edit(text, "name: libya_russia_pressure_monitoring", "name: " + json.dumps(name))
    path = write_sweep_dir(tmp_path, text.encode())
    (tmp_path / "cwd").mkdir()
    before = tree(tmp_path)
    outcome = call_main(
        ["sweep", str(path), "-q", "--workers", "1", "-n", "3", "--steps", "5", "--max-points", "4"],
        tmp_path / "cwd",
        SWEEP_LIMIT_S,
    )  # no --out: the name picks results/sweeps/<name>
    assert_contract(outcome, f"sweep name {name!r}")
    assert outcome.rc == 2 and "name" in outcome.err, outcome
    assert_only_inside(before, tmp_path, None, f"sweep name {name!r}")
    assert not (Path("/tmp") / ESCAPE_MARK).exists() and not (tmp_path / ESCAPE_MARK).exists()


# ------------------------------------------------------------------------------------------------
# Fixed nasty inputs (also drawn by the fuzzers; here each is tried every time)
# ------------------------------------------------------------------------------------------------
def _nasty_inputs() -> list:
    libya = (SCENARIOS / "libya_2020_january.yaml").read_text(encoding="utf-8")
    mb = "x" * 1_000_000
    cases = {
        "empty": b"",
        "blank": b"\n\n   \n",
        "comment_only": b"# nothing\n",
        "document_markers": b"---\n...\n",
        "null_document": b"~\n",
        "scalar_document": b"42\n",
        "nul_bytes": b"\x00" * 64,
        "invalid_utf8": b"name: caf\xe9\n\xff\xfe\xfd",
        "utf16": libya.encode("utf-16"),
        "utf8_bom": b"\xef\xbb\xbf" + libya.encode(),
        "random_bytes": bytes(range(256)) * 4,
        "brackets_2000": b"name: " + b"[" * 2000 + b"]" * 2000 + b"\n",
        "braces_2000": b"name: x\nfactions: " + b"{a: " * 2000 + b"1" + b"}" * 2000 + b"\n",
        "unclosed_brackets_100k": b"[" * 100_000,
        "block_nesting_900": "".join(" " * i + "a:\n" for i in range(900)).encode() + b" " * 900 + b"1\n",
        "dashes_2000": b"- " * 2000 + b"x\n",
        "python_apply": (libya + "description: !!python/object/apply:os.system ['touch PWNED']\n").encode(),
        "python_apply_top": b"!!python/object/apply:os.system ['touch PWNED']\n",
        "python_new": (
            libya.replace("seed: 20200112", "seed: !!python/object/new:subprocess.Popen [[touch, PWNED]]").encode()
        ),
        "python_name": libya.replace("horizon_days: 180", "horizon_days: !!python/name:os.system").encode(),
        "binary_tag": libya.replace("horizon_days: 180", "horizon_days: !!binary aGVsbG8=").encode(),
        "bad_binary": libya.replace("horizon_days: 180", "horizon_days: !!binary '@@@'").encode(),
        "set_tag": libya.replace("talks: [1, 7]", "talks: !!set {1, 7}").encode(),
        "bad_timestamp": libya.replace("start_date: 2020-01-12", "start_date: !!timestamp 2020-13-45").encode(),
        "custom_tag": libya.replace("seed: 20200112", "seed: !foo 20200112").encode(),
        "int_tag_on_text": libya.replace("seed: 20200112", "seed: !!int twelve").encode(),
        "undefined_alias": libya.replace("seed: 20200112", "seed: *nowhere").encode(),
        "merge_of_scalar": libya.replace("seed: 20200112", "seed: 1\n<<: 5").encode(),
        "huge_int": libya.replace("seed: 20200112", "seed: 1" + "0" * 400).encode(),
        "int_over_str_limit": libya.replace("seed: 20200112", "seed: 1" + "0" * 5000).encode(),
        "huge_float": libya.replace("strength: 0.9", "strength: 1.0e+400").encode(),
        "long_description_1mb": libya.replace("description: Truce", f"description: {mb} Truce").encode(),
        "long_label_1mb": libya.replace('label: "embargo pledge broken"', f'label: "{mb}"').encode(),
        "long_key_1mb": (libya + f"{mb}: 1\n").encode(),
        "long_id_1mb": libya.replace("  egypt:", f"  {mb}:").encode(),
        "long_line_junk_1mb": (libya + "z" * 1_000_000).encode(),
        "crlf": libya.replace("\n", "\r\n").encode(),
        "tab_indent": libya.replace("  gna:", "\tgna:").encode(),
    }
    return [pytest.param(raw, id=name) for name, raw in cases.items()]


@pytest.mark.parametrize("raw", _nasty_inputs())
def test_nasty_scenario_file_is_checked_or_refused(tmp_path, raw):
    path = tmp_path / "in.yaml"
    path.write_bytes(raw)
    (tmp_path / "cwd").mkdir()
    before = tree(tmp_path)
    outcome = call_main(["check", str(path)], tmp_path / "cwd", CHECK_LIMIT_S)
    assert_contract(outcome, f"input {show(raw)}")
    assert_only_inside(before, tmp_path, None, f"input {show(raw)}")  # check writes nothing at all


# ------------------------------------------------------------------------------------------------
# Mutation strategies
# ------------------------------------------------------------------------------------------------
@dataclass
class Mutant:
    """A fuzzed file: which valid file it started from, what was done to it, and its bytes."""

    origin: str
    steps: list[str] = field(default_factory=list)
    raw: bytes = b""

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return f"Mutant({self.origin!r}, steps={self.steps!r}, raw={show(self.raw)})"

    def context(self) -> str:
        return f"mutant of {self.origin}: {'; '.join(self.steps)}\nfile: {show(self.raw)}"


if HAVE_HYPOTHESIS:
    SPECIAL_TEXT = [
        "",
        " ",
        "\u202egna",
        "\u0645\u0644\u064a\u0634\u064a\u0627",
        "\U0001f54a\ufe0f\u270c",
        "\ufb01",
        "\u03a9",
        "a\tb",
        "\x07\x1b[31mred",
        "\u2028",
        "\x85",
        "\ufeff",
        "~",
        "null",
        "yes",
        "no",
        "on",
        ".nan",
        ".inf",
        "0x1F",
        "0o17",
        "1_000",
        "1e3",
        "2020-01-12",
        "12:30:00",
        "=",
        "<<",
        "*",
        "&",
        "!",
        "%",
        "@",
        "`",
        "{",
        "[",
        "'",
        '"',
        "#",
        "---",
        "...",
        "../evil",
        "/abs",
        "a/b",
        "C:\\x",
        "a\x00b",
        "x" * 70,
        "x" * 10_000,
        "a\nb",
        "a\r\nb",
        "line\n",
    ]
    # text of any code point but surrogates (which UTF-8 cannot hold)
    ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
    TEXT = st.one_of(ANY_TEXT, st.sampled_from(SPECIAL_TEXT))
    NUMBERS = st.one_of(
        st.sampled_from(
            [
                10**400,
                -(10**400),
                2**63,
                2**63 - 1,
                2**64,
                -1,
                0,
                1,
                3650,
                3651,
                10**7,
                10**7 + 1,
                -0.0,
                0.5,
                1e308,
                -1e308,
                5e-324,
                1e-320,
                math.nan,
                math.inf,
                -math.inf,
                1e6,
                1e6 + 1,
                1.0000001,
                -1e-9,
            ]
        ),
        st.integers(-(2**80), 2**80),
        st.floats(),
    )
    SCALARS = st.one_of(
        TEXT,
        NUMBERS,
        st.booleans(),
        st.none(),
        st.dates(),
        st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    )
    DISTRIBUTION = st.builds(
        lambda kind, params: {kind: params},
        st.sampled_from(["uniform", "normal", "triangular", "beta", "", "Uniform"]),
        st.one_of(st.lists(NUMBERS, max_size=4), NUMBERS, TEXT),
    )
    WEIRD_VALUE = st.one_of(
        SCALARS,
        DISTRIBUTION,
        st.lists(SCALARS, max_size=4),
        st.dictionaries(TEXT, SCALARS, max_size=3),
        st.binary(max_size=16),  # dumped as !!binary
        st.sets(st.integers(-5, 5), max_size=3),  # dumped as !!set
        st.recursive(
            SCALARS, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2), max_leaves=8
        ),
    )
    WEIRD_KEY = st.one_of(
        st.sampled_from(
            [
                "../evil",
                "/abs",
                "a/b",
                "",
                " ",
                "a b",
                "..",
                "x" * 65,
                "\u00df",
                "gna",
                "lna",
                "turkey",
                "\U0001f54a",
                "\u202elna",
                "a.b",
                "*",
                "factions",
                "1abc",
                "_x",
            ]
        ),
        ANY_TEXT,
        st.integers(-3, 3),
        st.none(),
        st.booleans(),
        st.just(1.5),
    )
    NAMES = st.one_of(st.sampled_from(ESCAPE_NAMES + ["x" * 64, "x" * 65, "CON", "nul", "a" * 500]), TEXT)
    TAGS = [
        "!!python/object/apply:os.system ['touch PWNED']",
        "!!python/object/apply:os.system",
        "!!python/name:os.system",
        "!!python/object:collections.OrderedDict {}",
        "!!python/object/new:subprocess.Popen [[touch, PWNED]]",
        "!!python/module:os",
        "!!binary aGVsbG8=",
        "!!binary '@@@'",
        "!!set {a, b}",
        "!!timestamp 2020-13-45",
        "!!timestamp 2020-01-12",
        "!foo bar",
        "!foo",
        "!<tag:example.com,2000:x> 1",
        "!!int abc",
        "!!float xyz",
        "!!bool maybe",
        "!!str 1",
        "!!null x",
        "!!map [1]",
        "!!seq {a: 1}",
        "!!omap [a: 1]",
        "!!pairs [a: 1]",
        "!!int",
        "!!float",
        "!!str",
        "&anchor",
        "*undefined",
        "!!python/tuple [1, 2]",
        "!!python/bytes aGk=",
        "!!merge",
        "!!value",
    ]

    def _nodes(data, prefix=()):
        """(path, value) of every node below ``data``, depth first; the root itself is left out."""
        if isinstance(data, dict):
            items = list(data.items())
        elif isinstance(data, list):
            items = list(enumerate(data))
        else:
            return
        for k, v in items:
            yield prefix + (k,), v
            yield from _nodes(v, prefix + (k,))

    def _parent(data, path):
        node = data
        for k in path[:-1]:
            node = node[k]
        return node

    def _dotted(path) -> str:
        return ".".join(str(p)[:30] for p in path)

    def _pick(draw, data, predicate=lambda path, value: True):
        paths = [p for p, v in _nodes(data) if predicate(p, v)]
        return draw(st.sampled_from(paths)) if paths else None

    # structured mutations: act on the parsed data, which is dumped again afterwards ------------
    def op_delete(draw, data):
        path = _pick(draw, data)
        if path is None:
            return "delete: nothing to delete"
        del _parent(data, path)[path[-1]]
        return f"delete {_dotted(path)}"

    def op_replace(draw, data):
        path = _pick(draw, data)
        if path is None:
            return "replace: nothing"
        value = draw(WEIRD_VALUE)
        _parent(data, path)[path[-1]] = value
        return f"replace {_dotted(path)} = {show(repr(value), 60)}"

    def op_rename(draw, data):
        ids = [(s, k) for s in ("factions", "backers") if isinstance(data.get(s), dict) for k in data[s]]
        if ids and draw(st.booleans()):
            path = draw(st.sampled_from(ids))
        else:
            path = _pick(draw, data, lambda p, v: isinstance(_parent(data, p), dict))
            if path is None:
                return "rename: nothing"
        parent, new = _parent(data, path), draw(WEIRD_KEY)
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return f"rename {_dotted(path)} -> {new!r:.60}"

    def op_name(draw, data):
        data["name"] = value = draw(NAMES)
        return f"name = {value!r:.60}"

    def op_nest(draw, data):
        path = _pick(draw, data, lambda p, v: len(p) <= 6)  # keeps the dump's recursion shallow
        if path is None:
            return "nest: nothing"
        depth, as_list = draw(st.sampled_from([30, 49, 50, 51, 60, 120])), draw(st.booleans())
        value = draw(SCALARS)
        for _ in range(depth):
            value = [value] if as_list else {"a": value}
        _parent(data, path)[path[-1]] = value
        return f"nest {_dotted(path)} in {depth} {'lists' if as_list else 'mappings'}"

    SECTION_FIELDS = {"factions": FACTION_FIELDS, "backers": BACKER_FIELDS}
    EXTREME_DATES = [
        dt.date(1, 1, 1),
        dt.date(1677, 9, 21),
        dt.date(2262, 4, 12),
        dt.date(9999, 12, 31),
        dt.date(2020, 2, 29),
        "2020-01-12",
        "9999-12-31",
    ]

    def op_extreme(draw, data):
        """An in-range extreme: a field at the end of its range, or spread over all of it."""
        targets = [((k,), TOP_FIELDS[k]) for k in ("horizon_days", "replicates", "seed")]
        for section, fields in SECTION_FIELDS.items():
            for ident in (data.get(section) or {}) if isinstance(data.get(section), dict) else ():
                targets += [((section, ident, k), f) for k, f in fields.items() if f.kind == "number"]
        targets += [(("mediator", "monitoring"), MEDIATOR_FIELDS["monitoring"])]
        targets += [(("behaviour", k), f) for k, f in BEHAVIOUR_FIELDS.items()]
        targets.append((("start_date",), None))
        path, f = draw(st.sampled_from(targets))
        if f is None:
            value = draw(st.sampled_from(EXTREME_DATES))
        else:
            lo, hi = f.lo, f.hi
            ends = [lo, hi, (lo + hi) / 2]
            if f.kind == "int":
                value = draw(st.sampled_from([int(lo), int(hi)]))
            else:
                value = draw(
                    st.sampled_from(
                        ends
                        + [
                            {"uniform": [lo, hi]},
                            {"triangular": [lo, lo, hi]},
                            {"normal": [hi, (hi - lo) * 10]},
                            {"uniform": [lo, lo]},
                            {"normal": [lo, 0]},
                        ]
                    )
                )
        node = data
        for k in path[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        node[path[-1]] = value
        return f"extreme {_dotted(path)} = {value!r:.60}"

    def op_sweep_design(draw, data):
        """A design the sweep code must sample (SALib) and check: small n, odd levels, few fields."""
        design = draw(st.sampled_from(["grid", "lhs", "sobol", "morris"]))
        data["design"] = design
        data["n"] = draw(st.sampled_from([1, 2, 3, 4, 0, -1, 2**40, 1.0, 1.5, "2"]))
        data["morris_levels"] = draw(st.sampled_from([2, 3, 4, 1, 100, 101]))
        fields = draw(
            st.lists(
                st.sampled_from(
                    [
                        "backers.russia.pressure",
                        "mediator.monitoring",
                        "factions.gna.strength",
                        "behaviour.contest_exponent",
                        "backers.egypt.red_line",
                        "factions.lna.control",
                        "horizon_days",
                        "behaviour.spiral_window_days",
                    ]
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        spec = draw(
            st.sampled_from(
                [
                    {"uniform": [0.0, 1.0]},
                    {"uniform": [0.2, 0.2]},
                    [0.0, 1.0],
                    [0.5],
                    {"from": 0.0, "to": 1.0, "num": 2},
                    {"from": 1.0, "to": 0.0, "num": 2},
                    {"uniform": [0.0, 1e-300]},
                ]
            )
        )
        data["vary"] = {f: spec for f in fields}
        return f"design {design} n={data['n']!r} levels={data['morris_levels']} vary={data['vary']!r:.120}"

    STRUCTURED = [op_delete, op_replace, op_replace, op_rename, op_name, op_nest, op_extreme, op_extreme]
    VALIDISH = [op_extreme, op_extreme, op_extreme, op_delete]  # mostly files that still run

    # text mutations: act on the bytes -----------------------------------------------------------
    VALUE_START = re.compile(rb"(?:: +|- |\[|, ?)(?=[^\s\[\]{},#])")

    def top_line(raw: bytes, draw) -> int | None:
        lines = raw.split(b"\n")
        keyed = [i for i, line in enumerate(lines) if b":" in line and not line.lstrip().startswith(b"#")]
        return draw(st.sampled_from(keyed)) if keyed else None

    def tx_duplicate(draw, raw):
        lines, i = raw.split(b"\n"), top_line(raw, draw)
        if i is None:
            return raw, "duplicate: no key line"
        j = draw(st.integers(i + 1, len(lines)))
        lines.insert(j, lines[i])
        return b"\n".join(lines), f"duplicate line {i + 1} at {j + 1}"

    def tx_tag(draw, raw):
        tag = draw(st.sampled_from(TAGS)).encode()
        starts = [m.end() for m in VALUE_START.finditer(raw)]
        if not starts:
            return tag + b" " + raw, f"tag {tag!r} on the document"
        at = draw(st.sampled_from(starts))
        if draw(st.booleans()):  # tag the value that is there
            return raw[:at] + tag + b" " + raw[at:], f"tag {tag!r} at byte {at}"
        end = raw.find(b"\n", at)  # or replace the rest of the line by the tagged value
        end = len(raw) if end < 0 else end
        return raw[:at] + tag + raw[end:], f"tagged value {tag!r} at byte {at}"

    def tx_truncate(draw, raw):
        at = draw(st.integers(0, len(raw)))
        return raw[:at], f"truncate at byte {at}"

    def tx_junk(draw, raw):
        junk = draw(
            st.one_of(
                st.binary(min_size=1, max_size=64),
                st.sampled_from(
                    [
                        b"\x00",
                        b"\xff",
                        b"\xc3",
                        b"\xed\xa0\x80",
                        b"\xef\xbb\xbf",
                        b"\t",
                        b"\r",
                        b"\x1b[2J",
                        b"\xe2\x80\xae",
                        b"%YAML 1.1\n",
                        b"---\n",
                        b"...\n",
                        b"{",
                        b"]",
                        b": :",
                        b"&a *a",
                        b"? ",
                    ]
                ),
            )
        )
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + junk + raw[at:], f"insert {junk!r} at byte {at}"

    def tx_replace_all(draw, raw):
        text = raw.decode("utf-8", errors="replace")
        new = draw(
            st.one_of(
                st.binary(max_size=512),
                st.sampled_from(
                    [
                        b"",
                        b"\n",
                        b"   \n",
                        b"# c\n",
                        b"---\n",
                        b"...\n",
                        b"~\n",
                        b"null",
                        b"[]",
                        b"{}",
                        b'""',
                        b"0",
                        b"- a\n",
                        b"!!python/object/apply:os.system ['touch PWNED']\n",
                        b"\xef\xbb\xbf",
                        text.encode("utf-16"),
                        text.encode("utf-32"),
                        text.encode("latin-1", errors="replace").replace(b"a", b"\xe9"),
                        raw + b"\n---\n" + raw,
                        raw.replace(b"\n", b"\r\n"),
                        raw.replace(b"\n", b"\r"),
                    ]
                ),
            )
        )
        return new, f"replace the whole file ({len(new)} bytes)"

    def tx_deep(draw, raw):
        n = draw(st.sampled_from([51, 500, 999, 2000, 10_000]))
        form = draw(st.sampled_from(["brackets", "braces", "dashes", "block", "unclosed"]))
        if form == "brackets":
            blob = b"[" * n + b"1" + b"]" * n
        elif form == "braces":
            blob = b"{a: " * n + b"1" + b"}" * n
        elif form == "dashes":
            blob = b"- " * n + b"x"
        elif form == "unclosed":
            blob = b"[" * (n * 10)
        else:
            n = min(n, 1000)
            blob = b"\n" + b"".join(b"  " + b" " * i + b"a:\n" for i in range(n)) + b" " * (n + 3) + b"1"
        starts = [m.end() for m in VALUE_START.finditer(raw)]
        if starts and draw(st.booleans()):
            at = draw(st.sampled_from(starts))
            end = raw.find(b"\n", at)
            end = len(raw) if end < 0 else end
            return raw[:at] + blob + raw[end:], f"deep {form} x{n} at byte {at}"
        return blob + b"\n", f"the whole file is deep {form} x{n}"

    def tx_long(draw, raw):
        size = draw(st.sampled_from([1_000, 65_536, 1_000_000]))
        big = draw(st.sampled_from(["x", "\u00e9", "\U0001f54a"])) * size
        where = draw(st.sampled_from(["description", "name", "label", "key", "comment", "line", "id"]))
        text = raw.decode("utf-8", errors="replace")
        if where in ("description", "name"):
            text, found = re.subn(rf"(?m)^{where}:.*$", f"{where}: {big}", text, count=1)
            text += "" if found else f"{where}: {big}\n"
        elif where == "label" and "events:\n" in text:
            text = text.replace("events:\n", f'events:\n  - {{day: 1, talks: true, label: "{big}"}}\n', 1)
        elif where == "id" and "factions:\n" in text:
            text = text.replace("factions:\n", f"factions:\n  {big}: {{strength: 1, control: 0}}\n", 1)
        elif where == "comment":
            text += f"# {big}\n"
        elif where == "line":
            text += big
        else:
            text += f"{big}: 1\n"
        return text.encode(), f"long {where} of {size} x {big[:1]!r}"

    def tx_tabs(draw, raw):
        lines, i = raw.split(b"\n"), top_line(raw, draw)
        if i is None:
            return raw, "tabs: no line"
        lines[i] = b"\t" + lines[i].lstrip(b" ")
        return b"\n".join(lines), f"tab indent on line {i + 1}"

    TEXTUAL = [
        tx_duplicate,
        tx_duplicate,
        tx_tag,
        tx_tag,
        tx_truncate,
        tx_junk,
        tx_replace_all,
        tx_deep,
        tx_long,
        tx_tabs,
    ]

    @functools.cache
    def _parsed(text: str):
        return yaml.safe_load(text)

    @st.composite
    def mutants(
        draw,
        seeds: dict[str, str],
        structured=tuple(STRUCTURED),
        textual=tuple(TEXTUAL),
        max_structured: int = 3,
        max_textual: int = 2,
        extra=(),
    ):
        origin = draw(st.sampled_from(sorted(seeds)))
        mutant = Mutant(origin)
        text = seeds[origin]
        ops = list(structured) + list(extra)
        n_structured = draw(st.integers(0, max_structured)) if ops else 0
        if n_structured:
            data = copy.deepcopy(_parsed(text))
            for _ in range(n_structured):
                mutant.steps.append(draw(st.sampled_from(ops))(draw, data))
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
        raw = text.encode("utf-8")
        n_textual = draw(st.integers(0 if n_structured else 1, max_textual)) if textual else 0
        for _ in range(n_textual):
            raw, what = draw(st.sampled_from(list(textual)))(draw, raw)
            mutant.steps.append(what)
        mutant.raw = raw
        return mutant

    def fuzz_settings(examples: int):
        """Reproducible settings: derandomized by default, or seeded from TRUCE_FUZZ_SEED."""

        def apply(test):
            phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if FUZZ_SHRINK else [])
            s = settings(
                max_examples=max(1, int(examples * FUZZ_SCALE)),
                deadline=None,
                phases=phases,
                derandomize=FUZZ_SEED is None,
                database=None,
                print_blob=True,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.function_scoped_fixture,
                    HealthCheck.data_too_large,
                    HealthCheck.filter_too_much,
                    HealthCheck.large_base_example,
                ],
            )
            test = s(test)
            test = seed(int(FUZZ_SEED))(test) if FUZZ_SEED is not None else test
            return pytest.mark.slow(test)  # hundreds of generated files each

        return apply

    # ------------------------------------------------------------------------------------------
    # The fuzz tests
    # ------------------------------------------------------------------------------------------
    @fuzz_settings(examples=300)
    @given(mutant=mutants(seed_scenarios()))
    def test_fuzzed_scenario_is_checked_or_refused(tmp_path, mutant):
        """`check` on any mutation: status 0, or 2 with one line; nothing written, no tag run."""
        note(mutant.context())
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        (work / "cwd").mkdir()
        path = work / "scenario.yaml"
        path.write_bytes(mutant.raw)
        before = tree(work)
        outcome = call_main(["check", str(path)], work / "cwd", CHECK_LIMIT_S)
        judge(outcome, mutant.raw, "check", mutant.context())
        event(f"exit status {outcome.rc}")  # shown by --hypothesis-show-statistics
        if outcome.rc == 0:
            assert outcome.out.startswith(f"# {path}: valid\n"), outcome.out[:300]
        assert_only_inside(before, work, None, mutant.context())
        shutil.rmtree(work)

    @fuzz_settings(examples=14)
    @given(
        mutant=mutants(
            seed_scenarios(),
            structured=VALIDISH,
            textual=(tx_tag, tx_duplicate, tx_long),
            max_structured=2,
            max_textual=1,
            extra=(op_name, op_rename, op_replace),
        )
    )
    def test_fuzzed_scenario_runs_or_is_refused_writing_only_its_out_dir(tmp_path, mutant):
        """`run` on a mutation: status 0 and everything inside --out, or 2 with one line and nothing written."""
        note(mutant.context())
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        (work / "cwd").mkdir()
        path, out = work / "scenario.yaml", work / "out"
        path.write_bytes(mutant.raw)
        before = tree(work)
        outcome = call_main(
            ["run", str(path), "-n", "3", "--steps", "5", "--out", str(out), "-q", "--workers", "1"],
            work / "cwd",
            RUN_LIMIT_S,
        )
        judge(outcome, mutant.raw, "run", mutant.context())
        event(f"exit status {outcome.rc}")  # shown by --hypothesis-show-statistics
        if outcome.rc == 0:
            assert (out / "summary.json").is_file() and (out / "report.html").is_file(), sorted(tree(out))
        else:
            assert not out.exists(), f"a refused run wrote {sorted(map(str, tree(out)))[:5]}\n{mutant.context()}"
        assert_only_inside(before, work, "out", mutant.context())
        shutil.rmtree(work)

    @fuzz_settings(examples=150)
    @given(mutant=mutants(seed_sweeps(), extra=(op_sweep_design, op_sweep_design)))
    def test_fuzzed_sweep_file_loads_or_is_refused_in_one_line(tmp_path, mutant):
        """The sweep loader (as `sweep` calls it) on a mutation: a sweep of <= 4 points, or one ScenarioError line."""
        from truce_sim.sweeps.spec import is_sweep_file, load_sweep

        note(mutant.context())
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        path = write_sweep_dir(work, mutant.raw)
        before = tree(work)
        try:
            with contextlib.chdir(work), time_limit(CHECK_LIMIT_S, "load_sweep"):
                is_sweep_file(path)
                sweep = load_sweep(path, 4, {"replicates": 3, "seed": None, "steps": 5, "metrics": None})
        except Hang as exc:
            raise AssertionError(f"{exc}\n{mutant.context()}") from None
        except ScenarioError as exc:
            message = str(exc)
            if not message.strip() or "\n" in message or "\r" in message:
                assume(known_bug(mutant.raw, "sweep") is None)
                raise AssertionError(f"not one line: {message[:2000]!r}\n{mutant.context()}\n{replay_hint()}") from None
        except BaseException:  # noqa: BLE001 - a traceback for the user
            assume(known_bug(mutant.raw, "sweep") is None)
            raise AssertionError(
                f"load_sweep raised:\n{traceback.format_exc()}\n{mutant.context()}\n{replay_hint()}"
            ) from None
        else:
            assert 1 <= len(sweep.points) <= 4, (len(sweep.points), mutant.context())
        assert_only_inside(before, work, None, mutant.context())  # loading writes nothing
        shutil.rmtree(work)

    @fuzz_settings(examples=8)
    @given(
        mutant=mutants(
            seed_sweeps(),
            structured=(op_delete, op_replace, op_rename, op_name, op_extreme),
            textual=(tx_tag, tx_duplicate, tx_truncate, tx_junk),
            max_structured=1,
            max_textual=1,
            extra=(op_sweep_design, op_sweep_design, op_sweep_design),
        )
    )
    def test_fuzzed_sweep_runs_or_is_refused_writing_only_its_out_dir(tmp_path, mutant):
        """`sweep` on a mutation: status 0 with <= 4 points inside --out, or 2 with one line."""
        note(mutant.context())
        work = Path(tempfile.mkdtemp(dir=tmp_path))
        path, out = write_sweep_dir(work, mutant.raw), work / "out"
        (work / "cwd").mkdir()
        before = tree(work)
        outcome = call_main(
            [
                "sweep",
                str(path),
                "--out",
                str(out),
                "-q",
                "--workers",
                "1",
                "-n",
                "3",
                "--steps",
                "5",
                "--max-points",
                "4",
            ],
            work / "cwd",
            SWEEP_LIMIT_S,
        )
        judge(outcome, mutant.raw, "sweep_run", mutant.context())
        event(f"exit status {outcome.rc}")  # shown by --hypothesis-show-statistics
        if outcome.rc == 0:
            points = (out / "points.csv").read_text().splitlines()
            assert 2 <= len(points) <= 5, (points, mutant.context())  # a header and 1 to 4 points
        else:
            assert not out.exists(), f"a refused sweep wrote {sorted(map(str, tree(out)))[:5]}\n{mutant.context()}"
        assert_only_inside(before, work, "out", mutant.context())
        shutil.rmtree(work)

else:  # pragma: no cover

    @pytest.mark.skip(reason="hypothesis is not installed: pip install -e '.[test]'")
    def test_fuzz_needs_hypothesis():
        pass


# ------------------------------------------------------------------------------------------------
# Reproducers of the bugs found, kept as regression tests
# ------------------------------------------------------------------------------------------------
def _check(tmp_path: Path, text: str | bytes, command: str = "check", limit: int = CHECK_LIMIT_S) -> Outcome:
    path = tmp_path / "in.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    (tmp_path / "cwd").mkdir(exist_ok=True)
    argv = [command, str(path)]
    if command == "run":
        argv += ["-n", "3", "--steps", "5", "--out", str(tmp_path / "out"), "-q", "--workers", "1"]
    return call_main(argv, tmp_path / "cwd", limit)


@pytest.mark.parametrize(
    "text",
    [
        SMALL + '"foo\\nbar": 1\n',  # an unknown key with a newline
        edit(SMALL, "gna: {strength: 1.0,", 'gna: {strength: "a\\nb",'),  # text where a number belongs
        edit(SMALL, "horizon_days: 30", 'horizon_days: "30\\r\\n"'),  # text where a whole number belongs
        SMALL + 'start_date: "12\\nJan"\n',  # not a date
    ],
    ids=["key", "number", "whole_number", "date"],
)
def test_bug_error_with_newline_from_the_file_is_one_line(tmp_path, text):
    outcome = _check(tmp_path, text)
    assert_contract(outcome, f"input {show(text)}")


@pytest.mark.parametrize("date", ["9999-12-31", "1000-01-01", "2262-04-10"])
def test_bug_run_with_far_start_date(tmp_path, date):
    outcome = _check(tmp_path, SMALL + f"start_date: {date}\n", "run", RUN_LIMIT_S)
    assert_contract(outcome, f"start_date {date}")


def test_bug_run_with_control_distributions_summing_to_zero(tmp_path):
    text = SMALL.replace("control: 0.5}", "control: {uniform: [0, 0]}}")
    assert _check(tmp_path, text).rc == 0  # the validator accepts it
    outcome = _check(tmp_path, text, "run", RUN_LIMIT_S)
    assert_contract(outcome, f"input {show(text)}")


def _sweep_outcome(tmp_path: Path, text: str, *extra: str, out: bool = True) -> Outcome:
    path = write_sweep_dir(tmp_path, text.encode())
    (tmp_path / "cwd").mkdir(exist_ok=True)
    argv = ["sweep", str(path), "-q", "--workers", "1", "-n", "3", "--steps", "5", "--max-points", "4", *extra]
    if out:
        argv += ["--out", str(tmp_path / "out")]
    return call_main(argv, tmp_path / "cwd", SWEEP_LIMIT_S)


@pytest.mark.parametrize("key", ["1", "~", "true", "1.5"])
def test_bug_sweep_vary_key_not_text(tmp_path, key):
    text = f"base: base.yaml\ndesign: grid\nvary:\n  {key}: [0.1, 0.2]\n"
    assert_contract(_sweep_outcome(tmp_path, text), f"vary key {key}")


def test_bug_sweep_base_with_nul_byte(tmp_path):
    text = 'base: "base\\0.yaml"\ndesign: grid\nvary:\n  mediator.monitoring: [0.1, 0.2]\n'
    assert_contract(_sweep_outcome(tmp_path, text), "base with a NUL byte")


def test_bug_sweep_name_too_long_for_a_file_name(tmp_path):
    text = (
        "name: " + "x" * 300 + "\nbase: base.yaml\ndesign: grid\nvary:\n  mediator.monitoring: [0.1]\n" + SWEEP_METRICS
    )
    write_sweep_dir(tmp_path, text.encode())
    before = tree(tmp_path)
    outcome = _sweep_outcome(tmp_path, text, out=False)
    assert_contract(outcome, "sweep name of 300 characters")
    assert outcome.rc == 2, outcome
    assert_only_inside(before | {Path("cwd")}, tmp_path, None, "sweep name of 300 characters")


@pytest.mark.parametrize("value", ['!!int ""', "!!int", '!!float ""', "!!bool maybe", "!!timestamp 12 Jan"])
def test_bug_tagged_scalar_that_pyyaml_cannot_build(tmp_path, value):
    outcome = _check(tmp_path, SMALL + f"seed: {value}\n")
    assert_contract(outcome, f"seed: {value}")


def _alias_bomb(levels: int) -> str:
    """A 'billion laughs' YAML: each level lists the previous one ten times (10**levels leaves, ~500 bytes)."""
    lines = ["name: bomb", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_bug_alias_bomb_hangs_check(tmp_path):
    text = _alias_bomb(9)  # about 10**9 node visits; 7 levels already take ~7 s
    assert len(text) < 600
    outcome = _check(tmp_path, text, limit=3)  # a refusal takes milliseconds; the time limit fails the hang
    assert_contract(outcome, "alias bomb")


def test_bug_sweep_heatmap_of_an_all_nan_metric(tmp_path):
    # 3 worlds over 5 days: over half survive at every point, so median_survival_days is NaN throughout
    text = (
        "base: base.yaml\ndesign: grid\nseed: 7\nvary:\n  mediator.monitoring: [0.0, 1.0]\n"
        "  backers.russia.pressure: [0.0, 1.0]\nmetrics: [median_survival_days]\n"
    )
    outcome = _sweep_outcome(tmp_path, text)
    assert_contract(outcome, "two-field grid, median_survival_days NaN everywhere")
    assert (tmp_path / "out" / "report.html").is_file()
