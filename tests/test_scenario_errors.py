"""Every mistake in a scenario file or a --set override is told in one line.

The contract (truce_sim/core/scenario.py, truce_sim/cli.py): a loader error is a ``truce_sim.ScenarioError`` whose text
is ``file:line: dotted.path: what is wrong`` on a single line; the command line prints it as
``error: ...`` on stderr, prints no traceback and exits with status 2, writing nothing.

Broken files are small YAML texts written into ``tmp_path``. Where a line number is meaningful,
the expected line is computed from the text written here (the line holding the offending key),
never copied from the program's output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import truce_sim as sim
import truce_sim.core.scenario
from truce_sim.core.scenario import ScenarioError as _ScenarioErrorFromModule

from .conftest import SMALL_SCENARIO, edit

REPO = Path(__file__).resolve().parent.parent
LIBYA = REPO / "scenarios" / "libya_2020_january.yaml"

BASE = SMALL_SCENARIO  # the broken cases below are edits of it

# Block-style variant of BASE: one field per line, so a line number points at exactly one field.
BLOCK = """\
name: block_case
horizon_days: 30
factions:
  gna:
    strength: 1.0
    control: 0.5
    cohesion: 0.6
  lna:
    strength: 1.0
    control: 0.5
backers:
  turkey:
    clients: [gna]
    support: 0.01
    max_support: 0.02
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th appearance of ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) >= occurrence, f"test bug: {needle!r} appears {len(hits)} times"
    return hits[occurrence - 1]


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, overrides=None) -> str:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path, overrides)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# The cases: (id, text, needle of the offending line or None, dotted path, fragments of the message)
# The needle's line is where the error must point; `occurrence` picks a later appearance.
# --------------------------------------------------------------------------------------------
def _cases():
    c = []

    def add(ident, text, needle, path, *fragments, occurrence=1):
        line = None if needle is None else line_of(text, needle, occurrence)
        c.append(pytest.param(text, line, path, fragments, id=ident))

    t = edit(BLOCK, "    cohesion: 0.6", "    cohesin: 0.6")
    add("unknown_key_did_you_mean", t, "cohesin", "factions.gna.cohesin", "unknown field", "did you mean 'cohesion'")

    t = edit(BASE, "{strength: 1.0, control: 0.5}\n  lna", "{strength: 1.0, control: 0.5, cohesin: 0.3}\n  lna")
    add("unknown_key_in_flow_mapping", t, "cohesin", "factions.gna.cohesin", "unknown field", "did you mean 'cohesion'")

    t = BASE + "horizon: 90\n"
    add("unknown_top_level_key", t, "horizon:", "horizon", "unknown field", "did you mean 'horizon_days'")

    t = BASE + "behaviour:\n  contest_exponnt: 2\n"
    add(
        "unknown_behaviour_constant",
        t,
        "contest_exponnt",
        "behaviour.contest_exponnt",
        "unknown field",
        "did you mean 'contest_exponent'",
    )

    t = edit(
        BLOCK,
        "    strength: 1.0\n    control: 0.5\n    cohesion",
        "    strength: strong\n    control: 0.5\n    cohesion",
    )
    add("text_where_number_needed", t, "strength: strong", "factions.gna.strength", "must be a number", "strong")

    t = edit(BLOCK, "horizon_days: 30", "horizon_days: a month")
    add("text_where_whole_number_needed", t, "horizon_days", "horizon_days", "must be a whole number")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: 1.4")
    add("out_of_range_cohesion", t, "cohesion: 1.4", "factions.gna.cohesion", "must be in [0, 1]", "1.4")

    t = edit(BLOCK, "horizon_days: 30", "horizon_days: 0")
    add("out_of_range_horizon", t, "horizon_days", "horizon_days", "must be in [1, 3650]")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: .nan")
    add("nan", t, "cohesion: .nan", "factions.gna.cohesion", "finite", "nan")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: .inf")
    add("infinity", t, "cohesion: .inf", "factions.gna.cohesion", "finite", "inf")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: -.inf")
    add("minus_infinity", t, "cohesion: -.inf", "factions.gna.cohesion", "finite", "inf")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {uniform: [.nan, 0.5]}")
    add("nan_inside_distribution", t, "cohesion:", "factions.gna.cohesion.uniform.0", "finite")

    t = edit(BASE, "clients: [gna]", "clients: [gnaa]")
    add(
        "backer_client_not_a_faction",
        t,
        "gnaa",
        "backers.turkey.clients",
        "'gnaa' is not a faction",
        "did you mean 'gna'",
        "lna",
    )

    t = (
        BASE
        + "events:\n  - {day: 12, add: {factions.gna.grievance: 0.5}}\n"
        + "  - {day: 31, set: {backers.turkey.support: 0.02}}\n"
    )
    add("event_past_horizon", t, "day: 31", "events.1.day", "past the horizon", "31", "30")

    t = edit(BASE, "talks: [1, 7]", "talks: [1, 45]")
    add("talks_past_horizon", t, "talks", "mediator.talks.1", "past the horizon", "45", "30")

    t = BASE + "horizon_days: 60\n"
    add("duplicate_top_level_key", t, "horizon_days", "horizon_days", "duplicate key", occurrence=2)

    t = edit(BLOCK, "    cohesion: 0.6\n", "    cohesion: 0.6\n    control: 0.4\n")
    add("duplicate_nested_key", t, "control:", "factions.gna.control", "duplicate key", occurrence=2)

    t = edit(BASE, "{strength: 1.0, control: 0.5}\n  lna", "{strength: 1.0, control: 0.7}\n  lna")
    # 0.7 + 0.5 = 1.2: off by more than the 0.01 the loader tolerates
    add("control_shares_not_summing_to_1", t, "factions:", "factions", "must sum to 1", "1.2")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {uniform: [0.9, 0.1]}")
    add("uniform_lo_above_hi", t, "cohesion:", "factions.gna.cohesion.uniform", "lo <= hi")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {normal: [0.5, -1]}")
    add("normal_negative_sd", t, "cohesion:", "factions.gna.cohesion.normal.1", "standard deviation", ">= 0")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {beta: [1, 2]}")
    add("unknown_distribution_beta", t, "cohesion:", "factions.gna.cohesion.beta", "unknown distribution", "uniform")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {uniform: [0.1, 0.5, 0.9]}")
    add("distribution_wrong_arity", t, "cohesion:", "factions.gna.cohesion.uniform", "2 numbers")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: {uniform: [0.5, 1.5]}")
    # the support of a distribution must lie in the field's range: 1.5 > 1
    add("distribution_outside_range", t, "cohesion:", "factions.gna.cohesion.uniform.1", "must be in [0, 1]")

    t = BASE + "events:\n  - {day: 3, set: {factions.gna.cohesin: 0.3}}\n"
    add(
        "event_target_unknown_field",
        t,
        "cohesin",
        "events.0.set.factions.gna.cohesin",
        "unknown field",
        "did you mean 'cohesion'",
    )

    t = edit(BASE, "name: base_case\n", "name: base_case\nstart_date: 12\n")
    add("date_given_as_number", t, "start_date", "start_date", "must be a date")

    t = edit(BLOCK, "cohesion: 0.6", "cohesion: true")
    add("true_where_number_needed", t, "cohesion: true", "factions.gna.cohesion", "must be a number")

    t = edit(
        BLOCK,
        "    strength: 1.0\n    control: 0.5\n    cohesion",
        "    strength: 1" + "0" * 400 + "\n    control: 0.5\n    cohesion",
    )
    # a whole number too large for a float must be refused as out of range, not crash float()
    add("integer_too_large", t, "strength: 1000", "factions.gna.strength", "must be")

    t = edit(BASE, "name: base_case\n", "name: base_case\nstart_date: 2020-13-45\n")
    # YAML reads this as a timestamp and datetime.date() refuses month 13
    add("impossible_date", t, "start_date", "start_date", "date")

    t = edit(BASE, "  lna: {strength: 1.0, control: 0.5}\n", "")
    t = edit(t, "clients: [lna]", "clients: [gna]")
    t = edit(t, "control: 0.5}", "control: 1.0}")
    add("single_faction", t, "factions:", "factions", "at least two factions")

    t = edit(BASE, "  gna: {strength: 1.0, control: 0.5}\n", "  gna: {control: 0.5}\n")
    add("required_field_missing", t, "gna: {control", "factions.gna.strength", "is required")

    t = "- just\n- a list\n"
    add("top_level_not_a_mapping", t, "- just", "<top>", "must be a mapping")

    return c


CASES = _cases()


@pytest.mark.parametrize("text, line, path, fragments", CASES)
def test_loader_error_names_file_line_path_and_problem(tmp_path, text, line, path, fragments):
    source = write(tmp_path, text)
    message = load_error(source)
    prefix = f"{source}:{line}: " if line is not None else f"{source}: "
    assert message.startswith(prefix), f"expected prefix {prefix!r}: {message!r}"
    assert message[len(prefix) :].startswith(f"{path}: "), f"expected path {path!r}: {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


@pytest.mark.parametrize("text, line, path, fragments", CASES)
def test_loader_error_is_one_line(tmp_path, text, line, path, fragments):
    message = load_error(write(tmp_path, text))
    assert "\n" not in message and message.strip() == message, repr(message)


def test_scenario_error_is_exported_and_a_value_error(tmp_path):
    assert sim.ScenarioError is _ScenarioErrorFromModule
    with pytest.raises(ValueError):  # callers catching ValueError still see loader mistakes
        sim.load_scenario(tmp_path / "missing.yaml")


# --- errors of the file as a whole ------------------------------------------------------------
def test_missing_file(tmp_path):
    source = tmp_path / "no_such_scenario.yaml"
    message = load_error(source)
    assert message == f"{source}: file not found"


def test_directory_instead_of_file(tmp_path):
    message = load_error(tmp_path)
    assert message.startswith(f"{tmp_path}: ") and "directory" in message and "\n" not in message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank_lines", "comment_only"])
def test_empty_file(tmp_path, text):
    source = write(tmp_path, text)
    message = load_error(source)
    assert message.startswith(f"{source}: ") and "empty" in message and "\n" not in message


def test_yaml_syntax_error_points_at_its_line(tmp_path):
    # "a: b" after "description:" is a mapping value where a plain scalar was started
    text = edit(BASE, "name: base_case\n", "name: base_case\ndescription: truce: day one\n")
    source = write(tmp_path, text)
    message = load_error(source)
    assert message.startswith(f"{source}:{line_of(text, 'description')}: YAML syntax error"), message
    assert "\n" not in message


def test_yaml_unclosed_bracket_is_a_syntax_error(tmp_path):
    text = edit(BASE, "talks: [1, 7]}", "talks: [1, 7}")
    source = write(tmp_path, text)
    message = load_error(source)
    assert message.startswith(f"{source}:") and "YAML syntax error" in message and "\n" not in message
    line = int(message[len(f"{source}:") :].split(":")[0])
    # the parser notices the stray '}' on the mediator line
    assert line == line_of(text, "mediator:")


def test_not_utf8(tmp_path):
    source = tmp_path / "latin1.yaml"
    source.write_bytes(BASE.replace("base_case", "caf\xe9").encode("latin-1"))
    message = load_error(source)
    assert message.startswith(f"{source}: ") and "UTF-8" in message and "\n" not in message


def test_python_object_tag_is_refused(tmp_path):
    marker = tmp_path / "executed"
    text = BASE + f"description: !!python/object/apply:os.system ['touch {marker}']\n"
    source = write(tmp_path, text)
    message = load_error(source)
    # safe_load has no constructor for python tags: the error names the line and the tag
    assert message.startswith(f"{source}:{line_of(text, 'python/object')}: "), message
    assert "python/object" in message and "\n" not in message
    assert not marker.exists(), "the tag's code ran"


def test_python_object_tag_at_top(tmp_path):
    source = write(tmp_path, "!!python/object:collections.OrderedDict {}\n")
    message = load_error(source)
    assert message.startswith(f"{source}:1: ") and "python/object" in message


def test_valid_files_load(tmp_path):
    base = sim.load_scenario(write(tmp_path, BASE))
    block = sim.load_scenario(write(tmp_path, BLOCK, "block.yaml"))
    assert base.name == "base_case" and set(base.factions) == {"gna", "lna"}
    assert block.factions["gna"]["cohesion"] == 0.6
    # max_support defaults to support when not given (BASE has none)
    assert base.backers["turkey"]["max_support"] == base.backers["turkey"]["support"]
    libya = sim.load_scenario(LIBYA)
    assert libya.horizon_days >= max(e.day for e in libya.events)


# --- --set overrides -----------------------------------------------------------------------------
SET_CASES = [
    # (override, dotted path in the message, fragments)
    pytest.param(
        "backers.turkey.presure=0",
        "backers.turkey.presure",
        ["unknown field", "did you mean 'pressure'"],
        id="unknown_field_did_you_mean",
    ),
    pytest.param(
        "backers.turky.pressure=0",
        "backers.turky",
        ["unknown field", "did you mean 'turkey'"],
        id="unknown_backer_did_you_mean",
    ),
    pytest.param(
        "factionz.gna.cohesion=0.3",
        "factionz",
        ["unknown field", "did you mean 'factions'"],
        id="unknown_section_did_you_mean",
    ),
    pytest.param(
        "behaviour.contest_exponnt=2",
        "behaviour.contest_exponnt",
        ["unknown field", "did you mean 'contest_exponent'"],
        id="unknown_constant_did_you_mean",
    ),
    pytest.param("factions.gna.cohesion=1.4", "factions.gna.cohesion", ["must be in [0, 1]", "1.4"], id="out_of_range"),
    pytest.param("factions.gna.cohesion=high", "factions.gna.cohesion", ["must be a number"], id="text_value"),
    pytest.param("factions.gna.cohesion=.nan", "factions.gna.cohesion", ["finite"], id="nan_value"),
    pytest.param("factions.*.cohesion=2", "factions.gna.cohesion", ["must be in [0, 1]"], id="wildcard_out_of_range"),
]


@pytest.mark.parametrize("override, path, fragments", SET_CASES)
def test_set_error_names_the_override_and_path(tmp_path, override, path, fragments):
    message = load_error(write(tmp_path, BASE), [override])
    assert message.startswith("--set "), message
    assert f" {path}: " in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"


@pytest.mark.parametrize("override, path, fragments", SET_CASES)
def test_set_error_is_one_line(tmp_path, override, path, fragments):
    message = load_error(write(tmp_path, BASE), [override])
    assert "\n" not in message, repr(message)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("factions.gna.cohesion", "expected PATH=VALUE"),
        ("=0.3", "empty field path"),
        ("factions.gna.cohesion=", "missing value"),
        ("factions.gna.cohesion=[0.3", "not valid YAML"),
    ],
    ids=["no_equals", "no_path", "no_value", "bad_yaml_value"],
)
def test_set_unparseable(tmp_path, override, fragment):
    message = load_error(write(tmp_path, BASE), [override])
    assert message.startswith(f"--set {override}"), message
    assert fragment in message and "\n" not in message


def test_set_as_mapping_out_of_range(tmp_path):
    message = load_error(write(tmp_path, BASE), {"backers.turkey.credibility": 1.5})
    assert "backers.turkey.credibility" in message and "must be in [0, 1]" in message


def test_set_wildcard_sets_every_backer(tmp_path):
    scenario = sim.load_scenario(write(tmp_path, BASE), ["backers.*.pressure=0"])
    assert {k: b["pressure"] for k, b in scenario.backers.items()} == {"turkey": 0.0, "russia": 0.0}
    # only the named field changes
    assert scenario.backers["turkey"]["credibility"] == 0.8 and scenario.backers["russia"]["credibility"] == 0.6


def test_set_valid_value_and_distribution(tmp_path):
    scenario = sim.load_scenario(
        write(tmp_path, BASE), ["factions.gna.cohesion=0.25", "backers.russia.pressure={uniform: [0.1, 0.3]}"]
    )
    assert scenario.factions["gna"]["cohesion"] == 0.25
    assert scenario.backers["russia"]["pressure"] == sim.core.scenario.Distribution("uniform", (0.1, 0.3))


def test_set_wildcard_with_no_backers(tmp_path):
    text = BASE.split("backers:")[0] + "mediator: {monitoring: 0.1}\n"
    message = load_error(write(tmp_path, text), ["backers.*.pressure=0"])
    assert message.startswith("--set ") and "nothing for '*' to match" in message


# --- the command line ------------------------------------------------------------------------------
def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {proc.stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} missing from {lines[0]!r}"


def test_cli_check_valid_scenario():
    proc = run_cli("check", LIBYA)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"# {LIBYA}: valid")
    resolved = yaml.safe_load(proc.stdout)  # the resolved scenario is printed as YAML
    assert resolved["name"] == "libya_2020_january"


def test_cli_check_wildcard_set():
    proc = run_cli("check", LIBYA, "--set", "backers.*.pressure=0")
    assert proc.returncode == 0, proc.stderr
    backers = yaml.safe_load(proc.stdout)["backers"]
    assert len(backers) >= 2 and all(b["pressure"] == 0 for b in backers.values())


@pytest.mark.parametrize("kind", ["unknown_key", "python_tag", "syntax", "missing_file", "impossible_date"])
def test_cli_check_broken_file(tmp_path, kind):
    if kind == "unknown_key":
        text = edit(BLOCK, "    cohesion: 0.6", "    cohesin: 0.6")
        source = write(tmp_path, text)
        expect = [f"{source}:{line_of(text, 'cohesin')}: factions.gna.cohesin:", "did you mean 'cohesion'"]
    elif kind == "python_tag":
        text = BASE + "seed: !!python/object/apply:os.getpid []\n"
        source = write(tmp_path, text)
        expect = [f"{source}:{line_of(text, 'python/object')}:", "python/object"]
    elif kind == "syntax":
        text = edit(BASE, "name: base_case\n", "name: base_case\ndescription: truce: day one\n")
        source = write(tmp_path, text)
        expect = [f"{source}:{line_of(text, 'description')}: YAML syntax error"]
    elif kind == "impossible_date":
        text = edit(BASE, "name: base_case\n", "name: base_case\nstart_date: 2020-02-30\n")
        source = write(tmp_path, text)
        expect = [f"{source}:{line_of(text, 'start_date')}:"]
    else:
        source = tmp_path / "absent.yaml"
        expect = [f"{source}: file not found"]
    assert_user_error(run_cli("check", source), *expect)


@pytest.mark.parametrize(
    "override, fragments",
    [
        ("backers.turkey.presure=0", ["--set", "backers.turkey.presure", "did you mean 'pressure'"]),
        ("factions.gna.cohesion=1.4", ["--set", "factions.gna.cohesion", "must be in [0, 1]"]),
        ("factions.gna.cohesion", ["--set", "expected PATH=VALUE"]),
    ],
    ids=["unknown_path", "out_of_range", "no_equals"],
)
def test_cli_check_bad_set(override, fragments):
    assert_user_error(run_cli("check", LIBYA, "--set", override), *fragments)


def test_cli_run_broken_file_writes_nothing(tmp_path):
    text = edit(BLOCK, "cohesion: 0.6", "cohesion: 1.4")
    source = write(tmp_path, text)
    out = tmp_path / "out"
    proc = run_cli("run", source, "--out", out, "--replicates", "10", "--quiet", cwd=tmp_path)
    assert_user_error(proc, f"{source}:{line_of(text, 'cohesion')}: factions.gna.cohesion:")
    assert not out.exists()
    # nor anything under the default results dir of the cwd
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]
