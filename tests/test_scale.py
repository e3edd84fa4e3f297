"""--scale: a field multiplied in the file and in every event that sets or adds to it; --set that
an event undoes is flagged."""

import contextlib
import io
import json

import pandas as pd
import pytest
import yaml

import truce_sim as sim
from truce_sim.cli import main
from truce_sim.core.model import TruceModel
from truce_sim.core.scenario import FACTION_FIELDS, Scenario, ScenarioError
from truce_sim.sweeps.runner import run_sweep
from truce_sim.sweeps.spec import load_sweep, sweep_from_options

from .conftest import SCENARIOS, SMALL_SCENARIO

LIBYA = str(SCENARIOS / "libya_2020_january.yaml")
TURKEY = "backers.turkey.support"


def changes(scenario: Scenario, op: str) -> list[tuple[int, str, object]]:
    return [(e.day, path, value) for e in scenario.events for path, value in getattr(e, op).items()]


@pytest.fixture(scope="module")
def libya():
    return sim.load_scenario(LIBYA)


# ----------------------------------------------------------------------------------------------
# The data: base value and event values
# ----------------------------------------------------------------------------------------------
def test_scaling_turkish_support_doubles_the_base_and_every_set_event(libya):
    doubled = sim.load_scenario(LIBYA, scales={TURKEY: 2})
    assert doubled.backers["turkey"]["support"] == 2 * libya.backers["turkey"]["support"]
    before, after = changes(libya, "set"), changes(doubled, "set")
    assert [c for c in before if c[1] == TURKEY], "the founding case no longer sets Turkish support by events"
    assert after == [(day, path, 2 * value if path == TURKEY else value) for day, path, value in before]
    assert changes(doubled, "add") == changes(libya, "add")
    assert changes(doubled, "scale") == changes(libya, "scale")
    # the rest of the scenario is as written
    other = doubled.to_yaml_dict()
    base = libya.to_yaml_dict()
    other["backers"]["turkey"]["support"] = base["backers"]["turkey"]["support"]
    other["events"], base["events"] = [], []
    assert other == base
    assert libya.backers["turkey"]["support"] == doubled.backers["turkey"]["support"] / 2  # the base is untouched


def test_the_api_forms_agree(libya):
    by_list = sim.load_scenario(LIBYA, scales=[f"{TURKEY}=2"])
    by_method = libya.with_scales({TURKEY: 2})
    by_dict = sim.load_scenario(LIBYA, scales={TURKEY: 2.0})
    assert by_list.to_yaml_dict() == by_method.to_yaml_dict() == by_dict.to_yaml_dict()
    assert by_list.scales == by_method.scales == {TURKEY: 2.0}
    # factors compose, and overrides come first: the factor applies to the value they set
    twice = libya.with_scales({TURKEY: 2}).with_scales({TURKEY: 1.5})
    assert twice.scales == {TURKEY: 3.0} and twice.backers["turkey"]["support"] == pytest.approx(0.012)
    both = sim.load_scenario(LIBYA, [f"{TURKEY}=0.01"], [f"{TURKEY}=3"])
    assert both.backers["turkey"]["support"] == pytest.approx(0.03)


def test_add_events_are_scaled_and_scale_events_are_left_alone():
    text = SMALL_SCENARIO + (
        "events:\n"
        "  - {day: 3, add: {backers.turkey.support: 0.002}}\n"
        "  - {day: 5, scale: {backers.turkey.support: 1.5}}\n"
        "  - {day: 8, set: {backers.russia.support: 0.02}}\n"
    )
    base = Scenario.from_dict(yaml.safe_load(text))
    scaled = base.with_scales({TURKEY: 3})
    assert scaled.backers["turkey"]["support"] == pytest.approx(0.03)
    assert changes(scaled, "add") == [(3, TURKEY, pytest.approx(0.006))]
    assert changes(scaled, "scale") == [(5, TURKEY, 1.5)]
    assert changes(scaled, "set") == [(8, "backers.russia.support", 0.02)]
    # the model sees the factor on every day: 3x before the add, after it and after the event's scale
    plain, tripled = TruceModel(base, replicates=2), TruceModel(scaled, replicates=2)
    turkey = [next(b for b in m.backers if b.name == "turkey") for m in (plain, tripled)]
    for day in range(1, 7):
        plain.step()
        tripled.step()
        assert turkey[1].support[0] == pytest.approx(3 * turkey[0].support[0]), day


def test_defaults_are_scaled_and_unset_fields_stay_unset(libya):
    small = Scenario.from_dict(yaml.safe_load(SMALL_SCENARIO))
    halved = small.with_scales({"factions.gna.cohesion": 0.5})  # not written: the default
    assert halved.factions["gna"]["cohesion"] == pytest.approx(FACTION_FIELDS["cohesion"].default / 2)
    # no red line on day 0, and still none; the red line Egypt draws by an event is scaled
    scaled = libya.with_scales({"backers.egypt.red_line": 2})
    assert libya.backers["egypt"]["red_line"] is None and scaled.backers["egypt"]["red_line"] is None
    drawn = [(d, v) for d, p, v in changes(libya, "set") if p == "backers.egypt.red_line"]
    assert drawn and [(d, v) for d, p, v in changes(scaled, "set") if p == "backers.egypt.red_line"] == [
        (d, 2 * v) for d, v in drawn
    ]


def test_a_max_support_left_to_its_default_follows_the_support(libya):
    half = libya.with_scales({"backers.*.support": 0.5})
    egypt, turkey = libya.backers["egypt"], libya.backers["turkey"]
    assert egypt["max_support"] == egypt["support"]  # none written: no room to escalate
    assert half.backers["egypt"]["max_support"] == half.backers["egypt"]["support"] == egypt["support"] / 2
    assert half.backers["turkey"]["max_support"] == turkey["max_support"]  # written: a ceiling of its own


def test_wildcards_scale_every_id(libya):
    scaled = libya.with_scales({"backers.*.pressure": 0.5, "backers.*.support": 2})
    for name, backer in libya.backers.items():
        assert scaled.backers[name]["pressure"] == pytest.approx(backer["pressure"] / 2)
        assert scaled.backers[name]["support"] == pytest.approx(2 * backer["support"])
    assert changes(scaled, "set") == [
        (day, path, 2 * value if path.endswith(".support") else value) for day, path, value in changes(libya, "set")
    ]
    assert scaled.what_if == {"backers.*.pressure": "x0.5", "backers.*.support": "x2"}
    # '*' over the fields of one faction multiplies its numbers and skips the rest (control, allies)
    every = libya.with_scales({"factions.gna.*": 0.5})
    gna = libya.factions["gna"]
    assert every.factions["gna"]["strength"] == gna["strength"] / 2
    assert every.factions["gna"]["control"] == gna["control"]


def test_distributions_scale_every_parameter():
    dists = {
        "factions.gna.strength": ({"uniform": [0.8, 1.2]}, [1.6, 2.4]),
        "factions.lna.strength": ({"normal": [1.0, 0.1]}, [2.0, 0.2]),
        "backers.russia.support": ({"triangular": [0.01, 0.02, 0.04]}, [0.02, 0.04, 0.08]),
    }
    base = sim.load_scenario(LIBYA, {path: spec for path, (spec, _) in dists.items()})
    scaled = base.with_scales(dict.fromkeys(dists, 2))
    for path, (_, params) in dists.items():
        drawn = scaled.get(path)
        assert list(drawn.params) == pytest.approx(params), path
        assert drawn.kind == base.get(path).kind


@pytest.mark.parametrize(
    "scales, expected",
    [
        ({"backers.turkey.suport": 2}, "did you mean 'support'"),
        ({"backers.turky.support": 2}, "did you mean 'turkey'"),
        ({"backers.turkey.clients": 2}, "not a number --scale multiplies"),
        ({"mediator.talks": 2}, "not a number --scale multiplies"),
        ({"horizon_days": 2}, "not a number --scale multiplies"),
        ({"factions.gna.control": 2}, "control cannot be scaled"),
        ({TURKEY: -1}, "FACTOR must be a finite number >= 0"),
        ({TURKEY: "two"}, "FACTOR must be a number >= 0"),
        ({TURKEY: True}, "FACTOR must be a number >= 0"),
        ({TURKEY: float("nan")}, "finite"),
        (
            {"backers.turkey.pressure": 2},
            "--scale backers.turkey.pressure=2: backers.turkey.pressure: must be in [0, 1]",
        ),
        ([f"{TURKEY}"], "expected PATH=FACTOR"),
    ],
)
def test_bad_scales_are_one_line_errors(scales, expected):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(LIBYA, scales=scales)
    message = str(info.value)
    assert expected in message and "\n" not in message, message


# ----------------------------------------------------------------------------------------------
# Names: summary, console, out dir
# ----------------------------------------------------------------------------------------------
def test_what_if_names_scales_and_overrides(libya):
    s = sim.load_scenario(
        LIBYA, ["backers.russia.pressure=0", f"{TURKEY}=0.01"], {TURKEY: 2, "mediator.monitoring": 0.5}
    )
    assert s.overrides == {"backers.russia.pressure": "0", TURKEY: "0.01"}
    assert s.what_if == {"backers.russia.pressure": "0", TURKEY: "0.01 x2", "mediator.monitoring": "x0.5"}
    assert s.what_if_label == "russia.pressure=0+turkey.support=0.01_x2+mediator.monitoring=x0.5"
    assert libya.with_scales({TURKEY: 2}).what_if_label == "turkey.support=x2"
    assert libya.what_if == {} and libya.what_if_label == ""


# ----------------------------------------------------------------------------------------------
# Overrides that events undo
# ----------------------------------------------------------------------------------------------
def test_an_override_that_events_set_again_is_flagged(libya):
    days = tuple(day for day, path, _ in changes(libya, "set") if path == TURKEY)
    s = libya.with_overrides({TURKEY: 0.01})
    assert [(o.override, o.path, o.days) for o in s.overwritten_overrides()] == [(TURKEY, TURKEY, days)]
    assert s.caveats() == [
        f"--set {TURKEY}=0.01 is overwritten by events on days {', '.join(map(str, days))}; "
        f"--scale {TURKEY}=FACTOR changes it everywhere"
    ]
    # an add builds on the override, and a field no event touches keeps it
    assert libya.with_overrides({"factions.gna.grievance": 0.2, "backers.russia.pressure": 0}).caveats() == []
    assert libya.with_scales({TURKEY: 2}).caveats() == []
    # a wildcard names each field an event undoes
    every = libya.with_overrides({"backers.*.support": 0.001})
    assert sorted({o.path for o in every.overwritten_overrides()}) == ["backers.turkey.support", "backers.uae.support"]


def test_the_set_value_is_gone_on_day_one_and_the_scale_stays(libya):
    worlds = {
        "base": libya,
        "set": libya.with_overrides({TURKEY: 0.01}),
        "scale": libya.with_scales({TURKEY: 2}),
    }
    models = {k: TruceModel(s, replicates=4) for k, s in worlds.items()}
    support = {k: next(b for b in m.backers if b.name == "turkey").support for k, m in models.items()}
    assert support["set"][0] == 0.01 and support["scale"][0] == 2 * support["base"][0]
    for m in models.values():
        m.step()
    support = {k: next(b for b in m.backers if b.name == "turkey").support for k, m in models.items()}
    assert (support["set"] == support["base"]).all()
    assert support["scale"] == pytest.approx(2 * support["base"])


# ----------------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------------
RUN = ["run", LIBYA, "-n", "300", "--steps", "90", "--seed", "11", "-j", "1", "-q"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The founding case as written, with Turkish support --set, and with it --scale'd, each with
    what the command printed on stderr."""
    root = tmp_path_factory.mktemp("scale")
    out = {}
    for name, extra in (("base", []), ("set", ["--set", f"{TURKEY}=0.01"]), ("scale", ["--scale", f"{TURKEY}=2"])):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main([*RUN, *extra, "--out", str(root / name)])
        assert status == 0, err.getvalue()
        rows = pd.read_csv(root / name / "replicates.csv")
        summary = json.loads((root / name / "summary.json").read_text())
        out[name] = (rows, summary, err.getvalue(), root / name)
    return out


def test_a_scaled_run_differs_where_a_set_one_barely_does(runs):
    base, set_, scaled = (runs[k][0]["survival_days"] for k in ("base", "set", "scale"))
    moved_by_set = int((set_ != base).sum())
    moved_by_scale = int((scaled != base).sum())
    # --set reaches only day 0 (events set Turkish support from day 1); --scale every day
    assert moved_by_scale > len(base) / 3, moved_by_scale
    assert moved_by_scale > 5 * moved_by_set, (moved_by_scale, moved_by_set)
    assert runs["scale"][1]["survival_at"] != runs["base"][1]["survival_at"]


def test_the_overwritten_set_is_warned_once_and_recorded(runs):
    _, summary, err, out = runs["set"]
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: --set {TURKEY}=0.01 is overwritten by events on days 1,")
    assert f"--scale {TURKEY}=FACTOR changes it everywhere" in warnings[0]
    assert summary["caveats"] == [warnings[0][len("warning: ") :]]
    assert summary["overrides"] == {TURKEY: "0.01"}
    report = (out / "report.html").read_text()
    assert "<h2>Caveats</h2>" in report and "is overwritten by events on days 1," in report
    # neither the scenario as written nor a scaled run carries a caveat
    for name in ("base", "scale"):
        assert runs[name][1]["caveats"] == [] and runs[name][2] == ""
        assert "Caveats" not in (runs[name][3] / "report.html").read_text()
    assert runs["scale"][1]["overrides"] == {TURKEY: "x2"}


def test_a_scaled_run_is_named_by_its_factor(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status = main(["run", LIBYA, "-n", "20", "--steps", "10", "-j", "1", "--scale", f"{TURKEY}=2"])
    out = capsys.readouterr().out
    assert status == 0
    assert (tmp_path / "results" / "libya_2020_january--turkey.support=x2" / "summary.json").is_file()
    assert any(line.startswith("what-if") and line.endswith(f"{TURKEY}=x2") for line in out.splitlines())


def test_check_takes_scales_and_warns(capsys):
    assert main(["check", LIBYA, "--scale", f"{TURKEY}=2", "--set", f"{TURKEY}=0.01"]) == 0
    captured = capsys.readouterr()
    printed = yaml.safe_load(captured.out)
    assert printed["backers"]["turkey"]["support"] == pytest.approx(0.02)
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("warning: --set")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--scale", "backers.turkey.suport=2"], "did you mean 'support'"),
        (["--scale", f"{TURKEY}=abc"], "FACTOR must be a number"),
        (["--scale", f"{TURKEY}=-2"], "FACTOR must be a finite number >= 0"),
        (["--scale", "backers.turkey.clients=2"], "not a number --scale multiplies"),
        (["--scale", "mediator.talks=2"], "not a number --scale multiplies"),
        (["--scale", "backers.*.pressure=2"], "must be in [0, 1]"),
        (["--scale", TURKEY], "expected PATH=FACTOR"),
    ],
)
def test_bad_scales_on_the_command_line_exit_2_with_one_line(args, expected, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["run", LIBYA, "-n", "10", "--steps", "5", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scale") and expected in lines[0], err
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# Sweeps
# ----------------------------------------------------------------------------------------------
def sweep_file(tmp_path, vary: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: live\nbase: {LIBYA}\nreplicates: 40\nsteps: 30\nseed: 3\nvary:\n{vary}")
    return path


def test_a_sweep_varies_a_factor(tmp_path, libya):
    sweep = load_sweep(sweep_file(tmp_path, f"  scale.{TURKEY}: [0.5, 2]\n  mediator.monitoring: [0, 0.5]\n"))
    assert sweep.paths == [f"scale.{TURKEY}", "mediator.monitoring"]
    assert not [n for n in sweep.notes if TURKEY in n]  # the factor reaches the events too: nothing to note
    for i, (factor, monitoring) in enumerate(sweep.points[sweep.paths].itertuples(index=False)):
        s = sweep.point_scenario(i)
        assert s.backers["turkey"]["support"] == pytest.approx(factor * libya.backers["turkey"]["support"])
        assert s.mediator["monitoring"] == monitoring
        assert [v for _, p, v in changes(s, "set") if p == TURKEY] == pytest.approx(
            [factor * v for _, p, v in changes(libya, "set") if p == TURKEY]
        )
    result = run_sweep(sweep, tmp_path / "out")
    points = pd.read_csv(tmp_path / "out" / "points.csv")
    assert sorted(set(points[f"scale.{TURKEY}"])) == [0.5, 2.0]
    assert len(result.points) == 4

    def survival(factor):  # every world's days at monitoring 0, common random numbers
        (point,) = points[(points[f"scale.{TURKEY}"] == factor) & (points["mediator.monitoring"] == 0)]["point"]
        return pd.read_parquet(tmp_path / "out" / "points" / f"worlds-{point:06d}.parquet")["survival_days"]

    assert not survival(0.5).equals(survival(2.0))


def test_the_shorthand_varies_a_factor_and_the_note_points_to_it(tmp_path):
    sweep = sweep_from_options(LIBYA, [f"scale.{TURKEY}=0:2:3"], replicates=10, steps=10)
    assert list(sweep.points[f"scale.{TURKEY}"]) == [0.0, 1.0, 2.0]
    plain = sweep_from_options(LIBYA, [f"{TURKEY}=0:0.01:2"], replicates=10, steps=10)
    assert any(f"vary scale.{TURKEY} to change it everywhere" in n for n in plain.notes), plain.notes


@pytest.mark.parametrize(
    "vary, expected",
    [
        ("  scale.backers.turkey.suport: [1, 2]\n", "vary.scale.backers.turkey.suport: unknown field (did you mean"),
        (f"  scale.{TURKEY}: [-1, 2]\n", "must be in [0, inf]"),
        ("  scale.backers.turkey.clients: [1, 2]\n", "not a number --scale multiplies"),
        ("  scale.backers.turkey.pressure: [1, 2]\n", "point 1 is not a valid scenario"),
    ],
)
def test_bad_factors_in_a_sweep_file_are_one_line(tmp_path, vary, expected):
    with pytest.raises(ScenarioError) as info:
        load_sweep(sweep_file(tmp_path, vary))
    message = str(info.value)
    assert expected in message and "\n" not in message, message
