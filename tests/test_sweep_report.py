"""The sweep's report and summary: caveats on the page and in sweep.json, probability intervals in
[0, 1], the small-sample warning of sensitivity indices, what continuous designs say they sample,
wide tables in their own scrolling box and the heatmap's metric.

Sweeps are small (4 to 16 points of 100 worlds over 30 to 40 days) with fixed seeds."""

import html
import json
import os
import re
from html.parser import HTMLParser

import matplotlib.axes
import numpy as np
import pandas as pd
import pytest

from truce_sim.core.scenario import ScenarioError
from truce_sim.sweeps import figures
from truce_sim.sweeps.report import describe_vary
from truce_sim.sweeps.runner import analyse_sweep, run_sweep
from truce_sim.sweeps.sensitivity import MORRIS_MIN_TRAJECTORIES, SOBOL_MIN_N, index_warnings
from truce_sim.sweeps.spec import load_sweep, sweep_from_options

from .conftest import ROOT, SCENARIOS

STALEMATE = SCENARIOS / "stalemate_joint_pressure.yaml"
PRESSURE, MONITORING, COHESION = "backers.patron_north.pressure", "mediator.monitoring", "factions.north.cohesion"
TURKEY = "backers.turkey.support"  # set again by the founding case's events from day 1
PROBABILITIES = ["survival_at_30", "collapse_share", "cause_share_offensive"]


def _write(tmp, name: str, text: str):
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def _run(sweep, out):
    result = run_sweep(sweep, out, workers=1)
    return result, analyse_sweep(result)


class _Tables(HTMLParser):
    """Every <table> of a page as (header, rows of cell text)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(([], []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = [tag, ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            kind, text = self._cell
            (self.tables[-1][0] if kind == "th" else self.tables[-1][1][-1]).append(text.strip())
            self._cell = None


def page_tables(page: str) -> list[pd.DataFrame]:
    parser = _Tables()
    parser.feed(page)
    return [pd.DataFrame([r for r in rows if r], columns=header) for header, rows in parser.tables]


def caveats_on_page(page: str) -> list[str]:
    box = re.search(r"<h2>Caveats</h2>\s*<ul class='caveat'>(.*?)</ul>", page, re.S)
    assert box, "no Caveats box on the page"
    return [html.unescape(item) for item in re.findall(r"<li[^>]*>warning: (.*?)</li>", box.group(1), re.S)]


# ----------------------------------------------------------------------------------------------
# A grid over a field the base scenario's events set again, with another heatmap metric
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def overwritten(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("overwritten")
    path = _write(
        tmp,
        "grid",
        f"name: overwritten\nbase: libya_2020_january\nreplicates: 100\nseed: 3\nsteps: 30\ndesign: grid\n"
        f"heatmap_metric: collapse_share\n"
        f"metrics: [survival_at_30, median_survival_days, collapse_share, mean_violations_per_day, "
        f"cause_share_offensive, cause_share_violation_spiral, breaker_share_gna, breaker_share_lna]\n"
        f"vary:\n  {TURKEY}: [0.01, 0.05]\n  {MONITORING}: [0.0, 1.0]\n",
    )
    sweep = load_sweep(path)
    result, written = _run(sweep, tmp / "out")
    return sweep, result.out_dir, (result.out_dir / "report.html").read_text(encoding="utf-8")


def test_caveats_are_on_the_page_and_in_the_json(overwritten):
    sweep, out, page = overwritten
    caveats = json.loads((out / "sweep.json").read_text())["caveats"]
    (about,) = [c for c in caveats if TURKEY in c]
    assert "on day 1" in about and f"varies {TURKEY} only before that day" in about  # day 45 is past day 30
    assert f"scale.{TURKEY}" in about  # and what to vary instead
    assert caveats_on_page(page) == caveats
    assert page.index("<h2>Caveats</h2>") < page.index("<h2>The sweep</h2>")  # before any number
    assert [n.removeprefix("note: ") for n in sweep.notes] == caveats  # the same sentences the console prints


def test_a_sweep_without_caveats_has_no_caveat_box(lhs):
    _, out, page = lhs
    assert json.loads((out / "sweep.json").read_text())["caveats"] == []
    assert "<h2>Caveats</h2>" not in page


def test_the_heatmap_shows_the_chosen_metric(overwritten, tmp_path, monkeypatch):
    sweep, out, page = overwritten
    assert sweep.heatmap_metric == "collapse_share"
    assert json.loads((out / "sweep.json").read_text())["heatmap_metric"] == "collapse_share"
    assert f"<h2>share of truces collapsed over {TURKEY} and {MONITORING}</h2>" in page
    assert "<code>collapse_share</code>, the sweep's <code>heatmap_metric</code>" in page
    assert (out / "sweep_heatmap.png").is_file()
    # the heatmap's cells are the chosen metric's values, not survival's
    drawn = []
    real = matplotlib.axes.Axes.pcolormesh
    monkeypatch.setattr(
        matplotlib.axes.Axes, "pcolormesh", lambda ax, *a, **k: drawn.append(np.asarray(a[2])) or real(ax, *a, **k)
    )
    points = pd.read_csv(out / "points.csv")
    figures.sweep_figures(points, sweep.paths, sweep.metrics, tmp_path, "t", sweep.heatmap_metric)
    expected = points.pivot(index=MONITORING, columns=TURKEY, values="collapse_share").sort_index().sort_index(axis=1)
    assert drawn and np.allclose(drawn[0], expected.to_numpy())  # the first is the heatmap (then its colorbar)
    assert not np.allclose(drawn[0], points.pivot(index=MONITORING, columns=TURKEY, values="survival_at_30"))


def test_the_heatmap_metric_changes_no_point(tmp_path):
    source = (ROOT / "sweeps" / "libya_russia_pressure_monitoring.yaml").read_text()
    plain = load_sweep(_write(tmp_path, "plain", source))
    chosen = load_sweep(_write(tmp_path, "chosen", source + "heatmap_metric: breaker_share_lna\n"))
    assert plain.heatmap_metric is None and chosen.heatmap_metric == "breaker_share_lna"
    assert plain.full_fingerprint() == chosen.full_fingerprint()  # --resume of the same points still works


@pytest.mark.parametrize("value", ["survival_at_365", "colapse_share", 3])
def test_a_heatmap_metric_the_sweep_does_not_record_is_one_line(tmp_path, value):
    path = _write(
        tmp_path,
        "bad",
        f"name: bad\nbase: {os.path.relpath(STALEMATE, tmp_path)}\nsteps: 40\n"
        f"metrics: [survival_at_30, collapse_share]\nheatmap_metric: {value}\nvary:\n  {MONITORING}: [0, 1]\n",
    )
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    message = str(err.value)
    assert "heatmap_metric" in message and "\n" not in message
    assert "survival_at_30, collapse_share" in message


# ----------------------------------------------------------------------------------------------
# Wide tables scroll in their own box
# ----------------------------------------------------------------------------------------------
def test_every_table_is_in_a_scrolling_box(overwritten):
    _, _, page = overwritten
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    rule = re.search(r"\.table-wrap\{([^}]*)\}", style)
    assert rule and "overflow-x:auto" in rule.group(1) and "max-width:100%" in rule.group(1)
    assert page.count("<table") >= 2  # hazard ratios and points
    assert page.count("<div class='table-wrap'><table") == page.count("<table")
    points = page_tables(page)[-1]
    assert len(points.columns) > 20  # the wide one: 8 metrics with their intervals


# ----------------------------------------------------------------------------------------------
# Probability intervals lie in [0, 1]
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lhs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lhs")
    sweep = sweep_from_options(
        str(STALEMATE),
        [f"{PRESSURE}=0:1:2", f"{MONITORING}=0:1:2", f"{COHESION}=0.3:0.9:2"],
        "lhs",
        n=10,
        replicates=100,
        seed=9,
        steps=40,
        metrics=PROBABILITIES + ["mean_violations_per_day"],
    )
    result, _ = _run(sweep, tmp / "out")
    return sweep, result.out_dir, (result.out_dir / "report.html").read_text(encoding="utf-8")


def _in_unit(values) -> bool:
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(float)
    return bool(((x >= 0) & (x <= 1)).all())


def test_no_probability_interval_leaves_0_1_in_the_tables(lhs, overwritten):
    for sweep, out, page in (lhs, overwritten):
        points = pd.read_csv(out / "points.csv")
        shown = page_tables(page)[-1]
        for m in sweep.metrics:
            if figures.is_probability(m):
                for column in (m, f"{m}_lo", f"{m}_hi"):
                    assert _in_unit(points[column]) and _in_unit(shown[column]), (out, column)


def test_no_error_bar_of_a_main_effect_leaves_0_1(lhs, tmp_path, monkeypatch):
    sweep, out, _ = lhs
    points = pd.read_csv(out / "points.csv")
    bars = []
    real = matplotlib.axes.Axes.errorbar

    def spy(ax, x, y, yerr=None, **kw):
        below, above = (np.asarray(e, float) for e in yerr)
        bars.append((np.asarray(y, float) - below, np.asarray(y, float) + above))
        return real(ax, x, y, yerr=yerr, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    # a probability near 0 with a wide spread: mean - 1.96 sem would reach below 0
    skewed = points.assign(survival_at_30=np.r_[[0.0] * 8, 0.6, 0.9][: len(points)])
    for metric in PROBABILITIES:
        figures.sweep_figures(skewed, sweep.paths, sweep.metrics, tmp_path, "t", metric)
    assert len(bars) == len(PROBABILITIES) * len(sweep.paths)
    for lo, hi in bars:
        assert (lo >= 0).all() and (hi <= 1).all() and (lo <= hi).all()
    effect = figures.main_effect(skewed, PRESSURE, "survival_at_30")
    assert (effect["lo"] >= 0).all() and (effect["hi"] <= 1).all()


def test_clamp_intervals_cuts_probabilities_only():
    frame = pd.DataFrame(
        {
            "survival_at_30": [0.02],
            "survival_at_30_lo": [-0.03],
            "survival_at_30_hi": [0.08],
            "collapse_share_hi": [1.02],
            "mean_violations_per_day_lo": [-0.4],
            "median_survival_days_hi": [40.0],
        }
    )
    out = figures.clamp_intervals(frame)
    assert out["survival_at_30_lo"].item() == 0 and out["collapse_share_hi"].item() == 1
    assert out["mean_violations_per_day_lo"].item() == -0.4 and out["median_survival_days_hi"].item() == 40


# ----------------------------------------------------------------------------------------------
# What continuous designs say they sample
# ----------------------------------------------------------------------------------------------
def test_lhs_summary_describes_continuous_samples(lhs):
    _, _, page = lhs
    for path, span in ((PRESSURE, "[0, 1]"), (MONITORING, "[0, 1]"), (COHESION, "[0.3, 0.9]")):
        item = re.search(rf"<li><code>{re.escape(path)}</code>: ([^<]*)</li>", page).group(1)
        assert item.startswith(f"10 Latin-hypercube samples over {span}"), item
        assert "values:" not in item and "2 values" not in item


def test_each_design_describes_its_samples():
    bounds = {"lo": 0.0, "hi": 1.0}
    grid = describe_vary("mediator.monitoring", {"values": [0.0, 0.5, 1.0], **bounds}, {"design": "grid"})
    assert grid == "3 values: 0, 0.5, 1"
    sobol = describe_vary("m", bounds, {"design": "sobol", "n": 16, "points": 64})
    assert sobol.startswith("64 Saltelli/Sobol samples over [0, 1]") and "16 base samples" in sobol
    morris = describe_vary("m", bounds, {"design": "morris", "n": 10, "points": 40, "morris_levels": 4})
    assert "over [0, 1] on 4 levels" in morris and "10 Morris trajectories" in morris
    factor = describe_vary("scale.backers.turkey.support", {"lo": 0.5, "hi": 2.0}, {"design": "lhs", "points": 8})
    assert factor.startswith("factor of backers.turkey.support") and "8 Latin-hypercube samples over [0.5, 2]" in factor


# ----------------------------------------------------------------------------------------------
# Sensitivity indices from too few samples
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_sobol(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sobol")
    path = _write(
        tmp,
        "sobol",
        f"name: tiny_sobol\nbase: {os.path.relpath(STALEMATE, tmp)}\nreplicates: 100\nseed: 9\nsteps: 40\n"
        f"design: sobol\nn: 4\nmetrics: [survival_at_30, collapse_share, mean_violations_per_day]\n"
        f"vary:\n  {PRESSURE}: {{uniform: [0, 1]}}\n  {MONITORING}: {{uniform: [0, 1]}}\n",
    )
    sweep = load_sweep(path)
    result = run_sweep(sweep, tmp / "out", workers=1)
    return sweep, result


def test_a_tiny_sobol_sweep_warns_on_the_page_in_json_and_on_stderr(tiny_sobol, capsys):
    sweep, result = tiny_sobol
    written = analyse_sweep(result)
    err = capsys.readouterr().err
    out = result.out_dir
    page = (out / "report.html").read_text(encoding="utf-8")
    caveats = json.loads((out / "sweep.json").read_text())["caveats"]
    small = f"Sobol indices from 4 base samples (fewer than {SOBOL_MIN_N}) are not stable"
    assert any(c.startswith(small) for c in caveats)
    assert any(c.startswith(small) for c in caveats_on_page(page))
    assert f"warning: {small}" in err
    assert "Unstable at this sample size" in page  # beside the table too
    assert "16 Saltelli/Sobol samples over [0, 1] (from 4 base samples)" in page
    indices = pd.read_csv(written["sensitivity"], keep_default_na=False)
    assert "unstable" in indices.columns
    # never an index above 1 without the warning that says so
    above = indices[(pd.to_numeric(indices["S1"]) > 1) | (pd.to_numeric(indices["ST"]) > 1)]
    assert above.empty or any(c.startswith("Sobol indices above 1") for c in caveats)
    assert (above["unstable"].str.contains("> 1")).all()


def _sobol_rows(s1, s1_conf, st, st_conf):
    return pd.DataFrame([{"metric": "m", "parameter": "p", "S1": s1, "S1_conf": s1_conf, "ST": st, "ST_conf": st_conf}])


def _design(design, n):
    return type("S", (), {"design": design, "n": n})()


def test_the_stability_rules():
    big = _design("sobol", SOBOL_MIN_N)
    assert index_warnings(big, _sobol_rows(0.4, 0.03, 0.5, 0.04)) == []
    assert index_warnings(big, _sobol_rows(0.002, 0.004, 0.003, 0.004)) == []  # tiny and tight: no effect
    (above,) = index_warnings(big, _sobol_rows(0.4, 0.03, 1.2, 0.04))
    assert above.startswith("Sobol indices above 1") and "ST = 1.2" in above
    (wide,) = index_warnings(big, _sobol_rows(0.4, 0.03, 0.1, 0.3))
    assert "wider than the index" in wide
    small = index_warnings(_design("sobol", SOBOL_MIN_N // 2), _sobol_rows(0.4, 0.03, 0.5, 0.04))
    assert len(small) == 1 and f"fewer than {SOBOL_MIN_N}" in small[0]
    assert index_warnings(_design("sobol", 4), pd.DataFrame()) != []  # no index at all: still too few samples
    few = index_warnings(_design("morris", MORRIS_MIN_TRAJECTORIES - 1), pd.DataFrame())
    assert len(few) == 1 and f"fewer than {MORRIS_MIN_TRAJECTORIES}" in few[0]
    assert index_warnings(_design("morris", MORRIS_MIN_TRAJECTORIES), pd.DataFrame()) == []
    assert index_warnings(_design("lhs", 4), None) == []
