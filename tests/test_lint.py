"""ruff and mypy, with the settings in pyproject.toml, as part of the test run (and so of CI)."""

from __future__ import annotations

import subprocess
import sys

from tests.samples import REPO


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """The tool the test extra installed into this interpreter, run from the repository root (its config)."""
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--no-fix", "generator", "tests", "benchmarks", "tools")
    assert result.returncode == 0, f"ruff check failed:\n{result.stdout}{result.stderr}"


def test_mypy_finds_nothing():
    result = run_tool("mypy", "generator", "tools")
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
