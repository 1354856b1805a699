"""The Swarm part of the plan: a stack of one service per node, for `docker stack deploy -c stack.yml`.

One service per node keeps each node's identity (its id, its volume, its DNS name) stable, as the
compose file does. Measured on Engine 20.10: a service's VIP did not route between peers, so every
node service is `endpoint_mode: dnsrr`, which cannot publish through the ingress: a published port
is `mode: host`, bound on every interface of the machine that runs the task. The engine honours
read_only, cap_drop, init, user and a tmpfs mount given as a volume; it ignores `security_opt`
(no-new-privileges) and the `tmpfs:` key, so the stack file leaves them out and says so.
"""

from __future__ import annotations

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
class SwarmNode:
    service: str  # the node's service (and DNS) name in the stack's network
    published: tuple[Published, ...]  # empty unless --swarm-publish


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
    ignored_hardening: tuple[str, ...]
    warnings: tuple[str, ...]


MAX_TASK_NAME = 63  # `<stack>_<service>` becomes a DNS name and a container hostname prefix


def make_swarm(answers: Answers, cluster: ClusterPlan, binary: str) -> SwarmPlan:
    warnings = []
    prefix = cluster.nodes[0].service.rsplit("-", 1)[0]
    if prefix != binary:
        warnings.append(f"Swarm names: binary {binary} becomes {prefix} in the service names (DNS)")
    room = MAX_TASK_NAME - 1 - max(len(node.service) for node in cluster.nodes)
    if room < 8:
        warnings.append(
            f"Swarm: service {cluster.nodes[-1].service} leaves {max(room, 0)} characters for the stack name "
            f"(`STACK_{cluster.nodes[-1].service}` must fit in {MAX_TASK_NAME}); use a short stack name"
        )
    if answers.swarm_publish:
        warnings.append(
            f"Swarm: published ports are mode: host, bound on every interface of the machine that runs each node; "
            f"--publish-address {answers.publish_address} cannot be honoured there: firewall them"
        )
    nodes = tuple(
        SwarmNode(node.service, tuple(Published(p.host, p.container) for p in node.ports) if answers.swarm_publish else ())
        for node in cluster.nodes
    )
    return SwarmPlan(
        version=VERSION,
        image=answers.image or cluster.image,
        network=cluster.network,
        nodes=nodes,
        policies=Policies(restart_delay=5, update_delay=10, cpu_reservation="0.1", memory_reservation="64M"),
        ignored_hardening=IGNORED_HARDENING,
        warnings=tuple(warnings),
    )
