"""Stage 1: read a Rust project into facts. Reads files; decides nothing about the output.

System packages ask cargo which crates a build compiles (cargoresolve.py), which runs cargo offline
and is cached; `ask_cargo=False` keeps to the lock walk, for callers that inspect many throwaway projects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import binsignals, features, rustrelease, syspackages
from .buildinputs import BuildInputs, private_dependency_warnings, scan_build_inputs, submodule_warnings
from .cargoresolve import Compiled, Query, Unanswered, compiled_crates, container_target
from .errors import ScaffoldError
from .lockfile import Lock, read_lock
from .manifest import Package
from .syspackages import SystemPackages
from .toolchain import CargoConfig, Toolchain, read_cargo_config, read_toolchain
from .workspace import Workspace, load_workspace

_SUPPORTED_TARGETS = {"x86_64-unknown-linux-gnu"}


@dataclass(frozen=True)
class Binary:
    """A binary target of a workspace member, one the Dockerfile can build and install."""

    package: str
    name: str
    manifest: str  # relative to the workspace root
    required_features: tuple[str, ...]
    builds_by_default: bool  # its required features are on without --features


@dataclass(frozen=True)
class ProjectFacts:
    """What inspection found in the project: stage 1's result, which planning reads."""

    kind: str  # "application", "library" or "unsupported"
    workspace: Workspace
    binaries: tuple[Binary, ...]
    default_binary: Binary | None
    toolchain: Toolchain | None
    cargo_config: CargoConfig
    lock: Lock | None
    sqlx_offline: bool  # committed .sqlx query data: build with SQLX_OFFLINE=true
    unsupported_reason: str | None
    warnings: tuple[str, ...]
    build_inputs: BuildInputs  # files the members' sources read (include_bytes! and the like)
    ask_cargo: bool = True  # system packages from cargo's own resolution where it can answer
    default_reason: str = ""  # why default_binary is the one (or, with none, why none is)

    @property
    def root(self) -> Path:
        return self.workspace.root

    def binary(self, name: str, package: str | None = None) -> Binary | None:
        found = [b for b in self.binaries if b.name == name and package in (None, b.package)]
        return found[0] if len(found) == 1 else None

    def rust_version(self, binary: Binary | None) -> str | None:
        """The MSRV that applies: the binary's package's, else the highest a member declares."""
        if binary is not None:
            package = self.workspace.package(binary.package)
            if package and package.rust_version:
                return package.rust_version
        versions = [p.rust_version for p in self.workspace.members if p.rust_version]
        return max(versions, key=rustrelease.key) if versions else None

    def system_packages(
        self, binary: Binary | None, extra_features: tuple[str, ...] = (), musl: bool = False
    ) -> SystemPackages:
        """What building `binary` for a musl or glibc container needs; with no binary, what every candidate needs."""
        if binary is not None:
            wanted = (*binary.required_features, *extra_features)
            return self._packages_for(binary.package, wanted, self._ask_cargo(binary.package, wanted, musl))
        candidates = [b for b in self.binaries if b.builds_by_default] or list(self.binaries)
        if not candidates:
            return SystemPackages((), (), ())
        each, answer = [], None
        for package, required in sorted({(b.package, b.required_features) for b in candidates}):
            # Where cargo cannot resolve offline it cannot for any package of the workspace: ask once.
            answer = answer if isinstance(answer, Unanswered) else self._ask_cargo(package, required, musl)
            each.append(self._packages_for(package, required, answer))
        build = [p for p in each[0].build if all(p in other.build for other in each)]
        runtime = [p for p in each[0].runtime if all(p in other.runtime for other in each)]
        notes = [note for packages in each for note in packages.warnings]
        if any(set(other.build) != set(build) or set(other.runtime) != set(runtime) for other in each):
            notes.append("no binary chosen: these are the packages every candidate needs; pass --bin for the exact list")
        needed_by = tuple(dict.fromkeys(pair for packages in each for pair in packages.needed_by if pair[0] in (*build, *runtime)))
        return SystemPackages(tuple(build), tuple(runtime), _unique(notes), needed_by)

    def _ask_cargo(self, package: str, wanted: tuple[str, ...], musl: bool) -> Compiled | Unanswered | None:
        """Cargo's resolution of `package` with `wanted` features for the container's target; None: not asked."""
        if not self.ask_cargo:
            return None
        return compiled_crates(Query(self.root, package, tuple(dict.fromkeys(wanted)), True, container_target(musl)))

    def _packages_for(
        self, package: str, wanted: tuple[str, ...], answer: Compiled | Unanswered | None
    ) -> SystemPackages:
        """Cargo's answer when it has one; else the lock walk (or, without a lock, the direct dependencies)."""
        linker = self.cargo_config.linker_packages
        if isinstance(answer, Compiled):
            notes = () if answer.locked else (syspackages.NO_LOCK_CACHED,)
            return syspackages.packages(syspackages.needs_from_cargo(answer), linker, notes)
        notes = (syspackages.fallback_note(answer.reason),) if answer else ()
        members = self.workspace.members
        active = features.resolve(members, {package: frozenset({"default", *wanted})}, all_features=False)
        if self.lock is None:
            needs = syspackages.needs_from_manifests(active)
            return syspackages.packages(needs, linker, (syspackages.NO_LOCK_GUESS, *notes))
        everything = features.resolve(members, {p.name: frozenset({"default"}) for p in members}, all_features=True)
        needs = syspackages.needs_from_lock(self.lock, active, everything)
        return syspackages.packages(needs, linker, notes)


def inspect_project(path: Path, ask_cargo: bool = True) -> ProjectFacts:
    workspace = load_workspace(path)
    root = workspace.root
    warnings = list(workspace.warnings)
    toolchain = read_toolchain(root)
    cargo_config = read_cargo_config(root)
    lock_path = root / "Cargo.lock"
    lock = read_lock(lock_path) if lock_path.exists() or lock_path.is_symlink() else None
    if lock is None:
        warnings.append("no Cargo.lock: builds are not reproducible; run `cargo generate-lockfile` and commit it")

    scope = (workspace.selected,) if workspace.selected else workspace.members
    binaries = tuple(_binary(root, package, target) for package in scope for target in package.binaries)
    default, why, warning = binsignals.choose(workspace, binaries)
    if warning:
        warnings.append(warning)

    unsupported = None
    if cargo_config.build_target and cargo_config.build_target not in _SUPPORTED_TARGETS:
        unsupported = (
            f"{cargo_config.file} sets build.target = {cargo_config.build_target}; scaffold builds for the "
            "container's own Linux target only"
        )
    kind = "unsupported" if unsupported else ("application" if binaries else "library")
    sqlx = (root / ".sqlx").is_dir() and lock is not None and bool(lock.named("sqlx-macros"))
    build_inputs = scan_build_inputs(root, workspace.members)
    warnings += build_inputs.warnings
    warnings += submodule_warnings(root) + private_dependency_warnings(root, workspace.members)
    return ProjectFacts(
        kind, workspace, binaries, default, toolchain, cargo_config, lock, sqlx, unsupported, tuple(warnings),
        build_inputs, ask_cargo, why,
    )


def _binary(root: Path, package: Package, target) -> Binary:
    enabled = features.enabled_features(package, {"default"})
    return Binary(
        package=package.name,
        name=target.name,
        manifest=str(package.manifest.relative_to(root)),
        required_features=target.required_features,
        builds_by_default=set(target.required_features) <= enabled,
    )


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def require_application(facts: ProjectFacts) -> None:
    if facts.kind == "unsupported":
        raise ScaffoldError(f"{facts.root}: {facts.unsupported_reason}; remove it or build outside Docker")
    if facts.kind == "library":
        raise ScaffoldError(
            f"{facts.root}: library-only project (no binary targets), so there is nothing to run in a container; "
            "add a [[bin]] or src/main.rs, or point scaffold at the crate that has one"
        )
