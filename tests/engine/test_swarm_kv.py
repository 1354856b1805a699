"""End to end: kv-node's per-node files and bootstrap, as Swarm configs and a one-shot service, on a single-node swarm.

kv-node takes its peers from a config file per node (`--node-file`), so this is the stack's configs
at work: each node service mounts its own hash-named config made from `cluster/<service>/`.

1. peers: `deploy/node.toml.j2` (the peers map) -> 3 nodes healthy, each reading its own file, one
   agreed leader;
2. join: `deploy/join.toml.j2` (un-joined nodes) and `--bootstrap-command` JOIN -> the one-shot
   service starts with the nodes (Swarm has no depends_on), is retried until they answer, completes,
   and the nodes elect a leader.

The swarm fixture, its host-wide lock and the stack helper are test_swarm.py's.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.engine.test_swarm import REPO_ROOT, Stack, swarm  # noqa: F401 - swarm is a fixture
from tests.samples import copy_sample

pytestmark = pytest.mark.docker

CONFIG = "/etc/kv/node.toml"
CONTRACT = ("--no-default-env", "--id-base", "1", "--http-port", "7000", "--raft-port", "7100", "--healthcheck", "tcp",
            "--node-arg=--config", f"--node-arg={CONFIG}", "--extra-bin", "kv-cli")
JOIN = ("kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}"
        "JOIN {% for n in cluster.nodes %}{{ n.id }}={{ n.raft_address }} {% endfor %}")
MODES = {
    "peers": (f"--node-file=deploy/node.toml.j2:{CONFIG}",),
    "join": (f"--node-file=deploy/join.toml.j2:{CONFIG}", "--bootstrap-command", JOIN),
}
HEALTHY_BOUND = 120.0
BOOTSTRAP_BOUND = 120.0
LEADER_BOUND = 45.0
SERVICES = [f"kv-node-{i}" for i in range(3)]


def wait_for_leader(stack: Stack, bound: float) -> tuple[str, dict[str, str]]:
    deadline, roles = time.monotonic() + bound, {}
    while time.monotonic() < deadline:
        roles = {s: (stack.exec(s, "kv-cli", "ROLE") or "").strip() for s in SERVICES}
        leaders = [(s, r.split()[1]) for s, r in roles.items() if r.startswith("leader ")]
        if len(leaders) == 1:
            leader, term = leaders[0]
            leader_id = str(int(leader.rsplit("-", 1)[1]) + 1)
            if all(r == f"follower {leader_id} {term}" for s, r in roles.items() if s != leader):
                return leader, roles
        time.sleep(0.5)
    pytest.fail(f"no single agreed leader within {bound:.0f}s: {roles}")


@pytest.mark.parametrize("mode", MODES)
def test_kv_node_stack_reads_its_configs_and_elects_a_leader(docker, swarm, tmp_path, mode):  # noqa: F811
    timings: dict[str, float] = {}
    crate = copy_sample("kv-node", tmp_path)
    image = docker.tag("kv-node")
    gen = subprocess.run(
        [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "-q", "--target", "swarm", "--image", image,
         *CONTRACT, *MODES[mode]],
        cwd=REPO_ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert gen.returncode == 0, gen.stderr
    t0 = time.monotonic()
    built = docker.build(crate, crate / "Dockerfile", image)
    assert built.returncode == 0, built.output[-3000:]
    timings["build"] = time.monotonic() - t0
    stack = Stack(docker.engine, f"scaffold{docker.run_id}", crate)
    boot = f"{stack.name}_kv-node-bootstrap"
    try:
        t0 = time.monotonic()
        deployed = stack.deploy()
        assert deployed.returncode == 0, deployed.stderr
        timings["healthy"] = stack.wait_healthy(SERVICES, t0, HEALTHY_BOUND)
        for service in SERVICES:  # each node reads its own file, from its config
            name = "node.toml" if mode == "peers" else "join.toml"  # the template's name without .j2
            assert stack.exec(service, "cat", CONFIG) == (crate / "cluster" / service / name).read_text()
        if mode == "join":
            deadline = time.monotonic() + BOOTSTRAP_BOUND
            states: list[str] = []
            while time.monotonic() < deadline:
                ps = docker.engine.cmd("service", "ps", "--format", "{{.CurrentState}}", boot)
                states = ps.stdout.split("\n")
                if any(s.startswith("Complete") for s in states):
                    break
                time.sleep(1)
            else:
                pytest.fail(f"{boot} did not complete within {BOOTSTRAP_BOUND:.0f}s: {states}")
            timings["bootstrap"] = time.monotonic() - t0
        t1 = time.monotonic()
        leader, roles = wait_for_leader(stack, LEADER_BOUND)
        timings["leader"] = time.monotonic() - t1
    finally:
        t0 = time.monotonic()
        stack.remove()
        timings["stack rm"] = time.monotonic() - t0
    assert stack.leftovers() == {"containers": [], "networks": [], "services": []}
    configs = docker.engine.cmd("config", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={stack.name}").stdout.split()
    assert configs == [], "docker stack rm leaves no config of the stack"
    print(f"\n[swarm kv-node {mode}] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + f"; leader {leader}: {roles}")
