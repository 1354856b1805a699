"""The build context part of the plan: where it is, what the .dockerignore leaves out and what it puts back.

The patterns are data here, not text in the template, so that the files the build reads
(buildinputs.py) are checked against exactly the patterns the .dockerignore will hold: each one
they would exclude is re-included by its exact path, after every other pattern (the last match wins).

The context is always the project's root. With `--output-dir` the files go elsewhere, so the compose
file's build points back at the project by relative paths, and the ignore file is written beside the
Dockerfile as `<Dockerfile>.dockerignore`, which BuildKit reads in place of the context's own (measured
with Engine 20.10's BuildKit and Compose v2): nothing is written into the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .buildinputs import compiled_members, reincludes
from .ignorepatterns import patterns_of
from .inspect import Binary, ProjectFacts


@dataclass(frozen=True)
class IgnoreGroup:
    """Patterns the .dockerignore leaves out, under one comment."""

    comment: str  # why these are left out; may span lines
    patterns: tuple[str, ...]  # Docker's syntax, matched from the context root


@dataclass(frozen=True)
class ContextPlan:
    """The build context: where it is, and what the .dockerignore leaves out of it."""

    path: str  # the build context (the project root) relative to the output directory: compose's build.context
    dockerfile: str  # the Dockerfile relative to the context: compose's build.dockerfile, `docker build -f`
    ignore_file: str  # where the ignore file goes, relative to the output directory
    ignore: tuple[IgnoreGroup, ...]
    reinclude: tuple[str, ...]  # paths (as patterns) the build reads that `ignore` would leave out
    watch: tuple[str, ...]  # what `docker compose watch` rebuilds on, relative to the output directory


DOCKERFILE = "Dockerfile"
IGNORE_FILE = ".dockerignore"


_FIXED = (
    IgnoreGroup(
        "Build output and version control. Nested target/ folders (from standalone crates inside the\n"
        "project) are matched by what Cargo puts in them, so a source module folder named `target` stays.",
        (
            "target",
            "**/target/debug",
            "**/target/release",
            "**/target/*-*-*",
            "**/target/CACHEDIR.TAG",
            "**/target/.rustc_info.json",
            ".git",
            "**/.git",
        ),
    ),
    IgnoreGroup(
        "Secrets must never reach the build",
        ("**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa*", "**/id_ed25519*"),
    ),
    IgnoreGroup(
        "Editors and operating systems",
        ("**/.idea", "**/.vscode", "**/*.swp", "**/*~", "**/.DS_Store", "**/Thumbs.db"),
    ),
)
# scaffold's own state folder is never read by the build.
_STATE = ".scaffold"


def ignore_groups(outside_context: tuple[str, ...], prefix: str | None = "") -> tuple[IgnoreGroup, ...]:
    """The fixed groups, then the outputs the build does not read (template.toml's `context = false`) and
    scaffold's state folder, under `prefix` (the output folder in the context; None: outside the context)."""
    if prefix is None:  # outputs outside the project are outside the context: no pattern can name them
        return _FIXED
    why = "Container files: editing them should not invalidate the build cache"
    return (*_FIXED, IgnoreGroup(why, tuple(prefix + path for path in (*outside_context, _STATE))))


_COMPILED_KINDS = ("lib", "bin", "build-script")


def watched(facts: ProjectFacts, binary: Binary) -> tuple[str, ...]:
    """The sources, manifests and lock of the members the build compiles, and the files their code reads,
    relative to the project root: each member's `src` folder (with any target root outside it), its
    manifest, the workspace manifest and lock."""
    root = facts.root.resolve()
    members = compiled_members(facts.workspace, binary.package)
    paths = ["Cargo.toml", *(["Cargo.lock"] if facts.lock is not None else [])]
    for package in facts.workspace.members:
        if package.name not in members or not package.root.resolve().is_relative_to(root):
            continue  # a member outside the context: the build plan refuses it, saying where it is
        folder = package.root.resolve().relative_to(root)
        paths.append((folder / "Cargo.toml").as_posix())
        for target in package.targets:
            if target.kind in _COMPILED_KINDS:
                under_src = target.path.startswith("src/")
                paths.append((folder / ("src" if under_src else target.path)).as_posix())
    paths += [i.path for i in facts.build_inputs.only(members).inputs]
    return tuple(dict.fromkeys(paths))


def make_context(
    facts: ProjectFacts, binary: Binary, outside_context: tuple[str, ...], output_dir: Path | None = None
) -> tuple[ContextPlan, tuple[str, ...]]:
    """The context and the .dockerignore's content for building `binary`, and a warning for each file put back.

    `outside_context`: the outputs the build does not read, relative to `output_dir` (None: the project root).
    """
    root = facts.root.resolve()
    out = output_dir.resolve() if output_dir is not None else root
    ignore_file = IGNORE_FILE if out == root else f"{DOCKERFILE}{IGNORE_FILE}"
    prefix = (out.relative_to(root).as_posix() + "/" if out != root else "") if out.is_relative_to(root) else None
    groups = ignore_groups(tuple(ignore_file if path == IGNORE_FILE else path for path in outside_context), prefix)
    patterns = patterns_of("\n".join(p for group in groups for p in group.patterns))
    inputs = facts.build_inputs.only(compiled_members(facts.workspace, binary.package))
    result = reincludes(facts.root, inputs, patterns)
    return ContextPlan(
        path=Path(os.path.relpath(root, out)).as_posix(),
        dockerfile=Path(os.path.relpath(out / DOCKERFILE, root)).as_posix(),
        ignore_file=ignore_file,
        ignore=groups,
        reinclude=tuple(line.removeprefix("!") for line in result.lines),
        watch=tuple(Path(os.path.relpath(root / path, out)).as_posix() for path in watched(facts, binary)),
    ), result.warnings
