"""The cluster part of the plan: one node per Raft member, each with its own id, volume, ports, env and command.

A node's env and command are plain data (ordered (key, value) pairs and an argument tuple), rendered
from the run contract (contract.py) per node, so any output (a compose file today, others later)
lays them out the same way; the node id is kept apart from the node's index, which only orders the
nodes, names their services and volumes and offsets their published ports.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from . import contract
from .answers import Answers
from .bootstrap import Bootstrap
from .contract import ClusterView, EnvValue
from .nodefiles import NodeFile
from .ports import NamedPort

NETWORK = "cluster"
SINGLE_NETWORK = "app"  # one node is no cluster, and its files do not call it one


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on a host address and port."""

    address: str  # host address it is bound to
    host: int
    container: int


@dataclass(frozen=True)
class Node:
    """One node of the cluster: its service, volume, ports, environment and command."""

    index: int  # 0-based position in the cluster
    id: str  # what the application is told it is (id_base + index)
    service: str  # its service (and host) name
    volume: str  # its own named volume, mounted at the cluster's data_dir
    ports: tuple[PublishedPort, ...]
    env: tuple[tuple[str, EnvValue], ...]  # this node's own variables, after the cluster's shared ones
    command: tuple[str, ...]  # arguments after the image's entrypoint; empty: the image's own
    files: tuple[NodeFile, ...] = ()  # its own rendered --node-file copies, mounted read-only


@dataclass(frozen=True)
class ClusterPlan:
    """The cluster every output file lays out: its nodes and what they share."""

    image: str  # the image tag every node runs
    network: str
    read_only: bool  # read-only root filesystem with a tmpfs /tmp
    data_dir: str
    env: tuple[tuple[str, EnvValue], ...]  # shared by every node
    nodes: tuple[Node, ...]
    # `scaffold check` rules the user's own choices break, as (code, reason): the compose file waives them,
    # so that checking freshly generated files is clean (check_waivers.py reads the comment).
    waivers: tuple[tuple[str, str], ...] = ()
    bootstrap: Bootstrap | None = None  # a one-shot run once every node is healthy


def view(answers: Answers, name: str, named: tuple[NamedPort, ...]) -> ClusterView:
    """What the contract's templates see of this cluster."""
    return contract.cluster_view(name, answers.nodes, answers.id_base, answers.http_port, answers.raft_port, answers.data_dir, named)


def node_env(answers: Answers, cluster: ClusterView) -> tuple[tuple[tuple[str, EnvValue], ...], ...]:
    """Per node, everything it is told: the contract's variables, then RUST_LOG unless the user set it."""
    templates = contract.env_templates(answers.node_env, answers.nodes, answers.default_env)
    rendered = contract.render_env(templates, cluster, answers.node_env_from_host)
    return tuple(env if any(key == "RUST_LOG" for key, _ in env) else (*env, ("RUST_LOG", answers.rust_log)) for env in rendered)


def make_cluster(
    answers: Answers,
    image: str,
    cluster: ClusterView,
    named: tuple[NamedPort, ...],
    per_node: tuple[tuple[tuple[str, EnvValue], ...], ...],
    files: tuple[tuple[NodeFile, ...], ...],
    bootstrap: Bootstrap | None,
) -> ClusterPlan:
    shared = contract.shared_env(per_node)
    commands = contract.render_args(answers.node_args, cluster)
    nodes = []
    for view_node, env, command, own_files in zip(cluster.nodes, per_node, commands, files, strict=True):
        index = view_node.index
        ports = [PublishedPort(answers.publish_address, answers.first_host_port + index, answers.http_port)]
        ports += [PublishedPort(answers.publish_address, p.host_port(index), p.port) for p in named]
        if answers.publish_raft and answers.nodes > 1:
            ports.append(PublishedPort(answers.publish_address, answers.raft_port + index, answers.raft_port))
        own = tuple(pair for pair in env if pair not in shared)
        nodes.append(Node(index, str(view_node.id), view_node.service, f"{view_node.service}-data", tuple(ports), own, command, own_files))
    return ClusterPlan(
        image=image,
        network=NETWORK if answers.nodes > 1 else SINGLE_NETWORK,
        read_only=answers.read_only,
        data_dir=answers.data_dir,
        env=shared,
        nodes=tuple(nodes),
        waivers=waivers(answers),
        bootstrap=bootstrap,
    )


def waivers(answers: Answers) -> tuple[tuple[str, str], ...]:
    """The check rules a chosen option breaks on purpose: every-interface publishing, a writable root."""
    chosen = []
    if ipaddress.ip_address(answers.publish_address.strip("[]")).is_unspecified:
        chosen.append(("SC305", f"chosen with --publish-address {answers.publish_address}"))
    if not answers.read_only:
        chosen.append(("SC304", "chosen with --writable-root"))
    return tuple(chosen)
