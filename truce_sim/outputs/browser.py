"""Headless Chromium for pictures of the pages truce-sim serves and writes: the flags it needs
on a machine with no outside network, and waiting for a local server.

Used by the browser tests, the explorer's benchmark and docs/screenshots.py; Playwright drives
Debian's Chromium, as Playwright's own browser download is not available everywhere.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# without the background-networking flags Chromium keeps trying hosts it cannot reach
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    """A headless Chromium from a running ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, seconds: float) -> None:
    """Return once ``url`` answers 200; raise TimeoutError after ``seconds``."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"nothing answered at {url} within {seconds} s")


def start_explorer(scenario: str, port: int, output=subprocess.DEVNULL, cwd=None) -> subprocess.Popen:
    """``truce-sim explore SCENARIO --port PORT`` in a new process, its output to ``output``."""
    return subprocess.Popen(
        [sys.executable, "-m", "truce_sim", "explore", scenario, "--port", str(port)],
        cwd=cwd,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
