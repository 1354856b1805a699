"""The user's answers: every choice `scaffold init` makes, with its validation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UsageError

RUNTIMES = ("debian-slim", "distroless", "alpine", "scratch")
STRATEGIES = ("skeleton", "cache-mount")
OPTIMIZATIONS = ("strip", "speed", "size", "as-is")
HEALTHCHECKS = ("http", "exec", "none")
MAX_NODES = 99  # one published port each; larger clusters are not a compose file's job

_RUST_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_FEATURE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_+./-]*$")
# Goes inside a single-quoted printf format in the debian-slim healthcheck: no quotes, no `%`.
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9._~/?=&-]*$")
_ARGUMENT = re.compile(r"^[A-Za-z0-9._=:/+-]+$")
_ADDRESS = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])$")


@dataclass(frozen=True)
class Answers:
    package: str | None = None
    bin: str | None = None
    features: tuple[str, ...] = ()
    nodes: int = 3
    http_port: int = 8080
    raft_port: int = 9000
    host_port: int | None = None  # first published HTTP port; node i gets host_port + i (default: http_port)
    publish_address: str = "127.0.0.1"
    publish_raft: bool = False
    runtime: str = "debian-slim"
    strategy: str = "skeleton"
    rust_version: str | None = None  # None: the toolchain pin, else the newest of MSRV and our baseline
    optimize: str = "strip"
    healthcheck: str | None = None  # None: http where the image can make a request, else none
    health_path: str = "/health"
    health_command: tuple[str, ...] = ("healthcheck",)
    data_dir: str = "/data"
    rust_log: str = "info"
    build_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()

    @property
    def first_host_port(self) -> int:
        return self.host_port if self.host_port is not None else self.http_port


def validate(answers: Answers) -> list[str]:
    """Raise UsageError for an answer that cannot work; return warnings for ones that are unwise."""
    _choice("--runtime", answers.runtime, RUNTIMES)
    _choice("--strategy", answers.strategy, STRATEGIES)
    _choice("--optimize", answers.optimize, OPTIMIZATIONS)
    if answers.healthcheck is not None:
        _choice("--healthcheck", answers.healthcheck, HEALTHCHECKS)
    if not 1 <= answers.nodes <= MAX_NODES:
        raise UsageError(f"--nodes {answers.nodes}: a cluster needs 1 to {MAX_NODES} nodes")
    for flag, port in (("--http-port", answers.http_port), ("--raft-port", answers.raft_port), ("--host-port", answers.first_host_port)):
        _port(flag, port)
    if answers.http_port == answers.raft_port:
        raise UsageError(f"--http-port and --raft-port are both {answers.http_port}; give the node two different ports")
    last_http = answers.first_host_port + answers.nodes - 1
    if last_http > 65535:
        raise UsageError(
            f"--host-port {answers.first_host_port} with --nodes {answers.nodes} needs host ports up to {last_http}, "
            "past 65535; choose a lower --host-port"
        )
    if answers.publish_raft:
        http_range = set(range(answers.first_host_port, last_http + 1))
        raft_range = set(range(answers.raft_port, answers.raft_port + answers.nodes))
        if max(raft_range) > 65535:
            raise UsageError(f"--raft-port {answers.raft_port} with --nodes {answers.nodes} needs host ports past 65535")
        if http_range & raft_range:
            raise UsageError(
                f"published HTTP ports {min(http_range)}-{max(http_range)} and Raft ports "
                f"{min(raft_range)}-{max(raft_range)} overlap; move --host-port or --raft-port"
            )
    if answers.rust_version is not None and not _RUST_VERSION.match(answers.rust_version):
        raise UsageError(f"--rust-version {answers.rust_version!r}: expected a release such as 1.95 or 1.95.0")
    if not _ADDRESS.match(answers.publish_address):
        raise UsageError(f"--publish-address {answers.publish_address!r}: expected an IP address such as 127.0.0.1 or 0.0.0.0")
    for feature in answers.features:
        if not _FEATURE.match(feature):
            raise UsageError(f"--features {feature!r}: not a Cargo feature name")
    for flag, packages in (("--build-package", answers.build_packages), ("--runtime-package", answers.runtime_packages)):
        for package in packages:
            if not _DEBIAN_PACKAGE.match(package):
                raise UsageError(f"{flag} {package!r}: not a package name")
    if not _HTTP_PATH.match(answers.health_path):
        raise UsageError(f"--health-path {answers.health_path!r}: expected a URL path such as /health")
    for argument in answers.health_command:
        if not _ARGUMENT.match(argument):
            raise UsageError(f"--health-command {argument!r}: use plain words (letters, digits, . _ = : / + -)")
    if not re.match(r"^/[A-Za-z0-9._/-]*$", answers.data_dir) or answers.data_dir == "/":
        raise UsageError(f"--data-dir {answers.data_dir!r}: expected an absolute directory such as /data")
    warnings = []
    if answers.nodes > 1 and answers.nodes % 2 == 0:
        warnings.append(
            f"{answers.nodes} nodes tolerate no more failures than {answers.nodes - 1}; an odd size is usual for Raft"
        )
    if answers.publish_address not in ("127.0.0.1", "[::1]"):
        warnings.append(f"ports are published on {answers.publish_address}, reachable from other machines")
    return warnings


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{flag} {value!r}: choose one of {', '.join(choices)}")


def _port(flag: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise UsageError(f"{flag} {port}: a port is a number from 1 to 65535")
