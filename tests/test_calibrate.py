"""Bayesian calibration (ABC-SMC): the distance, the priors, identifiability and one small run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from truce_sim.cli import main
from truce_sim.core.scenario import BEHAVIOUR_FIELDS
from truce_sim.validity import calibrate as cal
from truce_sim.validity import posterior as post
from truce_sim.validity.targets import ARCHETYPES, BRACKETS, CASES


def inside_outcomes() -> dict[str, dict[str, float]]:
    """Synthetic outcomes with every bracketed quantity inside its bracket and the founding
    case's timeline on the record's days."""
    o: dict[str, dict[str, float]] = {c.name: {} for c in CASES}
    for b in BRACKETS:
        day = b.quantity in cal.DAY_QUANTITIES
        o[b.case][b.quantity] = math.sqrt(max(b.lo, 1) * b.hi) if day else (b.lo + b.hi) / 2
    timeline = {"first_offensive_lna": 14.0, "first_offensive_gna": 73.0}
    timeline |= {"violations_first_week": 0.95, "gna_late_minus_early": 0.5}
    o[cal.FOUNDING].update(timeline)
    for a in ARCHETYPES:
        o[a] = {"s90": 0.5}
    return o


def test_distance_is_zero_inside_every_bracket():
    o = inside_outcomes()
    for b in BRACKETS:
        assert b.holds(o[b.case][b.quantity]), b
    assert cal.distance(o) == 0.0
    assert set(cal.case_distances(o)) == set(o)


@pytest.mark.parametrize("b", BRACKETS, ids=lambda b: f"{b.case}-{b.quantity}")
def test_distance_grows_as_one_quantity_leaves_its_bracket(b):
    o = inside_outcomes()
    day = b.quantity in cal.DAY_QUANTITIES
    distances = []
    for step in (1, 2, 4):
        o[b.case][b.quantity] = b.hi * 1.5**step if day else b.hi + 0.05 * step
        distances.append(cal.distance(o))
    assert 0 < distances[0] < distances[1] < distances[2]
    assert cal.case_distances(o)[b.case] == pytest.approx(distances[-1])
    below = inside_outcomes()
    below[b.case][b.quantity] = b.lo / 2 if day else b.lo - 0.1
    if b.lo > 0 or not day:
        assert cal.distance(below) > 0


def test_a_median_not_reached_is_far_but_finite():
    o = inside_outcomes()
    o["syria_2016_september"]["median"] = math.inf
    d = cal.distance(o)
    assert math.isfinite(d) and d > 1
    flat = cal.flatten(o)
    assert all(math.isfinite(v) for v in flat.values())
    assert cal.distance(cal.unflatten(flat)) == pytest.approx(d)


def test_timeline_and_archetype_window_count():
    o = inside_outcomes()
    o[cal.FOUNDING]["first_offensive_lna"] = 20.0  # inside its bracket, off the record's day 14
    assert cal.case_distances(o)[cal.FOUNDING] > 0
    o = inside_outcomes()
    o[ARCHETYPES[0]]["s90"] = 0.9
    assert cal.case_distances(o)[ARCHETYPES[0]] == pytest.approx(0.1 / 0.6)


def test_priors_respect_legal_ranges():
    priors = post.priors(cal.FITTED)
    for name, p in priors.items():
        field = BEHAVIOUR_FIELDS[name]
        assert field.lo <= p.lo < float(field.default) < p.hi <= field.hi, name
        assert p.log and p.parameter == f"log_{name}"
    clipped = post.prior("monitoring_deterrence")  # default 0.6, legal range [0, 1]
    assert clipped.hi == 1.0 and clipped.lo == pytest.approx(0.2)
    np.random.seed(1)
    draws = [post.constants(post.pyabc_prior(priors).rvs(), priors) for _ in range(200)]
    for name, p in priors.items():
        values = [d[name] for d in draws]
        assert p.lo <= min(values) and max(values) <= p.hi


def test_identifiability_verdicts_on_synthetic_posteriors():
    pr = {"gain_weight": post.prior("gain_weight"), "decision_noise": post.prior("decision_noise")}
    rng = np.random.default_rng(3)
    n = 4000
    lo, hi = pr["decision_noise"].bounds
    samples = pd.DataFrame(
        {
            "gain_weight": np.exp(rng.normal(math.log(30), 0.05, n)),  # narrow: pinned down
            "decision_noise": np.exp(rng.uniform(lo, hi, n)),  # the prior itself
        }
    )
    weights = np.full(n, 1 / n)
    table = post.identifiability(samples, weights, pr).set_index("constant")
    assert table.loc["gain_weight", "verdict"] == "pinned down"
    assert table.loc["gain_weight", "ratio"] < 0.5
    assert table.loc["decision_noise", "verdict"] == "not identified by these cases"
    assert table.loc["decision_noise", "ratio"] == pytest.approx(1.0, abs=0.05)


def test_weighted_quantile():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert post.weighted_quantile(values, [1, 1, 1, 1], 0.5) == pytest.approx(2.5)
    assert post.weighted_quantile(values, [0, 0, 1, 0], 0.5) == pytest.approx(3.0)


def test_defaults_text_sets_values_and_replaces_its_stamp(tmp_path, monkeypatch):
    result = {"fitted": {"gain_weight": 31.25, "decision_noise": 0.1234}, "date": "2026-01-02"}
    result |= {"population": 8, "generations": 2, "evaluations": 20, "scale": 0.05, "distance": 1.5}
    text = cal.defaults_text(result)
    body = yaml.safe_load(text)
    assert body["gain_weight"]["value"] == 31.25 and body["decision_noise"]["value"] == 0.1234
    assert text.count("# Calibrated by") == 1 and "population 8, 2 generations" in text
    stamped = tmp_path / "defaults.yaml"
    stamped.write_text(text)
    monkeypatch.setattr(post, "DEFAULTS_PATH", stamped)
    assert cal.defaults_text(result) == text  # a second calibration replaces the first's stamp


def test_case_outcomes_selects_cases_and_measures_their_brackets():
    o = cal.case_outcomes({}, 0.05, cases=["syria_2016_september", ARCHETYPES[0]])
    assert set(o) == {"syria_2016_september", ARCHETYPES[0]}
    assert set(o[ARCHETYPES[0]]) >= {"s90"} and "median" in o["syria_2016_september"]
    with pytest.raises(ValueError, match="unknown case"):
        cal.case_outcomes({}, 0.05, cases=["atlantis"])


@pytest.mark.slow
def test_case_outcomes_has_every_bracketed_quantity():
    o = cal.case_outcomes({}, 0.05)
    assert set(o) == {c.name for c in CASES} | set(ARCHETYPES)
    for b in BRACKETS:
        assert isinstance(o[b.case][b.quantity], float), b
    assert math.isfinite(cal.distance(o))


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--scale", "0.01"], "--scale must be in"),
        (["--population", "1"], "--population"),
        (["--generations", "0"], "--generations"),
        (["--scheduler", "localhost:8786"], "--scheduler"),
        (["--draws", "x"], "--draws"),
    ],
)
def test_bad_options_are_one_line_usage_errors(tmp_path, capsys, options, fragment):
    status = main(["calibrate", "--out", str(tmp_path / "c"), *options])
    err = capsys.readouterr().err
    assert status == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


QUICK_CASES = ("syria_2016_september", "sudan_2023_jeddah")  # the two short cases: 60 days each


def test_small_calibration_writes_its_files(tmp_path, capsys):
    out = tmp_path / "calibration"
    status = main(
        [
            "calibrate",
            *("--population", "6", "--generations", "2", "--scale", "0.1", "--draws", "2"),
            *("--cases", ",".join(QUICK_CASES), "--out", str(out)),
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "generation 0: epsilon inf" in captured.err and "generation 1: epsilon" in captured.err
    for name in ("posterior.csv", "posterior.png", "posterior.svg", "predictive.csv", "predictive.png"):
        assert (out / name).is_file(), name
    for name in ("identifiability.csv", "calibration.json", "defaults.yaml", "report.html"):
        assert (out / name).is_file(), name
    posterior = pd.read_csv(out / "posterior.csv")
    assert list(posterior.columns) == [*cal.FITTED, "weight"]
    assert len(posterior) == 6 and posterior["weight"].sum() == pytest.approx(1.0)
    priors = post.priors(cal.FITTED)
    for name, p in priors.items():
        assert posterior[name].between(p.lo, p.hi).all(), name
    ident = pd.read_csv(out / "identifiability.csv")
    assert list(ident["constant"]) == list(cal.FITTED)
    assert set(ident["verdict"]) <= set(post.VERDICTS)
    # the ratio is the posterior's width over the prior's, and the verdict follows from it
    assert ident["ratio"].to_numpy() == pytest.approx(
        (ident["posterior_width90"] / ident["prior_width90"]).to_numpy(), rel=1e-4
    )
    assert (ident.loc[ident["ratio"] < 0.5, "verdict"] == "pinned down").all()
    predictive = pd.read_csv(out / "predictive.csv")
    assert set(predictive["case"]) == set(QUICK_CASES)
    assert (predictive["q05"] <= predictive["median"] + 1e-12).all()
    assert (predictive["median"] <= predictive["q95"] + 1e-12).all()
    body = json.loads((out / "calibration.json").read_text())
    assert [g["generation"] for g in body["epsilon"]] == [0, 1]
    assert set(body["posterior"]) == set(cal.FITTED) and body["evaluations"] >= 12
    assert set(body["distances_per_case"]) == set(QUICK_CASES)
    assert "Identifiability" in (out / "report.html").read_text()
    assert "# Calibrated by" in (out / "defaults.yaml").read_text()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--cases", "atlantis_2020"], "unknown case(s) atlantis_2020"),
        (["--cases", "syria_2016_september", "--write-defaults"], "--write-defaults needs every case"),
        (["--cases", "stalemate_joint_pressure"], "needs at least one historical case"),
    ],
)
def test_bad_case_selections_are_usage_errors(tmp_path, capsys, options, fragment):
    status = main(["calibrate", "--out", str(tmp_path / "c"), *options])
    err = capsys.readouterr().err
    assert status == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c").exists()
