"""Every input is checked before it is read and read within bounds; a bad one is one line, exit 2.

The contract (README, "Limits"; truce_sim/core/scenario.py): every file a command reads (a
scenario, a sweep file, compare's summary.json and replicates.csv, discover's sweep.json and
points.parquet) is looked at with ``os.stat`` first. A FIFO, a device, /dev/stdin or a directory
is "not a regular file" and is never opened (a FIFO would block the open); a file over its cap is
"larger than ..." with what such a file should weigh. A scenario or sweep file is parsed once,
and what it may hold (values with aliases written out, nesting, fields changed by events) is
bounded, so that reading and checking the costliest file at the cap takes about a second.
``--set`` values, ``--scheduler`` addresses and damaged results of earlier runs and sweeps are
told in one line too.

The commands are called in this process (fast) under a SIGALRM limit, so that a command that
opened a FIFO fails the test instead of hanging it; /dev/stdin and the files at the cap are
tried in a subprocess, whose ``timeout`` likewise only guards against a hang. No test measures
time: each asserts what the command says and that it wrote nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from truce_sim.cli import build_parser, main
from truce_sim.core import scenario as scenario_module
from truce_sim.core.scenario import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    ScenarioError,
    load_scenario,
    parse_override,
    size_text,
)
from truce_sim.core.schema import MAX_EVENT_CHANGES
from truce_sim.sweeps.spec import is_sweep_file, load_sweep, sweep_from_options

from .conftest import ROOT, SMALL_SCENARIO, time_limit

HANG_GUARD_S = 120  # a refusal takes well under a second; the limit only turns a hang into a failure
CAP = size_text(MAX_FILE_BYTES)


def hang_guard(seconds: int = HANG_GUARD_S):
    return time_limit(seconds, "reading an input (a FIFO opened?)")


def call(*argv) -> tuple[int, str]:
    """``main(argv)`` in this process: (exit status, stderr)."""
    err = io.StringIO()
    with hang_guard(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main([str(a) for a in argv])
    return status, err.getvalue()


def run_cli(*argv, cwd: Path, stdin_text: str | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *map(str, argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        **({"input": stdin_text} if stdin_text is not None else {"stdin": subprocess.DEVNULL}),
    )
    return proc.returncode, proc.stderr


def refused(status: int, err: str, *fragments: str) -> str:
    """Exit status 2 and exactly one line 'error: ...' holding every fragment; the line."""
    assert status == 2, (status, err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err[:2000]!r}"
    line = err.rstrip("\n")
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} missing from {line[:1000]!r}"
    assert "not a valid file name" not in line, line
    return line


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_SCENARIO, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------
# 1. File type and size, before anything is opened
# ------------------------------------------------------------------------------------------------
def _not_regular(kind: str, tmp_path: Path) -> tuple[Path, str]:
    if kind == "fifo":
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
        return path, "a FIFO"
    if kind == "directory":
        path = tmp_path / "dir.yaml"
        path.mkdir()
        return path, "a directory"
    return Path(f"/dev/{kind}"), "a character device"


# each command that reads a scenario or sweep file, with options that would otherwise run it
def _commands(path: Path, out: Path) -> dict[str, list]:
    return {
        "check": ["check", path],
        "run": ["run", path, "-n", "3", "--steps", "5", "--out", out, "-q", "-j", "1"],
        "sweep_file": ["sweep", path, "--out", out, "-q", "-j", "1"],
        "sweep_vary": ["sweep", path, "--vary", "mediator.monitoring=0:1:2", "--out", out, "-q", "-j", "1"],
        "explore": ["explore", path, "--port", "1"],
    }


COMMANDS = list(_commands(Path("x"), Path("y")))


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs a POSIX system")
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["fifo", "zero", "null", "directory"])
def test_not_a_regular_file_is_refused_unopened(tmp_path, kind, command):
    path, what = _not_regular(kind, tmp_path)
    out = tmp_path / "out"
    refused(*call(*_commands(path, out)[command]), f"{path}: not a regular file ({what})")
    assert not out.exists()


@pytest.mark.parametrize("command", ["check", "sweep_file"])
def test_dev_stdin_is_refused(tmp_path, command):
    # stdin is a pipe holding a valid scenario: it must be refused, neither read nor waited on
    refused(
        *run_cli(*_commands(Path("/dev/stdin"), tmp_path / "out")[command], cwd=tmp_path, stdin_text=SMALL_SCENARIO),
        "/dev/stdin: not a regular file",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_file_over_the_cap_is_refused_by_its_size(tmp_path, command):
    path = tmp_path / "big.yaml"
    path.write_text(SMALL_SCENARIO + "#" * (MAX_FILE_BYTES - len(SMALL_SCENARIO)) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES + 1
    out = tmp_path / "out"
    line = refused(*call(*_commands(path, out)[command]), f"{path}: larger than {CAP}; a scenario")
    assert "file is a few KB" in line
    assert not out.exists()


def test_api_refuses_a_fifo_and_a_large_file(tmp_path):
    fifo, _ = _not_regular("fifo", tmp_path)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with hang_guard():
        for load in (load_scenario, is_sweep_file, load_sweep):
            with pytest.raises(ScenarioError, match="not a regular file"):
                load(fifo)
            with pytest.raises(ScenarioError, match=f"larger than {CAP}"):
                load(big)


def test_sweep_whose_base_is_not_a_regular_file(tmp_path):
    _not_regular("fifo", tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: pipe.yaml\ndesign: grid\nvary:\n  mediator.monitoring: [0, 1]\n", encoding="utf-8")
    refused(
        *call("sweep", sweep, "--out", tmp_path / "out", "-q", "-j", "1"),
        f"{sweep}:1: base: cannot load the base scenario",
        "not a regular file (a FIFO)",
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["x" * 5000, "a/" * 3000 + "b.yaml"], ids=["long_name", "long_path"])
def test_name_too_long_for_the_system_is_one_line(tmp_path, name):
    refused(*call("check", name), "cannot read")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {name}\ndesign: grid\nvary:\n  mediator.monitoring: [0, 1]\n", encoding="utf-8")
    refused(*call("sweep", sweep, "--out", tmp_path / "out", "-q"), "base: cannot load the base scenario")


def test_missing_file_and_builtin_names_still_resolve(tmp_path, small):
    refused(*call("check", tmp_path / "absent.yaml"), f"{tmp_path / 'absent.yaml'}: file not found")
    refused(*call("sweep", tmp_path / "absent.yaml", "--vary", "mediator.monitoring=0:1:2"), "file not found")
    assert is_sweep_file("libya_levers_sobol") and not is_sweep_file("libya_2020_january")  # built-in names


# ------------------------------------------------------------------------------------------------
# 2. Parse time: a file is parsed once, and what it may hold is bounded
# ------------------------------------------------------------------------------------------------
def _pad(head: str, line, size: int = MAX_FILE_BYTES) -> str:
    """``head`` followed by line(0), line(1), ... up to ``size`` bytes, filled to exactly ``size``."""
    parts, n, i = [head], len(head.encode()), 0
    while True:
        nxt = line(i)
        if n + len(nxt.encode()) > size - 2:
            break
        parts.append(nxt)
        n += len(nxt.encode())
        i += 1
    return "".join(parts) + "#" * (size - n - 1) + "\n"


def _exact(text: str, size: int = MAX_FILE_BYTES) -> str:
    """``text`` and a comment filling it to exactly ``size`` bytes."""
    assert len(text.encode()) < size - 2, "test bug: the text is over the size already"
    return text + "#" * (size - len(text.encode()) - 1) + "\n"


SMALL_HEAD = SMALL_SCENARIO.split("backers:")[0]
MEDIATOR = "mediator: {monitoring: 0.1}\n"


def _at_the_cap() -> dict[str, tuple[str, int, str]]:
    """Costly files of exactly the cap: (text, expected exit status, fragment of the message)."""
    many = _pad(
        "name: many\nhorizon_days: 30\nfactions:\n  gna: {strength: 1, control: 0.5}\n"
        "  lna: {strength: 1, control: 0.5}\n",
        lambda i: f"  f{i}: {{strength: 1, control: 0}}\n",
        MAX_FILE_BYTES // 2,
    )
    return {
        # the densest YAML: a value every two bytes
        "null_list": (_pad(SMALL_SCENARIO + "extra:\n", lambda i: "-\n"), 2, f"passes {MAX_VALUES:,} values"),
        "flow_list": (_exact(SMALL_SCENARIO + "extra: [" + "1," * (MAX_FILE_BYTES // 2 - 300) + "1]\n"), 2, "values"),
        # valid, and costly to check and print: thousands of backers
        "many_backers": (
            _pad(
                SMALL_HEAD + MEDIATOR + "backers:\n",
                lambda i: f"  b{i}: {{clients: [gna], support: 0.01, pressure: 0.5}}\n",
            ),
            0,
            "valid",
        ),
        "many_factions": (
            _exact(
                SMALL_SCENARIO.replace(
                    "factions:\n",
                    "factions:\n" + "".join(f"  f{i}: {{strength: 1, control: 0}}\n" for i in range(3500)),
                )
            ),
            0,
            "valid",
        ),
        # events times factions: quadratic unless bounded
        "events_times_factions": (
            _pad(many + "events:\n", lambda i: "  - {day: 1, set: {factions.*.cohesion: 0.5}}\n"),
            2,
            f"change more than {MAX_EVENT_CHANGES:,} fields",
        ),
        # a long key with many values under it: their paths would repeat it
        "long_key": (
            _pad(SMALL_SCENARIO + "? " + "x" * (MAX_FILE_BYTES // 2) + "\n:\n", lambda i: f"  k{i}: 1\n"),
            2,
            "field path of more than",
        ),
    }


AT_THE_CAP = _at_the_cap()


@pytest.mark.parametrize("case", list(AT_THE_CAP))
def test_file_at_the_cap_is_checked_or_refused(tmp_path, case):
    text, status, fragment = AT_THE_CAP[case]
    path = tmp_path / "cap.yaml"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    got, err = run_cli("check", path, cwd=tmp_path)
    if status == 0:
        assert got == 0, err[-2000:]
    else:
        refused(got, err, str(path), fragment)


def _alias_bomb(levels: int, merge: bool) -> str:
    """A small file standing for 10**levels values: lists of aliases, or merge keys (<<) of them."""
    lines = ["name: bomb", "a0: &a0 {" + ", ".join(f"k{i}: 1" for i in range(10)) + "}"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} {{<<: [{refs}]}}" if merge else f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text, fragment",
    [
        (_alias_bomb(9, merge=False), f"passes {MAX_VALUES:,} values"),
        (_alias_bomb(9, merge=True), f"passes {MAX_VALUES:,} values"),
        ("name: x\na: &a [*a]\n", "an alias stands for a value that holds it"),
        (
            "name: x\n" + "".join(f"l{i}: &l{i} [{'[' * 20}{f'*l{i - 1}' if i else 1}{']' * 20}]\n" for i in range(4)),
            f"nested more than {MAX_DEPTH} levels deep",
        ),
        ("name: x\nfactions:\n  ? [a, b]\n  : 1\n", "a key must be text"),
        (
            "name: x\n" + "".join(" " * i + "a:\n" for i in range(MAX_DEPTH + 5)) + " " * (MAX_DEPTH + 5) + "1\n",
            f"nested more than {MAX_DEPTH} levels deep",
        ),
        ("name: x\nd: " + "[" * 5000 + "]" * 5000 + "\n", f"nested more than {MAX_DEPTH} levels deep"),
    ],
    ids=[
        "alias_bomb",
        "merge_bomb",
        "recursive_alias",
        "deep_through_aliases",
        "key_not_text",
        "deep_block",
        "deep_flow_5000",
    ],
)
def test_small_file_standing_for_too_much_is_refused(tmp_path, text, fragment):
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    with hang_guard(30), pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and fragment in message and "\n" not in message, message


def test_wildcard_events_are_bounded_not_quadratic(tmp_path):
    factions = "".join(f"  f{i}: {{strength: 1, control: 0}}\n" for i in range(200))
    events = "".join(f"  - {{day: {i % 30 + 1}, set: {{factions.*.cohesion: 0.5}}}}\n" for i in range(60))
    path = tmp_path / "wild.yaml"
    path.write_text(SMALL_SCENARIO.replace("factions:\n", "factions:\n" + factions) + "events:\n" + events)
    with pytest.raises(ScenarioError, match=r"events\.\d+\.set\.factions\.\*\.cohesion: the events change more than"):
        load_scenario(path)
    # under the bound every match is validated and kept
    ten = events[: events.index("  - {day: 11")]
    path.write_text(SMALL_SCENARIO.replace("factions:\n", "factions:\n" + factions) + "events:\n" + ten)
    scenario = load_scenario(path)
    assert sum(len(e.set) for e in scenario.events) == 10 * 202


class _Counting:
    """Records each text handed to the YAML loader."""

    def __init__(self, monkeypatch):
        self.texts: list[str] = []
        base, texts = scenario_module._LOADER, self.texts

        class Loader(base):
            def __init__(self, stream):
                texts.append(stream)
                super().__init__(stream)

        monkeypatch.setattr(scenario_module, "_LOADER", Loader)

    def parsed_once_each(self) -> bool:
        return len(self.texts) == len(set(self.texts))


def test_scenario_is_parsed_once(monkeypatch, small):
    counting = _Counting(monkeypatch)
    load_scenario(small, ["factions.gna.cohesion=0.4"])
    assert counting.texts.count(SMALL_SCENARIO) == 1 and len(counting.texts) == 2  # the file, the --set value


def test_sweep_file_is_parsed_once_though_first_sniffed(monkeypatch, tmp_path, small):
    counting = _Counting(monkeypatch)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: small.yaml\ndesign: grid\nvary:\n  mediator.monitoring: [0, 1]\n", encoding="utf-8")
    assert is_sweep_file(sweep)  # as `sweep` does: sniff, then load
    assert len(load_sweep(sweep).points) == 2
    assert counting.parsed_once_each() and len(counting.texts) == 2, counting.texts  # the sweep, its base
    counting.texts.clear()
    assert not is_sweep_file(small)
    sweep_from_options(str(small), ["mediator.monitoring=0:1:2"])
    assert counting.texts == [SMALL_SCENARIO]


# ------------------------------------------------------------------------------------------------
# 3. --set values that are huge or deep
# ------------------------------------------------------------------------------------------------
SET_VALUES = {
    "int_100000_digits": ("seed=1" + "0" * 100_000, "more than 4300 digits"),
    "hex_100000_digits": ("seed=0x" + "f" * 100_000, "digits"),
    "hex_huge_in_a_number_field": ("backers.turkey.support=0x" + "f" * 100_000, "digits"),
    "brackets_5000_deep": ("backers.turkey.support=" + "[" * 5000 + "]" * 5000, "nested more than"),
    "braces_5000_deep": ("backers.turkey.support=" + "{a: " * 5000 + "1" + "}" * 5000, "nested more than"),
    "dashes_5000_deep": ("backers.turkey.support=" + "- " * 5000 + "x", "nested more than"),
    "brackets_60_deep": ("backers.turkey.support=" + "[" * 60 + "]" * 60, "nested more than"),
    "recursive_alias": ("backers.turkey.support=&a [*a]", "an alias stands for a value that holds it"),
    "alias_bomb": ("backers.turkey.support=" + _alias_bomb(8, merge=False).replace("\n", ", ").join("{}"), "values"),
    "python_tag": ("backers.turkey.support=!!python/object/apply:os.system [true]", "tags that build Python objects"),
}


@pytest.mark.parametrize("case", list(SET_VALUES))
def test_set_huge_or_deep_value_is_one_line(small, case):
    override, fragment = SET_VALUES[case]
    line = refused(*call("check", small, "--set", override), "error: --set ", fragment)
    assert len(line) < 500, line[:600]  # the value is shortened, not echoed whole
    with pytest.raises(ScenarioError):
        load_scenario(small, [override])


def test_set_100000_digit_integer_on_the_real_command_line(tmp_path, small):
    refused(*run_cli("check", small, "--set", "seed=1" + "0" * 100_000, cwd=tmp_path), "--set seed=", "digits")


def test_huge_integer_given_from_python_is_one_line(small):
    for value in (10**100_000, [10**100_000], {"uniform": [0, 10**5000]}):
        with pytest.raises(ScenarioError) as info:
            load_scenario(small, {"backers.turkey.support": value})
        assert "digits" in str(info.value) and len(str(info.value)) < 300, str(info.value)[:400]


def test_parse_override_refuses_deep_values():
    with pytest.raises(ScenarioError, match="nested more than"):
        parse_override("a.b=" + "[" * 5000 + "]" * 5000)
    assert parse_override("a.b=[[1]]") == ("a.b", [[1]])


# ------------------------------------------------------------------------------------------------
# 4. --scheduler that is not an address: refused before anything is read or written
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "foo",
        "tcp://host",
        "tcp://host:0",
        "tcp://host:99999",
        "tcp://host:port",
        "http://host:8786",
        "tcp://host:8786/path",
        "host:8786",
        "tcp://:8786",
        "tcp://host:8786\n",
        "",
    ],
)
def test_scheduler_that_is_not_an_address(tmp_path, small, address):
    out = tmp_path / "out"
    before = sorted(tmp_path.iterdir())
    refused(
        *call("sweep", small, "--vary", "mediator.monitoring=0:1:2", "--scheduler", address, "--out", out),
        "--scheduler",
        "expected tcp://HOST:PORT",
    )
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "tcp://[::1]:8786", "tcp://sched.example.org:8786", "tls://10.0.0.5:8786"]
)
def test_scheduler_address_is_accepted(address):
    assert build_parser().parse_args(["sweep", "f.yaml", "--scheduler", address]).scheduler == address


# ------------------------------------------------------------------------------------------------
# 5. compare: damaged results of a run
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def a_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    scenario = root / "small.yaml"
    scenario.write_text(SMALL_SCENARIO, encoding="utf-8")
    status, err = call("run", scenario, "-n", "20", "--steps", "10", "--out", root / "first", "-q", "-j", "1")
    assert status == 0, err
    return root / "first"


def _write(path: Path, data: bytes | str) -> None:
    path.unlink()
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _csv(run: Path) -> str:
    return (run / "replicates.csv").read_text()


RUN_DAMAGE = {
    "csv_garbage": ("replicates.csv", lambda d: _write(d / "replicates.csv", bytes(range(256)) * 8), "not a UTF-8"),
    "csv_garbage_ascii": ("replicates.csv", lambda d: _write(d / "replicates.csv", '"a,b\n1,"2\n\x00,,,\n'), ""),
    "csv_missing_columns": (
        "replicates.csv",
        lambda d: _write(
            d / "replicates.csv", pd.read_csv(d / "replicates.csv").drop(columns=["collapsed"]).to_csv(index=False)
        ),
        "no column collapsed",
    ),
    "csv_cut_mid_line": ("replicates.csv", lambda d: _write(d / "replicates.csv", _csv(d)[: len(_csv(d)) // 2]), ""),
    "csv_cut_at_a_line": (
        "replicates.csv",
        lambda d: _write(d / "replicates.csv", "".join(_csv(d).splitlines(keepends=True)[:5])),
        "4 worlds, but summary.json says 20",
    ),
    "csv_cut_after_a_comma": (
        "replicates.csv",
        lambda d: _write(d / "replicates.csv", "".join(_csv(d).splitlines(keepends=True)[:3]) + "3,"),
        "survival_days must be a number of days",
    ),
    "csv_empty": ("replicates.csv", lambda d: _write(d / "replicates.csv", b""), "empty"),
    "csv_header_only": (
        "replicates.csv",
        lambda d: _write(d / "replicates.csv", _csv(d).splitlines()[0] + "\n"),
        "no worlds",
    ),
    "csv_negative_days": (
        "replicates.csv",
        lambda d: _write(
            d / "replicates.csv", pd.read_csv(d / "replicates.csv").assign(survival_days=-1).to_csv(index=False)
        ),
        "survival_days must be a number of days",
    ),
    "csv_fifo": (
        "replicates.csv",
        lambda d: ((d / "replicates.csv").unlink(), os.mkfifo(d / "replicates.csv")),
        "not a regular file (a FIFO)",
    ),
    "summary_garbage": ("summary.json", lambda d: _write(d / "summary.json", b"{\x00\xff"), ""),
    "summary_not_json": ("summary.json", lambda d: _write(d / "summary.json", "{scenario: x"), "not valid JSON"),
    "summary_deep": ("summary.json", lambda d: _write(d / "summary.json", "[" * 100_000), ""),
    "summary_huge_int": (
        "summary.json",
        lambda d: _write(d / "summary.json", '{"replicates": 1' + "0" * 10_000 + "}"),
        "not valid JSON",
    ),
    "summary_a_list": ("summary.json", lambda d: _write(d / "summary.json", "[]"), "a JSON object is expected"),
    "summary_missing_keys": (
        "summary.json",
        lambda d: _write(d / "summary.json", '{"scenario": "x"}'),
        "no replicates",
    ),
    "summary_bad_survival": (
        "summary.json",
        lambda d: _write(
            d / "summary.json", json.dumps({**json.loads((d / "summary.json").read_text()), "survival_at": {"30": 0.5}})
        ),
        "survival_at must map",
    ),
    "summary_directory": (
        "summary.json",
        lambda d: ((d / "summary.json").unlink(), (d / "summary.json").mkdir()),
        "not a regular file (a directory)",
    ),
}


def test_intact_runs_compare(a_run, tmp_path):
    other = tmp_path / "second"
    status, err = call(
        "run", a_run.parent / "small.yaml", "-n", "20", "--steps", "10", "--seed", "2", "--out", other, "-q", "-j", "1"
    )
    assert status == 0, err
    status, err = call("compare", a_run, other, "--out", tmp_path / "cmp")
    assert status == 0, err
    assert (tmp_path / "cmp" / "report.html").is_file()
    # an intact copy is the same run: compared with itself, refused (tests/test_compare.py)
    shutil.copytree(a_run, tmp_path / "copy")
    refused(*call("compare", a_run, tmp_path / "copy", "--out", tmp_path / "cmp2"), "the same run")


@pytest.mark.parametrize("case", list(RUN_DAMAGE))
def test_compare_with_damaged_results_is_one_line(a_run, tmp_path, case):
    name, damage, fragment = RUN_DAMAGE[case]
    damaged = tmp_path / "damaged"
    shutil.copytree(a_run, damaged)
    damage(damaged)
    out = tmp_path / "cmp"
    refused(*call("compare", a_run, damaged, "--out", out), f"{damaged / name}: ", fragment)
    assert not out.exists()


def test_compare_of_a_dir_that_is_not_a_run(a_run, tmp_path):
    refused(*call("compare", a_run, tmp_path, "--out", tmp_path / "cmp"), f"{tmp_path}: not a run's out dir")


# ------------------------------------------------------------------------------------------------
# 6. discover: damaged results of a sweep
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def a_sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    scenario = root / "small.yaml"
    scenario.write_text(SMALL_SCENARIO, encoding="utf-8")
    status, err = call(
        "sweep",
        scenario,
        "--vary",
        "mediator.monitoring=0:1:3",
        "-n",
        "5",
        "--steps",
        "10",
        "--out",
        root / "done",
        "-q",
        "-j",
        "1",
    )
    assert status == 0, err
    return root / "done"


def _points(d: Path) -> pd.DataFrame:
    return pd.read_parquet(d / "points.parquet")


def _write_points(d: Path, frame: pd.DataFrame) -> None:
    (d / "points.parquet").unlink()
    frame.to_parquet(d / "points.parquet")


SWEEP_DAMAGE = {
    "parquet_garbage": (
        "points.parquet",
        lambda d: _write(d / "points.parquet", bytes(range(256)) * 8),
        "not a readable Parquet table",
    ),
    "parquet_cut": (
        "points.parquet",
        lambda d: _write(d / "points.parquet", (d / "points.parquet").read_bytes()[:-100]),
        "not a readable Parquet table",
    ),
    "parquet_damaged_inside": (
        "points.parquet",
        lambda d: _write(
            d / "points.parquet", (lambda b: b[:8] + b"\xff" * 200 + b[208:])((d / "points.parquet").read_bytes())
        ),
        "",
    ),
    "parquet_empty": ("points.parquet", lambda d: _write(d / "points.parquet", b""), "not a readable Parquet table"),
    "parquet_is_csv": (
        "points.parquet",
        lambda d: _write(d / "points.parquet", (d / "points.csv").read_bytes()),
        "not a readable Parquet table",
    ),
    "parquet_missing_varied_column": (
        "points.parquet",
        lambda d: _write_points(d, _points(d).drop(columns=["mediator.monitoring"])),
        "no column mediator.monitoring",
    ),
    "parquet_text_column": (
        "points.parquet",
        lambda d: _write_points(d, _points(d).assign(collapse_share="high")),
        "not numbers in column collapse_share",
    ),
    "parquet_no_points": ("points.parquet", lambda d: _write_points(d, _points(d).iloc[:0]), "no points"),
    "parquet_fifo": (
        "points.parquet",
        lambda d: ((d / "points.parquet").unlink(), os.mkfifo(d / "points.parquet")),
        "not a regular file (a FIFO)",
    ),
    "json_garbage": ("sweep.json", lambda d: _write(d / "sweep.json", bytes(range(256)) * 8), "not a UTF-8"),
    "json_cut": (
        "sweep.json",
        lambda d: _write(d / "sweep.json", (d / "sweep.json").read_bytes()[:200]),
        "not valid JSON",
    ),
    "json_deep": ("sweep.json", lambda d: _write(d / "sweep.json", "[" * 100_000), ""),
    "json_not_an_object": ("sweep.json", lambda d: _write(d / "sweep.json", "42"), "vary must map"),
    "json_no_vary": ("sweep.json", lambda d: _write(d / "sweep.json", '{"name": "x"}'), "vary must map"),
    "json_directory": (
        "sweep.json",
        lambda d: ((d / "sweep.json").unlink(), (d / "sweep.json").mkdir()),
        "not a regular file (a directory)",
    ),
}


def test_intact_sweep_discovers(a_sweep, tmp_path):
    status, err = call("discover", a_sweep, "--metric", "collapse_share", "--above", "-1", "--out", tmp_path / "d")
    assert status == 0, err
    assert (tmp_path / "d" / "discovery.json").is_file()


@pytest.mark.parametrize("case", list(SWEEP_DAMAGE))
def test_discover_with_damaged_results_is_one_line(a_sweep, tmp_path, case):
    name, damage, fragment = SWEEP_DAMAGE[case]
    damaged = tmp_path / "damaged"
    shutil.copytree(a_sweep, damaged)
    damage(damaged)
    out = tmp_path / "d"
    refused(
        *call("discover", damaged, "--metric", "collapse_share", "--above", "-1", "--out", out),
        f"{damaged / name}: ",
        fragment,
    )
    assert not out.exists()
