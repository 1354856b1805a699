"""Shared fixtures: copies of the sample crates, and the CLI run the way a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.samples import REPO, SAMPLES, copy_sample  # noqa: E402

__all__ = ["REPO", "SAMPLES", "copy_sample"]


@pytest.fixture(autouse=True)
def no_user_defaults(monkeypatch, tmp_path_factory):
    """Keep a developer's own ~/.config/scaffold/defaults.toml out of every run the tests make."""
    empty = tmp_path_factory.getbasetemp() / "no-user-defaults.toml"
    empty.touch()
    monkeypatch.setenv("SCAFFOLD_CONFIG", str(empty))


@pytest.fixture(autouse=True)
def user_state(monkeypatch, tmp_path):
    """Where the wizard keeps the answers of a run that wrote nothing: per test, never the developer's own."""
    state = tmp_path / "user-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture
def sample(tmp_path):
    """sample("raft-node") -> a private copy of that sample crate."""
    return lambda name: copy_sample(name, tmp_path)


DEMO_MANIFEST = '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n'
_DEMO_LOCK = 'version = 3\n\n[[package]]\nname = "demo"\nversion = "0.1.0"\n'


def make_crate(root: Path, manifest: str = DEMO_MANIFEST) -> Path:
    """A one-binary crate with a lock (so no "no Cargo.lock" warning), from a manifest text."""
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(manifest)
    (root / "src" / "main.rs").write_text("fn main() {}\n")
    name = manifest.split('name = "', 1)[1].split('"', 1)[0] if 'name = "' in manifest else "demo"
    (root / "Cargo.lock").write_text(_DEMO_LOCK.replace('"demo"', f'"{name}"'))
    return root


def run_scaffold(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
