"""Cargo's target discovery for one package: which lib, bins and build script it has, and where.

Follows Cargo's rules: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs` and `src/bin/*/main.rs` are
inferred unless `autobins`/`autolib` say otherwise; explicit `[[bin]]` entries replace inferred ones
with the same name or the same file; a 2015-edition package that declares any `[[bin]]` infers none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ScaffoldError, broken_symlink

_EXPLICIT_KINDS = (("bin", "bin", "src/bin"), ("example", "example", "examples"), ("test", "test", "tests"), ("bench", "bench", "benches"))


@dataclass(frozen=True)
class Target:
    """A Cargo target of a package (lib, bin, build script, example, test or bench)."""

    kind: str  # "lib", "bin", "build-script", "example", "test" or "bench"
    name: str
    path: str  # relative to the package directory, with forward slashes
    required_features: tuple[str, ...] = ()
    explicit: bool = False  # declared in Cargo.toml: its file must exist for Cargo to load the package


def discover_targets(manifest: Path, package: str, edition: str, data: Mapping[str, Any]) -> tuple[Target, ...]:
    root = manifest.parent
    table = data.get("package", {})
    targets: list[Target] = []
    lib = _library(manifest, root, package, data)
    if lib:
        targets.append(lib)
    targets.extend(_binaries(manifest, root, package, edition, table, data))
    build = _build_script(manifest, root, table)
    if build:
        targets.append(build)
    for key, kind, folder in _EXPLICIT_KINDS[1:]:
        for entry in _entries(manifest, data, key):
            name = _name(manifest, key, entry)
            targets.append(Target(kind, name, _explicit_path(manifest, root, entry, name, folder), explicit=True))
    return tuple(targets)


def _library(manifest: Path, root: Path, package: str, data: Mapping[str, Any]) -> Target | None:
    table = data.get("lib")
    name = package.replace("-", "_")
    if isinstance(table, dict):
        path = _path_value(manifest, "[lib] `path`", table.get("path", "src/lib.rs"))
        lib_name = table.get("name", name)
        if not isinstance(lib_name, str) or not lib_name:
            raise ScaffoldError(f"{manifest}: [lib] `name` must be a non-empty string")
        if "path" in table and not (root / path).is_file():
            raise ScaffoldError(f"{manifest}: [lib] points to {path}, which is not a file; fix its `path` or add the file")
        return Target("lib", lib_name, path, explicit="path" in table)
    autolib = data.get("package", {}).get("autolib", True)
    if autolib and (root / "src" / "lib.rs").is_file():
        return Target("lib", name, "src/lib.rs")
    return None


def _binaries(manifest: Path, root: Path, package: str, edition: str, table: Mapping[str, Any], data: Mapping[str, Any]) -> list[Target]:
    explicit = []
    for entry in _entries(manifest, data, "bin"):
        name = _name(manifest, "bin", entry)
        path = _path_value(manifest, f"[[bin]] `{name}` `path`", entry.get("path")) or _default_bin_path(root, name, package)
        if not (root / path).is_file():
            problem = "leads nowhere (a symlink loop or a missing target)" if broken_symlink(root / path) else "does not exist"
            raise ScaffoldError(
                f"{manifest}: [[bin]] `{name}` points to {path}, which {problem}; fix its `path` or add the file"
            )
        features = _required_features(manifest, name, entry)
        explicit.append(Target("bin", name, str(path), features, explicit=True))
    autobins = table.get("autobins", True) and not (edition == "2015" and explicit)
    inferred = _inferred_binaries(root, package) if autobins else []
    taken_names = {t.name for t in explicit}
    taken_paths = {_normal(t.path) for t in explicit}
    return explicit + [t for t in inferred if t.name not in taken_names and _normal(t.path) not in taken_paths]


def _inferred_binaries(root: Path, package: str) -> list[Target]:
    found = []
    if (root / "src" / "main.rs").is_file():
        found.append(Target("bin", package, "src/main.rs"))
    bin_dir = root / "src" / "bin"
    if bin_dir.is_dir():
        try:
            entries = sorted(bin_dir.iterdir())
        except OSError as exc:
            raise ScaffoldError(f"{bin_dir}: cannot list it ({exc.strerror or exc}); check its permissions") from None
        for entry in entries:
            if entry.suffix == ".rs" and broken_symlink(entry):
                raise ScaffoldError(
                    f"{entry}: a symlink that leads nowhere (a loop or a missing target), so Cargo cannot build it; "
                    "fix or remove it"
                )
            if entry.is_file() and entry.suffix == ".rs":
                found.append(Target("bin", entry.stem, f"src/bin/{entry.name}"))
            elif entry.is_dir() and (entry / "main.rs").is_file():
                found.append(Target("bin", entry.name, f"src/bin/{entry.name}/main.rs"))
    return found


def _default_bin_path(root: Path, name: str, package: str) -> str:
    for candidate in (f"src/bin/{name}.rs", f"src/bin/{name}/main.rs"):
        if (root / candidate).is_file():
            return candidate
    return "src/main.rs" if name == package else f"src/bin/{name}.rs"


def _build_script(manifest: Path, root: Path, table: Mapping[str, Any]) -> Target | None:
    build = table.get("build")
    if build is False:
        return None
    if isinstance(build, str):
        build = _path_value(manifest, "`package.build`", build)
        if not (root / build).is_file():
            raise ScaffoldError(f"{manifest}: `build = \"{build}\"` but that file does not exist; fix the path or add it")
        return Target("build-script", "build-script-build", build, explicit=True)
    if (root / "build.rs").is_file():
        return Target("build-script", "build-script-build", "build.rs", explicit=build is True)
    return None


def _explicit_path(manifest: Path, root: Path, entry: Mapping[str, Any], name: str, folder: str) -> str:
    if "path" in entry:
        path = _path_value(manifest, f"target `{name}` `path`", entry["path"])
        if broken_symlink(root / path):
            raise ScaffoldError(f"{manifest}: target `{name}` points to {path}, a symlink that leads nowhere; fix or remove it")
        return path
    nested = f"{folder}/{name}/main.rs"
    return nested if (root / nested).is_file() else f"{folder}/{name}.rs"


def _entries(manifest: Path, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScaffoldError(f"{manifest}: `[[{key}]]` must be an array of tables")
    return entries


def _name(manifest: Path, key: str, entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ScaffoldError(f"{manifest}: a `[[{key}]]` entry has no name; add `name = \"...\"`")
    return name


def _path_value(manifest: Path, what: str, value: Any) -> Any:
    """A target path from Cargo.toml: a string Cargo and the file system can use (None passes through)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\0" in value:
        raise ScaffoldError(f"{manifest}: {what} must be a non-empty path string")
    return value


def _required_features(manifest: Path, name: str, entry: Mapping[str, Any]) -> tuple[str, ...]:
    value = entry.get("required-features", [])
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
        raise ScaffoldError(f"{manifest}: [[bin]] `{name}` `required-features` must be a list of strings")
    return tuple(value)


def _normal(path: str) -> str:
    return str(Path(path)).replace("\\", "/").removeprefix("./")
