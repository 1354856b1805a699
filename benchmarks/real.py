"""Real-size projects (benchmarks/realprojects.py) built by every variant, scenario by scenario.

Scenarios, each timed on the state the previous one left (the variant's own cache ids and layers):

``cold``        the first build with new cache ids, ``--no-cache``: nothing reused but the base images (once)
``edit``        a one-line change (sfz: main.rs; workspace: the base library every member uses) (3 times)
``leaf``        a one-line change in a member nothing depends on (workspace only) (3 times)
``dependency``  a new registry dependency, Cargo.lock updated on the host (3 times; removed, untimed, in between)
``ci``          a fresh builder with the previous build's layers imported, the README's CI recipe: the
                dependency stage (``--target``) and then the image, each with ``BUILDKIT_INLINE_CACHE=1``
                and both ``--cache-from``. It runs once for the previous commit; after a one-line change
                this run's build-cache records are pruned and both builds are timed (once).
                ``engine_check`` first records whether this engine reads inline cache from local images
                at all, and whether it reuses local layers without it (then the case is optimistic).

The floor of a scenario is the host's ``cargo build --release`` of the same change in a warm target
directory plus the engine's fixed cost: a trivial build with the same stages (builder with the
context copied in, runtime with one file copied from it) after a one-line change, median of 3.

Variants run in an order that rotates with each repetition. Results go to a JSON file after every
measurement, and a (project, scenario, variant) that has all its runs is skipped, so a run that was
stopped resumes where it stopped. This is run by hand (a full run takes hours on 2 cores).

Usage: python benchmarks/dockerfiles.py real [--project P] [--scenario S] [--variant V] [--results FILE]
       python benchmarks/dockerfiles.py real --clean [--results FILE]   # this run's images and cache records
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from buildkit import MARK, cache_records, docker, log, mark_runs
from realprojects import PROJECTS, Project, add_dependency, remove_dependency
from variants import BASELINES, DEBIAN_IMAGE, RUST_IMAGE, SCAFFOLD, TAG_REPO, Crate, scaffold_variant

SCENARIOS = ("cold", "edit", "leaf", "dependency", "ci")
REPS = {"cold": 1, "ci": 1, "edit": 3, "leaf": 3, "dependency": 3}
VARIANTS = ("tutorial-single", "docker-init", "cargo-chef", "scaffold-skeleton-debian-slim", "scaffold-cache-mount-debian-slim")
# The stage that holds the compiled dependencies, tagged for the CI case (None: there is one stage).
DEPENDENCY_STAGE = {"tutorial-single": None, "tutorial-dummy": "builder", "docker-init": "build", "cargo-chef": "builder"}
WORK = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scaffold-bench" / "real"


class Results:
    """The JSON results file, written after every change."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"run_id": uuid.uuid4().hex[:8], "projects": {}}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.data, indent=2) + "\n")
        os.replace(temporary, self.path)

    def project(self, name: str) -> dict:
        return self.data["projects"].setdefault(name, {"scenarios": {}, "floor": {}, "states": {}})


def crate_of(project: Project) -> Crate:
    return Crate(project.binary, (), (), project.dependency.strip(), project.note, project.sources)


def dockerfile(project: Project, variant: str, token: str, folder: Path) -> str:
    """The variant's Dockerfile and .dockerignore written into `folder`; its RUN steps carry the marker."""
    if variant in SCAFFOLD:
        text, ignore, _binary = scaffold_variant(*SCAFFOLD[variant])(crate_of(project), token, folder)
    else:
        text, ignore, _binary = BASELINES[variant](crate_of(project), token)
    (folder / "docker-compose.yml").unlink(missing_ok=True)
    if ignore is not None:
        (folder / ".dockerignore").write_text(ignore)
    return mark_runs(text, token)


def binary_path(variant: str, project: Project) -> str:
    if variant == "docker-init":
        return "/bin/server"
    if variant == "tutorial-single":
        return f"/usr/src/app/target/release/{project.binary}"
    return f"/usr/local/bin/{project.binary}"


COMPILED: list[str] = []  # the crates the last build() compiled, from cargo's lines in the progress output


def build(folder: Path, tag: str, *extra: str) -> float:
    started = time.perf_counter()
    proc = docker("build", "--progress=plain", "-t", tag, *extra, str(folder))
    COMPILED[:] = re.findall(r"\bCompiling (\S+) v", proc.stdout + proc.stderr)
    return time.perf_counter() - started


def check(tag: str, binary: str, argument: str, expected: str) -> str | None:
    proc = docker("run", "--rm", "--entrypoint", binary, tag, argument, check=False, timeout=120)
    if proc.stdout.strip() != expected:
        return f"`{binary} {argument}` printed {proc.stdout.strip()!r} (exit {proc.returncode}), expected {expected!r}"
    return None


def starts(tag: str, binary: str) -> str | None:
    proc = docker("run", "--rm", "--entrypoint", binary, tag, "--help", check=False, timeout=120)
    return None if proc.returncode == 0 else f"`{binary} --help` exited {proc.returncode}"


def prune_marked(marker: str) -> int:
    """Remove the build-cache records whose command carries `marker` (one id per call: this engine takes one filter value)."""
    mine = [r["ID"] for r in cache_records() if marker in r.get("Description", "")]
    for record in mine:
        docker("builder", "prune", "-a", "-f", "--filter", f"id={record}", check=False)
    return len(mine)


class Runner:
    def __init__(self, results: Results, work: Path):
        self.results, self.work = results, work
        self.run_id = results.data["run_id"]

    def state(self, project: Project, variant: str) -> dict:
        """The variant's folder, cache token and edit counter, kept in the results so a resumed run continues them."""
        states = self.results.project(project.name)["states"]
        if variant not in states:
            token = f"{TAG_REPO}-{self.run_id}-{project.name}-{variant}"
            folder = self.work / "variants" / f"{project.name}-{variant}"
            if folder.exists():
                shutil.rmtree(folder)
            project.make(folder)
            states[variant] = {"token": token, "folder": str(folder), "edits": 0}
            self.results.save()
        return states[variant]

    def measure(self, project: Project, scenario: str, variant: str) -> dict:
        state = self.state(project, variant)
        folder, token = Path(state["folder"]), state["token"]
        tag = f"{TAG_REPO}/{project.name}-{variant}:{self.run_id}"
        (folder / "Dockerfile").write_text(dockerfile(project, variant, token, folder))
        if scenario == "cold":
            seconds = build(folder, tag, "--no-cache")
            return {"s": seconds, "check": starts(tag, binary_path(variant, project))}
        build(folder, tag)  # the warm state (a cache hit unless the engine lost it)
        if scenario == "dependency":
            manifest, lock = (folder / project.dependency_manifest).read_text(), (folder / "Cargo.lock").read_text()
            add_dependency(project, folder)
            seconds = build(folder, tag)
            problem = starts(tag, binary_path(variant, project))
            remove_dependency(project, folder, manifest, lock)
            build(folder, tag)
            return {"s": seconds, "check": problem}
        state["edits"] += 1
        self.results.save()
        edit = project.leaf if scenario == "leaf" else project.edit
        assert edit is not None
        if scenario == "ci":
            return self._ci(project, variant, folder, tag, token, edit, state["edits"])
        argument, expected = edit(folder, state["edits"])
        seconds = build(folder, tag)
        compiled = sorted(COMPILED)
        return {"s": seconds, "check": check(tag, binary_path(variant, project), argument, expected), "compiled": compiled}

    def _ci(self, project: Project, variant: str, folder: Path, tag: str, token: str, edit, n: int) -> dict:
        """The README's CI recipe, run twice: the previous commit pushes, this one is timed on a pruned builder."""
        stage = "builder" if variant in SCAFFOLD else DEPENDENCY_STAGE[variant]
        final = f"{TAG_REPO}/{project.name}-{variant}-ci:{self.run_id}"
        deps = f"{TAG_REPO}/{project.name}-{variant}-ci-deps:{self.run_id}"
        images = [deps, final] if stage else [final]
        cache_from = [a for image in images for a in ("--cache-from", image)]

        def recipe() -> float:
            seconds = 0.0
            if stage:
                seconds += build(folder, deps, "--target", stage, "--build-arg", "BUILDKIT_INLINE_CACHE=1", *cache_from)
            return seconds + build(folder, final, "--build-arg", "BUILDKIT_INLINE_CACHE=1", *cache_from)

        recipe()  # the previous commit's run
        argument, expected = edit(folder, n)
        pruned = prune_marked(token)
        seconds = recipe()
        return {"s": seconds, "check": check(final, binary_path(variant, project), argument, expected), "pruned_records": pruned}

    def floor(self, project: Project, scenario: str) -> dict:
        """Host cargo for the same change, and the engine's fixed cost of a trivial build with the same stages."""
        folder = self.work / "floor" / project.name
        if not folder.exists():
            project.make(folder)
        cargo = ["cargo", "build", "--release", "--locked"]
        env = dict(os.environ, CARGO_TARGET_DIR=str(folder / "target"))
        if scenario == "cold":
            env["CARGO_TARGET_DIR"] = str(self.work / "floor" / f"{project.name}-cold-{uuid.uuid4().hex[:6]}")

        def timed() -> float:
            started = time.perf_counter()
            subprocess.run(cargo, cwd=folder, env=env, check=True, capture_output=True)
            return time.perf_counter() - started

        if scenario == "cold":
            seconds = timed()
            shutil.rmtree(env["CARGO_TARGET_DIR"], ignore_errors=True)
            return {"host_s": seconds}
        timed()  # warm
        times = []
        for rep in range(REPS[scenario]):
            if scenario == "dependency":
                manifest, lock = (folder / project.dependency_manifest).read_text(), (folder / "Cargo.lock").read_text()
                add_dependency(project, folder)
                times.append(timed())
                remove_dependency(project, folder, manifest, lock)
                timed()
            else:
                edit = project.leaf if scenario == "leaf" else project.edit
                assert edit is not None
                edit(folder, 1000 + rep)
                times.append(timed())
        return {"host_s": statistics.median(times), "host_runs": times}

    def fixed_cost(self, project: Project) -> float:
        folder = self.work / "fixed" / project.name
        if not folder.exists():
            project.make(folder)
        marker = f"{TAG_REPO}-{self.run_id}-{project.name}-fixed"
        (folder / "Dockerfile").write_text(
            f"FROM {RUST_IMAGE} AS builder\nWORKDIR /app\nCOPY . .\n"
            f"RUN {MARK}={marker} mkdir -p /out/usr/local/bin && cp /bin/true /out/usr/local/bin/app\n"
            f"FROM {DEBIAN_IMAGE} AS runtime\nCOPY --from=builder /out/ /\n"
        )
        (folder / ".dockerignore").write_text("target\n")
        tag = f"{TAG_REPO}/{project.name}-fixed:{self.run_id}"
        build(folder, tag)
        times = []
        for rep in range(3):
            project.edit(folder, 2000 + rep)
            times.append(build(folder, tag))
        docker("rmi", tag, check=False)
        return statistics.median(times)


def engine_check(work: Path) -> dict:
    """Does this engine read inline cache from a local image, and does it reuse local layers without --cache-from?"""
    folder = work / "engine-check"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    marker = f"engine-check-{uuid.uuid4().hex[:8]}"
    (folder / "Dockerfile").write_text(
        f"FROM {DEBIAN_IMAGE} AS deps\nRUN {MARK}={marker} sleep 2 && echo deps > /deps\n"
        f"FROM deps AS final\nCOPY x /x\nRUN {MARK}={marker} cat /x > /copy\n"
    )
    tags = [f"{TAG_REPO}/engine-check-{name}:{marker}" for name in ("deps", "final", "again")]
    (folder / "x").write_text("1\n")
    docker("build", "-q", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--target", "deps", "-t", tags[0], str(folder))
    docker("build", "-q", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "-t", tags[1], str(folder))
    prune_marked(marker)
    (folder / "x").write_text("2\n")
    plain = docker("build", "--progress=plain", "-t", tags[2], str(folder)).stderr
    prune_marked(marker)
    (folder / "x").write_text("3\n")
    imported = docker("build", "--progress=plain", "--cache-from", tags[0], "--cache-from", tags[1], "-t", tags[2], str(folder)).stderr
    for tag in tags:
        docker("rmi", tag, check=False)
    prune_marked(marker)

    def deps_cached(output: str) -> bool:
        step = next((line.split()[0] for line in output.splitlines() if "sleep 2 && echo deps" in line), None)
        return step is not None and f"{step} CACHED" in output

    return {
        "reads_inline_cache_of_local_images": "importing cache manifest from" in imported and deps_cached(imported),
        "reuses_local_layers_without_cache_from": deps_cached(plain),
    }


def summary(results: dict) -> list[str]:
    lines = []
    for name, entry in results["projects"].items():
        lines.append(f"{name}:")
        for scenario, variants in entry["scenarios"].items():
            floor = entry["floor"].get(scenario, {})
            host, fixed = floor.get("host_s"), entry.get("fixed_cost_s")
            total = host + fixed if host is not None and fixed is not None else None
            parts = f"host {host and round(host, 1)} + engine {fixed and round(fixed, 1)}"
            lines.append(f"  {scenario}: floor {total and round(total, 1)} s ({parts})")
            for variant, runs in variants.items():
                seconds = statistics.median(r["s"] for r in runs)
                ratio = f", {seconds / total:.2f}x floor" if total else ""
                problems = sorted({r["check"] for r in runs if r.get("check")})
                failed = f" CHECK FAILED: {problems}" if problems else ""
                compiled = runs[-1].get("compiled")
                crates = f", compiled {len(compiled)} crate(s)" if compiled is not None else ""
                lines.append(f"    {variant:34} {seconds:7.1f} s ({len(runs)} runs{ratio}{crates}){failed}")
    return lines


def clean(results: Results) -> None:
    """Remove this run's images and build-cache records (the warm states a resumed run would reuse)."""
    run_id = results.data["run_id"]
    listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    mine = [image for image in listed if image.startswith(f"{TAG_REPO}/") and image.endswith(f":{run_id}")]
    for image in mine:
        docker("rmi", image, check=False)
    pruned = prune_marked(f"{TAG_REPO}-{run_id}-")
    for entry in results.data["projects"].values():
        entry["states"] = {}
    results.save()
    log(f"removed {len(mine)} image(s) and {pruned} build-cache record(s) of run {run_id}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", action="append", choices=sorted(PROJECTS))
    ap.add_argument("--scenario", action="append", choices=SCENARIOS)
    ap.add_argument("--variant", action="append", choices=[*BASELINES, *SCAFFOLD])
    ap.add_argument("--reps", type=int, help="repetitions of the edit scenarios (default 3)")
    ap.add_argument("--results", type=Path, default=WORK / "results.json")
    ap.add_argument("--no-floor", action="store_true", help="skip the host floor and the engine's fixed cost")
    ap.add_argument("--clean", action="store_true", help="remove this results file's images and build-cache records, then stop")
    ns = ap.parse_args(argv)
    results = Results(ns.results)
    if ns.clean:
        clean(results)
        return 0
    runner = Runner(results, WORK)
    if "engine_check" not in results.data and (ns.scenario is None or "ci" in ns.scenario):
        log("engine check: inline cache from local images")
        results.data["engine_check"] = engine_check(WORK)
        results.save()
    variants = ns.variant or list(VARIANTS)
    if "cargo-chef" in variants:
        from dockerfiles import chef_image  # the sample-crate benchmark's cargo-chef image
        from harness import Bench

        chef_image(Bench(WORK, results.data["run_id"]))
    for name in ns.project or sorted(PROJECTS):
        project, entry = PROJECTS[name], results.project(name)
        if not ns.no_floor and "fixed_cost_s" not in entry:
            log(f"{name}: the engine's fixed cost")
            entry["fixed_cost_s"] = runner.fixed_cost(project)
            results.save()
        for scenario in ns.scenario or SCENARIOS:
            if scenario == "leaf" and project.leaf is None:
                continue
            reps = REPS[scenario] if scenario in ("cold", "ci") else ns.reps or REPS[scenario]
            if not ns.no_floor and scenario not in entry["floor"]:
                log(f"{name} / {scenario}: host floor")
                entry["floor"][scenario] = runner.floor(project, scenario)
                results.save()
            runs = entry["scenarios"].setdefault(scenario, {})
            for rep in range(reps):
                shift = rep % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    done = runs.setdefault(variant, [])
                    if len(done) > rep:
                        continue
                    log(f"{name} / {scenario} / {variant} / run {rep + 1}/{reps}")
                    done.append(runner.measure(project, scenario, variant))
                    results.save()
                    log(f"  {done[-1]['s']:.1f} s" + (f" CHECK FAILED: {done[-1]['check']}" if done[-1].get("check") else ""))
    print("\n".join(summary(results.data)))
    return 0
