"""Shared fixtures: copies of the sample crates, and the CLI run the way a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample-crates"


def copy_sample(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("target", "Dockerfile", ".dockerignore", "docker-compose.yml"))
    return target


@pytest.fixture(autouse=True)
def no_user_defaults(monkeypatch, tmp_path_factory):
    """Keep a developer's own ~/.config/scaffold/defaults.toml out of every run the tests make."""
    monkeypatch.setenv("SCAFFOLD_CONFIG", str(tmp_path_factory.getbasetemp() / "no-user-defaults.toml"))


@pytest.fixture
def sample(tmp_path):
    """sample("raft-node") -> a private copy of that sample crate."""
    return lambda name: copy_sample(name, tmp_path)


def run_scaffold(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
