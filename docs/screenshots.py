"""Make the README's pictures of the run report and the explorer, from the founding case.

Needs Debian's Chromium and the playwright package (both installed by .ci/run and
`pip install -e ".[dev]"`). Writes docs/img/report.png and docs/img/explorer.png.

    python docs/screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from truce_sim.outputs.browser import free_port, launch_chromium, start_explorer, wait_for_http

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
VIEW = {"width": 1280, "height": 900}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = launch_chromium(p)
        out = Path(tmp) / "run"
        command = [sys.executable, "run.py", "run", "libya_2020_january", "-n", "1000", "--out", str(out), "-q"]
        subprocess.run(command, cwd=ROOT, check=True)
        page = browser.new_page(viewport=VIEW)
        page.goto((out / "report.html").as_uri())
        page.screenshot(path=str(IMG / "report.png"))
        page.close()

        port = free_port()
        server = start_explorer("libya_2020_january", port, cwd=ROOT)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", 90)
            page = browser.new_page(viewport=VIEW)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("text=Survival at 90 days", timeout=90_000)
            slider = page.get_by_role("slider", name="russia pressure", exact=True)
            slider.focus()
            for _ in range(8):  # Russian pressure 0.6 -> 1.0
                slider.press("ArrowRight")
            page.wait_for_selector("text=Changes: backers.russia.pressure=1", timeout=30_000)
            for _ in range(20):
                page.get_by_role("button", name="Step").click()
            page.wait_for_selector("text=Day 20:", timeout=30_000)
            page.screenshot(path=str(IMG / "explorer.png"))
        finally:
            server.terminate()
            server.wait(20)
        browser.close()
    print(f"wrote {IMG / 'report.png'} and {IMG / 'explorer.png'}")


if __name__ == "__main__":
    main()
