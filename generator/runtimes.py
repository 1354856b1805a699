"""The runtime images scaffold can build for: one frozen record each, the one place that knows them.

Answers (the `--runtime` choices and help), the plan (images, packages, user, healthcheck probe),
`check` (what an image seen in a FROM line holds) and the tests all read this table. A new runtime
is one more record in RUNTIMES.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import rustrelease
from .errors import UsageError

# Debian's names for the packages syspackages.py knows, as Alpine calls them; names not listed are the same.
_ALPINE_NAMES = MappingProxyType({
    "pkg-config": "pkgconf",
    "libssl-dev": "openssl-dev",
    "libssl3": "libssl3",
    "libpq-dev": "libpq-dev",
    "libpq5": "libpq",
    "protobuf-compiler": "protobuf-dev",
    "libclang-dev": "clang-dev",
    "libsqlite3-dev": "sqlite-dev",
    "libsqlite3-0": "sqlite-libs",
    "default-libmysqlclient-dev": "mariadb-connector-c-dev",
    "libmariadb3": "mariadb-connector-c",
    "libudev-dev": "eudev-dev",
    "libudev1": "eudev-libs",
    "libdbus-1-dev": "dbus-dev",
    "libdbus-1-3": "dbus-libs",
    "libstdc++6": "libstdc++",
})


@dataclass(frozen=True)
class Distro:
    """A package-managed distribution: how packages are installed and what it calls them."""

    name: str
    package_manager: str  # "apt" or "apk"
    package_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # Debian name -> ours

    def package(self, debian_name: str) -> str:
        return self.package_names.get(debian_name, debian_name)


DEBIAN = Distro("debian", "apt")
ALPINE = Distro("alpine", "apk", _ALPINE_NAMES)


@dataclass(frozen=True)
class Runtime:
    """One `--runtime`: the builder and runtime images and what they hold."""

    name: str  # the --runtime value
    help: str  # one phrase for `--runtime` help and the README
    builder_image: str  # with ${RUST_VERSION}, set by the Dockerfile's ARG
    builder_distro: Distro
    image: str  # the final stage's FROM
    distro: Distro | None  # None: no package manager in the runtime image
    libc: str  # "glibc" or "musl": musl builders need musl-dev
    uid: int  # the numeric non-root user (and group) the app runs as
    programs: frozenset[str]  # what a healthcheck can run: a shell, bash, wget (probes.py picks the probe)
    provides: frozenset[str] = frozenset()  # Debian package names whose libraries the image already holds
    ca_bundle_from_builder: bool = False  # ca-certificates is met by copying the builder's CA bundle
    image_markers: tuple[str, ...] = ()  # substrings that identify a FROM image as this kind (for check)
    first_rust: str = "1.67"  # the oldest Rust release the builder image is published for

    def check_rust_version(self, version: str, source: str) -> None:
        """The builder image exists for `version`: the official images start at `first_rust`, and Rust is 1.x."""
        if not version.startswith("1.") or rustrelease.key(version) < rustrelease.key(self.first_rust):
            builder = self.builder_image.replace("${RUST_VERSION}", version)
            raise UsageError(
                f"{source} {version}: no image {builder} exists (the {self.name} builder starts at Rust {self.first_rust}); "
                f"choose --rust-version {self.first_rust} or newer"
            )

    @property
    def package_manager(self) -> str:
        """apt, apk, or none (an image without a package manager)."""
        return self.distro.package_manager if self.distro else "none"

    @property
    def has_shell(self) -> bool:
        return "sh" in self.programs

    @property
    def build_base_packages(self) -> tuple[str, ...]:
        """Packages every build on this builder needs: musl's C library headers for musl builders."""
        return ("musl-dev",) if self.libc == "musl" else ()


RUNTIMES: tuple[Runtime, ...] = (
    Runtime(
        "debian-slim",
        "Debian, apt, bash",
        "rust:${RUST_VERSION}-slim-bookworm",
        DEBIAN,
        "debian:bookworm-slim",
        DEBIAN,
        "glibc",
        10001,
        frozenset({"sh", "bash"}),  # Debian images carry bash, not curl or wget
    ),
    Runtime(
        "distroless",
        "glibc, OpenSSL, CA roots, no shell",
        "rust:${RUST_VERSION}-slim-bookworm",
        DEBIAN,
        "gcr.io/distroless/cc-debian12:nonroot",
        None,
        "glibc",
        65532,  # the image's own nonroot user
        frozenset(),
        provides=frozenset({"libssl3", "ca-certificates", "libstdc++6"}),
        image_markers=("distroless",),
    ),
    Runtime(
        "alpine",
        "musl, apk, busybox",
        "rust:${RUST_VERSION}-alpine",  # every Rust release is published on the current Alpine
        ALPINE,
        "alpine:3.22",
        ALPINE,
        "musl",
        10001,
        frozenset({"sh", "wget"}),
        image_markers=("alpine",),
        first_rust="1.37",
    ),
    Runtime(
        "scratch",
        "only the static binary",
        "rust:${RUST_VERSION}-alpine",
        ALPINE,
        "scratch",
        None,
        "musl",
        10001,
        frozenset(),
        ca_bundle_from_builder=True,
        first_rust="1.37",
    ),
)
NAMES: tuple[str, ...] = tuple(r.name for r in RUNTIMES)
_BY_NAME = {r.name: r for r in RUNTIMES}


def get(name: str) -> Runtime:
    """The record for a --runtime value already checked against NAMES."""
    return _BY_NAME[name]


def choice_help() -> Mapping[str, str]:
    """What the wizard shows beside each runtime: its image and what it has."""
    return MappingProxyType({r.name: f"{r.image}: {r.help}" for r in RUNTIMES})


def help_text() -> str:
    """`--runtime` help: every runtime with what it is."""
    described = [f"{r.name} ({r.help})" for r in RUNTIMES]
    return f"Runtime image: {', '.join(described[:-1])} or {described[-1]}."


def guess(image: str) -> Runtime | None:
    """Which kind of runtime a FROM image is, by its exact name or a marker in it; None if unknown."""
    for runtime in RUNTIMES:
        if image == runtime.image or any(marker in image for marker in runtime.image_markers):
            return runtime
    return None
