"""End to end: the generated stack.yml runs a working Raft cluster on a single-node Docker Swarm.

For N = 3 (the built-in contract) and N = 5 (a peer list naming every node, as for Kubernetes), on a
private copy of sample-crates/raft-node:

1. ``scaffold init --target swarm`` with an image reference of this run, then the image is built
   from the generated Dockerfile (a stack never builds) and the stack deployed with
   ``docker stack deploy --resolve-image never`` (nothing is pulled);
2. every node service's task becomes ``healthy`` through the generated healthcheck;
3. the tasks run read-only, without capabilities, under an init, with a tmpfs /tmp; the nodes agree on
   one leader; a value holding `$` and Swarm's own `{{ }}` reaches them literally;
4. the leader's service scaled to 0, the others elect a new leader in a higher term;
5. ``docker stack rm`` leaves no container or network of the stack; its volumes are removed.

Swarm mode is engine-wide. The test takes a host-wide file lock so that two suites never fight over
it; an engine already in a swarm is used as it is (never left, its networks never touched); a swarm
this test made is left at the end, and the `docker_gwbridge` network it leaves behind removed, even
when the test fails. Node status is read through ``docker exec`` inside each task's container:
Swarm publishes on every interface, so nothing is published.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import swarm_lock
from tests.samples import copy_sample

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTHY_BOUND = 120.0
ELECTION_BOUND = 45.0
REELECTION_BOUND = 30.0
REMOVED_BOUND = 60.0
STABLE_FOR = 1.0
# Swarm expands Go templates in env values; this must reach the nodes as written.
LITERAL = "cost $5 {{ .Task.Slot }}"

pytestmark = pytest.mark.docker


@pytest.fixture
def swarm(engine):
    """A swarm manager to deploy to: the engine's own swarm, or one made (and left) by this test."""
    with swarm_lock(exclusive=True):
        state = engine.cmd("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").stdout.split()
        made = False
        if state[:1] == ["active"]:
            if state[1:] != ["true"]:
                pytest.skip("the engine is a swarm worker, not a manager: stacks cannot be deployed from here")
        else:
            init = engine.cmd("swarm", "init", "--advertise-addr", "127.0.0.1")
            assert init.returncode == 0, init.stderr
            made = True
        try:
            yield made
        finally:
            if made:
                engine.cmd("swarm", "leave", "--force")
                gone = engine.cmd("network", "rm", "docker_gwbridge")
                if gone.returncode != 0 and "No such network" not in gone.stderr and "not found" not in gone.stderr:
                    print(f"\n[swarm cleanup] docker_gwbridge: {gone.stderr.strip()}", file=sys.stderr)


class Stack:
    def __init__(self, engine, name: str, folder: Path):
        self.engine, self.name, self.folder = engine, name, folder

    def deploy(self) -> subprocess.CompletedProcess:
        return self.engine.cmd("stack", "deploy", "--resolve-image", "never", "-c", str(self.folder / "stack.yml"), self.name)

    def containers(self, service: str | None = None) -> list[str]:
        label = f"com.docker.swarm.service.name={self.name}_{service}" if service else f"com.docker.stack.namespace={self.name}"
        return self.engine.cmd("ps", "-q", "--filter", f"label={label}").stdout.split()

    def container(self, service: str) -> str | None:
        found = self.containers(service)
        return found[0] if len(found) == 1 else None

    def health(self, service: str) -> str:
        cid = self.container(service)
        if cid is None:
            return "no task"
        return self.engine.cmd("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", cid).stdout.strip()

    def wait_healthy(self, services: list[str], since: float, bound: float) -> float:
        """Seconds from `since` until every service's task is healthy; fails after `bound`."""
        while (health := {s: self.health(s) for s in services}) and not all(h == "healthy" for h in health.values()):
            if time.monotonic() > since + bound:
                pytest.fail(f"not all healthy within {bound:.0f}s: {health}")
            time.sleep(1)
        return time.monotonic() - since

    def exec(self, service: str, *command: str) -> str | None:
        cid = self.container(service)
        if cid is None:
            return None
        result = self.engine.cmd("exec", cid, *command, timeout=20)
        return result.stdout if result.returncode == 0 else None

    def status(self, service: str) -> dict | None:
        """GET /status from inside the node's own container (bash's /dev/tcp: the image has no HTTP client)."""
        script = 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /status HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'
        reply = self.exec(service, "bash", "-c", script)
        if not reply or "\n\n" not in reply.replace("\r\n", "\n"):
            return None
        try:
            return json.loads(reply.replace("\r\n", "\n").split("\n\n", 1)[1])
        except ValueError:
            return None

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.stack.namespace={self.name}"
        return {
            "containers": self.engine.cmd("ps", "-aq", "--filter", label).stdout.split(),
            "networks": self.engine.cmd("network", "ls", "-q", "--filter", label).stdout.split(),
            "services": self.engine.cmd("service", "ls", "-q", "--filter", label).stdout.split(),
        }

    def remove(self) -> None:
        self.engine.cmd("stack", "rm", self.name)
        deadline = time.monotonic() + REMOVED_BOUND
        while time.monotonic() < deadline and any(self.leftovers().values()):
            time.sleep(1)
        volumes = self.engine.cmd("volume", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={self.name}").stdout.split()
        for volume in volumes:
            self.engine.cmd("volume", "rm", volume)


def agreed(statuses: dict[str, dict | None]) -> tuple[str, int] | None:
    if any(s is None for s in statuses.values()):
        return None
    leaders = [s for s in statuses.values() if s["role"] == "leader"]
    if len(leaders) != 1 or any(s["leader"] != leaders[0]["id"] or s["term"] != leaders[0]["term"] for s in statuses.values()):
        return None
    return leaders[0]["id"], leaders[0]["term"]


def wait_for_leader(stack: Stack, services: list[str], bound: float, min_term: int = 0) -> tuple[str, int, float]:
    t0, candidate, since, last = time.monotonic(), None, 0.0, {}
    while time.monotonic() - t0 < bound:
        last = {s: stack.status(s) for s in services}
        found = agreed(last)
        if found and found[1] >= min_term:
            if found != candidate:
                candidate, since = found, time.monotonic()
            elif time.monotonic() - since >= STABLE_FOR:
                return found[0], found[1], since - t0
        else:
            candidate = None
        time.sleep(0.3)
    pytest.fail(f"no agreed leader among {services} within {bound:.0f}s: {json.dumps(last)}")


# With 5 nodes the peer list names every node, as the Kubernetes output needs: raft-node skips its own entry.
ALL_PEERS = 'PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}'


@pytest.mark.parametrize(("nodes", "peers"), [(3, ()), (5, ("--node-env", ALL_PEERS))], ids=["3-others", "5-everyone"])
def test_generated_stack_elects_fails_over_and_is_removed(docker, swarm, tmp_path, nodes, peers):
    timings: dict[str, float] = {}
    crate = copy_sample("raft-node", tmp_path)
    image = docker.tag("raft-node")
    gen = subprocess.run(
        [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "-q", "--target", "swarm", "--nodes", str(nodes),
         "--image", image, "--node-env", "APP_TEXT={% raw %}" + LITERAL + "{% endraw %}", *peers],
        cwd=REPO_ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120,
    )
    assert gen.returncode == 0, gen.stderr
    assert not (crate / "docker-compose.yml").exists(), "--target swarm alone writes no compose file"
    t0 = time.monotonic()
    built = docker.build(crate, crate / "Dockerfile", image)
    assert built.returncode == 0, built.output[-3000:]
    timings["build"] = time.monotonic() - t0

    stack = Stack(docker.engine, f"scaffold{docker.run_id}", crate)
    services = [f"raft-node-{i}" for i in range(nodes)]
    try:
        t0 = time.monotonic()
        deployed = stack.deploy()
        assert deployed.returncode == 0, deployed.stderr
        timings["healthy"] = stack.wait_healthy(services, t0, HEALTHY_BOUND)

        # The hardening a stack task keeps (security_opt and the tmpfs: key are ignored, so the file has neither).
        fmt = ("{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.Init}} "
               "{{range .Mounts}}{{.Destination}}={{.Type}} {{end}}")
        hardening = docker.engine.cmd("inspect", "--format", fmt, stack.container(services[0]) or "").stdout.split()
        assert hardening[:3] == ["true", "[ALL]", "true"] and "/tmp=tmpfs" in hardening and "/data=volume" in hardening, hardening
        leader, term, took = wait_for_leader(stack, services, ELECTION_BOUND)
        timings["agreed leader"] = took
        statuses = {s: stack.status(s) for s in services}
        assert sorted(st["id"] for st in statuses.values()) == [str(i) for i in range(nodes)]
        # No node counts itself among its peers; the leader hears from every other node.
        assert all(st["id"] not in st["peers_seen"] for st in statuses.values()), statuses
        assert sorted(statuses[next(s for s, st in statuses.items() if st["id"] == leader)]["peers_seen"]) == sorted(
            st["id"] for st in statuses.values() if st["id"] != leader), statuses
        for service in services:
            assert stack.exec(service, "printenv", "APP_TEXT") == LITERAL + "\n"

        leader_service = next(s for s, st in statuses.items() if st["id"] == leader)
        t0 = time.monotonic()
        scaled = docker.engine.cmd("service", "scale", "--detach", f"{stack.name}_{leader_service}=0")
        assert scaled.returncode == 0, scaled.stderr
        rest = [s for s in services if s != leader_service]
        new_leader, new_term, _ = wait_for_leader(stack, rest, REELECTION_BOUND, min_term=term + 1)
        timings["re-election"] = time.monotonic() - t0
        assert new_leader != leader and new_term > term
        assert stack.containers(leader_service) == []
    finally:
        t0 = time.monotonic()
        stack.remove()
        timings["stack rm"] = time.monotonic() - t0
    assert stack.leftovers() == {"containers": [], "networks": [], "services": []}
    print(f"\n[swarm N={nodes}] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + f"; leader {leader} -> {new_leader}")
