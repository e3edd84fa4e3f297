"""Benchmark of the explorer's what-if: how long a user waits after moving a lever.

(a) In process, per built-in scenario: the what-if of one lever move (the scenario from the
    levers, 500 worlds over the horizon, the Kaplan-Meier curve and the figure's PNG), for
    distinct values of mediator monitoring so that no answer comes from the cache: median and
    worst of N moves, after one warm-up move (the first pays for the worker pool and imports).
(b) In a real browser (Debian's Chromium through Playwright), on the founding case: from the
    key press that moves the monitoring slider to the page showing the what-if of the new value
    (the "Changes:" line under the curve names it): median and worst of N presses.

    python bench/explorer.py             # about two minutes on 2 cores
    python bench/explorer.py --quick     # fewer moves, the founding case only in (a)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from truce_sim.outputs.browser import CHROMIUM, free_port, launch_chromium, start_explorer, wait_for_http

ROOT = Path(__file__).resolve().parent.parent


def in_process(name: str, moves: int) -> list[float]:
    os.environ["TRUCE_SIM_SCENARIO"] = str(ROOT / "scenarios" / f"{name}.yaml")
    import importlib

    import truce_sim.app as app

    app = importlib.reload(app)  # the app reads its scenario at import
    key = "mediator.monitoring"
    values = dict(app.AS_LOADED)
    base = values[key]
    times = []
    for i in range(moves + 1):
        values[key] = round((base + 0.05 * (i + 1)) % 1.0, 2)
        start = time.perf_counter()
        app.what_if_figure(app.what_if_curve(tuple(app.AS_LOADED.items())), app.what_if_curve(tuple(values.items())))
        if i:  # the first move pays for the worker pool and lifelines' import
            times.append(time.perf_counter() - start)
    return times


def in_browser(moves: int) -> list[float] | str:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"skipped: no chromium at {CHROMIUM}"
    port = free_port()
    server = start_explorer("libya_2020_january", port, cwd=ROOT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", 90)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("text=Survival at 90 days", timeout=90_000)
            slider = page.get_by_role("slider", name="mediator monitoring")
            times = []
            for i in range(moves + 1):
                slider.focus()
                start = time.perf_counter()
                slider.press("ArrowRight")
                value = f"{float(slider.get_attribute('aria-valuenow')):g}"
                page.wait_for_function(
                    "v => [...document.querySelectorAll('.what-if-changes')].some("
                    "e => e.innerText.includes('mediator.monitoring=' + v))",
                    arg=value,
                    timeout=30_000,
                )
                if i:
                    times.append(time.perf_counter() - start)
            browser.close()
        return times
    finally:
        server.terminate()
        server.wait(20)


def line(label: str, times: list[float]) -> str:
    return f"    {label:34s} median {statistics.median(times):5.2f} s, worst {max(times):5.2f} s ({len(times)} moves)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    moves = 4 if args.quick else 9
    names = ["libya_2020_january"]
    if not args.quick:
        names += ["stalemate_joint_pressure", "syria_2016_september", "yemen_2018_hodeidah"]
    print("(a) one lever move, in process: 500 worlds, Kaplan-Meier, figure")
    for name in names:
        print(line(name, in_process(name, moves)))
    print("(b) key press to the new what-if on the page, Chromium, libya_2020_january")
    result = in_browser(moves)
    print(f"    {result}" if isinstance(result, str) else line("libya_2020_january", result))


if __name__ == "__main__":
    main()
