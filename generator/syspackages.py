"""System packages a build needs, from the crates it compiles.

One explicit table maps crates to the Debian packages they need at build time and at run time;
the runtime table (runtimes.py) names them for other distros and says what an image already holds.
The crates compiled come from cargo itself where it can answer offline (cargoresolve.py): all of its
answer is sure. Otherwise Cargo.lock is walked from the dependencies the chosen package really
enables (see features.py); a crate reached only through a dependency whose features differ from
those the lock was resolved with is "unsure": reported in a warning, not installed. A difference
only in vendoring features (`vendored-openssl`) changes how a library is built, not whether it is
used, so it leaves the system library in and its source crate out.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cargoresolve import Compiled
from .features import Request, Resolution
from .lockfile import Lock


@dataclass(frozen=True)
class Requirement:
    """The system packages a crate needs to build and to run, and when it does not."""

    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()  # crates that supply the library themselves (vendored builds)
    not_through: tuple[str, ...] = ()  # crates that use it only optionally (bundled fallbacks)
    checked: bool = True  # built on rust:<v>-slim-bookworm by tools/syspackages_check.py (docs/syspackages-report.md)


# One line per crate. Build packages are what the crate's build needs on rust:<v>-slim-bookworm
# (gcc, libc6-dev and a minimal perl only); runtime ones own the libraries the binary links. Entries
# with no packages record a crate checked to need nothing. checked=False: not yet built by the check.
TABLE: dict[str, Requirement] = {
    "openssl-sys": Requirement(("pkg-config", "libssl-dev"), ("libssl3", "ca-certificates"), unless=("openssl-src",)),
    "openssl-src": Requirement(("make", "perl")),  # make alone fails: the image has perl-base only
    # The CA bundle is read when the binary runs: checked by running it without ca-certificates.
    "native-tls": Requirement(runtime=("ca-certificates",)),
    "rustls-native-certs": Requirement(runtime=("ca-certificates",)),
    "rustls-platform-verifier": Requirement(runtime=("ca-certificates",)),
    "ring": Requirement(),
    # aws-lc-sys lists cmake but builds with cc on Linux.
    "aws-lc-sys": Requirement(),
    "pq-sys": Requirement(("pkg-config", "libpq-dev"), ("libpq5",), unless=("pq-src",)),
    "prost-build": Requirement(("protobuf-compiler",), unless=("protoc-bin-vendored", "protobuf-src")),
    "tonic-build": Requirement(("protobuf-compiler",), unless=("protoc-bin-vendored", "protobuf-src")),
    "tonic-prost-build": Requirement(("protobuf-compiler",), unless=("protoc-bin-vendored", "protobuf-src")),
    "protoc-rust": Requirement(("protobuf-compiler",)),
    "protobuf-src": Requirement(("make", "g++")),  # plus cmake, through the cmake crate it builds with
    "bindgen": Requirement(("libclang-dev",)),  # libclang-dev pulls in clang's headers; the clang binary is not run
    # g++ because CMake enables C and C++ unless a project says otherwise (a C-only one builds without it).
    "cmake": Requirement(("cmake", "make", "g++"), not_through=("aws-lc-sys", "aws-lc-fips-sys")),
    "cxx-build": Requirement(("g++",), ("libstdc++6",)),
    "librocksdb-sys": Requirement(("g++",), ("libstdc++6",)),  # its bindgen needs libclang-dev too (bindgen's entry)
    "zstd-sys": Requirement(),
    "lz4-sys": Requirement(),
    "bzip2-sys": Requirement(),
    "tikv-jemalloc-sys": Requirement(("make",)),
    "jemalloc-sys": Requirement(("make",)),  # the unmaintained 0.5.4 still builds on 1.95
    # sqlx compiles SQLite in (bundled); the lock lists sqlx-sqlite even for Postgres-only builds.
    "libsqlite3-sys": Requirement(("pkg-config", "libsqlite3-dev"), ("libsqlite3-0",), not_through=("sqlx-sqlite",)),
    "mysqlclient-sys": Requirement(("pkg-config", "default-libmysqlclient-dev"), ("libmariadb3",)),
    "libudev-sys": Requirement(("pkg-config", "libudev-dev"), ("libudev1",)),
    "libdbus-sys": Requirement(("pkg-config", "libdbus-1-dev"), ("libdbus-1-3",)),
}


@dataclass(frozen=True)
class Need:
    """A crate of the build that needs system packages, and how it was reached."""

    crate: str
    requirement: Requirement
    sure: bool  # false: the lock lists it only behind features this build may not enable
    via: str  # the dependency of ours it comes through


# Crates that build a system library from source. A crate reached only because some feature asked for
# vendoring does not stand in for the system library in a build that does not ask for it.
VENDORED_SOURCES = frozenset(crate for requirement in TABLE.values() for crate in requirement.unless)


def is_vendoring_feature(feature: str) -> bool:
    """`vendored`, `vendored-openssl`, `bundled`, `bundled-sqlcipher`: build a library the crate already uses
    from source. `native-tls-vendored` is not one: by convention it selects the native-tls backend as well."""
    return any(feature == word or feature.startswith(f"{word}-") for word in ("vendored", "bundled"))


def needs_from_lock(lock: Lock, active: Resolution, everything: Resolution) -> list[Need]:
    """The table's crates reachable from the build's real dependencies in the lock graph."""
    roots = starts(lock, active)
    # Crates asked for with other features than the lock was resolved with: their edges may not apply.
    uncertain = {crate for crate, request in everything.requests.items() if active.requests.get(crate) != request}
    # ... unless the difference is only vendoring: then only their edges to library sources may not.
    vendoring_only = {c for c in uncertain if _differs_only_in_vendoring(active.requests.get(c), everything.requests[c])}

    def reach(stop_at: set[str]) -> dict[str, str]:
        reached: dict[str, str] = {}
        for key, via in roots:
            if via not in stop_at:
                _walk(lock, key, via, reached, stop_at)
        return reached

    # A library source below a crate asked for vendoring may be there for that request alone, on whatever
    # path the walk reaches it (openssl-src under openssl-sys, reached through tokio-openssl as well).
    vendorable = _sources_only_below(lock, vendoring_only)

    def surely(stop_at: set[str]) -> dict[str, str]:
        relaxed = reach((stop_at - vendoring_only) | VENDORED_SOURCES) if vendoring_only else {}
        return {**relaxed, **reach(stop_at | vendorable)}

    anywhere, certain = reach(set()), surely(uncertain)
    needs = []
    for crate, requirement in TABLE.items():
        if crate not in anywhere or any(source in certain for source in requirement.unless):
            continue
        sure = crate in certain
        if requirement.not_through:  # needed only on paths that avoid these crates
            avoided = set(requirement.not_through)
            if crate not in reach(avoided):
                continue
            sure = crate in surely(uncertain | avoided)
        needs.append(Need(crate, requirement, sure, certain.get(crate, anywhere[crate])))
    return needs


def _sources_only_below(lock: Lock, crates: set[str]) -> set[str]:
    """The library sources (VENDORED_SOURCES) every dependent of which is reached from `crates`."""
    if not crates:
        return set()
    below: set[str] = set()
    for key, package in lock.packages.items():
        if package.name in crates:
            reached: dict[str, str] = {}
            _walk(lock, key, package.name, reached, set())
            below |= set(reached)
    dependents: dict[str, set[str]] = {}
    for package in lock.packages.values():
        for dep in package.dependencies:
            dependents.setdefault(lock.packages[dep].name, set()).add(package.name)
    return {source for source in VENDORED_SOURCES if source in below and dependents.get(source, set()) <= below}


def starts(lock: Lock, active: Resolution) -> list[tuple[str, str]]:
    """(lock key, crate name) of every registry dependency the build's path packages really use."""
    return [
        (key, lock.packages[key].name)
        for member in active.packages
        for locked in lock.named(member)
        if locked.local
        for key in locked.dependencies
        if not lock.packages[key].local and lock.packages[key].name in active.direct.get(member, {})
    ]


def _differs_only_in_vendoring(ours: Request | None, locks: Request) -> bool:
    if ours is None or ours.default_features != locks.default_features:
        return False
    extra = locks.features - ours.features
    return bool(extra) and all(is_vendoring_feature(f) for f in extra)


@dataclass(frozen=True)
class SystemPackages:
    """The system packages the builder and the runtime image install, and why."""

    build: tuple[str, ...]  # Debian names
    runtime: tuple[str, ...]
    warnings: tuple[str, ...]
    needed_by: tuple[tuple[str, str], ...] = ()  # (package, why: the crate that needs it, or the linker)

    def why(self, package: str) -> str:
        return "; ".join(reason for name, reason in self.needed_by if name == package)


NO_LOCK_GUESS = "no Cargo.lock: system packages are guessed from direct dependencies only"
NO_LOCK_CACHED = "no Cargo.lock: system packages follow the versions cached on this machine"


def fallback_note(reason: str) -> str:
    """Why the packages come from the lock walk although cargo is there to ask."""
    return (f"cargo could not resolve this build ({reason}); system packages come from a walk of Cargo.lock "
            "and may be incomplete")


def needs_from_cargo(answer: Compiled) -> list[Need]:
    """The table's crates cargo compiles, by the table's rules: none reached only through `not_through`
    crates, none whose library a compiled `unless` crate supplies. Cargo resolved the features, so all are sure."""
    return [
        Need(crate, requirement, True, crate)
        for crate, requirement in TABLE.items()
        if crate in answer.reachable(frozenset(requirement.not_through)) and not answer.names & set(requirement.unless)
    ]


def packages(needs: list[Need], linker_packages: tuple[str, ...], notes: tuple[str, ...] = ()) -> SystemPackages:
    """The packages of the sure needs (after the linker's); an unsure one is a warning that says what to add,
    after `notes` (where the crates came from)."""
    warnings = list(notes)
    build = [*linker_packages]
    runtime: list[str] = []
    needed_by = [(name, "the linker .cargo/config.toml sets") for name in linker_packages]
    for need in needs:
        if not need.requirement.build and not need.requirement.runtime:
            continue  # checked to need nothing
        if need.sure:
            build += need.requirement.build
            runtime += need.requirement.runtime
            reason = need.crate if need.via == need.crate else f"{need.crate}, through {need.via}"
            needed_by += [(name, reason) for name in (*need.requirement.build, *need.requirement.runtime)]
        else:
            warnings.append(
                f"Cargo.lock lists {need.crate} (through {need.via}) only behind features this build may not "
                f"enable, so {', '.join(need.requirement.build + need.requirement.runtime)} are not installed; "
                "if the build needs them, add --build-package/--runtime-package"
            )
    return SystemPackages(tuple(dict.fromkeys(build)), tuple(dict.fromkeys(runtime)), tuple(warnings), tuple(dict.fromkeys(needed_by)))


def needs_from_manifests(active: Resolution) -> list[Need]:
    """Without a lock only the direct registry dependencies are known."""
    direct = set(active.requests)
    return [
        Need(crate, requirement, True, crate)
        for crate, requirement in TABLE.items()
        if crate in direct and not direct & set(requirement.unless)
    ]


def _walk(lock: Lock, start: str, via: str, reached: dict[str, str], stop_at: set[str]) -> None:
    stack, seen = [start], {start}
    while stack:
        package = lock.packages[stack.pop()]
        reached.setdefault(package.name, via)
        for dep in package.dependencies:
            if dep not in seen and lock.packages[dep].name not in stop_at:
                seen.add(dep)
                stack.append(dep)
