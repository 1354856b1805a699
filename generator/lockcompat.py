"""Locked dependency releases known not to compile on newer Rust releases.

A published crate's Cargo.lock is built as it is (`cargo build --locked`), so an old lock can hold a
release of a dependency that a later Rust no longer compiles. Rust 1.80 added `FromIterator` impls
for `Box<str>`, and `time` 0.3.18 to 0.3.34 stop compiling there (error E0282 in
`format_description/parse`; checked on Rust 1.95: 0.3.17 and 0.3.35 compile); rathole 0.5.0's lock
holds time 0.3.29. The build then fails after
minutes, deep in a dependency: scaffold says so before it starts, with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import rustrelease
from .lockfile import Lock


@dataclass(frozen=True)
class Breakage:
    crate: str
    broken_from: str  # the first affected release of the crate
    fixed_in: str  # the first release that compiles again
    rust: str  # the first Rust release that no longer compiles the affected ones
    error: str


BREAKAGES = (
    Breakage("time", "0.3.18", "0.3.35", "1.80", "error E0282: type annotations needed for `Box<_>`"),
)

_UNDATED = ("stable", "beta", "nightly")


def lock_warnings(lock: Lock | None, release: str, channel: str | None) -> list[str]:
    """Warnings for locked releases the build's Rust cannot compile.

    `release` is the Rust cargo runs (plan_toolchain.cargo_runs); a `channel` installed on it (`stable`, `beta`, `nightly`)
    counts as the newest Rust, a dated one (`nightly-2024-01-01`) is not judged."""
    if lock is None or (channel is not None and channel not in _UNDATED):
        return []
    warnings = []
    for broken in BREAKAGES:
        if channel is None and rustrelease.key(release) < rustrelease.key(broken.rust):
            continue
        versions = sorted({p.version for p in lock.named(broken.crate) if not p.local and _affected(p.version, broken)},
                          key=rustrelease.key)
        if versions:
            rust = channel or f"Rust {release}"
            warnings.append(
                f"Cargo.lock holds {broken.crate} {', '.join(versions)}, which does not compile on Rust {broken.rust} and "
                f"later ({broken.error}), so the build with {rust} fails: run `cargo update -p {broken.crate}` "
                f"({broken.fixed_in} or later) and commit the lock, or pass --rust-version older than {broken.rust}"
            )
    return warnings


def _affected(version: str, broken: Breakage) -> bool:
    core = version.split("-")[0].split("+")[0]
    if not all(part.isdigit() for part in core.split(".")):
        return False
    return rustrelease.key(broken.broken_from) <= rustrelease.key(core) < rustrelease.key(broken.fixed_in)
