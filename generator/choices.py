"""Choices made from the facts alone: which binary is meant and which Rust release builds it.

Both answer resolution (to record what was inferred) and the plan (to act on it) need them, so
they live here, below both: answers never reach into the plan.
"""

from __future__ import annotations

import re

from . import rustrelease
from .errors import UsageError
from .inspect import Binary, ProjectFacts

_PLAIN_NAME = re.compile(r"^\w[\w+.-]*$")


def shown_name(name: str) -> str:
    """A package or binary name for a one-line message: quoted (line breaks escaped) unless it is a plain one."""
    return name if _PLAIN_NAME.match(name) else repr(name)


# The Rust release the templates are known to build with; older MSRVs still get this one.
BASELINE_RUST = "1.95"


def choose_binary(facts: ProjectFacts, package: str | None, name: str | None) -> Binary:
    """The binary `--package`/`--bin` select, else the inspector's primary one; UsageError with the choices."""
    candidates = [b for b in facts.binaries if package in (None, b.package)]
    if package and not candidates:
        known = sorted({b.package for b in facts.binaries})
        choices = ", ".join(map(shown_name, known))
        raise UsageError(f"--package {shown_name(package)}: no such package with a binary; choose one of {choices}")
    if name:
        chosen = [b for b in candidates if b.name == name]
        if not chosen:
            raise UsageError(f"--bin {shown_name(name)}: no such binary; choose one of {_listing(candidates)}")
        if len(chosen) > 1:
            packages = ", ".join(shown_name(b.package) for b in chosen)
            raise UsageError(f"--bin {shown_name(name)} is in several packages; add --package ({packages})")
        return chosen[0]
    if package and len(candidates) == 1:
        return candidates[0]
    default = facts.default_binary
    if default and default in candidates:
        return default
    raise UsageError(f"several binaries could be the one to run; pick one with --bin: {_listing(candidates)}")


def choose_extra_bins(facts: ProjectFacts, main: Binary, names: tuple[str, ...]) -> tuple[Binary, ...]:
    """The `--extra-bin` binaries: of the main binary's own package only.

    They join the main binary's `cargo build` (`--bin a --bin b`, one set of flags). Cargo unifies features
    across everything one invocation builds, so a binary of another package (`-p other`) could change which
    features the main binary is built with, and so what it does; such a binary needs its own build.
    """
    chosen: list[Binary] = []
    own = [b for b in facts.binaries if b.package == main.package and b.name != main.name]
    for name in names:
        if name == main.name:
            raise UsageError(f"--extra-bin {name}: {name} is the binary the image runs already; give the other binaries only")
        found = [b for b in own if b.name == name]
        if not found:
            elsewhere = sorted({b.package for b in facts.binaries if b.name == name})
            if elsewhere:
                raise UsageError(
                    f"--extra-bin {name}: it is in package {', '.join(elsewhere)}, not {main.package}; only binaries of the main "
                    "binary's package are built alongside it, because cargo unifies features across the packages of one build "
                    "and could build the main binary with other features than it has alone"
                )
            others = ", ".join(b.name for b in own) or "none"
            raise UsageError(f"--extra-bin {name}: package {main.package} has no such binary; its other binaries: {others}")
        if found[0] not in chosen:
            chosen.append(found[0])
    return tuple(chosen)


def default_rust_version(facts: ProjectFacts, binary: Binary) -> str:
    """The toolchain pin, else the newest of the binary's MSRV and our baseline."""
    if facts.toolchain and facts.toolchain.version:
        return facts.toolchain.version
    return baseline_release(facts, binary)


def baseline_release(facts: ProjectFacts, binary: Binary) -> str:
    """The newest of the binary's MSRV and our baseline: the image a channel is installed on."""
    msrv = facts.rust_version(binary)
    return max((BASELINE_RUST, msrv or BASELINE_RUST), key=rustrelease.key)


def rust_version_reason(facts: ProjectFacts, binary: Binary) -> str:
    """Why default_rust_version chose what it did, for `inspect`."""
    if facts.toolchain and facts.toolchain.version:
        return f"pinned by {facts.toolchain.file}"
    msrv = facts.rust_version(binary)
    if msrv and rustrelease.key(msrv) > rustrelease.key(BASELINE_RUST):
        return f"the rust-version (MSRV) {msrv}"
    older = f"; the rust-version {msrv} is older" if msrv else "; no rust-version declared"
    return f"scaffold's tested release{older}"


def _listing(binaries: list[Binary]) -> str:
    shown = [f"{shown_name(b.name)} (package {shown_name(b.package)})" for b in binaries[:12]]
    more = f" and {len(binaries) - 12} more" if len(binaries) > 12 else ""
    return ", ".join(shown) + more
