"""The image part of the plan: toolchain (plan_toolchain.py), system packages, the installed binary, user, env, ports, healthcheck.

Every value is structured (ports and ids are numbers, commands are argument tuples); how one output
file writes them down is the business of the render filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import probes, runtimes
from .answers import Answers
from .errors import UsageError
from .manifest import Package
from .plan_build import CargoBuild
from .plan_toolchain import ToolchainPlan
from .ports import NamedPort

INSTALL_DIR = "/usr/local/bin"  # where the binary goes in the runtime image


@dataclass(frozen=True)
class Packages:
    """System packages one stage installs, with the package manager that installs them."""

    manager: str  # "apt", "apk" or "none"
    distro: str | None  # "debian", "alpine"; None for an image without a package manager
    names: tuple[str, ...]  # in the distro's own names


@dataclass(frozen=True)
class InstalledBinary:
    """The binary the image runs, and where it is installed."""

    name: str
    path: str  # absolute, in the runtime image: the entrypoint and the exec healthcheck run it


@dataclass(frozen=True)
class ExtraBinary:
    """A companion binary (`--extra-bin`), installed next to the main one; the entrypoint stays the main one."""

    name: str
    built: str  # inside the builder, relative to its /app
    path: str  # absolute, in the runtime image


@dataclass(frozen=True)
class User:
    """The numeric non-root user and group the app runs as."""

    uid: int
    gid: int


@dataclass(frozen=True)
class Port:
    """A port the image exposes, by what the application serves on it."""

    name: str  # what the application serves on it: "http", "raft"
    number: int


@dataclass(frozen=True)
class HealthCheck:
    """The image's HEALTHCHECK: the probe's kind and command, and its timing."""

    kind: str  # http, tcp or exec (probes.KINDS; none has no HealthCheck)
    command: tuple[str, ...]  # exec form: no shell splits or expands it
    interval: int = 10  # seconds
    timeout: int = 3
    start_period: int = 10
    retries: int = 3


@dataclass(frozen=True)
class ImagePlan:
    """The image: the builder and runtime stages, what they install, build and run."""

    tag: str  # what the compose file builds and runs, `name:latest`
    runtime: str  # the --runtime it was made for
    rust_version: str  # the Dockerfile's ARG RUST_VERSION
    builder_image: str  # with ${RUST_VERSION} for the ARG
    toolchain: ToolchainPlan  # what cargo runs on it, in place before the sources are copied
    base_image: str  # the runtime stage's FROM
    build_packages: Packages
    runtime_packages: Packages
    build: CargoBuild
    binary: InstalledBinary
    extra_binaries: tuple[ExtraBinary, ...]
    ca_bundle: bool  # copy the CA bundle from the builder (the image has no package manager)
    user: User
    data_dir: str  # created in the image, owned by the user
    env: tuple[tuple[str, str], ...]  # what every node is told alike (never a value from the host)
    ports: tuple[Port, ...]
    healthcheck: HealthCheck | None
    labels: tuple[tuple[str, str], ...]


def runtime_packages(runtime: runtimes.Runtime, packages: tuple[str, ...]) -> Packages:
    """The runtime image's packages in its distro's names; UsageError when it has no package manager to add them."""
    if runtime.distro is not None:
        return Packages(runtime.package_manager, runtime.distro.name, _named(runtime.distro, packages))
    missing = [p for p in packages if p not in runtime.provides and not (runtime.ca_bundle_from_builder and p == "ca-certificates")]
    if missing:
        usable = " or ".join(r.name for r in runtimes.RUNTIMES if r.distro is not None)
        raise UsageError(
            f"--runtime {runtime.name} cannot provide {', '.join(missing)} (it has no package manager); use --runtime {usable}"
        )
    return Packages(runtime.package_manager, None, ())


def build_packages(runtime: runtimes.Runtime, packages: tuple[str, ...]) -> Packages:
    distro = runtime.builder_distro
    return Packages(distro.package_manager, distro.name, _named(distro, (*runtime.build_base_packages, *packages)))


def _named(distro: runtimes.Distro, packages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(distro.package(p) for p in packages))


def installed(name: str) -> InstalledBinary:
    return InstalledBinary(name, f"{INSTALL_DIR}/{name}")


def extra_binary(name: str) -> ExtraBinary:
    return ExtraBinary(name, f"target/release/{name}", f"{INSTALL_DIR}/{name}")


def healthcheck(kind: str, answers: Answers, runtime: runtimes.Runtime, binary: InstalledBinary) -> HealthCheck | None:
    """The probe of the node's own address (probes.py): a loopback-only app is never reported healthy."""
    command = probes.probe_command(
        kind, runtime.name, port=answers.http_port, path=answers.health_path, binary_path=binary.path,
        health_command=answers.health_command, health_exec=answers.health_exec,
    )
    return HealthCheck(kind, command) if command is not None else None


def ports(answers: Answers, named: tuple[NamedPort, ...]) -> tuple[Port, ...]:
    """What the image EXPOSEs: HTTP, the named client ports, and Raft only when there are peers to talk to."""
    raft = (Port("raft", answers.raft_port),) if answers.nodes > 1 else ()
    return (Port("http", answers.http_port), *(Port(p.name, p.port) for p in named), *raft)


def labels(package: Package) -> tuple[tuple[str, str], ...]:
    pairs = [
        ("org.opencontainers.image.title", package.name),
        ("org.opencontainers.image.version", package.version),
        ("org.opencontainers.image.description", package.description),
        ("org.opencontainers.image.licenses", package.license),
        ("org.opencontainers.image.source", package.repository),
        ("org.opencontainers.image.url", package.homepage),
    ]
    return tuple((k, v) for k, v in pairs if v)
