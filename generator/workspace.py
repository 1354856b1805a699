"""Finding the workspace a path belongs to and its member packages, as Cargo does."""

from __future__ import annotations

import glob
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ScaffoldError, resolve
from .manifest import Package, WorkspaceDefaults, read_package
from .tomlfile import load_toml


@dataclass(frozen=True)
class Workspace:
    """The workspace (or single package) at a project's root."""

    root: Path
    members: tuple[Package, ...]  # every member, root package first when there is one
    default_members: tuple[str, ...]  # package names `cargo build` builds with no -p
    selected: Package | None  # the package PATH pointed at, when it is a member and not the root
    warnings: tuple[str, ...]

    def package(self, name: str) -> Package | None:
        return next((p for p in self.members if p.name == name), None)


def load_workspace(path: Path) -> Workspace:
    start = resolve(path, "the project folder")
    if not start.exists():
        raise ScaffoldError(f"{path}: no such directory; pass the folder that holds Cargo.toml")
    if not start.is_dir():
        raise ScaffoldError(f"{path}: not a directory; pass the folder that holds Cargo.toml, not a file in it")
    manifest = start / "Cargo.toml"
    if not manifest.exists() and not manifest.is_symlink():
        raise ScaffoldError(f"{path}: no Cargo.toml here; pass the folder of a Rust crate or workspace")
    data = load_toml(manifest)
    root, root_data = _find_root(manifest, data)
    return _read_members(root, root_data, selected_manifest=manifest if root != start else None)


def _find_root(manifest: Path, data: Mapping[str, Any]) -> tuple[Path, Mapping[str, Any]]:
    if "workspace" in data:
        return manifest.parent, data
    pointer = data.get("package", {}).get("workspace") if isinstance(data.get("package"), dict) else None
    if pointer is not None and not isinstance(pointer, str):
        raise ScaffoldError(f"{manifest}: `package.workspace` must be a path (a string)")
    if isinstance(pointer, str):
        root_manifest = resolve(manifest.parent / pointer / "Cargo.toml", f"`package.workspace` in {manifest}")
        root_data = load_toml(root_manifest)
        if not isinstance(root_data.get("workspace"), dict):
            raise ScaffoldError(
                f"{manifest}: `package.workspace = \"{pointer}\"` points at {root_manifest}, which has no [workspace] table; "
                "fix the path or add the table there"
            )
        return root_manifest.parent, root_data
    for parent in manifest.parent.parents:
        candidate = parent / "Cargo.toml"
        if candidate.is_file():
            candidate_data = load_toml(candidate)
            workspace = candidate_data.get("workspace")
            if isinstance(workspace, dict) and manifest.parent in _member_dirs(candidate, workspace, [])[0]:
                return parent, candidate_data
    return manifest.parent, data


def _read_members(root: Path, data: Mapping[str, Any], selected_manifest: Path | None) -> Workspace:
    manifest = root / "Cargo.toml"
    workspace = data.get("workspace")
    warnings: list[str] = []
    if workspace is None:
        package = read_package(manifest, data, None)
        return Workspace(root, (package,), (package.name,), None, ())
    if not isinstance(workspace, dict):
        raise ScaffoldError(f"{manifest}: `workspace` must be a table")
    for key in ("package", "dependencies"):
        if not isinstance(workspace.get(key, {}), dict):
            raise ScaffoldError(f"{manifest}: `workspace.{key}` must be a table")
    inherited = WorkspaceDefaults(
        root=root,
        package=workspace.get("package", {}),
        dependencies=workspace.get("dependencies", {}),
    )
    member_dirs, excluded = _member_dirs(manifest, workspace, warnings)
    packages: list[Package] = []
    queue = list(member_dirs)
    seen = {root}
    if "package" in data:
        packages.append(read_package(manifest, data, inherited))
        queue[:0] = _path_members(root, packages[0], excluded)
    while queue:
        directory = queue.pop(0)
        if directory in seen:
            continue
        seen.add(directory)
        member_manifest = directory / "Cargo.toml"
        member_data = load_toml(member_manifest)
        if "workspace" in member_data:
            warnings.append(f"{_rel(root, directory)} has its own [workspace]; it is a separate project and is left out")
            continue
        package = read_package(member_manifest, member_data, inherited)
        packages.append(package)
        queue.extend(_path_members(root, package, excluded))
    if not packages:
        unmatched = [w for w in warnings if w.startswith("workspace member pattern")]
        detail = f" ({'; '.join(unmatched)})" if unmatched else ""
        raise ScaffoldError(f"{manifest}: the workspace has no member packages{detail}; check `members`")
    defaults = _default_members(manifest, root, workspace, packages)
    selected = next((p for p in packages if p.manifest == selected_manifest), None)
    return Workspace(root, tuple(packages), defaults, selected, tuple(warnings))


def _path_members(root: Path, package: Package, excluded: set[Path]) -> list[Path]:
    """Path dependencies inside the workspace directory are members too (Cargo's rule)."""
    return [
        dep.path
        for dep in package.dependencies
        if dep.path
        and dep.path.is_relative_to(root)
        and not _is_excluded(dep.path, excluded)
        and (dep.path / "Cargo.toml").is_file()
    ]


def _is_excluded(directory: Path, excluded: set[Path]) -> bool:
    return any(directory == e or directory.is_relative_to(e) for e in excluded)


def _member_dirs(manifest: Path, workspace: Mapping[str, Any], warnings: list[str]) -> tuple[list[Path], set[Path]]:
    root = manifest.parent
    excluded = {resolve(root / e, f"workspace `exclude` in {manifest}") for e in _paths(manifest, workspace, "exclude")}
    dirs: list[Path] = []
    for pattern in _paths(manifest, workspace, "members"):
        matches = _expand(root, pattern, manifest)
        if not matches:
            warnings.append(f"workspace member pattern `{pattern}` in {manifest.name} matches no directory")
        for directory in matches:
            if not directory.is_relative_to(root):
                raise ScaffoldError(
                    f"{manifest}: member `{pattern}` is outside {root}; a Docker build sees only that folder, "
                    "so move the member inside it"
                )
            if _is_excluded(directory, excluded):
                continue
            if not (directory / "Cargo.toml").is_file():
                if glob.has_magic(pattern):
                    continue  # Cargo skips glob matches without a manifest
                raise ScaffoldError(f"{manifest}: member `{pattern}` has no Cargo.toml; fix the path or add the crate")
            if directory not in dirs:
                dirs.append(directory)
    return dirs, excluded


def _paths(manifest: Path, workspace: Mapping[str, Any], key: str) -> list[str]:
    """`members`, `exclude` or `default-members`: a list of path strings (Cargo rejects anything else)."""
    value = workspace.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScaffoldError(f"{manifest}: workspace `{key}` must be a list of paths (strings)")
    return value


def _expand(root: Path, pattern: str, manifest: Path) -> list[Path]:
    where = f"workspace member `{pattern}` in {manifest}"
    if "\0" in pattern:
        raise ScaffoldError(f"{manifest}: workspace member {pattern!r} is not a usable path")
    if glob.has_magic(pattern):
        # root_dir keeps glob characters in the root's own path (`[`, `*`) from being read as a pattern.
        try:
            found = glob.glob(pattern, root_dir=root)
        except (OSError, RecursionError) as exc:
            raise ScaffoldError(f"{manifest}: cannot expand workspace member `{pattern}` ({exc}); simplify the pattern") from None
        return sorted(resolve(root / p, where) for p in found if (root / p).is_dir())
    return [resolve(root / pattern, where)]


def _default_members(manifest: Path, root: Path, workspace: Mapping[str, Any], packages: list[Package]) -> tuple[str, ...]:
    if workspace.get("default-members") is None:
        root_package = next((p for p in packages if p.root == root), None)
        return (root_package.name,) if root_package else tuple(p.name for p in packages)
    patterns = _paths(manifest, workspace, "default-members")
    dirs = {d for pattern in patterns for d in _expand(root, pattern, manifest)}
    return tuple(p.name for p in packages if p.root in dirs)


def _rel(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
