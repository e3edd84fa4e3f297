"""The package's shape: subpackages that show the architecture, imports that run one way, built-in
scenarios that ship inside the package, and a command line that works after a plain install."""

import ast
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "truce_sim"
SUBPACKAGES = ("core", "runs", "outputs", "sweeps", "validity", "nowcast")
# which parts of the package each part may import (docs/ARCHITECTURE in the README's "Design")
ALLOWED = {
    "core": {"core"},
    "runs": {"core", "runs"},
    "outputs": {"core", "runs", "outputs"},
    "sweeps": {"core", "runs", "outputs", "sweeps"},
    "validity": {"core", "runs", "outputs", "validity", "nowcast"},
    "nowcast": {"core", "runs", "outputs", "nowcast"},
    "app": {"core", "runs", "outputs", "levers"},
    "levers": {"core", "runs", "outputs"},
}


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path}: relative import; the package uses absolute imports")
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        for name in names:
            if name.startswith("truce_sim."):
                parts.add(name.split(".")[1])
            elif name == "truce_sim" and isinstance(node, ast.ImportFrom):
                parts.update(a.name for a in node.names)
    return parts


def test_subpackages_and_few_top_level_modules():
    for name in SUBPACKAGES:
        assert (PACKAGE / name / "__init__.py").is_file(), name
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 12, top


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    part = part_of(path)
    if part not in ALLOWED:  # cli, __init__, __main__ may import everything
        return
    forbidden = imported_parts(path) - ALLOWED[part]
    assert not forbidden, f"{path.relative_to(ROOT)} ({part}) imports {sorted(forbidden)}"


def test_a_planted_forbidden_import_is_caught(tmp_path):
    # the check above must be able to fail: a core module importing an output module
    bad = PACKAGE / "core" / "_planted_for_test.py"
    try:
        bad.write_text("from truce_sim.outputs.files import versions\n")
        assert imported_parts(bad) - ALLOWED["core"] == {"outputs"}
    finally:
        bad.unlink()


def test_no_private_names_cross_modules():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("truce_sim"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.relative_to(ROOT)} imports private {private} from {node.module}"


def test_list_prints_names_that_run_accepts():
    listed = subprocess.run([sys.executable, str(ROOT / "run.py"), "list"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert "libya_2020_january" in names and len(names) >= 7
    for name in names:
        checked = subprocess.run(
            [sys.executable, "-m", "truce_sim", "check", name], capture_output=True, text=True, cwd="/"
        )
        assert checked.returncode == 0, (name, checked.stderr)
        assert f"name: {name}" in checked.stdout


@pytest.mark.slow
def test_plain_install_runs_built_ins_from_another_folder(tmp_path):
    """``pip install .`` (not editable) into a fresh environment that sees the installed packages,
    then ``truce-sim list`` and ``truce-sim run NAME`` from a folder far from the source."""
    env_dir = tmp_path / "env"
    venv.create(env_dir, system_site_packages=False, with_pip=True)
    py = env_dir / "bin" / "python"
    # the dependencies are those of the test environment: only truce-sim itself is built here
    site = subprocess.run(
        [sys.executable, "-c", "import numpy, os; print(os.path.dirname(os.path.dirname(numpy.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    pth = next((env_dir / "lib").glob("python3*/site-packages"))
    (pth / "deps.pth").write_text(site + "\n")
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "-q", str(ROOT)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = env_dir / "bin" / "truce-sim"
    listed = subprocess.run([str(script), "list"], cwd=elsewhere, capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and "libya_2020_january" in listed.stdout, listed.stderr
    ran = subprocess.run(
        [str(script), "run", "libya_2020_january", "-n", "30", "--steps", "30", "-j", "1", "-q"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert (elsewhere / "results" / "libya_2020_january" / "report.html").is_file()
    swept = subprocess.run(
        [
            str(py),
            "-m",
            "truce_sim",
            "sweep",
            "libya_russia_pressure_monitoring",
            "-n",
            "10",
            "--steps",
            "200",
            "-j",
            "1",
            "-q",
            "--out",
            "sw",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    )
    assert swept.returncode == 0, swept.stderr
    # the installed package is used, not the source tree
    where = subprocess.run(
        [str(py), "-c", "import truce_sim; print(truce_sim.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    assert str(ROOT) not in where


@pytest.mark.slow  # spawns a pool of workers
def test_readme_snippet_runs_as_a_script(tmp_path):
    """The README's Python snippet saved as a file and run: spawned workers need its main guard."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n", readme.index("From Python or a notebook")) + len("```python\n")
    code = readme[start : readme.index("```", start)]
    assert "workers=2" in code and '__name__ == "__main__"' in code
    code = code.replace("replicates=2000", "replicates=200")
    (tmp_path / "snippet.py").write_text(code)
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
