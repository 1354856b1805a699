"""The CI case of the real-size benchmark: a fresh builder that has only the previous build's images.

A CI runner starts with an empty BuildKit cache and pulls the images the previous commit's run
pushed. That is reproduced on one engine, for every (project, variant) at once:

1. **push**: the README's CI recipe for the previous commit (the dependency stage with ``--target``,
   then the image, each with ``BUILDKIT_INLINE_CACHE=1`` and both ``--cache-from``);
2. **reset**: ``docker push`` of every pushed tag to a registry (or, without one, ``docker save`` into
   a tar: on Docker 20.10 a cache imported from a loaded image reuses no step, which the controls
   catch), ``docker rmi`` of those tags and the builds' other images, ``docker builder prune -af`` (the
   whole builder cache: a local image's layers keep their cache records through a prune by id, so
   nothing less gives a fresh builder) and, for the tar, ``docker load``;
3. **timed**: after a one-line change, the recipe again, timed, with the crates cargo compiled.

Two controls check the reset (two tiny projects with a slow dependency step, pushed and reset with
the rest): the one rebuilt without ``--cache-from`` must run its dependency step again (a cold
runner), the one rebuilt with ``--cache-from`` must import the cache and reuse the step.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from buildkit import MARK, docker, log

Build = Callable[..., float]  # build(folder, tag, *extra) -> seconds


def recipe_args(stage: str | None, deps: str, final: str) -> list[list[str]]:
    """The README's CI recipe as `docker build` arguments (without the context): dependency stage first."""
    images = [deps, final] if stage else [final]
    cache_from = [a for image in images for a in ("--cache-from", image)]
    inline = ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
    steps = [["--target", stage, *inline, *cache_from, "-t", deps]] if stage else []
    return [*steps, [*inline, *cache_from, "-t", final]]


def step_reused(output: str, command: str) -> bool | None:
    """Whether BuildKit's plain progress shows the step running `command` as CACHED (None: no such step)."""
    step = next((line.split()[0] for line in output.splitlines() if command in line and line.startswith("#")), None)
    if step is None:
        return None
    return any(line.startswith(f"{step} CACHED") for line in output.splitlines())


def other_builds() -> int:
    """`docker build` processes running on this machine that are not ours (a prune makes their next build cold)."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if "docker build" in line or line.startswith("docker build"))


def reset(tags: list[str], local: list[str], tar: Path | None, wait_s: float = 240) -> dict:
    """Publish `tags` (push them to their registry, or with `tar`, `docker save` them), rmi them and the
    `local` images (the same builds' other tags), prune the whole builder cache and, with `tar`, load
    them again: the fresh runner. Waits (bounded) for other builds to finish before the prune."""
    if tar is None:
        for tag in tags:
            docker("push", tag, timeout=3600)
    else:
        docker("save", "-o", str(tar), *tags, timeout=3600)
    for tag in [*tags, *local]:
        docker("rmi", tag, check=False)
    deadline, busy = time.monotonic() + wait_s, other_builds()
    while busy and time.monotonic() < deadline:
        log(f"  {busy} other docker build(s) running: waiting before the prune")
        time.sleep(20)
        busy = other_builds()
    pruned = docker("builder", "prune", "-a", "-f", timeout=3600).stdout.strip().splitlines()[-1:]
    result = {"other_builds_at_prune": busy, "prune": pruned[0] if pruned else "", "registry": "docker save/load" if tar else "push"}
    if tar is not None:
        docker("load", "-i", str(tar), timeout=3600)
        result["registry_tar_bytes"] = tar.stat().st_size
        tar.unlink()
    return result


class Control:
    """A tiny two-stage project whose dependency step sleeps, to check what the reset leaves."""

    def __init__(self, work: Path, image: str, name: str, tag_repo: str):  # tag_repo may start with a registry
        self.folder = work / "ci-control" / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.command = f"sleep 3 && echo {name}-{uuid.uuid4().hex[:8]} > /deps"
        (self.folder / "Dockerfile").write_text(
            f"FROM {image} AS builder\nRUN {MARK}=ci-control {self.command}\n"
            f"COPY x /x\nRUN {MARK}=ci-control cat /deps /x > /out\n"
            f"FROM {image} AS runtime\nCOPY --from=builder /out /out\n"
        )
        (self.folder / "x").write_text("1\n")
        self.deps, self.final = f"{tag_repo}/ci-control-{name}-deps:1", f"{tag_repo}/ci-control-{name}:1"

    def push(self) -> list[str]:
        for args in recipe_args("builder", self.deps, self.final):
            docker("build", "--progress=plain", *args, str(self.folder))
        return [self.deps, self.final]

    def rebuild(self, cache_from: bool) -> dict:
        (self.folder / "x").write_text("2\n")
        outputs = []
        if cache_from:
            for args in recipe_args("builder", self.deps, self.final):
                outputs.append(docker("build", "--progress=plain", *args, str(self.folder)).stderr)
        else:
            outputs.append(docker("build", "--progress=plain", "-t", self.final, str(self.folder)).stderr)
        text = "\n".join(outputs)
        for tag in (self.deps, self.final):
            docker("rmi", tag, check=False)
        return {"dependency_step_reused": step_reused(text, self.command),
                "imported_cache_manifest": "importing cache manifest from" in text}


def controls_ok(result: dict) -> bool:
    """The reset is a fresh runner when the plain build redoes the step and the imported one reuses it."""
    plain, imported = result.get("without_cache_from", {}), result.get("with_cache_from", {})
    return plain.get("dependency_step_reused") is False and imported.get("dependency_step_reused") is True
