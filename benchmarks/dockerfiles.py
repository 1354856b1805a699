"""Benchmark scaffold's Dockerfiles against the common alternatives, side by side.

For each sample crate, every variant below is built on the local Docker engine and measured:

* cold build (``--no-cache`` and fresh cache-mount ids: nothing reused but the base images),
* rebuild after a one-line change in ``src/main.rs``,
* rebuild after adding a dependency (a crate that is already vendored in the builder image),
* final image size, build-context bytes sent (BuildKit's ``transferring context`` line),
* a run check: the image's binary must print the version of the sources it was built from.

Variants (all written for this benchmark from each approach's public documentation):

``tutorial-single``   one stage: ``FROM rust``, ``COPY . .``, ``cargo build --release``, ``CMD``.
``tutorial-dummy``    the classic two-stage "dummy ``main.rs``" recipe.
``docker-init``       the approach of ``docker init``'s Rust template: bind mounts of ``src``,
                      ``Cargo.toml`` and ``Cargo.lock``, cache mounts for ``target`` and the
                      registry, one ``RUN`` that copies the binary out of the cache mount.
``cargo-chef``        planner / cook / build stages with cargo-chef.
``scaffold-*``        what ``scaffold init`` writes, for every strategy and buildable runtime.

The floor is the host: ``cargo build --release`` in a warm target directory after the same edits,
and the size of the stripped binary.

Each number is the median of ``--runs`` repetitions (default 3); every ratio compares numbers
measured in the same run. Output: docs/benchmarks.{md,json,png}.

Needs: the Docker engine (Debian's /usr/bin/docker with BuildKit), debootstrap for the base
images, a host Rust toolchain that reaches crates.io (to build cargo-chef once), and
``pip install matplotlib cookiecutter copier`` for the chart and the template-tool comparison.
These are benchmark-only tools, not dependencies of scaffold.

The variants and crates are in ``variants.py``, the edits in ``scenarios.py``, the builds and
measurements in ``harness.py``, the engine calls in ``buildkit.py``; this module sets up and runs them.

Usage::

    python benchmarks/dockerfiles.py            # full run, about 30 minutes on 2 cores
    python benchmarks/dockerfiles.py --quick    # 1 run, raft-node, 5 variants, about 5 minutes
    python benchmarks/dockerfiles.py real ...   # real-size projects and the CI case (benchmarks/real.py): hours
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from buildkit import docker, log  # noqa: E402
from harness import Bench  # noqa: E402
from scenarios import fresh_copy, vendor_dir, with_dependency  # noqa: E402
from variants import (  # noqa: E402
    ALL_VARIANTS,
    CHEF_VERSION,
    CRATES,
    DEBIAN_IMAGE,
    DOCKER_INIT_IGNORE,
    QUICK_VARIANTS,
    RUST_IMAGE,
    TAG_REPO,
    Crate,
)

from tests.images import baseimages  # noqa: E402

# --------------------------------------------------------------------------
# Set-up


def chef_image(bench: Bench) -> None:
    """cargo-chef built on the host (crates.io is not reachable from containers here) and baked
    into an image FROM the local rust image, the way the upstream cargo-chef images are made.

    An existing image is kept: a CI runner pulls the same cargo-chef image every time, and one rebuilt
    after the CI case's builder prune would be a new base whose builds reuse no imported cache."""
    tag = f"{TAG_REPO}/cargo-chef:{CHEF_VERSION}"
    if docker("image", "inspect", tag, check=False).returncode == 0:
        return
    root = baseimages.cache_dir().parent / "scaffold-bench" / f"cargo-chef-{CHEF_VERSION}"
    binary = root / "bin" / "cargo-chef"
    if not binary.exists():
        log(f"cargo install cargo-chef {CHEF_VERSION} on the host")
        subprocess.run(["cargo", "install", "cargo-chef", "--locked", "--version", CHEF_VERSION,
                        "--root", str(root)], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy2(binary, Path(tmp) / "cargo-chef")
        (Path(tmp) / "Dockerfile").write_text(
            f"FROM {RUST_IMAGE}\nCOPY cargo-chef /usr/local/cargo/bin/cargo-chef\nRUN cargo chef --version\n"
        )
        bench.build(Path(tmp), tag, no_cache=False)


def machine() -> dict:
    server = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "docker_engine": server,
        "rustc": rustc,
        "scaffold_commit": commit.stdout.strip(),
        "images": {tag: baseimages.image_size(tag) for tag in (RUST_IMAGE, DEBIAN_IMAGE,
                                                                 "gcr.io/distroless/cc-debian12:nonroot")},
    }


# --------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["real"]:  # real-size projects: benchmarks/real.py
        import real

        return real.main(args[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 run, raft-node only, 5 variants (about 5 minutes)")
    ap.add_argument("--runs", type=int, help="repetitions per number (default 3; 1 with --quick)")
    ap.add_argument("--crate", action="append", choices=sorted(CRATES), help="crates to build (repeatable)")
    ap.add_argument("--variant", action="append", choices=ALL_VARIANTS, help="variants to build (repeatable)")
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="where benchmarks.{md,json,png} go")
    ap.add_argument("--tool-runs", type=int, help="fresh-interpreter runs per tool in the template comparison")
    ns = ap.parse_args(args)
    runs = ns.runs or (1 if ns.quick else 3)
    crates = ns.crate or (["raft-node"] if ns.quick else ["raft-node", "openssl-app"])
    variants = ns.variant or (QUICK_VARIANTS if ns.quick else ALL_VARIANTS)

    started = time.perf_counter()
    log("base images (local, no registry)")
    baseimages.ensure_all(quiet=True)
    vendor = vendor_dir()
    run_id = uuid.uuid4().hex[:8]
    results: dict = {"run_id": run_id, "runs": runs, "machine": machine(), "crates": {}}
    work = Path(tempfile.mkdtemp(prefix="scaffold-bench-"))
    bench = Bench(work, run_id)
    try:
        if "cargo-chef" in variants:
            chef_image(bench)
        for name in crates:
            crate = CRATES[name]
            dep_files = with_dependency(crate, REPO / "sample-crates" / name, work / "deps" / name, vendor)
            entry: dict = {"added_dependency": crate.added_dependency_note, "variants": {}}
            entry["floor"] = bench.floor(crate, runs, dep_files, vendor)
            for variant in variants:
                entry["variants"][variant] = bench.variant(crate, variant, runs, dep_files).summary()
            log(f"{name}: build context from a working copy with target/ in it")
            entry["dev_checkout_context_bytes"] = bench.dev_context(crate, {
                "no .dockerignore (tutorial)": None,
                "docker init's .dockerignore": DOCKER_INIT_IGNORE,
                "scaffold's .dockerignore": (REPO / "sample-crates" / name / ".dockerignore").read_text()
                if (REPO / "sample-crates" / name / ".dockerignore").exists() else _scaffold_ignore(crate, work),
            })
            results["crates"][name] = entry
        log("tool speed: scaffold init against cookiecutter and copier")
        import tool_speed
        results["tool_speed"] = tool_speed.compare_templates(ns.tool_runs or (5 if ns.quick else 15))
        results["wall_s"] = round(time.perf_counter() - started, 1)

        import report
        ns.out.mkdir(parents=True, exist_ok=True)
        (ns.out / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
        report.write(results, ns.out)
        log(f"measured in {results['wall_s']:.0f}s: {ns.out / 'benchmarks.md'}; cleaning up")
    finally:
        bench.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _scaffold_ignore(crate: Crate, work: Path) -> str:
    project = fresh_copy(crate, work / "ignore" / crate.name)
    subprocess.run([sys.executable, "-m", "generator.main", "init", str(project), "--no-input", "--force"],
                   cwd=REPO, check=True, capture_output=True)
    return (project / ".dockerignore").read_text()


if __name__ == "__main__":
    sys.exit(main())
