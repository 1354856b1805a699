"""Build the base images the generated Dockerfiles name, locally, without a registry.

The engine used by the test suite has no registry to pull from, so every
``FROM`` line of a generated Dockerfile must resolve from the local image
store. This module makes those images from things the machine does have:

``debian:bookworm-slim``
    ``debootstrap --variant=minbase bookworm`` from the same Debian mirror the
    host's apt uses, imported with ``docker import``. The rootfs tarball is
    cached under ``${XDG_CACHE_HOME:-~/.cache}/scaffold-test-images/``.

``rust:<X.Y>-slim-bookworm`` and ``rust:<X.Y.Z>-slim-bookworm``
    Faithful to the official slim image where a build can tell: the Debian image
    plus exactly the packages it keeps (``ca-certificates gcc libc6-dev``),
    rustup (the host's binary) with every tool a proxy to it,
    ``RUSTUP_HOME=/usr/local/rustup``, ``CARGO_HOME=/usr/local/cargo``, and the
    host toolchain installed as ``<X.Y.Z>-<host>`` with profile minimal (see
    ``rustup.py``). Deliberately nothing more (no ``pkg-config``, no
    ``libssl-dev``) so that a generated Dockerfile that forgets a build package
    fails here too. Three differences: the host's CA bundle is trusted (a
    TLS-intercepting proxy sits between containers and the registry), and
    ``RUSTUP_DIST_SERVER``/``RUSTUP_UPDATE_ROOT`` point at a closed port, so
    a toolchain file naming a toolchain the image lacks fails in a second
    instead of downloading; and, only where containers find no route to the
    crates registry (probed; ``SCAFFOLD_TEST_CRATES=auto|registry|vendor``),
    the sample crates' dependencies vendored with a ``$CARGO_HOME/config.toml``
    that replaces crates.io with them. The image's label
    ``org.scaffold.test-image.crates`` says which (``registry``/``vendored``).

``scaffold-test/rust-channels:<X.Y>``
    NOT faithful: the rust image with the same toolchain also registered as
    ``stable`` and ``<X.Y>``, for building projects that pin a channel.

``gcr.io/distroless/cc-debian12:nonroot``
    A stand-in for Google's distroless ``cc`` image, not the real one: the
    files of libc6, libgcc-s1, libstdc++6, libssl3, ca-certificates, tzdata
    and netbase, ``/etc/passwd`` and ``/etc/group`` with root, nobody and
    nonroot (65532), no shell, ``USER 65532:65532``.

musl-based images (alpine, scratch builds of a musl binary) are not made:
the host toolchain has no musl target.

Every image carries the label ``org.scaffold.test-image=<recipe hash>``. An
image whose tags all carry the current recipe hash is left alone, so running
this twice is cheap.

The recipes live in ``debian.py``, ``rust.py`` (with ``rustup.py``), ``vendor.py``
and ``distroless.py``, what they share in ``common.py``; this module ties them
together and is what the tests and the benchmarks import.

Usage::

    python -m tests.images.baseimages            # make what is missing
    python -m tests.images.baseimages --force    # rebuild everything
    python -m tests.images.baseimages --probe-network
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tests.images.aptsources import debian_mirrors
from tests.images.common import (
    DEBIAN_TAG,
    DISTROLESS_TAG,
    LABEL,
    LABEL_CRATES,
    RUST_CHANNELS_REPO,
    RUST_FAITHFUL_REPO,
    BuildFailed,
    MissingTool,
    Plan,
    Result,
    cache_dir,
    docker,
    docker_cli,
    host_toolchain,
    image_label,
    image_size,
    log,
)
from tests.images.debian import make_debian
from tests.images.distroless import make_distroless
from tests.images.rust import make_rust, make_rust_channels, registry_reachable
from tests.images.vendor import vendored_crates

# What the engine tests and the benchmarks use from here.
__all__ = [
    "DEBIAN_TAG",
    "DISTROLESS_TAG",
    "LABEL",
    "LABEL_CRATES",
    "RUST_CHANNELS_REPO",
    "BuildFailed",
    "MissingTool",
    "cache_dir",
    "docker_cli",
    "ensure_all",
    "format_result",
    "host_toolchain",
    "image_label",
    "image_size",
    "main",
    "make_plan",
    "probe_network",
    "vendored_crates",
]

CRATES_MODES = ("auto", "registry", "vendor")


def make_plan(force: bool = False, vendor_manifests: list[Path] | None = None) -> Plan:
    mirror, security = debian_mirrors()
    mode = os.environ.get("SCAFFOLD_TEST_CRATES", "auto")
    if mode not in CRATES_MODES:
        raise ValueError(f"SCAFFOLD_TEST_CRATES must be one of {', '.join(CRATES_MODES)}, not {mode!r}")
    return Plan(host_toolchain(), mirror, security, mode, list(vendor_manifests or []), force)


def ensure_all(force: bool = False, vendor_manifests: list[Path] | None = None, quiet: bool = False) -> list[Result]:
    """Make every base image that is missing or out of date. Returns per-image results."""
    plan = make_plan(force, vendor_manifests)
    for step in (make_debian, make_rust, make_rust_channels, make_distroless):
        r = step(plan)
        plan.results.append(r)
        if not quiet:
            log(format_result(r))
    return plan.results


def format_result(r: Result) -> str:
    state = "built" if r.built else "up to date"
    extra = f" - {r.note}" if r.note else ""
    return f"{r.name:<20} {state:<10} {r.seconds:6.1f}s {r.size / 1e6:7.0f} MB  {', '.join(r.tags)}{extra}"


def probe_network() -> dict[str, bool]:
    """Can a container (default bridge) reach the Debian mirror and the crates registry?"""
    proc = docker("run", "--rm", DEBIAN_TAG, "sh", "-c", "timeout 90 apt-get update", check=False)
    faithful = f"{RUST_FAITHFUL_REPO}:{host_toolchain().version}"
    return {"debian-mirror": proc.returncode == 0, "crates-registry": registry_reachable(faithful)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date (the rootfs too)")
    ap.add_argument("--vendor-manifest", action="append", type=Path, default=[],
                    help="Cargo.toml whose locked crates the rust image carries (default: sample-crates/*)")
    ap.add_argument("--probe-network", action="store_true",
                    help="report whether containers reach the Debian mirror and the crates registry")
    ns = ap.parse_args(argv)
    try:
        t0 = time.monotonic()
        ensure_all(ns.force, ns.vendor_manifest)
        log(f"all base images ready in {time.monotonic() - t0:.1f}s")
        if ns.probe_network:
            log(f"container network: {json.dumps(probe_network())}")
    except MissingTool as e:
        log(f"ERROR: {e}")
        return 2
    except BuildFailed as e:
        log(f"ERROR: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
