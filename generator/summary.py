"""What `scaffold init` says when it is done: what it wrote, how to start it, where each node answers,
and the contract the app must keep (what it is told, how it is probed)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from . import contract
from .plan import BuildPlan
from .plan_cluster import PublishedPort
from .plan_image import HealthCheck

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def init_summary(
    plan: BuildPlan, notes: Sequence[str] = (), preflight: Sequence[str] = (), output_dir: Path | None = None
) -> list[str]:
    """The end summary; `preflight` holds preflight.py's lines about this machine's BuildKit and Compose;
    `output_dir`, when the files are not in the project, is where compose is run."""
    cluster, image = plan.cluster, plan.image
    first = cluster.nodes[0]
    start = "docker compose up -d --build      (stop and delete the data: docker compose down -v)"
    lines = [
        f"generated:  {', '.join(plan.outputs)} for `{plan.binary}`, {len(cluster.nodes)} node(s)",
    ]
    if "compose" in plan.targets:
        lines.append(f"start:      {f'cd {shlex.quote(str(output_dir))} && ' if output_dir is not None else ''}{start}")
    if plan.kubernetes is not None:
        lines.append(f"kubernetes: push {plan.kubernetes.image}, then kubectl apply -k k8s   (Kubernetes {plan.kubernetes.min_version}+)")
    if plan.swarm is not None:
        lines.append(f"swarm:      push {plan.swarm.image}, then docker stack deploy --resolve-image never -c stack.yml STACK")
    # The first port is a URL only where the node is known to speak HTTP (probed so); else an address.
    speaks_http = image.healthcheck is not None and image.healthcheck.kind == "http"
    for node in cluster.nodes if "compose" in plan.targets else ():  # the compose file's published ports
        first_port, *others = node.ports
        named = "".join(f", {_host(p)}->{p.container}" for p in others)
        where = f"http://{_host(first_port)}/" if speaks_http else _host(first_port)
        lines.append(f"  {node.service} (id {node.id}): {where}{named}")
    lines.append(f"the app must listen on 0.0.0.0 (not 127.0.0.1) in its container; {first.service} is told:")
    env = (*cluster.env, *first.env)
    lines += [f"  {line}" for line in contract.describe(env, first.command)]
    lines += [f"  {f.container_path}: {f.path} (read-only, one per node)" for f in first.files]
    lines.append(f"probed by:  {_probe(image.healthcheck, image.ports[0].number)}")
    if image.extra_binaries:
        lines.append(f"also in the image: {', '.join(b.path for b in image.extra_binaries)} (docker compose exec {first.service} NAME ...)")
    boot = cluster.bootstrap
    if boot is not None:
        lines.append(f"bootstrap:  {shlex.join(boot.command)}")
    if boot is not None and "compose" in plan.targets:
        lines += [
            f"  runs in {boot.service} once every node is healthy, and again on every `docker compose up`: it must be idempotent",
            f"  its output: docker compose logs {boot.service}; start with `up -d`, since `up --wait` exits 1 when a one-shot "
            "exits 0 (docker/compose#10596)",
        ]
    if plan.kubernetes is not None and plan.kubernetes.bootstrap is not None:
        job = plan.kubernetes.bootstrap.name
        lines.append(f"  kubernetes: the Job {job} runs it once, with the pods: it must retry until they answer (kubectl logs job/{job})")
    if plan.swarm is not None and plan.swarm.bootstrap is not None:
        lines.append(f"  swarm: the service {plan.swarm.bootstrap.service} starts with the nodes (no depends_on) and is retried "
                     "on failure: it must retry until they answer")
    lines += [f"  ({note})" for note in notes]
    if preflight:
        lines.append("this machine:")
        lines += [f"  {line}" for line in preflight]
    return lines


def _host(port: PublishedPort) -> str:
    return f"{_ANY_ADDRESS.get(port.address, port.address)}:{port.host}"


def _probe(check: HealthCheck | None, port: int) -> str:
    if check is None:
        return "nothing (no healthcheck)"
    if check.kind == "exec":
        return f"running {shlex.join(check.command)} in the container"
    if check.kind == "tcp":
        return f"a TCP connect to port {port} on the container's own address"
    path = check.command[-1] if check.command[-2:-1] == ("probe",) else None
    wanted = f"GET {path}, wanting a 2xx" if path else "GET /, any HTTP reply"
    return f"HTTP on port {port} at the container's own address: {wanted}"


def before_writing(plan: BuildPlan, fates: Sequence[tuple[str, str]]) -> list[str]:
    """What the wizard shows before it asks to write: each file's fate, the build, the cluster, and node 0's contract."""
    cluster, image = plan.cluster, plan.image
    first = cluster.nodes[0]
    width = max(len(name) for name, _ in fates)
    lines = ["", "about to write:"]
    lines += [f"  {name:<{width}}  {fate}" for name, fate in fates]
    lines += [
        f"build:      `{plan.binary}` (package {plan.package}) with Rust {image.rust_version}, {image.build.strategy}, "
        f"cargo build {' '.join(image.build.cargo_args)}",
        f"image:      {image.tag} from {image.base_image}, packages: {' '.join(image.runtime_packages.names) or 'none'}",
        f"cluster:    {len(cluster.nodes)} node(s), {first.service} on {_host(first.ports[0])}",
        f"{first.service} (id {first.id}) is told:",
    ]
    env = (*cluster.env, *first.env)
    lines += [f"  {line}" for line in contract.describe(env, first.command)] or ["  nothing"]
    lines.append(f"probed by:  {_probe(image.healthcheck, image.ports[0].number)}")
    return lines
