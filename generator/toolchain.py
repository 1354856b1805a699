"""Toolchain pins (rust-toolchain files) and Cargo configuration that changes how a build links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cfg, rustrelease
from .errors import ScaffoldError
from .tomlfile import TOOLCHAIN_FILE, load_toml, read_text

_LINKER_PACKAGES = (("clang", "clang"), ("lld", "lld"), ("mold", "mold"))
CONTAINER_HOST = "x86_64-unknown-linux-gnu"  # the build image's host triple


@dataclass(frozen=True)
class Toolchain:
    """What a rust-toolchain file pins."""

    channel: str | None  # None when the file pins components or targets only
    file: str  # relative to the workspace root
    components: tuple[str, ...] = ()  # what `rustup toolchain install` adds from the file
    targets: tuple[str, ...] = ()
    profile: str | None = None

    @property
    def version(self) -> str | None:
        """The release the channel names (1.95, 1.95.0, also with the container's host triple), else None
        (stable, nightly-...)."""
        release = (self.channel or "").removesuffix(f"-{CONTAINER_HOST}")
        return release if rustrelease.is_release(release) else None


@dataclass(frozen=True)
class CargoConfig:
    """What the project's .cargo/config.toml sets that the build needs to know."""

    file: str | None
    build_target: str | None
    linker_packages: tuple[str, ...]  # Debian packages the configured linker needs


def read_toolchain(root: Path) -> Toolchain | None:
    for name in ("rust-toolchain.toml", "rust-toolchain"):
        path = root / name
        if not path.exists() and not path.is_symlink():
            continue
        if name == "rust-toolchain":
            lines = read_text(path, TOOLCHAIN_FILE).strip().splitlines()
            # The legacy format is the channel alone on one line; anything else must be TOML (as rustup reads it).
            if len(lines) == 1 and not any(mark in lines[0] for mark in "=[") and not lines[0].lstrip().startswith("#"):
                return Toolchain(_channel(path, lines[0].strip()), name)
        data = load_toml(path, TOOLCHAIN_FILE)
        table = data.get("toolchain", {})
        table = table if isinstance(table, dict) else {}
        channel = table.get("channel")
        if channel is not None and not isinstance(channel, str):
            raise ScaffoldError(f"{path}: `toolchain.channel` must be a string such as \"1.95.0\" or \"stable\"")
        profile = table.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise ScaffoldError(f"{path}: `toolchain.profile` must be a string such as \"minimal\"")
        return Toolchain(
            _channel(path, channel) if channel else None, name,
            _names(path, table, "components"), _names(path, table, "targets"), profile,
        )
    return None


def _names(path: Path, table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScaffoldError(f"{path}: `toolchain.{key}` must be a list of strings such as [\"clippy\"]")
    return tuple(value)


def read_cargo_config(root: Path) -> CargoConfig:
    # Cargo reads the extension-less file when both exist.
    for name in (".cargo/config", ".cargo/config.toml"):
        path = root / name
        if path.exists() or path.is_symlink():
            return _config(load_toml(path), name)
    return CargoConfig(None, None, ())


def _config(data: dict[str, Any], name: str) -> CargoConfig:
    build = data.get("build", {}) if isinstance(data.get("build"), dict) else {}
    target = build.get("target")
    if isinstance(target, list):
        target = target[0] if len(target) == 1 else ",".join(map(str, target))
    words = _flags(build.get("rustflags"))
    targets = data.get("target", {})
    for spec, table in (targets if isinstance(targets, dict) else {}).items():
        if isinstance(table, dict) and cfg.applies_to_linux(spec) and "musl" not in spec:
            words.append(str(table.get("linker", "")))
            words.extend(_flags(table.get("rustflags")))
    text = " ".join(words)
    packages = tuple(pkg for needle, pkg in _LINKER_PACKAGES if re.search(rf"(^|[=/\s]){needle}\b", text))
    return CargoConfig(name, str(target) if target else None, packages)


def _flags(value: object) -> list[str]:
    """rustflags may be a list of arguments or one space-separated string."""
    if isinstance(value, list):
        return [str(f) for f in value]
    return value.split() if isinstance(value, str) else []


# rustup's channel names: a release, stable/beta/nightly (optionally dated), with an optional host triple.
_CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def _channel(path: Path, channel: str) -> str:
    if not _CHANNEL.match(channel):
        shown = channel if len(channel) <= 40 else channel[:40] + "..."
        examples = "1.95.0, stable or nightly-2025-01-01"
        raise ScaffoldError(f"{path}: {shown!r} is not a toolchain name such as {examples}; fix it")
    return channel
