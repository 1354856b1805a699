"""The user's answers: every choice `scaffold init` makes, with its validation.

Each rule is a small `check_*` function that raises UsageError: the wizard runs one while a single
answer is typed, `validate` runs them all over a complete Answers object.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from . import clusternames, contract, deploytargets, probes, runtimes, rustrelease
from .errors import UsageError

RUNTIMES = runtimes.NAMES
# Each choice with the line the wizard shows beside it (the README's flag table says the same).
STRATEGY_HELP = MappingProxyType({
    "cache-mount": "target/ in a BuildKit cache mount: the fastest rebuilds on one machine",
    "skeleton": "a dependency layer built from the manifests and lock: reusable from a CI layer cache",
})
OPTIMIZATION_HELP = MappingProxyType({
    "strip": "strip symbols",
    "speed": "fat LTO, 1 codegen unit, strip",
    "size": 'opt-level = "z", fat LTO, 1 codegen unit, strip',
    "as-is": "the release profile as Cargo.toml sets it",
})
STRATEGIES = tuple(STRATEGY_HELP)
OPTIMIZATIONS = tuple(OPTIMIZATION_HELP)
HEALTHCHECKS = probes.KINDS
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
ANTI_AFFINITY = ("preferred", "required")
MAX_NODES = 99  # one published port each; larger clusters are not a compose file's job

# The rules as pattern texts: `re` compiles one the first time a value is checked against it (most runs
# check a few), and they are the questions' `pattern` too.
PACKAGE_NAME = r"^[a-z0-9][a-z0-9+.-]+$"
FEATURE = r"^[A-Za-z0-9_][A-Za-z0-9_+./-]*$"
# Goes inside a single-quoted printf format in the debian-slim healthcheck: no quotes, no `%`.
HTTP_PATH = r"^/[A-Za-z0-9._~/?=&-]*$"
ARGUMENT = r"^[A-Za-z0-9._=:/+-]+$"
ADDRESS = r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])$"
DATA_DIR = r"^/[A-Za-z0-9._/-]*$"
# An image reference as `docker run` takes it: [registry[:port]/]name[:tag][@digest].
IMAGE = r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$"

CustomValue = str | int | bool | tuple[str, ...]


@dataclass(frozen=True)
class Answers:
    """Every answer, resolved: the defaults here are the built-in ones (validate checks a whole set)."""

    package: str | None = None
    bin: str | None = None
    features: tuple[str, ...] = ()
    nodes: int = 3
    id_base: int = 0  # node ids are id_base .. id_base+nodes-1; services and volumes keep the index
    http_port: int = 8080
    raft_port: int = 9000
    host_port: int | None = None  # first published HTTP port; node i gets host_port + i (default: http_port)
    publish_address: str = "127.0.0.1"
    publish_raft: bool = False
    ports: tuple[str, ...] = ()  # named client ports, NAME=N, each published as N + index
    default_env: bool = True  # the built-in NODE_ID / PEERS / HTTP_PORT / RAFT_PORT / DATA_DIR
    node_env: tuple[str, ...] = ()  # KEY=TEMPLATE, rendered per node (contract.py)
    node_env_from_host: tuple[str, ...] = ()  # keys compose takes from the host's environment
    node_args: tuple[str, ...] = ()  # TEMPLATEs of the container's command, rendered per node
    node_files: tuple[str, ...] = ()  # TEMPLATE_PATH:CONTAINER_PATH, a project file rendered per node (nodefiles.py)
    bootstrap_command: str | None = None  # TEMPLATE of a one-shot command run once every node is healthy
    bootstrap_image: str | None = None  # None: the app's image runs the bootstrap
    extra_bins: tuple[str, ...] = ()  # more binaries of the main binary's package, built in the same cargo run
    runtime: str = "debian-slim"
    strategy: str = "cache-mount"
    rust_version: str | None = None  # None: the toolchain pin, else the newest of MSRV and our baseline
    optimize: str = "strip"
    healthcheck: str | None = None  # None: probes.default_probe decides (http for HTTP server crates, else tcp)
    health_path: str | None = None  # None: an http check accepts any HTTP status line; a path wants a 2xx
    health_command: tuple[str, ...] = ("healthcheck",)
    health_exec: tuple[str, ...] = ()  # exec: any command in the image; empty runs the binary with health_command
    data_dir: str = "/data"
    read_only: bool = True  # read-only root filesystem; the app writes to its data volume and /tmp
    rust_log: str = "info"
    build_packages: tuple[str, ...] = ()
    runtime_packages: tuple[str, ...] = ()
    # Where the cluster runs (deploytargets.py), and what only an orchestrator's output reads.
    targets: tuple[str, ...] = ("compose",)
    image: str | None = None  # the image reference a cluster pulls; None: the local tag `<name>:latest`
    pull_secret: str | None = None  # Kubernetes imagePullSecrets entry
    namespace: str | None = None  # the kustomization's namespace; None: the one kubectl is using
    service_type: str = "ClusterIP"  # the Kubernetes client Service's type
    storage_size: str = "1Gi"  # each pod's data volume claim
    anti_affinity: str = "preferred"  # pods on distinct machines: preferred, or required
    ready_path: str | None = None  # Kubernetes readiness: an HTTP GET of this path (a 2xx or 3xx)
    ready_command: tuple[str, ...] = ()  # Kubernetes readiness: this command in the container
    swarm_publish: bool = False  # publish the client ports of a Swarm stack (mode: host, every interface)
    # Answers to a template set's own questions, as (name, value) pairs sorted by name.
    custom: tuple[tuple[str, CustomValue], ...] = ()

    @property
    def first_host_port(self) -> int:
        return self.host_port if self.host_port is not None else self.http_port

    @property
    def custom_answers(self) -> Mapping[str, CustomValue]:
        """The template set's answers as a read-only mapping (`custom.name` in templates)."""
        return MappingProxyType(dict(self.custom))



def validate(answers: Answers) -> list[str]:
    """Raise UsageError for an answer that cannot work; return warnings for ones that are unwise."""
    check_choice("--runtime", answers.runtime, RUNTIMES)
    check_choice("--strategy", answers.strategy, STRATEGIES)
    check_choice("--optimize", answers.optimize, OPTIMIZATIONS)
    if answers.healthcheck is not None:
        probes.check_probe(answers.healthcheck, answers.runtime)
    check_nodes(answers.nodes)
    contract.check_id_base(answers.id_base)
    if answers.health_exec:
        probes.check_health_exec(answers.health_exec)
    for flag, port in (("--http-port", answers.http_port), ("--raft-port", answers.raft_port), ("--host-port", answers.first_host_port)):
        check_port(flag, port)
    check_distinct_ports(answers.http_port, answers.raft_port)
    check_host_ports(answers.first_host_port, answers.nodes)
    if answers.publish_raft:
        check_raft_host_ports(answers.raft_port, answers.first_host_port, answers.nodes)
    if answers.rust_version is not None:
        check_rust_version(answers.rust_version)
    check_address(answers.publish_address)
    for feature in answers.features:
        check_feature(feature)
    for flag, packages in (("--build-package", answers.build_packages), ("--runtime-package", answers.runtime_packages)):
        for package in packages:
            check_package_name(flag, package)
    if answers.health_path is not None:
        check_health_path(answers.health_path)
    for argument in answers.health_command:
        check_health_argument(argument)
    check_data_dir(answers.data_dir)
    if answers.bootstrap_image is not None:
        check_image("--bootstrap-image", answers.bootstrap_image)
    check_rust_log(answers.rust_log)
    check_orchestrator(answers)
    warnings = []
    if answers.nodes > 1 and answers.nodes % 2 == 0:
        warnings.append(
            f"{answers.nodes} nodes tolerate no more failures than {answers.nodes - 1}; an odd size is usual for Raft"
        )
    if answers.publish_address not in ("127.0.0.1", "[::1]"):
        warnings.append(f"ports are published on {answers.publish_address}, reachable from other machines")
    return warnings


def check_orchestrator(answers: Answers) -> None:
    """The answers only Kubernetes and Swarm read, checked whatever the targets (they are recorded all the same)."""
    deploytargets.check_targets(answers.targets)
    check_choice("--service-type", answers.service_type, SERVICE_TYPES)
    check_choice("--anti-affinity", answers.anti_affinity, ANTI_AFFINITY)
    for value, check in ((answers.image, clusternames.check_image), (answers.pull_secret, clusternames.check_pull_secret),
                         (answers.namespace, clusternames.check_namespace)):
        if value is not None:
            check(value)
    clusternames.check_storage_size(answers.storage_size)
    if answers.ready_path is not None:
        check_health_path(answers.ready_path, "--ready-path")
    if answers.ready_path is not None and answers.ready_command:
        raise UsageError("--ready-path and --ready-command both set the readiness probe; keep one")
    for argument in answers.ready_command:
        check_ready_argument(argument)


# --- single-answer rules ---------------------------------------------------------------------------


def check_choice(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{flag} {value!r}: choose one of {', '.join(choices)}")


def check_nodes(nodes: int) -> None:
    if not 1 <= nodes <= MAX_NODES:
        raise UsageError(f"--nodes {nodes}: a cluster needs 1 to {MAX_NODES} nodes")


def check_port(flag: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise UsageError(f"{flag} {port}: a port is a number from 1 to 65535")


def check_distinct_ports(http_port: int, raft_port: int) -> None:
    if http_port == raft_port:
        raise UsageError(f"--http-port and --raft-port are both {http_port}; give the node two different ports")


def check_host_ports(first_host_port: int, nodes: int) -> None:
    last = first_host_port + nodes - 1
    if last > 65535:
        raise UsageError(
            f"--host-port {first_host_port} with --nodes {nodes} needs host ports up to {last}, "
            "past 65535; choose a lower --host-port"
        )


def check_raft_host_ports(raft_port: int, first_host_port: int, nodes: int) -> None:
    http_range = set(range(first_host_port, first_host_port + nodes))
    raft_range = set(range(raft_port, raft_port + nodes))
    if max(raft_range) > 65535:
        raise UsageError(f"--raft-port {raft_port} with --nodes {nodes} needs host ports past 65535")
    if http_range & raft_range:
        raise UsageError(
            f"published HTTP ports {min(http_range)}-{max(http_range)} and Raft ports "
            f"{min(raft_range)}-{max(raft_range)} overlap; move --host-port or --raft-port"
        )


def check_rust_version(version: str) -> None:
    if not rustrelease.RUST_VERSION.match(version):
        raise UsageError(
            f"--rust-version {version!r}: expected a release such as 1.95 or 1.95.0, or a channel "
            "(stable, beta, nightly, nightly-YYYY-MM-DD)"
        )


def check_address(address: str) -> None:
    """An address Docker can bind a published port to: a host's unicast or unspecified address."""
    problem = None if re.match(ADDRESS, address) else "expected an IP address such as 127.0.0.1 or 0.0.0.0"
    if problem is None:
        try:
            parsed = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            parsed, problem = None, "not an IP address (each IPv4 part is 0 to 255)"
        if parsed is not None and (parsed.is_multicast or parsed == ipaddress.IPv4Address("255.255.255.255")):
            problem = "a multicast or broadcast address, which no port can be published on"
    if problem:
        raise UsageError(f"--publish-address {address!r}: {problem}; use 127.0.0.1, 0.0.0.0 or an address of this host")


def check_feature(feature: str) -> None:
    if not re.match(FEATURE, feature):
        raise UsageError(f"--features {feature!r}: not a Cargo feature name")


def check_package_name(flag: str, package: str) -> None:
    if not re.match(PACKAGE_NAME, package):
        raise UsageError(f"{flag} {package!r}: not a package name")


def check_health_path(path: str, flag: str = "--health-path") -> None:
    if not re.match(HTTP_PATH, path):
        raise UsageError(f"{flag} {path!r}: expected a URL path such as /health")


def check_health_argument(argument: str) -> None:
    if not re.match(ARGUMENT, argument):
        raise UsageError(f"--health-command {argument!r}: use plain words (letters, digits, . _ = : / + -)")


def check_ready_argument(argument: str) -> None:
    if not argument or "\x00" in argument or "\n" in argument or "\r" in argument:
        raise UsageError(f"--ready-command {argument[:40]!r}: an argument is non-empty, without a NUL or a line break")


def check_data_dir(directory: str) -> None:
    if not re.match(DATA_DIR, directory) or directory == "/":
        raise UsageError(f"--data-dir {directory!r}: expected an absolute directory such as /data")


def check_image(flag: str, image: str) -> None:
    if not re.match(IMAGE, image) or len(image) > 255:
        raise UsageError(f"{flag} {image[:60]!r}: expected an image reference such as curlimages/curl:8.10.1")


def check_rust_log(value: str) -> None:
    """Any text reaches the nodes literally, except what no environment variable can hold."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise UsageError(f"--rust-log {value[:40]!r}: holds a NUL or invalid UTF-8, which no environment variable can carry")
