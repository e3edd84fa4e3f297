"""Report pages and the explorer, in a real headless browser (Debian's Chromium via Playwright).

Skipped, with the reason printed, only where Chromium or Playwright cannot be had. Screenshots
go to results/screenshots/.
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow  # a real browser and servers

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "results" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
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
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((out / "report.html").as_uri())
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
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((c / "report.html").as_uri())
    check_images(page)
    assert "Log-rank" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "compare_report.png"), full_page=True)
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
    assert check_images(page) >= 3  # heatmap, lines, hazard ratios
    page.screenshot(path=str(SHOTS / "sweep_report.png"), full_page=True)
    page.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answered at {url} within {seconds} s")


def test_view_serves_the_report(tmp_path):
    out = tmp_path / "run"
    assert cli("run", "scenarios/syria_2016_september.yaml", "-n", "50", "--out", str(out), "-q").returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "view", str(out), "--port", str(port), "--no-browser"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/report.html" in line
        _wait_for(f"http://127.0.0.1:{port}/report.html", 20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/survival.png") as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        server.terminate()
        server.wait(10)


def test_explorer_reruns_the_what_if_ensemble_when_a_lever_moves(browser):
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "explore",
            "scenarios/stalemate_joint_pressure.yaml",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/", 90)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("text=Survival at 90 days", timeout=90_000)
        before = page.locator("text=Survival at 90 days").inner_text()
        assert "with these levers" in before and "as loaded" in before
        page.wait_for_timeout(500)
        figures_before = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.src)")
        slider = page.locator(".v-input", has_text="mediator monitoring").locator("[role=slider]")
        start = float(slider.get_attribute("aria-valuenow"))
        slider.focus()
        for _ in range(12):  # twelve steps of 0.05: monitoring 0.2 -> 0.8
            slider.press("ArrowRight")
        assert float(slider.get_attribute("aria-valuenow")) > start
        page.wait_for_function("old => !document.body.innerText.includes(old)", arg=before, timeout=30_000)
        after = page.locator("text=Survival at 90 days").inner_text()
        now_before, now_after = (float(t.split("**")[0].split(":")[1].split("%")[0]) for t in (before, after))
        # more monitoring damps violation spirals: survival at 90 days rises
        assert now_after > now_before, (before, after)
        assert (
            page.eval_on_selector_all("img", "imgs => imgs.map(i => i.src)") != figures_before
        )  # the curve was redrawn
        check_images(page)
        # one world steps day by day
        page.get_by_role("button", name="Step").click()
        page.wait_for_selector("text=Day 1: truce", timeout=20_000)
        page.screenshot(path=str(SHOTS / "explorer.png"), full_page=True)
        page.close()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        time.sleep(0.5)
        assert not _listening(port), "the explorer kept running after its command was stopped"
