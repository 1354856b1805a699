"""Building one variant cold, after an edit and after a new dependency, and the host floor."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from buildkit import MARK, cache_records, context_bytes, docker, log, mark_runs, step_times
from scenarios import edit_source, fresh_copy, offline_cargo
from variants import BASELINES, SCAFFOLD, TAG_REPO, Crate, scaffold_variant


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
        for rid in mine:  # one id per call: this engine refuses several values of one filter
            docker("builder", "prune", "-a", "-f", "--filter", f"id={rid}", check=False)
        log(f"removed {len(self.tags)} leftover image tag(s); pruned {len(mine)} build-cache record(s) of this run")
