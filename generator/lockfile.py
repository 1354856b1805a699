"""Cargo.lock as a graph of packages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ScaffoldError
from .tomlfile import load_toml


@dataclass(frozen=True)
class LockedPackage:
    """One `[[package]]` entry of Cargo.lock."""

    name: str
    version: str
    local: bool  # a path package (workspace member), not from a registry or git
    dependencies: tuple[str, ...]  # keys of other LockedPackages


@dataclass(frozen=True)
class Lock:
    """Cargo.lock's packages."""

    packages: dict[str, LockedPackage]  # key "name version" -> package

    def named(self, name: str) -> list[LockedPackage]:
        return [p for p in self.packages.values() if p.name == name]


def read_lock(path: Path) -> Lock:
    data = load_toml(path)
    entries = data.get("package")
    # Every lock lists at least the package it was made for, so no [[package]] means not a lock.
    if not entries or not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
        raise ScaffoldError(
            f"{path}: not a Cargo.lock ([[package]] entries with names); regenerate it with `cargo generate-lockfile`"
        )
    versions: dict[str, list[str]] = {}
    for entry in entries:
        versions.setdefault(str(entry["name"]), []).append(str(entry.get("version", "")))
    packages = {}
    for entry in entries:
        name, version = str(entry["name"]), str(entry.get("version", ""))
        specs = entry.get("dependencies", [])
        if not isinstance(specs, list) or not all(isinstance(spec, str) and spec.split() for spec in specs):
            raise ScaffoldError(
                f"{path}: {name} has `dependencies` that are not a list of package names; "
                "regenerate it with `cargo generate-lockfile`"
            )
        deps = tuple(_key(path, spec, versions) for spec in specs)
        packages[f"{name} {version}"] = LockedPackage(name, version, "source" not in entry, deps)
    for package in packages.values():
        missing = next((d for d in package.dependencies if d not in packages), None)
        if missing:
            raise ScaffoldError(
                f"{path}: {package.name} {package.version} depends on `{missing}`, which the lock does not list; "
                "regenerate it with `cargo generate-lockfile`"
            )
    return Lock(packages)


def _key(path: Path, spec: str, versions: dict[str, list[str]]) -> str:
    parts = str(spec).split()
    name = parts[0]
    known = versions.get(name, [])
    if len(parts) > 1:
        return f"{name} {parts[1]}"
    if len(known) != 1:
        raise ScaffoldError(
            f"{path}: dependency `{spec}` does not name one locked package; regenerate the lock with cargo"
        )
    return f"{name} {known[0]}"
