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

Usage::

    python benchmarks/dockerfiles.py            # full run, about 30 minutes on 2 cores
    python benchmarks/dockerfiles.py --quick    # 1 run, raft-node, 5 variants, about 5 minutes
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from tests.images import baseimages  # noqa: E402

DOCKER = baseimages.docker_cli()
ENV = dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain")
RUST_IMAGE = "rust:1.95-slim-bookworm"
DEBIAN_IMAGE = "debian:bookworm-slim"
TAG_REPO = "scaffold-bench"
MARK = "SCAFFOLD_BENCH_RUN"
CHEF_VERSION = "0.1.78"


# --------------------------------------------------------------------------
# What is benchmarked


@dataclass(frozen=True)
class Crate:
    name: str  # directory under sample-crates/, also the package and binary name
    build_packages: tuple[str, ...]  # apt packages the build needs (what scaffold infers from the lock)
    runtime_packages: tuple[str, ...]
    added_dependency: str  # a line for [dependencies]; the crate is already vendored in the image
    added_dependency_note: str


CRATES = {
    "raft-node": Crate(
        "raft-node", (), (), 'cfg-if = "1"',
        "cfg-if 1 (vendored for openssl-app's lock; raft-node itself has no dependencies)",
    ),
    "openssl-app": Crate(
        "openssl-app", ("pkg-config", "libssl-dev"), ("libssl3", "ca-certificates"), 'shlex = "2"',
        "shlex 2 (already in the lock as a build dependency of cc, now also a normal dependency)",
    ),
}


def apt(packages: tuple[str, ...]) -> str:
    if not packages:
        return ""
    return (
        "RUN apt-get update \\\n"
        f" && apt-get install -y --no-install-recommends {' '.join(packages)} \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
    )


def tutorial_single(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {RUST_IMAGE}\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /usr/src/app\n"
        "COPY . .\n"
        "RUN cargo build --release\n"
        f'CMD ["./target/release/{c.name}"]\n'
    )
    return df, None, f"/usr/src/app/target/release/{c.name}"


def tutorial_dummy(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {RUST_IMAGE} AS builder\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /usr/src/app\n"
        "COPY Cargo.toml Cargo.lock ./\n"
        "# Build the dependencies with a dummy main.rs, so this layer is cached.\n"
        "RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release\n"
        "COPY src ./src\n"
        "RUN cargo build --release\n\n"
        f"FROM {DEBIAN_IMAGE}\n"
        f"{apt(c.runtime_packages)}"
        f"COPY --from=builder /usr/src/app/target/release/{c.name} /usr/local/bin/{c.name}\n"
        f'CMD ["{c.name}"]\n'
    )
    return df, None, f"/usr/local/bin/{c.name}"


DOCKER_INIT_IGNORE = """\
**/.DS_Store
**/.classpath
**/.dockerignore
**/.env
**/.git
**/.gitignore
**/.project
**/.settings
**/.toolstarget
**/.vs
**/.vscode
**/*.*proj.user
**/*.dbmdl
**/*.jfm
**/charts
**/docker-compose*
**/compose*
**/Dockerfile*
**/node_modules
**/npm-debug.log
**/secrets.dev.yaml
**/values.dev.yaml
/bin
/target
LICENSE
README.md
"""


def docker_init(c: Crate, token: str) -> tuple[str, str | None, str]:
    # docker init writes no explicit cache ids (the target path is the id, shared by every
    # project on the machine); ids are added here so that each cold build starts empty.
    df = (
        "ARG RUST_VERSION=1.95\n"
        f"ARG APP_NAME={c.name}\n\n"
        "FROM rust:${RUST_VERSION}-slim-bookworm AS build\n"
        "ARG APP_NAME\n"
        "WORKDIR /app\n"
        f"{apt(c.build_packages)}"
        "RUN --mount=type=bind,source=src,target=src \\\n"
        "    --mount=type=bind,source=Cargo.toml,target=Cargo.toml \\\n"
        "    --mount=type=bind,source=Cargo.lock,target=Cargo.lock \\\n"
        f"    --mount=type=cache,id={token}-target,target=/app/target/ \\\n"
        f"    --mount=type=cache,id={token}-git,target=/usr/local/cargo/git/db \\\n"
        f"    --mount=type=cache,id={token}-registry,target=/usr/local/cargo/registry/ \\\n"
        "    set -e \\\n"
        " && cargo build --locked --release \\\n"
        " && cp ./target/release/$APP_NAME /bin/server\n\n"
        f"FROM {DEBIAN_IMAGE} AS final\n"
        f"{apt(c.runtime_packages)}"
        "ARG UID=10001\n"
        "# docker init uses adduser; the minimal Debian image has useradd.\n"
        'RUN useradd --no-create-home --home-dir /nonexistent --shell /sbin/nologin --uid "${UID}" appuser\n'
        "USER appuser\n"
        "COPY --from=build /bin/server /bin/\n"
        "EXPOSE 8080\n"
        'CMD ["/bin/server"]\n'
    )
    return df, DOCKER_INIT_IGNORE, "/bin/server"


def cargo_chef(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {TAG_REPO}/cargo-chef:{CHEF_VERSION} AS chef\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /app\n\n"
        "FROM chef AS planner\n"
        "COPY . .\n"
        "RUN cargo chef prepare --recipe-path recipe.json\n\n"
        "FROM chef AS builder\n"
        "COPY --from=planner /app/recipe.json recipe.json\n"
        "# Build dependencies - this is the caching Docker layer!\n"
        "RUN cargo chef cook --release --locked --recipe-path recipe.json\n"
        "COPY . .\n"
        f"RUN cargo build --release --locked --bin {c.name}\n\n"
        f"FROM {DEBIAN_IMAGE} AS runtime\n"
        f"{apt(c.runtime_packages)}"
        "WORKDIR /app\n"
        f"COPY --from=builder /app/target/release/{c.name} /usr/local/bin\n"
        f'ENTRYPOINT ["/usr/local/bin/{c.name}"]\n'
    )
    return df, "target\n.git\n", f"/usr/local/bin/{c.name}"


def scaffold_variant(runtime: str, strategy: str):
    def make(c: Crate, token: str, project: Path) -> tuple[str, str | None, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "generator.main", "init", str(project), "--no-input", "--force",
             "--runtime", runtime, "--strategy", strategy],
            cwd=REPO, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scaffold init failed: {proc.stderr.strip()}")
        df = (project / "Dockerfile").read_text()
        # A fresh cache-mount id per repetition, so each cold build starts with empty mounts.
        df = re.sub(r"(--mount=type=cache,id=)", rf"\g<1>{token}-", df)
        return df, (project / ".dockerignore").read_text(), f"/usr/local/bin/{c.name}"
    return make


BASELINES = {
    "tutorial-single": tutorial_single,
    "tutorial-dummy": tutorial_dummy,
    "docker-init": docker_init,
    "cargo-chef": cargo_chef,
}
SCAFFOLD = {
    f"scaffold-{strategy}-{runtime}": (runtime, strategy)
    for strategy in ("skeleton", "cache-mount")
    for runtime in ("debian-slim", "distroless")
}
ALL_VARIANTS = [*BASELINES, *SCAFFOLD]
QUICK_VARIANTS = ["tutorial-single", "docker-init", "cargo-chef", "scaffold-skeleton-debian-slim",
                  "scaffold-cache-mount-debian-slim"]
RUNTIME_OF = {v: ("distroless" if v.endswith("distroless") else "debian-slim") for v in ALL_VARIANTS}


# --------------------------------------------------------------------------
# Docker helpers


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def docker(*args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run([DOCKER, *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc


_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}


def context_bytes(output: str) -> int | None:
    """Bytes of the `[internal] load build context` step (not the .dockerignore or Dockerfile)."""
    steps: dict[str, str] = {}
    sent: dict[str, int] = {}
    for line in output.splitlines():
        m = re.match(r"#(\d+) (\[.*)", line)
        if m:
            steps.setdefault(m.group(1), m.group(2))
        m = re.match(r"#(\d+) transferring context: ([\d.]+)([kKMG]?B)", line)
        if m:
            sent[m.group(1)] = int(float(m.group(2)) * _UNITS[m.group(3)])
    for step, value in sent.items():
        if "load build context" in steps.get(step, ""):
            return value
    return None


def step_times(output: str, top: int = 6) -> list:
    """The slowest steps of one build, from BuildKit's plain progress: [[seconds, step], ...]."""
    names: dict[str, str] = {}
    done: list = []
    for line in output.splitlines():
        m = re.match(r"#(\d+) (\[.*)", line)
        if m:
            names.setdefault(m.group(1), m.group(2)[:160])
        m = re.match(r"#(\d+) DONE ([\d.]+)s", line)
        if m and m.group(1) in names:
            done.append([float(m.group(2)), re.sub(rf"{MARK}=\S+ ", "", names[m.group(1)])])
    return sorted(done, reverse=True)[:top]


def mark_runs(dockerfile: str, marker: str) -> str:
    """Prefix every RUN command with a no-op variable assignment naming this benchmark run.

    The build-cache records BuildKit creates for those commands then carry the marker in their
    description, so the clean-up prunes exactly this run's records and nothing else.
    """
    out, pos = [], 0
    for m in re.finditer(r"^RUN ", dockerfile, re.M):
        i = m.end()
        while True:
            while i < len(dockerfile) and dockerfile[i] in " \t":
                i += 1
            if dockerfile.startswith("\\\n", i):
                i += 2
                continue
            if dockerfile.startswith("--", i):
                while i < len(dockerfile) and dockerfile[i] not in " \t\n":
                    i += 1
                continue
            break
        out.append(dockerfile[pos:i] + f"{MARK}={marker} ")
        pos = i
    out.append(dockerfile[pos:])
    return "".join(out)


# --------------------------------------------------------------------------
# Projects and edits


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


# --------------------------------------------------------------------------
# Measurements


@dataclass
class Measure:
    cold_s: list[float] = field(default_factory=list)
    edit_s: list[float] = field(default_factory=list)
    dep_s: list[float] = field(default_factory=list)
    image_bytes: list[int] = field(default_factory=list)
    context_bytes: list[int] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # run-check failures
    steps: dict[str, list] = field(default_factory=dict)  # slowest BuildKit steps of the last run
    error: str | None = None

    def summary(self) -> dict:
        med = lambda xs: round(statistics.median(xs), 2) if xs else None  # noqa: E731
        return {
            "cold_s": med(self.cold_s), "edit_rebuild_s": med(self.edit_s), "dep_rebuild_s": med(self.dep_s),
            "image_bytes": int(statistics.median(self.image_bytes)) if self.image_bytes else None,
            "context_bytes": int(statistics.median(self.context_bytes)) if self.context_bytes else None,
            "runs": {"cold_s": self.cold_s, "edit_rebuild_s": self.edit_s, "dep_rebuild_s": self.dep_s},
            "run_check": "ok" if not self.checks else sorted(set(self.checks)),
            "slowest_steps_last_run": self.steps,
            **({"error": self.error} if self.error else {}),
        }


class Bench:
    def __init__(self, work: Path, run_id: str):
        self.work = work
        self.run_id = run_id
        self.tags: set[str] = set()

    def build(self, project: Path, tag: str, *, no_cache: bool) -> tuple[float, str]:
        self.tags.add(tag)
        args = ["build", "--progress=plain", "-t", tag] + (["--no-cache"] if no_cache else []) + [str(project)]
        started = time.perf_counter()
        proc = docker(*args)
        return time.perf_counter() - started, proc.stdout + proc.stderr

    def check(self, tag: str, binary: str, expected: str) -> str | None:
        proc = docker("run", "--rm", "--entrypoint", binary, tag, "--version", check=False, timeout=120)
        out = proc.stdout.strip()
        if proc.returncode != 0 or out != expected:
            return f"`{binary} --version` printed {out!r} (exit {proc.returncode}), expected {expected!r}"
        return None

    def variant(self, crate: Crate, variant: str, runs: int, dep_files: tuple[str, str]) -> Measure:
        m = Measure()
        try:
            self._variant(m, crate, variant, runs, dep_files)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            m.error = str(e)[-2000:]
            log(f"{crate.name} / {variant}: FAILED: {m.error[-400:]}")
        return m

    def _variant(self, m: Measure, crate: Crate, variant: str, runs: int, dep_files: tuple[str, str]) -> None:
        for rep in range(runs):
            token = f"{TAG_REPO}-{self.run_id}-{crate.name}-{variant}-{rep}"
            project = fresh_copy(crate, self.work / "variants" / f"{crate.name}-{variant}")
            if variant in SCAFFOLD:
                df, ignore, binary = scaffold_variant(*SCAFFOLD[variant])(crate, token, project)
            else:
                df, ignore, binary = BASELINES[variant](crate, token)
            for generated in (".dockerignore", "docker-compose.yml"):
                (project / generated).unlink(missing_ok=True)
            (project / "Dockerfile").write_text(mark_runs(df, f"{self.run_id}-{rep}"))
            if ignore is not None:
                (project / ".dockerignore").write_text(ignore)
            tag = f"{TAG_REPO}/{crate.name}-{variant}:{self.run_id}"
            version = f"{crate.name} 0.1.0"

            log(f"{crate.name} / {variant} / run {rep + 1}/{runs}: cold build")
            seconds, output = self.build(project, tag, no_cache=True)
            m.cold_s.append(seconds)
            m.context_bytes.append(context_bytes(output) or 0)
            m.steps["cold"] = step_times(output)
            m.image_bytes.append(int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout))
            problems = [self.check(tag, binary, version)]

            log(f"{crate.name} / {variant} / run {rep + 1}/{runs}: rebuild after a one-line change")
            suffix = edit_source(project, rep + 1)
            seconds, output = self.build(project, tag, no_cache=False)
            m.edit_s.append(seconds)
            m.steps["edit"] = step_times(output)
            problems.append(self.check(tag, binary, version + suffix))

            log(f"{crate.name} / {variant} / run {rep + 1}/{runs}: rebuild after adding a dependency")
            (project / "Cargo.toml").write_text(dep_files[0])
            (project / "Cargo.lock").write_text(dep_files[1])
            seconds, output = self.build(project, tag, no_cache=False)
            m.dep_s.append(seconds)
            m.steps["dependency"] = step_times(output)
            problems.append(self.check(tag, binary, version + suffix))

            for step, problem in zip(("cold build", "after the edit", "after the new dependency"), problems, strict=True):
                if problem:
                    m.checks.append(f"{step}: {problem}")
            log(f"{crate.name} / {variant} / run {rep + 1}/{runs}: cold {m.cold_s[-1]:.1f}s, "
                f"edit {m.edit_s[-1]:.1f}s, dependency {m.dep_s[-1]:.1f}s, "
                f"image {m.image_bytes[-1] / 1e6:.1f} MB" + ("" if not any(problems) else " - RUN CHECK FAILED"))
            docker("rmi", tag, check=False)
            self.tags.discard(tag)

    def floor(self, crate: Crate, runs: int, dep_files: tuple[str, str], vendor: Path) -> dict:
        """Host cargo in a warm target directory: the least any container build could take."""
        project = fresh_copy(crate, self.work / "floor" / crate.name)
        cargo = [*offline_cargo(vendor), "build", "--release", "--locked", "--offline"]
        env = dict(os.environ, CARGO_PROFILE_RELEASE_STRIP="symbols", CARGO_TARGET_DIR=str(project / "target"))
        manifest, lock = (project / "Cargo.toml").read_text(), (project / "Cargo.lock").read_text()

        def timed() -> float:
            started = time.perf_counter()
            subprocess.run(cargo, cwd=project, env=env, check=True, capture_output=True)
            return time.perf_counter() - started

        log(f"{crate.name} / host floor: cold cargo build --release")
        cold = timed()
        binary = project / "target" / "release" / crate.name
        size = binary.stat().st_size
        edits, deps = [], []
        for rep in range(runs):
            log(f"{crate.name} / host floor / run {rep + 1}/{runs}: one-line change, new dependency")
            edit_source(project, rep + 1)
            edits.append(timed())
            (project / "Cargo.toml").write_text(dep_files[0])
            (project / "Cargo.lock").write_text(dep_files[1])
            deps.append(timed())
            (project / "Cargo.toml").write_text(manifest)
            (project / "Cargo.lock").write_text(lock)
            timed()  # back to the warm state without the dependency (not measured)
        return {
            "cold_s": round(cold, 2),
            "edit_rebuild_s": round(statistics.median(edits), 2),
            "dep_rebuild_s": round(statistics.median(deps), 2),
            "stripped_binary_bytes": size,
            "runs": {"edit_rebuild_s": edits, "dep_rebuild_s": deps},
        }

    def dev_context(self, crate: Crate, ignores: dict[str, str | None]) -> dict:
        """Context bytes from a working copy with a host-built target/ in it, per .dockerignore."""
        project = self.work / "floor" / crate.name  # has target/ from the floor builds
        results = {}
        for name, ignore in ignores.items():
            probe = self.work / "ctx-probe"
            if probe.exists():
                shutil.rmtree(probe)
            shutil.copytree(project, probe, symlinks=True)
            (probe / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n")
            if ignore is not None:
                (probe / ".dockerignore").write_text(ignore)
            tag = f"{TAG_REPO}/ctx-probe:{self.run_id}"
            _, output = self.build(probe, tag, no_cache=True)
            docker("rmi", tag, check=False)
            self.tags.discard(tag)
            results[name] = context_bytes(output)
        return results

    def cleanup(self) -> None:
        for tag in sorted(self.tags):
            docker("rmi", tag, check=False)
        # Build-cache records (layers and cache mounts) whose command carries this run's marker.
        # `system df -v` can take minutes on a busy engine (it sizes every image and volume).
        try:
            records = cache_records()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log(f"could not list the build cache ({e}); prune this run's records by hand: records whose "
                f"description contains {MARK}={self.run_id}- (docker system df -v)")
            return
        mine = [r["ID"] for r in records
                if f"{MARK}={self.run_id}-" in r.get("Description", "")]
        for start in range(0, len(mine), 50):
            filters = [a for rid in mine[start:start + 50] for a in ("--filter", f"id={rid}")]
            docker("builder", "prune", "-f", *filters, check=False)
        log(f"removed {len(self.tags)} leftover image tag(s); pruned {len(mine)} build-cache record(s) of this run")


def cache_records() -> list[dict]:
    proc = docker("system", "df", "-v", "--format", "{{json .BuildCache}}", timeout=600)
    return json.loads(proc.stdout or "[]")


# --------------------------------------------------------------------------
# Set-up


def chef_image(bench: Bench) -> None:
    """cargo-chef built on the host (crates.io is not reachable from containers here) and baked
    into an image FROM the local rust image, the way the upstream cargo-chef images are made."""
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
        bench.build(Path(tmp), f"{TAG_REPO}/cargo-chef:{CHEF_VERSION}", no_cache=False)


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 run, raft-node only, 5 variants (about 5 minutes)")
    ap.add_argument("--runs", type=int, help="repetitions per number (default 3; 1 with --quick)")
    ap.add_argument("--crate", action="append", choices=sorted(CRATES), help="crates to build (repeatable)")
    ap.add_argument("--variant", action="append", choices=ALL_VARIANTS, help="variants to build (repeatable)")
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="where benchmarks.{md,json,png} go")
    ap.add_argument("--tool-runs", type=int, help="fresh-interpreter runs per tool in the template comparison")
    ns = ap.parse_args(argv)
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
