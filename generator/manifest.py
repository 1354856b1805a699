"""One package's Cargo.toml, read into typed facts with workspace inheritance applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cfg, rustrelease
from .errors import ScaffoldError, resolve
from .targets import Target, discover_targets

_INHERITABLE_METADATA = ("version", "description", "license", "repository", "homepage", "rust-version", "edition")
_DEPENDENCY_TABLES = (("dependencies", "normal"), ("build-dependencies", "build"), ("dev-dependencies", "dev"))


@dataclass(frozen=True)
class Dependency:
    """One dependency of a package, as its manifest declares it."""

    key: str  # the name this manifest uses for it (what features refer to)
    crate: str  # the package it resolves to (differs when renamed with `package = ...`)
    kind: str  # "normal", "build" or "dev"
    optional: bool
    default_features: bool
    features: tuple[str, ...]
    path: Path | None  # the dependency's directory, for path dependencies
    on_linux: bool  # false for `[target.'cfg(windows)'.dependencies]` and the like


@dataclass(frozen=True)
class Package:
    """A package, read from its Cargo.toml (workspace inheritance applied)."""

    name: str
    manifest: Path
    version: str
    edition: str
    description: str | None
    license: str | None
    repository: str | None
    homepage: str | None
    rust_version: str | None
    default_run: str | None
    targets: tuple[Target, ...]
    dependencies: tuple[Dependency, ...]
    features: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.manifest.parent

    @property
    def binaries(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind == "bin")


@dataclass(frozen=True)
class WorkspaceDefaults:
    """What members may inherit with `key.workspace = true`."""

    root: Path
    package: Mapping[str, Any]
    dependencies: Mapping[str, Any]


def read_package(manifest: Path, data: Mapping[str, Any], inherited: WorkspaceDefaults | None) -> Package:
    table = data.get("package")
    if not isinstance(table, dict):
        raise ScaffoldError(f"{manifest}: has no [package] table; point scaffold at a crate or a workspace root")
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ScaffoldError(f"{manifest}: [package] has no name; add `name = \"...\"`")
    metadata = {key: _inherit(manifest, key, table.get(key), inherited) for key in _INHERITABLE_METADATA}
    for key, value in metadata.items():
        if value is not None and not isinstance(value, str):
            raise ScaffoldError(f"{manifest}: `package.{key}` must be a string")
    edition = metadata["edition"] or "2015"
    default_run = table.get("default-run")
    rust_version = _text(metadata["rust-version"])
    if rust_version is not None and not rustrelease.is_msrv(rust_version):
        raise ScaffoldError(f"{manifest}: `rust-version = \"{rust_version}\"` is not a Rust release such as 1.80 or 1.80.1; fix it")
    return Package(
        name=name,
        manifest=manifest,
        version=metadata["version"] or "0.0.0",
        edition=edition,
        description=_text(metadata["description"]),
        license=_text(metadata["license"]),
        repository=_text(metadata["repository"]),
        homepage=_text(metadata["homepage"]),
        rust_version=rust_version,
        default_run=default_run if isinstance(default_run, str) else None,
        targets=discover_targets(manifest, name, edition, data),
        dependencies=tuple(_read_dependencies(manifest, data, inherited)),
        features={str(k): _strings(manifest, f"feature `{k}`", vs) for k, vs in _table(manifest, data, "features").items()},
    )


# What Cargo accepts for `rust-version` (no pre-release or build suffix), with sane lengths.


def _text(value: Any) -> str | None:
    return " ".join(value.split()) if isinstance(value, str) and value.strip() else None


def _strings(manifest: Path, what: str, value: Any) -> tuple[str, ...]:
    """A list of strings (feature lists, `features = [...]`), as Cargo requires."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScaffoldError(f"{manifest}: {what} must be a list of strings")
    return tuple(value)


def _table(manifest: Path, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScaffoldError(f"{manifest}: `{key}` must be a table")
    return value


def _inherit(manifest: Path, key: str, value: Any, inherited: WorkspaceDefaults | None) -> Any:
    if not (isinstance(value, dict) and value.get("workspace") is True):
        return value
    if inherited is None or key not in inherited.package:
        raise ScaffoldError(
            f"{manifest}: `{key}.workspace = true` but the workspace root has no [workspace.package] {key}; "
            "add it there or set the value in this package"
        )
    return inherited.package[key]


def _read_dependencies(manifest: Path, data: Mapping[str, Any], inherited: WorkspaceDefaults | None):
    sections: list[tuple[Mapping[str, Any], bool]] = [(data, True)]
    for spec, target_table in _table(manifest, data, "target").items():
        if isinstance(target_table, dict):
            sections.append((target_table, cfg.applies_to_linux(spec)))
    for section, on_linux in sections:
        for table_name, kind in _DEPENDENCY_TABLES:
            for key, spec in _table(manifest, section, table_name).items():
                yield _read_dependency(manifest, str(key), spec, kind, on_linux, inherited)


def _read_dependency(manifest: Path, key: str, spec: Any, kind: str, on_linux: bool, inherited: WorkspaceDefaults | None) -> Dependency:
    base_dir = manifest.parent
    if isinstance(spec, dict) and spec.get("workspace") is True:
        if inherited is None or key not in inherited.dependencies:
            raise ScaffoldError(
                f"{manifest}: dependency `{key}` says `workspace = true` but [workspace.dependencies] has no `{key}`; "
                "add it to the workspace root's Cargo.toml"
            )
        shared = inherited.dependencies[key]
        root_manifest = inherited.root / "Cargo.toml"
        if isinstance(shared, str):
            shared = {"version": shared}
        if not isinstance(shared, dict):
            raise ScaffoldError(f"{root_manifest}: [workspace.dependencies] `{key}` must be a version string or a table")
        what = f"dependency `{key}` features"
        features = [*_strings(root_manifest, what, shared.get("features", [])), *_strings(manifest, what, spec.get("features", []))]
        spec = {**shared, "optional": spec.get("optional", False), "features": features}
        base_dir = inherited.root
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise ScaffoldError(f"{manifest}: dependency `{key}` must be a version string or a table")
    path, package = spec.get("path"), spec.get("package", key)
    if path is not None and (not isinstance(path, str) or "\0" in path):
        raise ScaffoldError(f"{manifest}: dependency `{key}` has a `path` that is not a usable path string")
    if not isinstance(package, str):
        raise ScaffoldError(f"{manifest}: dependency `{key}` has a `package` that is not a string")
    return Dependency(
        key=key,
        crate=package,
        kind=kind,
        optional=bool(spec.get("optional", False)),
        default_features=bool(spec.get("default-features", spec.get("default_features", True))),
        features=_strings(manifest, f"dependency `{key}` features", spec.get("features", [])),
        path=resolve(base_dir / path, f"path of dependency `{key}` in {manifest}") if path is not None else None,
        on_linux=on_linux,
    )
