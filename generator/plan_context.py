"""The build context part of the plan: what the .dockerignore leaves out and what it puts back.

The patterns are data here, not text in the template, so that the files the build reads
(buildinputs.py) are checked against exactly the patterns the .dockerignore will hold: each one
they would exclude is re-included by its exact path, after every other pattern (the last match wins).
"""

from __future__ import annotations

from dataclasses import dataclass

from .buildinputs import compiled_members, reincludes
from .check_dockerignore import patterns_of
from .inspect import Binary, ProjectFacts


@dataclass(frozen=True)
class IgnoreGroup:
    comment: str  # why these are left out; may span lines
    patterns: tuple[str, ...]  # Docker's syntax, matched from the context root


@dataclass(frozen=True)
class ContextPlan:
    ignore: tuple[IgnoreGroup, ...]
    reinclude: tuple[str, ...]  # paths (as patterns) the build reads that `ignore` would leave out


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


def ignore_groups(outside_context: tuple[str, ...]) -> tuple[IgnoreGroup, ...]:
    """The fixed groups, then the outputs the build does not read (template.toml's `context = false`)."""
    why = "Container files: editing them should not invalidate the build cache"
    container = IgnoreGroup(why, (*outside_context, _STATE))
    return (*_FIXED, container)


def make_context(
    facts: ProjectFacts, binary: Binary, outside_context: tuple[str, ...]
) -> tuple[ContextPlan, tuple[str, ...]]:
    """The .dockerignore's content for building `binary`, and a warning for each file put back."""
    groups = ignore_groups(outside_context)
    patterns = patterns_of("\n".join(p for group in groups for p in group.patterns))
    inputs = facts.build_inputs.only(compiled_members(facts.workspace, binary.package))
    result = reincludes(facts.root, inputs, patterns)
    return ContextPlan(groups, tuple(line.removeprefix("!") for line in result.lines)), result.warnings
