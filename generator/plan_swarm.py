"""The Swarm part of the plan: a stack of one service per node, for `docker stack deploy -c stack.yml`.

One service per node keeps each node's identity (its id, its volume, its DNS name) stable, as the
compose file does. Measured on Engine 20.10: a service's VIP did not route between peers, so every
node service is `endpoint_mode: dnsrr`, which cannot publish through the ingress: a published port
is `mode: host`, bound on every interface of the machine that runs the task. The engine honours
read_only, cap_drop, init, user and a tmpfs mount given as a volume; it ignores `security_opt`
(no-new-privileges) and the `tmpfs:` key, so the stack file leaves them out and says so.

Each node's `--node-file` copies are Swarm configs made from the files written for compose under
cluster/<service>/ (the service names are the same, so are the files; the engine takes configs only
from files). Configs are immutable: each name carries the content's hash, so a changed file is a new
config and the node's service is updated to it. The bootstrap is a one-shot service restarted on
failure: Swarm has no depends_on, so its command must retry until the nodes answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .answers import Answers
from .plan_cluster import ClusterPlan

VERSION = "3.8"  # what `docker stack deploy` on Engine 20.10 reads; it rejects a file without "3.x"
IGNORED_HARDENING = ("security_opt (no-new-privileges)", "tmpfs: (given as a tmpfs volume instead)")


@dataclass(frozen=True)
class Published:
    host: int
    container: int


@dataclass(frozen=True)
class Config:
    name: str  # `<service>-<file>-<sha256 prefix>` in the stack file (the engine prefixes the stack's name)
    file: str  # the node file under cluster/, relative to the stack file
    target: str  # the container path


@dataclass(frozen=True)
class SwarmNode:
    service: str  # the node's service (and DNS) name in the stack's network
    published: tuple[Published, ...]  # empty unless --swarm-publish
    configs: tuple[Config, ...] = ()  # its --node-file copies


@dataclass(frozen=True)
class OneShot:
    """The bootstrap: runs when the stack is deployed, again on failure, and not after it exits 0."""

    service: str
    image: str
    command: tuple[str, ...]  # the whole argv, replacing the image's entrypoint
    max_attempts: int
    delay: int  # seconds between attempts


@dataclass(frozen=True)
class Policies:
    restart_delay: int  # seconds between restarts of a failed task
    update_delay: int  # seconds between node services during an update
    cpu_reservation: str
    memory_reservation: str


@dataclass(frozen=True)
class SwarmPlan:
    version: str
    image: str  # what every node service runs: the stack never builds it
    network: str  # an overlay network of the stack
    nodes: tuple[SwarmNode, ...]
    policies: Policies
    bootstrap: OneShot | None
    ignored_hardening: tuple[str, ...]
    warnings: tuple[str, ...]


MAX_TASK_NAME = 63  # `<stack>_<service>` becomes a DNS name and a container hostname prefix
MAX_CONFIG_NAME = 64  # `<stack>_<config>`
_CONFIG_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def make_swarm(answers: Answers, cluster: ClusterPlan, binary: str) -> SwarmPlan:
    warnings = []
    prefix = cluster.nodes[0].service.rsplit("-", 1)[0]
    if prefix != binary:
        warnings.append(f"Swarm names: binary {binary} becomes {prefix} in the service names (DNS)")
    nodes = tuple(
        SwarmNode(
            node.service,
            tuple(Published(p.host, p.container) for p in node.ports) if answers.swarm_publish else (),
            tuple(_config(node.service, position, f.path, f.content, f.container_path) for position, f in enumerate(node.files)),
        )
        for node in cluster.nodes
    )
    room = min(
        MAX_TASK_NAME - 1 - max(len(node.service) for node in cluster.nodes),
        MAX_CONFIG_NAME - 1 - max((len(c.name) for node in nodes for c in node.configs), default=0),
    )
    if room < 8:
        warnings.append(
            f"Swarm: service {cluster.nodes[-1].service} leaves {max(room, 0)} characters for the stack name "
            f"(`STACK_{cluster.nodes[-1].service}` must fit in {MAX_TASK_NAME}, a config name in {MAX_CONFIG_NAME}); "
            "use a short stack name"
        )
    if answers.swarm_publish:
        warnings.append(
            f"Swarm: published ports are mode: host, bound on every interface of the machine that runs each node; "
            f"--publish-address {answers.publish_address} cannot be honoured there: firewall them"
        )
    image = answers.image or cluster.image
    boot = cluster.bootstrap
    bootstrap = None if boot is None else OneShot(boot.service, image if boot.own_image else boot.image, boot.command, 20, 5)
    return SwarmPlan(
        version=VERSION,
        image=image,
        network=cluster.network,
        nodes=nodes,
        policies=Policies(restart_delay=5, update_delay=10, cpu_reservation="0.1", memory_reservation="64M"),
        bootstrap=bootstrap,
        ignored_hardening=IGNORED_HARDENING,
        warnings=tuple(warnings),
    )


def _config(service: str, position: int, path: str, content: str, target: str) -> Config:
    """A config name that changes with the content: configs are immutable, a new content is a new config."""
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    stem = _CONFIG_UNSAFE.sub("_", path.rsplit("/", 1)[-1]).strip("._-")[:20] or f"file{position}"
    return Config(f"{service}-{stem}-{digest}", path, target)
