"""The changes each variant is rebuilt after: a one-line source edit and a new dependency."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from variants import REPO, Crate

from tests.images import baseimages


def edit_source(project: Path, n: int) -> str:
    """The one-line change: the version string gets a suffix. Returns the expected --version output."""
    main = project / "src" / "main.rs"
    text = main.read_text()
    text = re.sub(r'concat!\(env!\("CARGO_PKG_VERSION"\), "\+edit\d+"\)', 'env!("CARGO_PKG_VERSION")', text)
    text = text.replace('env!("CARGO_PKG_VERSION")', f'concat!(env!("CARGO_PKG_VERSION"), "+edit{n}")', 1)
    main.write_text(text)
    return f"+edit{n}"


def vendor_dir() -> Path:
    vendored = baseimages.vendored_crates(baseimages.make_plan())
    if vendored is None:
        raise RuntimeError("no vendored crates: the base images carry none")
    return vendored[0] / "crates"


def offline_cargo(vendor: Path) -> list[str]:
    return ["cargo", "--config", "source.crates-io.replace-with='bench-vendored'",
            "--config", f"source.bench-vendored.directory='{vendor}'"]


def with_dependency(crate: Crate, source: Path, dest: Path, vendor: Path) -> tuple[str, str]:
    """Cargo.toml and Cargo.lock with one more dependency, resolved offline from the vendored crates."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("target"))
    manifest = dest / "Cargo.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace("[dependencies]\n", f"[dependencies]\n{crate.added_dependency}\n", 1))
    subprocess.run([*offline_cargo(vendor), "metadata", "--offline", "--format-version", "1",
                    "--manifest-path", str(manifest)], check=True, capture_output=True)
    return manifest.read_text(), (dest / "Cargo.lock").read_text()


def fresh_copy(crate: Crate, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO / "sample-crates" / crate.name, dest, ignore=shutil.ignore_patterns("target"))
    return dest
