"""What-ifs named and recorded: --set, --scale and --event in the console summary, summary.json and
manifest.json; --label names the out dir; --event is checked as a file's events are."""

import json

import pandas as pd
import pytest
import yaml

import truce_sim as sim
from truce_sim.cli import main
from truce_sim.core.scenario import BUILTIN_SCENARIOS, ScenarioError

CASE = "libya_2020_january"
SMALL = ["-n", "30", "--steps", "60", "--seed", "11", "-j", "1"]
EVENT = "30: backers.russia.pressure=0"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *args):
    status = main(["run", *args])
    out, err = capsys.readouterr()
    return status, out, err


def what_if_line(out: str) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("what-if")]
    return line


def test_a_set_run_names_its_override_in_the_summary_the_manifest_and_the_console(project, capsys):
    status, out, _ = run(capsys, CASE, *SMALL, "--set", "backers.russia.pressure=0")
    assert status == 0
    run_dir = project / "results" / f"{CASE}--russia.pressure=0"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["overrides"] == {"backers.russia.pressure": "0"}  # the mapping kept as it was
    assert summary["what_if"] == ["backers.russia.pressure=0"]
    assert summary["label"] is None
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["what_if"] == ["backers.russia.pressure=0"] and manifest["label"] is None
    assert what_if_line(out).endswith("backers.russia.pressure=0")


def test_the_scenario_as_written_has_no_what_if(project, capsys):
    status, out, _ = run(capsys, CASE, *SMALL)
    assert status == 0
    summary = json.loads((project / "results" / CASE / "summary.json").read_text())
    assert summary["overrides"] == {} and summary["what_if"] == [] and summary["label"] is None
    assert not any(line.startswith(("what-if", "label")) for line in out.splitlines())


def test_a_label_names_the_out_dir_the_summary_and_the_console(project, capsys):
    args = ["--set", "backers.russia.pressure=0", "--scale", "backers.turkey.support=2", "--event", EVENT]
    status, out, _ = run(capsys, CASE, *SMALL, *args, "--label", "russia-off_v1.2")
    assert status == 0
    run_dir = project / "results" / f"{CASE}--russia-off_v1.2"
    assert [p.name for p in (project / "results").iterdir()] == [run_dir.name]
    summary = json.loads((run_dir / "summary.json").read_text())
    changes = ["backers.russia.pressure=0", "backers.turkey.support*=2", f"event day {EVENT}"]
    assert summary["label"] == "russia-off_v1.2"
    assert summary["what_if"] == changes
    assert json.loads((run_dir / "manifest.json").read_text())["label"] == "russia-off_v1.2"
    lines = out.splitlines()
    assert "russia-off_v1.2" in next(line for line in lines if line.startswith("label"))
    assert what_if_line(out).endswith(f"event day {EVENT}")


def test_an_event_without_a_label_names_the_out_dir_by_its_day(project, capsys):
    status, _, _ = run(capsys, CASE, *SMALL, "--event", EVENT)
    assert status == 0
    summary = json.loads((project / "results" / f"{CASE}--day30.russia.pressure=0" / "summary.json").read_text())
    assert summary["what_if"] == [f"event day {EVENT}"]


def with_event_appended(tmp_path, event: dict):
    """The built-in file with ``event`` appended to its events, written in ``tmp_path``."""
    raw = yaml.safe_load((BUILTIN_SCENARIOS / f"{CASE}.yaml").read_text())
    raw["events"].append(event)
    path = tmp_path / f"{CASE}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "given, written",
    [
        (EVENT, {"day": 30, "set": {"backers.russia.pressure": 0}}),
        ("45: backers.turkey.support*=2", {"day": 45, "scale": {"backers.turkey.support": 2}}),
    ],
    ids=["set", "scale"],
)
def test_an_event_on_the_command_line_is_the_event_in_the_file(project, capsys, given, written):
    path = with_event_appended(project, {**written, "label": given})
    assert sim.load_scenario(path).events[-1] == sim.load_scenario(CASE, events=[given]).events[-1]
    assert run(capsys, CASE, *SMALL, "--event", given, "--out", "cli")[0] == 0
    assert run(capsys, str(path), *SMALL, "--out", "file")[0] == 0
    cli_rows, file_rows = (pd.read_csv(project / d / "replicates.csv") for d in ("cli", "file"))
    pd.testing.assert_frame_equal(cli_rows, file_rows, check_exact=True)
    cli_summary, file_summary = (json.loads((project / d / "summary.json").read_text()) for d in ("cli", "file"))
    differ = {"overrides", "what_if"}  # the what-if's record: the file holds the event as written
    assert {k: v for k, v in cli_summary.items() if k not in differ} == {
        k: v for k, v in file_summary.items() if k not in differ
    }


def test_an_event_changes_the_run(project, capsys):
    assert run(capsys, CASE, *SMALL, "--out", "base")[0] == 0
    assert run(capsys, CASE, *SMALL, "--event", "1: backers.russia.support*=0", "--out", "cut")[0] == 0
    base, cut = (pd.read_csv(project / d / "replicates.csv") for d in ("base", "cut"))
    assert not base.equals(cut)


def test_the_api_adds_events_and_scales_them_as_the_file_events():
    loaded = sim.load_scenario(CASE, scales=["backers.turkey.support=2"], events=["50: backers.turkey.support=0.01"])
    later = sim.load_scenario(CASE, scales=["backers.turkey.support=2"]).with_events(
        ["50: backers.turkey.support=0.01"]
    )
    assert loaded.data == later.data
    (event,) = [e for e in later.events if e.day == 50]
    assert event.set == {"backers.turkey.support": 0.02} and event.label == "50: backers.turkey.support=0.01"
    assert later.what_if_changes == ["backers.turkey.support*=2", "event day 50: backers.turkey.support=0.01"]
    named = later.with_label("doubled").with_overrides(["mediator.monitoring=0.5"])
    assert named.label == named.what_if_label == "doubled"
    assert named.what_if_changes[-1] == "event day 50: backers.turkey.support=0.01"
    with pytest.raises(ScenarioError, match="--label 'a b'"):
        sim.load_scenario(CASE, label="a b")


@pytest.mark.parametrize(
    "event, message",
    [
        ("30 backers.russia.pressure=0", "no ':' after the day"),
        ("x: backers.russia.pressure=0", "DAY must be a whole number of days, got 'x'"),
        ("-5: backers.russia.pressure=0", "DAY must be a whole number of days"),
        ("0: backers.russia.pressure=0", "events.7.day: must be in [1, 3650], got 0"),
        ("400: backers.russia.pressure=0", "event on day 400 is past the horizon (180 days)"),
        ("123456789012: backers.russia.pressure=0", "DAY must be in [1, 3650]"),
        ("30: backers.russia.pressure", "no '=' after the field path"),
        ("30: =0", "empty field path"),
        ("30: backers.rusia.pressure=0", "'rusia' is not one of the backers (did you mean 'russia'?)"),
        ("30: backers.russia.presure=0", "unknown field (did you mean 'pressure'?)"),
        ("30: backer.russia.pressure=0", "(did you mean 'backers'?)"),
        ("30: behaviour.gain_weight=0", "events change factions.ID.FIELD, backers.ID.FIELD or mediator.FIELD"),
        ("30: backers.russia.pressure=5", "backers.russia.pressure: must be in [0, 1], got 5"),
        ("30: backers.russia.pressure=abc", "must be a number, got text abc"),
        ("30: backers.russia.pressure=", "missing value after '='"),
        ("30: backers.russia.pressure=[1", "value is not valid YAML"),
        ("30: backers.russia.pressure*=-1", "must be in [0, 1e+06], got -1"),
        ("30: backers.russia.pressure*=x", "must be a number, got text x"),
    ],
)
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_bad_event_is_one_line_and_writes_nothing(project, capsys, command, event, message):
    status = main([command, CASE, f"--event={event}", *(SMALL if command == "run" else [])])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"error: --event '{event}': "), err
    assert message in err, err
    assert out == "" and list(project.iterdir()) == []


@pytest.mark.parametrize("label", ["a b", "", "x/y", "../up", "...", "é", "a" * 81])
def test_a_bad_label_is_one_line_and_writes_nothing(project, capsys, label):
    status = main(["run", CASE, *SMALL, "--label", label])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: --label "), err
    assert "letters, digits, '_', '-' or '.'" in err
    assert out == "" and list(project.iterdir()) == []


def test_check_prints_the_added_event(capsys):
    assert main(["check", CASE, "--event", "45: backers.turkey.support*=2"]) == 0
    out = capsys.readouterr().out
    assert "label: '45: backers.turkey.support*=2'" in out
