"""Real-size projects (benchmarks/realprojects.py) built by every variant, scenario by scenario.

Scenarios, each timed on the state the previous one left (the variant's own cache ids and layers):

``cold``        the first build with new cache ids, ``--no-cache``: nothing reused but the base images (once)
``edit``        a one-line change (sfz: main.rs; workspace: the base library every member uses) (3 times)
``leaf``        a one-line change in a member nothing depends on (workspace only) (3 times)
``dependency``  a new registry dependency, Cargo.lock updated on the host (3 times; removed, untimed, in between)
``ci``          a fresh runner with only the previous build's images (benchmarks/ci.py): the README's CI
                recipe pushes the previous commit, the builder is reset (save, rmi, whole-cache prune,
                load), and after a one-line change in the binary's main.rs the recipe is timed (once).
                It runs for every selected project and variant in one batch, after their other
                scenarios, with two controls that check that the reset gives a cold runner.

Every run records the load average and the size of the variant's cache mounts (``exec.cachemount``
records of ``docker system df -v``), so the growth of the target cache can be reported.

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

import ci
from buildkit import MARK, cache_records, docker, log, mark_runs
from realprojects import PROJECTS, Edit, Project, add_dependency, added_dependency, remove_dependency
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
    return Crate(project.binary, (), (), added_dependency(project, 0).strip(), project.note, project.sources)


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
    return build_with(folder, ["-t", tag, *extra])


def build_with(folder: Path, args: list[str]) -> float:
    started = time.perf_counter()
    proc = docker("build", "--progress=plain", *args, str(folder))
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


def edit_for(project: Project, scenario: str) -> Edit:
    """The change a scenario makes: the leaf member's line for ``leaf`` and, where there is one, for ``ci``
    (the binary's main.rs, as for the single crate)."""
    if scenario in ("leaf", "ci") and project.leaf is not None:
        return project.leaf
    return project.edit


def cache_mounts(token: str) -> dict[str, int]:
    """Bytes of the variant's cache mounts (exec.cachemount records made by a RUN that carries its token), by path."""
    mounts: dict[str, int] = {}
    for record in cache_records():
        found = re.match(r"cached mount (\S+) from exec", record.get("Description", ""))
        if record.get("CacheType") == "exec.cachemount" and found and f"{MARK}={token} " in record["Description"]:
            mounts[found.group(1)] = mounts.get(found.group(1), 0) + parse_size(record.get("Size", "0B"))
    return mounts


def parse_size(text: str) -> int:
    """`docker system df` sizes ("1.23GB", "512kB", "0B") in bytes."""
    found = re.fullmatch(r"([\d.]+)\s*([kKMGT]?B)", text.strip())
    if not found:
        return 0
    scale = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[found.group(2)]
    return int(float(found.group(1)) * scale)


class Runner:
    def __init__(self, results: Results, work: Path, registry: str | None = None):
        self.results, self.work, self.registry = results, work, registry
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
        result = self._measure(project, scenario, variant)
        result["load"] = os.getloadavg()[0]
        result["cache_mounts"] = cache_mounts(self.state(project, variant)["token"])
        return result

    def _measure(self, project: Project, scenario: str, variant: str) -> dict:
        state = self.state(project, variant)
        folder, token = Path(state["folder"]), state["token"]
        tag = f"{TAG_REPO}/{project.name}-{variant}:{self.run_id}"
        (folder / "Dockerfile").write_text(dockerfile(project, variant, token, folder))
        if scenario == "cold":
            seconds = build(folder, tag, "--no-cache")
            return {"s": seconds, "check": starts(tag, binary_path(variant, project))}
        build(folder, tag)  # the warm state (a cache hit unless the engine lost it)
        if scenario == "dependency":
            pristine = folder.with_name(folder.name + ".pristine")  # what a stopped run restores first
            if pristine.exists():
                remove_dependency(project, folder, *json.loads(pristine.read_text()))
            manifest, lock = (folder / project.dependency_manifest).read_text(), (folder / "Cargo.lock").read_text()
            pristine.write_text(json.dumps([manifest, lock]))
            state["dependencies"] = state.get("dependencies", 0) + 1
            self.results.save()
            add_dependency(project, folder, state["dependencies"])
            seconds = build(folder, tag)
            compiled = sorted(COMPILED)
            problem = starts(tag, binary_path(variant, project))
            remove_dependency(project, folder, manifest, lock)
            pristine.unlink()
            build(folder, tag)
            return {"s": seconds, "check": problem, "compiled": compiled}
        state["edits"] += 1
        self.results.save()
        argument, expected = edit_for(project, scenario)(folder, state["edits"])
        seconds = build(folder, tag)
        compiled = sorted(COMPILED)
        return {"s": seconds, "check": check(tag, binary_path(variant, project), argument, expected), "compiled": compiled}

    def ci_images(self, project: Project, variant: str) -> tuple[str | None, str, str]:
        """The dependency stage (None: one stage) and the two tags the CI recipe pushes."""
        stage = "builder" if variant in SCAFFOLD else DEPENDENCY_STAGE[variant]
        repo = f"{self.registry}/{TAG_REPO}" if self.registry else TAG_REPO
        final = f"{repo}/{project.name}-{variant}-ci:{self.run_id}"
        return stage, f"{repo}/{project.name}-{variant}-ci-deps:{self.run_id}", final

    def ci_batch(self, pairs: list[tuple[Project, str]]) -> None:
        """The CI case for every (project, variant) at once: push, one reset with its controls, then timed."""
        batch = self.results.data.setdefault("ci", {"pushed": []})
        todo = [(p, v) for p, v in pairs if v not in self.results.project(p.name)["scenarios"].get("ci", {})]
        if any(f"{p.name}/{v}" not in batch["pushed"] for p, v in todo):
            repo = f"{self.registry}/{TAG_REPO}" if self.registry else TAG_REPO
            controls = [ci.Control(self.work, DEBIAN_IMAGE, name, repo) for name in ("plain", "imported")]
            tags = [tag for control in controls for tag in control.push()]
            for project, variant in todo:
                log(f"{project.name} / ci / {variant}: the previous commit's push")
                folder = Path(self.state(project, variant)["folder"])
                (folder / "Dockerfile").write_text(dockerfile(project, variant, self.state(project, variant)["token"], folder))
                stage, deps, final = self.ci_images(project, variant)
                for args in ci.recipe_args(stage, deps, final):
                    build_with(folder, args)
                tags += [deps, final] if stage else [final]
            log(f"ci: reset (publish {len(tags)} image(s), rmi, builder prune -af)")
            local = [f"{TAG_REPO}/{p.name}-{v}:{self.run_id}" for p, v in todo]  # the other scenarios' images
            batch["reset"] = ci.reset(tags, local, None if self.registry else self.work / "registry.tar")
            batch["controls"] = {"without_cache_from": controls[0].rebuild(False), "with_cache_from": controls[1].rebuild(True)}
            batch["controls_ok"] = ci.controls_ok(batch["controls"])
            batch["pushed"] = [f"{p.name}/{v}" for p, v in todo]
            self.results.save()
            log(f"ci: controls {batch['controls']} -> {'ok' if batch['controls_ok'] else 'NOT A FRESH RUNNER'}")
        for project, variant in todo:
            log(f"{project.name} / ci / {variant}: timed")
            state = self.state(project, variant)
            folder = Path(state["folder"])
            state["edits"] += 1
            self.results.save()  # before the edit, so that a resumed run makes a new one
            argument, expected = edit_for(project, "ci")(folder, state["edits"])
            stage, deps, final = self.ci_images(project, variant)
            builds, compiled = [], []
            for args in ci.recipe_args(stage, deps, final):
                builds.append(build_with(folder, args))
                compiled += COMPILED
            result = {"s": sum(builds), "builds_s": builds, "compiled": sorted(compiled),
                      "check": check(final, binary_path(variant, project), argument, expected),
                      "load": os.getloadavg()[0], "cache_mounts": cache_mounts(state["token"])}
            self.results.project(project.name)["scenarios"].setdefault("ci", {})[variant] = [result]
            self.results.save()
            failed = f" CHECK FAILED: {result['check']}" if result["check"] else ""
            log(f"  {result['s']:.1f} s, compiled {len(compiled)} crate(s){failed}")

    def floor(self, project: Project, scenario: str) -> dict:
        """Host cargo for the same change, and the engine's fixed cost of a trivial build with the same stages."""
        folder = self.work / "floor" / project.name
        shutil.rmtree(folder, ignore_errors=True)  # pristine sources (a stopped run may have left a change)
        project.make(folder)
        cargo = ["cargo", "build", "--release", "--locked"]
        env = dict(os.environ, CARGO_TARGET_DIR=str(self.work / "floor" / f"{project.name}-target"))
        if scenario == "cold":
            env["CARGO_TARGET_DIR"] = str(self.work / "floor" / f"{project.name}-cold-{uuid.uuid4().hex[:6]}")

        def timed() -> float:
            started = time.perf_counter()
            proc = subprocess.run(cargo, cwd=folder, env=env, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(f"{folder}: `{' '.join(cargo)}` failed:\n{proc.stderr[-2000:]}")
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
                add_dependency(project, folder, rep + 1)  # the releases the variants add
                times.append(timed())
                remove_dependency(project, folder, manifest, lock)
                timed()
            else:
                edit_for(project, scenario)(folder, 1000 + rep)
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
    ours = (f"{TAG_REPO}/", f"/{TAG_REPO}/")  # also the CI case's registry-prefixed tags
    mine = [image for image in listed if (image.startswith(ours[0]) or ours[1] in image) and image.endswith(f":{run_id}")]
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
    ap.add_argument("--registry", help="the CI case pushes to and pulls from this registry (host:port) instead of docker save/load")
    ap.add_argument("--ci-only", action="append", metavar="PROJECT/VARIANT", help="the CI case for these pairs only")
    ap.add_argument("--no-floor", action="store_true", help="skip the host floor and the engine's fixed cost")
    ap.add_argument("--clean", action="store_true", help="remove this results file's images and build-cache records, then stop")
    ns = ap.parse_args(argv)
    results = Results(ns.results)
    if ns.clean:
        clean(results)
        return 0
    runner = Runner(results, WORK, ns.registry)
    variants = ns.variant or list(VARIANTS)
    if "cargo-chef" in variants:
        from dockerfiles import chef_image  # the sample-crate benchmark's cargo-chef image
        from harness import Bench

        chef_image(Bench(WORK, results.data["run_id"]))
    ci_pairs: list[tuple[Project, str]] = []
    for index, name in enumerate(ns.project or sorted(PROJECTS)):
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
            if scenario == "ci":  # after every other scenario, in one batch (one reset)
                shift = index % len(variants)
                ci_pairs += [(project, v) for v in variants[shift:] + variants[:shift]]
                continue
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
    ci_pairs = [(p, v) for p, v in ci_pairs if not ns.ci_only or f"{p.name}/{v}" in ns.ci_only]
    if ci_pairs:
        runner.ci_batch(ci_pairs)
    print("\n".join(summary(results.data)))
    return 0
