"""Checks for a .dockerignore: it must keep Cargo output, repositories and secrets out of the build context.

Matching follows Docker's rules (ignorepatterns.py).
"""

from __future__ import annotations

from pathlib import Path

from . import buildinputs, check_tools
from .check_rules import Finding, finding
from .errors import ScaffoldError
from .ignorepatterns import ignored, patterns_of
from .workspace import load_workspace

# Paths every build context should leave out: Cargo output (nested too), repositories, secrets.
_MUST_IGNORE = ("target", ".git", ".env", "crates/app/.env", "crates/app/target/release", "vendor/dep/.git")


def check_dockerignore(path: Path) -> list[Finding]:
    patterns = patterns_of(check_tools.read_text(path))
    missing = [p for p in _MUST_IGNORE if not ignored(p, patterns)]
    findings = [finding("SC201", str(path), missing=", ".join(missing))] if missing else []
    return findings + check_build_inputs(path, patterns)


def check_build_inputs(path: Path, patterns: list[tuple[bool, str]]) -> list[Finding]:
    """SC202 for each file the Rust build reads (include_bytes! and the like) that the patterns leave out.

    The context is taken to be the ignore file's folder; without a Cargo project there, nothing is checked.
    """
    root = path.parent.resolve()
    try:
        workspace = load_workspace(root)
    except ScaffoldError:
        return []  # not a Cargo project (or a broken one): nothing to compare against
    inputs = buildinputs.scan_build_inputs(root, workspace.members)
    return [
        finding("SC202", str(path), excluded=excluded, how=item.how, at=item.found_at)
        for excluded, item in buildinputs.excluded_inputs(root, inputs, patterns)
    ]


def check_ignore_file_exists(dockerfile: Path) -> list[Finding]:
    """SC200 when neither ignore file BuildKit looks for is there: `<name>.dockerignore`, then `.dockerignore`.

    Assumes the build context is the Dockerfile's folder, as it is for the files scaffold writes.
    """
    own, shared = dockerfile.with_name(dockerfile.name + ".dockerignore"), dockerfile.with_name(".dockerignore")
    return [] if own.is_file() or shared.is_file() else [finding("SC200", str(shared))]
