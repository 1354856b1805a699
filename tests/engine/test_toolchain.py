"""Toolchain files in generated Dockerfiles, built on the rustup stand-ins.

The faithful stand-in (`rust:<v>-slim-bookworm`) holds one toolchain, as the official image, and
fails fast on any other (its dist server is a closed port): a build that passes on it downloaded no
toolchain. The channels stand-in also answers to `stable`, so a channel pin can be built here; it is
labelled as not faithful. What a build did is read from images (their IDs and history), never from
progress output; the one text assertion is on the failure message the user reads.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import channels_image

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "tests" / "manifests"


def _project(tmp_path: Path, manifest: str, toolchain_file: str | None = None) -> Path:
    crate = tmp_path / manifest
    shutil.copytree(MANIFESTS / manifest, crate)
    if toolchain_file is not None:
        (crate / "rust-toolchain.toml").write_text(toolchain_file)
    return crate


def _scaffold(crate: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", *args],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _image_id(docker, tag: str) -> str:
    return docker.engine.cmd("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def test_two_part_pin_builds_on_the_faithful_stand_in_without_a_download(docker, rust_image, tmp_path):
    """`channel = "1.95"` (with components the image lacks) names a toolchain the image holds as 1.95.0."""
    crate = _project(tmp_path, "toolchain-two-part")
    _scaffold(crate)
    tag = docker.tag("two-part")
    rc, out, _ = docker.build(crate, tag=tag)
    assert rc == 0, out[-4000:]
    res = docker.run(tag, [])
    assert res.returncode == 0 and res.stdout.strip() == "pinned", (res.stdout, res.stderr)

    # Without the generated RUSTUP_TOOLCHAIN line the same build asks rustup for `1.95` and fails.
    dockerfile = (crate / "Dockerfile").read_text()
    assert "ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}\n" in dockerfile
    control = tmp_path / "control.Dockerfile"
    control.write_text(dockerfile.replace("ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}\n", ""))
    rc, out, _ = docker.build(crate, control, docker.tag("two-part-control"))
    assert rc != 0 and "could not download file" in out, out[-3000:]


def test_a_toolchain_the_faithful_stand_in_lacks_fails_fast_in_the_toolchain_layer(docker, rust_image, tmp_path):
    crate = _project(tmp_path, "toolchain-channel")
    _scaffold(crate)
    t0 = time.monotonic()
    rc, out, _ = docker.build(crate, tag=docker.tag("lacks"), target="toolchain")
    seconds = time.monotonic() - t0
    assert rc != 0, out[-3000:]
    assert "nightly-2026-01-30" in out and "could not download file" in out, out[-3000:]
    assert seconds < 300, f"the missing toolchain took {seconds:.0f}s to fail; it must not be fetched"


@pytest.mark.parametrize("form", ["toolchain file", "--rust-version"])
def test_channel_toolchain_layer_is_reused_across_a_source_edit(docker, base_images, tmp_path, form):
    """On the channels stand-in: the build runs, and a source edit rebuilds without touching the toolchain layer."""
    if form == "toolchain file":
        crate = _project(tmp_path, "toolchain-channel", '[toolchain]\nchannel = "stable"\nprofile = "minimal"\n')
        _scaffold(crate)
        step = "rustup toolchain install --no-self-update"
    else:
        crate = _project(tmp_path, "toolchain-channel")
        (crate / "rust-toolchain.toml").unlink()
        _scaffold(crate, "--rust-version", "stable")
        step = "rustup toolchain install --no-self-update --profile minimal"
    args = {"RUST_VERSION": channels_image(docker)}
    stage, app = docker.tag("channel-stage"), docker.tag("channel-app")

    ids, outputs = [], []
    for text in ("pinned", "pinned and edited"):
        (crate / "src" / "main.rs").write_text(f'fn main() {{\n    println!("{text}");\n}}\n')
        rc, out, _ = docker.build(crate, tag=stage, build_args=args, target="toolchain")
        assert rc == 0, out[-4000:]
        ids.append(_image_id(docker, stage))
        rc, out, _ = docker.build(crate, tag=app, build_args=args)
        assert rc == 0, out[-4000:]
        res = docker.run(app, [])
        assert res.returncode == 0, res.stderr
        outputs.append(res.stdout.strip())
    assert outputs == ["pinned", "pinned and edited"]
    history = docker.engine.cmd("history", "--no-trunc", "--format", "{{.CreatedBy}}", stage).stdout
    assert step in history, history
    assert ids[0] == ids[1], "the source edit rebuilt the toolchain stage"
