"""Report pages and the explorer, in a real headless browser (Debian's Chromium via Playwright).

Skipped, with the reason printed, only where Chromium or Playwright cannot be had. Screenshots
go to results/screenshots/.
"""

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from truce_sim.outputs.browser import CHROMIUM, free_port, launch_chromium, start_explorer, wait_for_http

from .conftest import ROOT

pytestmark = pytest.mark.slow  # a real browser and servers

SHOTS = ROOT / "results" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[test]')")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def cli(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True, **kw)


def check_images(page):
    """Every <img> on the page has loaded and has a size."""
    sizes = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
    )
    assert sizes, "the page shows no image"
    for src, complete, width in sizes:
        assert complete and width > 0, f"image {src} did not render"
    return len(sizes)


def test_run_report_renders_and_matches_the_summary(browser, tmp_path):
    out = tmp_path / "run"
    assert (
        cli(
            "run", "scenarios/libya_2020_january.yaml", "-n", "200", "--steps", "120", "--out", str(out), "-q"
        ).returncode
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((out / "report.html").as_uri())
    _page_fits(page)
    assert check_images(page) == 4  # survival, causes, dynamics and the decision terms
    cells = page.eval_on_selector_all(
        "[data-key]", "els => els.map(e => [e.dataset.key, e.dataset.value, e.innerText])"
    )
    keys = {k for k, _, _ in cells}
    assert {"survival_at.30.p", "survival_at.90.p", "collapse_share", "mean_violations_per_day"} <= keys
    for key, value, text in cells:
        expected = summary
        for part in key.split("."):
            expected = expected[part]
        if expected is None:
            assert value == "" and "over half survive" in text
            continue
        assert float(value) == pytest.approx(expected), key
        shown = f"{100 * expected:.1f}%" if key != "mean_violations_per_day" and "median" not in key else None
        if shown:
            assert shown in text, (key, text)
    body = page.inner_text("body")
    assert "gna" in body and "turkey" in body and "Berlin" in body  # the case in brief and its events
    assert "horizon_days" not in body  # the scenario file is collapsed by default ...
    page.click("details summary")
    assert "horizon_days" in page.inner_text("body")  # ... and opens on a click
    page.screenshot(path=str(SHOTS / "run_report.png"), full_page=True)
    page.close()


def test_compare_and_sweep_reports_render(browser, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert (
        cli(
            "run", "scenarios/stalemate_joint_pressure.yaml", "-n", "150", "--steps", "90", "--out", str(a), "-q"
        ).returncode
        == 0
    )
    assert (
        cli("run", "scenarios/no_backer_pressure.yaml", "-n", "150", "--steps", "90", "--out", str(b), "-q").returncode
        == 0
    )
    assert cli("compare", str(a), str(b), "--out", str(c)).returncode == 0
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((c / "report.html").as_uri())
    _page_fits(page)
    check_images(page)
    body = page.inner_text("body")
    assert "Log-rank" in body  # the two runs have different seeds: independent samples
    assert "backers.patron_north.pressure" in body  # the fields that differ are named
    page.screenshot(path=str(SHOTS / "compare_report.png"), full_page=True)
    # a what-if against its baseline, same seed: paired differences, no log-rank test
    what_if, paired = tmp_path / "what_if", tmp_path / "paired"
    assert (
        cli(
            "run",
            "scenarios/stalemate_joint_pressure.yaml",
            "-n",
            "150",
            "--steps",
            "90",
            "--set",
            "backers.patron_north.pressure=0",
            "--out",
            str(what_if),
            "-q",
        ).returncode
        == 0
    )
    assert cli("compare", str(a), str(what_if), "--out", str(paired)).returncode == 0
    page.goto((paired / "report.html").as_uri())
    _page_fits(page)
    check_images(page)
    body = page.inner_text("body")
    assert "Not shown for" in body and "paired" in body and "backers.patron_north.pressure" in body
    page.screenshot(path=str(SHOTS / "compare_paired_report.png"), full_page=True)
    sweep = tmp_path / "sweep"
    proc = cli(
        "sweep",
        "scenarios/stalemate_joint_pressure.yaml",
        "--vary",
        "mediator.monitoring=0:1:3",
        "--vary",
        "backers.patron_north.pressure=0,0.6",
        "-n",
        "40",
        "--steps",
        "60",
        "--out",
        str(sweep),
        "-q",
        "-j",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    page.goto((sweep / "report.html").as_uri())
    _page_fits(page)
    assert check_images(page) >= 3  # heatmap, lines, hazard ratios
    page.screenshot(path=str(SHOTS / "sweep_report.png"), full_page=True)
    proc = cli("discover", str(sweep), "--metric", "survival_at_30", "--above", "0.8")
    assert proc.returncode == 0, proc.stderr
    (found,) = sweep.glob("discover_*/report.html")
    page.goto(found.as_uri())
    _page_fits(page)
    check_images(page)
    page.screenshot(path=str(SHOTS / "discover_report.png"), full_page=True)
    page.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_nowcast_report_renders(browser, tmp_path):
    obs = tmp_path / "obs.csv"
    obs.write_text(
        "date,violations_north,violations_south,truce_holds\n"
        + "".join(f"2020-01-{d:02d},{d % 3},1,true\n" for d in range(2, 16))
    )
    out = tmp_path / "nowcast"
    proc = cli(
        "nowcast",
        "scenarios/stalemate_joint_pressure.yaml",
        "--set",
        "start_date=2020-01-01",
        "--observed",
        str(obs),
        "-n",
        "300",
        "--out",
        str(out),
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((out / "report.html").as_uri())
    _page_fits(page)
    assert check_images(page) == 1
    body = page.inner_text("body")
    assert f"As of day {summary['as_of_day']}" in body and "Effective sample size" in body
    page.screenshot(path=str(SHOTS / "nowcast_report.png"), full_page=True)
    page.close()


def test_view_serves_the_report(tmp_path):
    out = tmp_path / "run"
    assert cli("run", "scenarios/syria_2016_september.yaml", "-n", "50", "--out", str(out), "-q").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "view", str(out), "--port", str(port), "--no-browser"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/report.html" in line
        wait_for_http(f"http://127.0.0.1:{port}/report.html", 20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/survival.png") as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        server.terminate()
        server.wait(10)


def _page_fits(page, width: int = 1280) -> None:
    """The page needs no horizontal scroll at this width: wide tables scroll in their own boxes."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


SCROLLED_LEVERS = """() => [...document.querySelectorAll('.lever [role=slider]')].filter(s => {
    for (let e = s.parentElement; e && !e.classList.contains('lever-groups'); e = e.parentElement) {
        const y = getComputedStyle(e).overflowY;
        if (y !== 'visible' && e.scrollHeight > e.clientHeight + 1) return true;
    }
    return false;
}).map(s => s.getAttribute('aria-label'))"""

LEVER_LABELS = """() => [...document.querySelectorAll('.lever')].map(e => [
    e.querySelector('.lever-label').innerText, e.querySelector('[role=slider]').getAttribute('aria-valuenow')])"""


def test_explorer_levers_what_if_command_file_and_reset(browser, tmp_path):
    from truce_sim.core.scenario import load_scenario
    from truce_sim.levers import levers_of

    scenario_file = "scenarios/stalemate_joint_pressure.yaml"
    levers = levers_of(load_scenario(ROOT / scenario_file))
    port = free_port()
    log = tmp_path / "explorer.log"
    with open(log, "w") as sink:
        server = start_explorer(scenario_file, port, output=sink, cwd=ROOT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", 90)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("text=Survival at 90 days", timeout=90_000)
        page.wait_for_selector("text=Changes: none (the scenario as loaded)")
        _page_fits(page)
        body = page.inner_text("body")
        assert "Model Parameters" not in body and "PAGE 0" not in body.upper()  # no empty scaffolding
        # every lever is on the page, in its actor's group, none hidden in a scrolling box
        for lever in levers:
            slider = page.get_by_role("slider", name=f"{lever.group} {lever.label}", exact=True)
            assert page.locator(".lever", has=slider).is_visible(), lever.key
        groups = page.eval_on_selector_all(".lever-group .v-card__title", "els => els.map(e => e.innerText)")
        assert groups == list(dict.fromkeys(lever.group for lever in levers))
        assert page.evaluate(SCROLLED_LEVERS) == []
        # each value label sits on its own slider: the label's number is that slider's value
        labels = page.evaluate(LEVER_LABELS)
        assert len(labels) == len(levers)
        for text, value in labels:
            assert float(text.rsplit(":", 1)[1]) == pytest.approx(float(value), abs=0.005), (text, value)
        # a tooltip says what a lever is
        page.get_by_text("monitoring:").hover()
        page.wait_for_selector("text=monitoring damps spirals", timeout=5_000)

        before = page.locator("text=Survival at 90 days").inner_text()
        slider = page.get_by_role("slider", name="mediator monitoring", exact=True)
        assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(0.2)
        slider.focus()
        for _ in range(12):  # twelve steps of 0.05: monitoring 0.2 -> 0.8
            slider.press("ArrowRight")
        page.wait_for_selector("text=Changes: mediator.monitoring=0.8", timeout=30_000)
        after = page.locator("text=Survival at 90 days").inner_text()
        now_before, now_after = (float(t.split(":")[1].split("%")[0]) for t in (before, after))
        assert now_after > now_before, (before, after)  # monitoring damps spirals: survival at 90 days rises
        page.wait_for_selector("text=monitoring: 0.80", timeout=10_000)  # the value on its own slider
        check_images(page)

        # copy as command: the run command line of this what-if, on the clipboard
        command = page.locator(".copy-text textarea").input_value()
        assert command == f"python run.py run {scenario_file} -n 500 --set mediator.monitoring=0.8"
        page.get_by_role("button", name="Copy as command").click()
        page.wait_for_selector("text=Copied", timeout=5_000)
        assert page.evaluate("navigator.clipboard.readText()") == command
        # save as scenario: a file that loads and carries the lever's value
        with page.expect_download() as download:
            page.get_by_text("Save as scenario").click()
        saved = tmp_path / "saved.yaml"
        download.value.save_as(saved)
        scenario = load_scenario(saved)
        assert scenario.name == "stalemate_joint_pressure_what_if" and scenario.mediator["monitoring"] == 0.8

        # one world steps day by day
        page.get_by_role("button", name="Step").click()
        page.wait_for_selector("text=Day 1: truce", timeout=20_000)
        page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)
        # Reset restarts the world and puts the levers back where the scenario has them
        page.get_by_role("button", name="Reset").click()
        page.wait_for_selector("text=Changes: none (the scenario as loaded)", timeout=30_000)
        page.wait_for_selector("text=Day 0: truce", timeout=20_000)
        assert float(slider.get_attribute("aria-valuenow")) == pytest.approx(0.2)
        page.wait_for_selector("text=monitoring: 0.20", timeout=10_000)
        assert page.locator(".copy-text textarea").input_value().endswith("-n 500")

        # one Ctrl-C stops it, even while a world is playing
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(  # a day shows for a moment only: wait for any day from the third on
            "() => { const m = document.body.innerText.match(/Day (\\d+): truce/); return m && +m[1] >= 3; }",
            timeout=20_000,
        )
        server.send_signal(signal.SIGINT)
        assert server.wait(20) == 0
        context.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert not _listening(port), "the explorer kept running after one Ctrl-C"
    output = log.read_text()
    assert "explorer stopped" in output
    assert "warn" not in output.lower(), output  # no warnings at start-up or at the stop


def test_explorer_stops_on_terminate():
    port = free_port()
    server = start_explorer("libya_2020_january", port, cwd=ROOT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", 90)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert not _listening(port)
