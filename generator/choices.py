"""Choices made from the facts alone: which binary is meant and which Rust release builds it.

Both answer resolution (to record what was inferred) and the plan (to act on it) need them, so
they live here, below both: answers never reach into the plan.
"""

from __future__ import annotations

from . import rustrelease
from .errors import UsageError
from .inspect import Binary, ProjectFacts

# The Rust release the templates are known to build with; older MSRVs still get this one.
BASELINE_RUST = "1.95"


def choose_binary(facts: ProjectFacts, package: str | None, name: str | None) -> Binary:
    """The binary `--package`/`--bin` select, else the inspector's primary one; UsageError with the choices."""
    candidates = [b for b in facts.binaries if package in (None, b.package)]
    if package and not candidates:
        known = sorted({b.package for b in facts.binaries})
        raise UsageError(f"--package {package}: no such package with a binary; choose one of {', '.join(known)}")
    if name:
        chosen = [b for b in candidates if b.name == name]
        if not chosen:
            raise UsageError(f"--bin {name}: no such binary; choose one of {_listing(candidates)}")
        if len(chosen) > 1:
            raise UsageError(f"--bin {name} is in several packages; add --package ({', '.join(b.package for b in chosen)})")
        return chosen[0]
    if package and len(candidates) == 1:
        return candidates[0]
    default = facts.default_binary
    if default and default in candidates:
        return default
    raise UsageError(f"several binaries could be the one to run; pick one with --bin: {_listing(candidates)}")


def default_rust_version(facts: ProjectFacts, binary: Binary) -> str:
    """The toolchain pin, else the newest of the binary's MSRV and our baseline."""
    if facts.toolchain and facts.toolchain.version:
        return facts.toolchain.version
    return baseline_release(facts, binary)


def baseline_release(facts: ProjectFacts, binary: Binary) -> str:
    """The newest of the binary's MSRV and our baseline: the image a channel is installed on."""
    msrv = facts.rust_version(binary)
    return max((BASELINE_RUST, msrv or BASELINE_RUST), key=rustrelease.key)


def _listing(binaries: list[Binary]) -> str:
    shown = [f"{b.name} (package {b.package})" for b in binaries[:12]]
    more = f" and {len(binaries) - 12} more" if len(binaries) > 12 else ""
    return ", ".join(shown) + more
