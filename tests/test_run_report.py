"""A run's report.html: the headline, the known outcome, competing risks, the decision terms,
the note on uncertainty, the scenario collapsed, and a page that fits its column."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from truce_sim.core.scenario import load_scenario
from truce_sim.outputs.figures import known_days
from truce_sim.outputs.run_report import run_report, what_if

from .conftest import ROOT

HISTORICAL = (
    "libya_2020_january",
    "libya_2020_october",
    "syria_2016_september",
    "nagorno_karabakh_2020_november",
    "syria_2016_february",
    "ukraine_2015_minsk_ii",
    "yemen_2018_hodeidah",
    "sudan_2023_jeddah",
)


def cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "libya"
    proc = cli("run", "libya_2020_january", "-n", "300", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "summary.json").read_text()), (out / "report.html").read_text()


def test_the_run_writes_the_competing_risks_and_decision_figures(run):
    out, _, report = run
    for stem in ("causes", "decisions", "survival", "dynamics"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.svg").is_file(), stem
        assert f"src='{stem}.png'" in report, stem
    # the decisions figure is introduced by a sentence on what it shows
    assert re.search(r"<p>The figure below shows, for each faction and each day, [^<]+</p>", report)


def test_the_report_opens_with_a_headline_and_the_known_outcome(run):
    out, s, report = run
    body = report.split("</h1>", 1)[1].lstrip()
    assert body.startswith("<p class='lead'>The truce lasts a median ")
    lead = body.split("</p>", 1)[0]
    assert f"a median {s['median_survival_days']:g} days (95% CI " in lead
    main = max(s["breakers"], key=s["breakers"].get)
    assert f"The {main.upper()} breaks it in {100 * s['breakers'][main]:.0f}% of collapsed worlds" in lead
    rows = pd.read_csv(out / "replicates.csv", keep_default_na=False)
    broke = rows[(rows["breaker"] == main) & (rows[f"first_offensive_{main}"] > 0)]
    assert f"typically on day {broke[f'first_offensive_{main}'].median():g} (" in lead  # with its date
    assert "January 2020" in lead
    assert "push it to attack, against" in lead or "pushes it to attack, against" in lead
    assert "preventive motive" in lead  # the founding case's main push: Turkey's announced support
    assert "<b>Known outcome:</b> LNA offensive day 14; GNA counter-offensive day 73" in body[:3000]


def test_the_scenario_is_collapsed_and_the_uncertainty_is_stated(run):
    _, _, report = run
    assert re.search(r"<details><summary>[^<]+</summary><pre>[^<]*horizon_days", report)
    assert "known_outcome: LNA offensive day 14" in report
    assert "<h2>Uncertainty</h2>" in report
    assert "The curve&#x27;s 95% interval is world sampling only" in report
    assert "run --posterior FILE" in report and "sensitivity_to_constants.csv" in report


def test_nothing_on_the_page_is_wider_than_its_column(run):
    out, _, report = run
    style = report.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "max-width:1100px" in style  # the body's column
    assert re.search(r"img,svg,table,pre\{max-width:100%\}", style)
    assert ".scroll{max-width:100%;overflow-x:auto}" in style
    # every table sits in a scrolling box
    assert report.count("<table") == report.count("<div class='scroll'><table")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((out / "report.html").as_uri())
        page.wait_for_load_state("load")
        widest = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right))"
        )
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        browser.close()
    assert widest <= 1280 and scroll <= 1280, (widest, scroll)


def test_known_outcome_is_a_field_of_every_historical_case():
    for name in HISTORICAL:
        known = load_scenario(name).data["known_outcome"]
        assert known and len(known) < 200, name
    assert load_scenario("lopsided_unrestrained").data["known_outcome"] == ""
    assert known_days("LNA offensive day 14; GNA counter-offensive day 73") == [
        (14, "LNA offensive"),
        (73, "GNA counter-offensive"),
    ]
    assert known_days("the ceasefire broadly held for years") == []


def test_a_what_if_is_named_in_the_title_in_either_shape(run, tmp_path):
    out, s, _ = run
    scenario = load_scenario("libya_2020_january")
    assert what_if({"overrides": {"backers.russia.pressure": "0"}}) == ["backers.russia.pressure=0"]
    # the what_if list of a run with an added event wins over the overrides map
    changes = ["backers.turkey.support*=2", "event day 30: backers.russia.pressure=0"]
    assert what_if({"overrides": {"backers.turkey.support": "x2"}, "what_if": changes}) == changes
    assert what_if({"overrides": ["backers.russia.pressure=0", "backers.turkey.support=x2"]}) == [
        "backers.russia.pressure=0",
        "backers.turkey.support=x2",
    ]
    for i, overrides in enumerate(({"backers.russia.pressure": "0"}, ["backers.russia.pressure=0"])):
        d = tmp_path / str(i)
        d.mkdir()
        for name in ("replicates.csv", "decisions.csv"):
            shutil.copy(out / name, d / name)
        page = run_report(d, {**s, "overrides": overrides, "label": None}, "", scenario).read_text()
        assert "<h1>libya_2020_january (what-if: backers.russia.pressure=0): 300 worlds" in page
    # a --label names the what-if beside its changes, and alone when there are none
    named = {**s, "overrides": {"backers.russia.pressure": "0"}, "label": "no_russian_pressure"}
    page = run_report(tmp_path / "0", named, "", scenario).read_text()
    assert "<h1>libya_2020_january (what-if no_russian_pressure: backers.russia.pressure=0)" in page
    page = run_report(tmp_path / "0", {**s, "overrides": [], "label": "no_russian_pressure"}, "", scenario).read_text()
    assert "<h1>libya_2020_january (what-if no_russian_pressure)" in page
