"""Published crates from the crates registry, as test fixtures.

A published crate is what a new user of scaffold most often points it at: one package (never a
workspace), its full sources, for binaries usually its Cargo.lock, and a Cargo.toml that
``cargo package`` normalized (the author's file is kept as Cargo.toml.orig; the normalized one is
what Cargo, and so scaffold, reads). Fetching goes through Cargo itself: a throwaway manifest
that depends on ``<name> = "=<version>"``, ``cargo fetch``, and the source copied out of
``$CARGO_HOME/registry/src/*/<name>-<version>/``. Each crate is fetched once per machine into
``${XDG_CACHE_HOME:-~/.cache}/scaffold-tests/crates/<name>-<version>/`` (never into the
repository), and every test gets a private copy of it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_DONE = ".scaffold-fetched"


class FetchFailed(RuntimeError):
    """Cargo could not fetch the crate."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold-tests" / "crates"


def cargo_home() -> Path:
    return Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")


def _cargo() -> str:
    found = shutil.which("cargo") or str(cargo_home() / "bin" / "cargo")
    if not Path(found).exists():
        raise FetchFailed("no cargo on PATH: a Rust toolchain is needed to fetch published crates")
    return found


def fetch(name: str, version: str) -> Path:
    """The cached, pristine source of ``name`` at exactly ``version`` (fetched on first use)."""
    if not _NAME.match(name) or not _VERSION.match(version):
        raise ValueError(f"not a crate name and exact version: {name!r} {version!r}")
    out = cache_root() / f"{name}-{version}"
    if (out / _DONE).exists():
        return out
    with tempfile.TemporaryDirectory(prefix="scaffold-fetch-") as tmp:
        manifest = Path(tmp) / "Cargo.toml"
        manifest.write_text(
            '[package]\nname = "scaffold-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
            f'[dependencies]\n{name} = "={version}"\n\n[workspace]\n'
        )
        (Path(tmp) / "src").mkdir()
        (Path(tmp) / "src" / "lib.rs").write_text("")
        proc = subprocess.run(
            [_cargo(), "fetch", "--manifest-path", str(manifest)], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            raise FetchFailed(f"cargo fetch {name} ={version} failed:\n{proc.stderr[-3000:]}")
    found = sorted((cargo_home() / "registry" / "src").glob(f"*/{name}-{version}/Cargo.toml"))
    if not found:
        raise FetchFailed(f"cargo fetched {name} {version} but its source is not under {cargo_home()}/registry/src")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out.parent))
    shutil.copytree(found[0].parent, staging / "src", symlinks=True)
    # Cargo marks an unpacked registry source with this file; it is not part of the crate.
    (staging / "src" / ".cargo-ok").unlink(missing_ok=True)
    (staging / "src" / _DONE).write_text(f"{name} {version}\n")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging / "src", out)
    shutil.rmtree(staging, ignore_errors=True)
    return out


def private_copy(name: str, version: str, dest: Path) -> Path:
    """A writable copy of the published crate at ``dest/<name>-<version>``."""
    target = dest / f"{name}-{version}"
    shutil.copytree(fetch(name, version), target, symlinks=True, ignore=shutil.ignore_patterns(_DONE))
    return target


@pytest.fixture
def published_crate(tmp_path_factory):
    """published_crate(name, version) -> Path: a private copy of a crate as published on the registry."""

    def get(name: str, version: str) -> Path:
        return private_copy(name, version, tmp_path_factory.mktemp("published"))

    return get
