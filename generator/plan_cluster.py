"""The cluster part of the plan: one node per Raft member, each with its own id, volume, ports, env and command.

A node's env and command are plain data (ordered (key, value) pairs and an argument tuple), so any
output (a compose file today, others later) lays them out the same way; the node id is kept apart
from the node's index, which only orders the nodes and offsets their published ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from .answers import Answers
from .plan_image import app_env

NETWORK = "cluster"


@dataclass(frozen=True)
class PublishedPort:
    address: str  # host address it is bound to
    host: int
    container: int


@dataclass(frozen=True)
class Node:
    index: int  # 0-based position in the cluster
    id: str  # what the application is told it is (NODE_ID)
    service: str  # its service (and host) name
    volume: str  # its own named volume, mounted at the cluster's data_dir
    ports: tuple[PublishedPort, ...]
    env: tuple[tuple[str, str], ...]  # this node's own variables, after the cluster's shared ones
    command: tuple[str, ...]  # arguments after the image's entrypoint; empty: the image's own


@dataclass(frozen=True)
class ClusterPlan:
    image: str  # the image tag every node runs
    network: str
    read_only: bool  # read-only root filesystem with a tmpfs /tmp
    data_dir: str
    env: tuple[tuple[str, str], ...]  # shared by every node
    nodes: tuple[Node, ...]


def make_cluster(answers: Answers, name: str, image: str) -> ClusterPlan:
    services = [f"{name}-{i}" for i in range(answers.nodes)]
    nodes = []
    for index, service in enumerate(services):
        ports = [PublishedPort(answers.publish_address, answers.first_host_port + index, answers.http_port)]
        if answers.publish_raft:
            ports.append(PublishedPort(answers.publish_address, answers.raft_port + index, answers.raft_port))
        peers = ",".join(f"{other}:{answers.raft_port}" for other in services if other != service)
        node_id = str(index)
        env = (("NODE_ID", node_id), ("PEERS", peers))
        nodes.append(Node(index, node_id, service, f"{service}-data", tuple(ports), env, ()))
    return ClusterPlan(
        image=image,
        network=NETWORK,
        read_only=answers.read_only,
        data_dir=answers.data_dir,
        env=(*app_env(answers), ("RUST_LOG", answers.rust_log)),
        nodes=tuple(nodes),
    )
