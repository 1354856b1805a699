"""The Kubernetes part of the plan: one StatefulSet for the cluster, cut by concept for the k8s/ templates.

Identity (the ordinals start at the id base, so the pod-index label is the node id), the peers'
DNS (a headless Service that publishes pods before they are ready), the run contract in one pod
template (podtemplate.py: what varies per pod goes through $(POD_NAME)/$(POD_INDEX)), storage,
probes (liveness never asks the cluster), security, scheduling and disruption, the network, and the
per-node files and bootstrap Job (plan_kubernetes_setup.py).
Needs Kubernetes 1.28 (the pod-index label; spec.ordinals is on by default since 1.27).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType

from . import clusternames, contract, plan_cluster, podtemplate
from .answers import Answers
from .contract import ClusterView, FromHost, NodeView
from .errors import UsageError
from .nodefiles import NodeFileSource
from .plan_image import HealthCheck, InstalledBinary, User
from .plan_kubernetes_setup import BootstrapJob, PodFiles, bootstrap_job, pod_files
from .podtemplate import Part, Pod
from .ports import NamedPort

MIN_VERSION = "1.28"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
NAME_LABEL = "app.kubernetes.io/name"
_PORT_NAME = 15  # IANA service names: at most 15 characters
# What a small Raft node asks of the scheduler, and the time it gets to leave after SIGTERM.
CPU_REQUEST, MEMORY_REQUEST, TERMINATION_GRACE = "100m", "64Mi", 30


@dataclass(frozen=True)
class Names:
    app: str  # the StatefulSet, the client Service, the pods' `app.kubernetes.io/name` label
    headless: str  # the peers' Service: pods are `<app>-<id>.<headless>`
    env_secret: str  # the Secret that holds the variables taken from the host under compose
    mapped: tuple[tuple[str, str], ...]  # (what the user named, the Kubernetes name) where they differ


@dataclass(frozen=True)
class Identity:
    replicas: int
    ordinal_start: int  # the id base: pod `<app>-<id>`, label pod-index = id
    pods: tuple[str, ...]


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: tuple[Part, ...] = ()  # literal text and $(POD_NAME)/$(POD_INDEX) references
    field_path: str | None = None  # from the downward API
    secret_key: bool = False  # from the Names.env_secret Secret, key = name


@dataclass(frozen=True)
class Contract:
    env: tuple[EnvVar, ...]  # POD_NAME and POD_INDEX first: later values refer to them
    args: tuple[tuple[Part, ...], ...]  # the container's args (the image's entrypoint is the binary)

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The variables read from the Names.env_secret Secret, which must exist before the pods start."""
        return tuple(var.name for var in self.env if var.secret_key)


@dataclass(frozen=True)
class Probe:
    kind: str  # http (GET, wants 2xx/3xx), tcp (a connect) or exec
    port: str | None = None  # a container port's name
    path: str | None = None
    command: tuple[str, ...] = ()
    period: int = 10
    timeout: int = 3
    failure_threshold: int = 3


@dataclass(frozen=True)
class Probes:
    liveness: Probe  # a connect to the HTTP port: the process serves; never asks about a leader
    readiness: Probe  # --ready-path / --ready-command, else the healthcheck
    startup: Probe  # holds liveness off while the process starts


@dataclass(frozen=True)
class Storage:
    claim: str  # the volumeClaimTemplate's name
    size: str
    data_dir: str


@dataclass(frozen=True)
class Security:
    user: User  # the image's numeric user: runAsUser, runAsGroup, fsGroup
    read_only_root: bool


@dataclass(frozen=True)
class Scheduling:
    anti_affinity: str  # preferred or required, on kubernetes.io/hostname
    max_unavailable: int | None  # the PodDisruptionBudget's; None: no budget (fewer than 3 pods)
    termination_grace: int  # seconds
    cpu_request: str
    memory_request: str


@dataclass(frozen=True)
class ContainerPort:
    name: str
    number: int


@dataclass(frozen=True)
class Network:
    client_ports: tuple[ContainerPort, ...]  # HTTP and the named ports: the client Service, reachable by anyone
    raft: ContainerPort | None  # reachable from the peers only (NetworkPolicy); None with one node
    service_type: str

    @property
    def peer_port(self) -> ContainerPort:
        """The port the headless Service names: Raft, or HTTP for a single node."""
        return self.raft or self.client_ports[0]


@dataclass(frozen=True)
class KubernetesPlan:
    min_version: str
    namespace: str | None  # the kustomization's; None: kubectl's current one
    image: str
    pull_secret: str | None
    names: Names
    identity: Identity
    contract: Contract
    probes: Probes
    storage: Storage
    security: Security
    scheduling: Scheduling
    network: Network
    files: PodFiles | None  # the --node-file copies (plan_kubernetes_setup.py)
    bootstrap: BootstrapJob | None  # the --bootstrap-command Job
    warnings: tuple[str, ...]


def make_kubernetes(
    answers: Answers, binary: str, image: str, user: User, installed: InstalledBinary, health: HealthCheck | None,
    named: tuple[NamedPort, ...], node_sources: tuple[NodeFileSource, ...] = (),
) -> KubernetesPlan:
    names = _names(binary, named)
    view = kubernetes_view(answers, names, named)
    pods = tuple(Pod(node.service.split(".")[0], node.id) for node in view.nodes)
    warnings = [f"Kubernetes names: {given} becomes {name} (DNS-1123)" for given, name in names.mapped]
    max_unavailable = 1 if answers.nodes >= 3 else None
    if max_unavailable is None:
        warnings.append(
            f"Kubernetes: no PodDisruptionBudget for {answers.nodes} pod(s): a budget would block every node drain "
            "(with 2 pods, losing 1 loses quorum anyway); use 3 or more nodes to survive a drain"
        )
    port_names = dict(_port_names(named))
    return KubernetesPlan(
        min_version=MIN_VERSION,
        namespace=answers.namespace,
        image=answers.image or image,
        pull_secret=answers.pull_secret,
        names=names,
        identity=Identity(answers.nodes, answers.id_base, tuple(p.name for p in pods)),
        contract=_contract(answers, view, pods),
        probes=_probes(answers, health, installed),
        storage=Storage("data", answers.storage_size, answers.data_dir),
        security=Security(user, answers.read_only),
        scheduling=Scheduling(answers.anti_affinity, max_unavailable, TERMINATION_GRACE, CPU_REQUEST, MEMORY_REQUEST),
        network=Network(
            (ContainerPort("http", answers.http_port), *(ContainerPort(port_names[p.name], p.port) for p in named)),
            ContainerPort("raft", answers.raft_port) if answers.nodes > 1 else None,
            answers.service_type,
        ),
        files=pod_files(names.app, node_sources, view, tuple(p.name for p in pods)),
        bootstrap=bootstrap_job(names.app, answers.bootstrap_command, answers.bootstrap_image, answers.image or image, view),
        warnings=tuple(warnings),
    )


def kubernetes_view(answers: Answers, names: Names, named: tuple[NamedPort, ...]) -> ClusterView:
    """The contract's view of the cluster as pods: `node.service` is `<app>-<id>.<headless>`, what peers resolve."""
    ports = MappingProxyType({p.name: p.port for p in named})
    nodes = []
    for index in range(answers.nodes):
        node_id = answers.id_base + index
        host = f"{names.app}-{node_id}.{names.headless}"
        addresses = MappingProxyType({name: f"{host}:{port}" for name, port in ports.items()})
        nodes.append(NodeView(index, node_id, host, f"{host}:{answers.raft_port}", f"{host}:{answers.http_port}", ports, addresses))
    full = tuple(replace(node, peers=tuple(other for other in nodes if other is not node)) for node in nodes)
    return ClusterView(full, answers.http_port, answers.raft_port, answers.data_dir, ports)


def _names(binary: str, named: tuple[NamedPort, ...]) -> Names:
    app = clusternames.app_name(binary)
    mapped = [(f"binary {binary}", app)] if app != binary else []
    mapped += [(f"port {p.name}", name) for (given, name), p in zip(_port_names(named), named, strict=True) if given != name]
    return Names(app, f"{app}-peers", f"{app}-env", tuple(mapped))


def _port_names(named: tuple[NamedPort, ...]) -> list[tuple[str, str]]:
    """(--port name, container port name): IANA service names, lower case, `-` for `_`, at most 15 characters."""
    result, taken = [], {"http", "raft"}
    for port in named:
        name = re.sub(r"-+", "-", port.name.replace("_", "-")).strip("-")[:_PORT_NAME].rstrip("-")
        if name in taken:
            raise UsageError(
                f"--port {port.name}={port.port}: as a Kubernetes port name it becomes {name}, which another port has; rename one"
            )
        taken.add(name)
        result.append((port.name, name))
    return result


def _contract(answers: Answers, view: ClusterView, pods: tuple[Pod, ...]) -> Contract:
    per_node = plan_cluster.node_env(answers, view)
    user_keys = {contract.parse_node_env(text)[0]: text for text in answers.node_env}
    env = [
        EnvVar(podtemplate.POD_NAME, field_path="metadata.name"),
        EnvVar(podtemplate.POD_INDEX, field_path=f"metadata.labels['{POD_INDEX_LABEL}']"),
    ]
    for position, (key, first) in enumerate(per_node[0]):
        if key in (podtemplate.POD_NAME, podtemplate.POD_INDEX):
            raise UsageError(f"--node-env {key}=...: the Kubernetes output sets {key} itself (the pod's own name and index); rename it")
        if isinstance(first, FromHost):
            env.append(EnvVar(key, secret_key=True))
            continue
        values = [str(node_env[position][1]) for node_env in per_node]
        where = f"--node-env {key}={user_keys[key].partition('=')[2]}" if key in user_keys else f"the built-in {key}"
        env.append(EnvVar(key, _one_template(where, values, pods, answers)))
    args = []
    for template in answers.node_args:
        rendered = [values[0] if values else "" for values in contract.render_args([template], view)]
        if any(rendered) and not all(rendered):
            raise UsageError(_refusal(f"--node-arg {template}", rendered, pods, "renders empty on some pods only"))
        if rendered[0]:
            args.append(_one_template(f"--node-arg {template}", rendered, pods, answers))
    return Contract(tuple(env), tuple(args))


def _one_template(where: str, values: list[str], pods: tuple[Pod, ...], answers: Answers) -> tuple[Part, ...]:
    parts = podtemplate.express(values, pods)
    if parts is None:
        hint = (" (node.index is not the pod index with --id-base; use node.id)" if answers.id_base else "")
        raise UsageError(_refusal(where, values, pods, "differs between pods by more than their own name or id" + hint))
    return parts


def _refusal(where: str, values: list[str], pods: tuple[Pod, ...], problem: str) -> str:
    shown = "; ".join(f"{pod.name} gets {value[:50]!r}" for pod, value in list(zip(pods, values, strict=True))[:2])
    peers = 'PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}'
    return (
        f"--target kubernetes: {where} {problem} ({shown}), which one pod template cannot express; make the value the same "
        f"for every pod apart from node.id and node.service, e.g. every node's address itself included "
        f"(--node-env '{peers}', if the app skips its own), or drop kubernetes from --target"
    )


def _probes(answers: Answers, health: HealthCheck | None, installed: InstalledBinary) -> Probes:
    """The kubelet probes the pod's address itself, so no probe needs a shell in the image (distroless included)."""
    alive = Probe("tcp", port="http")
    if answers.ready_path is not None:
        ready = Probe("http", port="http", path=answers.ready_path, period=5)
    elif answers.ready_command:
        ready = Probe("exec", command=answers.ready_command, period=5)
    elif health is not None and health.kind == "exec":
        ready = Probe("exec", command=answers.health_exec or (installed.path, *answers.health_command), period=5)
    elif health is not None and health.kind == "http" and answers.health_path is not None:
        ready = Probe("http", port="http", path=answers.health_path, period=5)
    else:  # tcp, none (no shell in the image), or http accepting any reply, which a Kubernetes HTTP probe cannot: a connect
        ready = Probe("tcp", port="http", period=5)
    return Probes(alive, ready, Probe("tcp", port="http", period=2, failure_threshold=60))
