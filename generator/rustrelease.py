"""Rust release numbers: the one place that says what a release looks like and how releases order.

A pinned release (`1.95`, `1.95.0`) names a toolchain and an official image tag: toolchain files,
`--rust-version`. A `rust-version` (MSRV) in Cargo.toml may be shorter (`1`), as Cargo allows.
A channel (`stable`, `beta`, `nightly`, `nightly-2026-01-30`) names a toolchain but no image tag.
"""

from __future__ import annotations

import re

RELEASE = re.compile(r"^\d+\.\d+(\.\d+)?$")
MSRV = re.compile(r"^\d{1,4}(\.\d{1,4}){0,2}$")
CHANNEL = re.compile(r"^(stable|beta|nightly|nightly-\d{4}-\d{2}-\d{2})$")
# What --rust-version accepts: a release (an image tag) or a channel (installed on the baseline image).
RUST_VERSION = re.compile(r"^(\d+\.\d+(\.\d+)?|stable|beta|nightly|nightly-\d{4}-\d{2}-\d{2})$")


def is_release(text: str) -> bool:
    return RELEASE.match(text) is not None


def is_channel(text: str) -> bool:
    return CHANNEL.match(text) is not None


def satisfies(release: str, pin: str) -> bool:
    """Whether an image of `release` holds the toolchain `pin` names: `1.95` is met by 1.95 and 1.95.2,
    `1.95.0` only by 1.95.0 (an image tagged 1.95 may hold a later patch release)."""
    ours, wanted = key(release), key(pin)
    return len(ours) >= len(wanted) and ours[: len(wanted)] == wanted


def is_msrv(text: str) -> bool:
    return MSRV.match(text) is not None


def key(version: str) -> tuple[int, ...]:
    """An ordering key: (1, 95, 0) for 1.95.0."""
    # Long digit runs are capped: int() refuses strings past 4300 digits, and no release gets near 18.
    return tuple(int(part[:18]) for part in re.findall(r"\d+", version)[:3])
