"""The build stage of the plan: the Cargo invocation, its environment and the skeleton's stubs.

Structured values only (arguments as a tuple, not a command line): the templates' filters quote
them for the shell.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ScaffoldError
from .inspect import Binary, ProjectFacts
from .manifest import Package
from .targets import Target

_PROFILES: dict[str, tuple[tuple[str, str], ...]] = {
    "as-is": (),
    "strip": (("CARGO_PROFILE_RELEASE_STRIP", "symbols"),),
    "speed": (
        ("CARGO_PROFILE_RELEASE_LTO", "fat"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        ("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
    ),
    "size": (
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z"),
        ("CARGO_PROFILE_RELEASE_LTO", "fat"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        ("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
    ),
}
# Roots kept wherever they are: they also cover path dependencies that are not workspace members.
_GENERIC_ROOTS = ("*/src/main.rs", "*/src/lib.rs")


@dataclass(frozen=True)
class CargoBuild:
    """How the builder stage runs cargo: the strategy, its arguments and the cache mounts."""

    strategy: str  # "cache-mount" or "skeleton"
    cargo_args: tuple[str, ...]  # identical in every cargo invocation, so the dependency layer is reused
    env: tuple[tuple[str, str], ...]  # CARGO_PROFILE_RELEASE_* tuning, SQLX_OFFLINE
    output: str  # the built binary inside the builder, relative to its /app
    cache_id: str  # prefix of the BuildKit cache mount ids
    stub_keep: tuple[str, ...]  # find(1) -path patterns of target roots kept (as stubs) in the skeleton
    stub_libs: tuple[str, ...]  # paths of library roots, emptied rather than given a main


def make_build(
    facts: ProjectFacts,
    binary: Binary,
    features: tuple[str, ...],
    strategy: str,
    optimize: str,
    cache_id: str,
    extra_bins: tuple[str, ...] = (),
) -> CargoBuild:
    """One cargo invocation for the binary and its companions (`--bin a --bin b`): built once, with the same flags."""
    args = ["--release"]
    if facts.lock is not None:
        args.append("--locked")
    args += ["-p", binary.package, "--bin", binary.name]
    for name in extra_bins:
        args += ["--bin", name]
    if features:
        args += ["--features", ",".join(features)]
    return CargoBuild(
        strategy=strategy,
        cargo_args=tuple(args),
        env=_PROFILES[optimize] + ((("SQLX_OFFLINE", "true"),) if facts.sqlx_offline else ()),
        output=f"target/release/{binary.name}",
        cache_id=cache_id,
        stub_keep=_stub_keep(facts),
        stub_libs=_stub_libs(facts),
    )


def _stub_keep(facts: ProjectFacts) -> tuple[str, ...]:
    """find(1) -path patterns of the files the skeleton keeps as stubs.

    Every root Cargo needs to load the workspace: each member's lib, bins and build script, and its
    explicitly declared targets. Exact paths rather than globs such as `*/src/bin/*.rs`, which in
    find's matching (`*` crosses `/`) would also keep the modules of multi-file binaries.
    """
    exact = {
        _find_literal(path)
        for _package, target, path in _member_targets(facts)
        if (target.kind in ("lib", "bin", "build-script") or target.explicit)
        and not any(fnmatch.fnmatchcase(path, g) for g in _GENERIC_ROOTS)
    }
    return _GENERIC_ROOTS + tuple(sorted(exact))


def _stub_libs(facts: ProjectFacts) -> tuple[str, ...]:
    return tuple(sorted({path for _package, target, path in _member_targets(facts) if target.kind == "lib"}))


def _member_targets(facts: ProjectFacts) -> Iterator[tuple[Package, Target, str]]:
    """(package, target, path) for every member target, path relative to the build context (`./...`)."""
    root = facts.root.resolve()
    for package in facts.workspace.members:
        for target in package.targets:
            absolute = (package.root / target.path).resolve()
            if not absolute.is_relative_to(root):
                raise ScaffoldError(
                    f"{package.manifest}: {target.kind} target `{target.name}` is at {absolute}, outside {root} "
                    "(the Docker build context); move it into the project"
                )
            yield package, target, "./" + absolute.relative_to(root).as_posix()


def _find_literal(path: str) -> str:
    """A path as a find(1) -path pattern that matches only itself."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", path)
