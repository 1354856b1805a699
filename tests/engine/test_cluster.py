"""End to end: the generated docker-compose.yml runs a working Raft cluster.

For N = 3 and N = 5 nodes, on a private copy of sample-crates/raft-node:

1. ``scaffold init --nodes N --host-port BASE`` with BASE..BASE+N-1 free on
   127.0.0.1, then ``compose up -d`` (the image is built by the first service;
   nothing is ever pulled);
2. every node becomes ``healthy`` through the healthcheck scaffold generated;
3. exactly one leader is elected and every node agrees on it;
4. each node keeps its state in its own named volume;
5. stopping the leader elects a new one, in a higher term, within a bound;
6. the old leader, started again, rejoins as a follower of the new leader;
7. ``compose down -v`` leaves no container, network or volume behind.

The measured times (build and start, first election, health, re-election,
rejoin) are printed; run with ``-s`` to see them.

The generated file names its image ``<binary>:latest``. So that the test never
overwrites an image of that name on the machine (and two runs never share
one), a one-line override file outside the build context gives each run its
own tag, which the ``docker`` fixture removes afterwards. Everything else is
the generated file as is.

Only 127.0.0.1 ports this test published are contacted.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.samples import copy_sample

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docker

# Bounds. The healthcheck's first probe runs one interval (10 s) after start.
UP_TIMEOUT = 900  # build (cached after the first run) + start
FIRST_ELECTION_BOUND = 30.0
HEALTHY_BOUND = 90.0
REELECTION_BOUND = 15.0
REJOIN_BOUND = 30.0
# A leader counts as agreed once every node reports it, in the same term,
# for this long (several heartbeat intervals of 100 ms).
STABLE_FOR = 1.0
POLL = 0.1


# --------------------------------------------------------------------------
# Helpers


def ephemeral_ports() -> range:
    """The kernel's range for the local ports of outgoing connections (Linux's default if unreadable)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port_range(n: int, attempts: int = 200) -> int:
    """A base port such that base..base+n-1 can all be bound on 127.0.0.1 right now.

    The range lies outside the ephemeral ports, so no outgoing connection (this test's polling or
    another process's) takes one of its ports between the probe and `up`, or while a stopped node
    waits to be started again on the same port.
    """
    ephemeral = ephemeral_ports()
    bases = [b for b in range(20000, 65536 - n) if b + n <= ephemeral.start or b >= ephemeral.stop]
    if not bases:
        raise RuntimeError(
            f"no {n} ports above 20000 outside the ephemeral range {ephemeral.start}-{ephemeral.stop - 1}"
        )
    rng = random.Random()
    for _ in range(attempts):
        base = rng.choice(bases)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {n} consecutive free ports found on 127.0.0.1")


def get_status(port: int, timeout: float = 1.0) -> dict | None:
    """GET /status on 127.0.0.1:port; None if the node does not answer with JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/status")
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            return None
        return json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def get_health(port: int, timeout: float = 1.0) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def agreed_leader(statuses: dict[str, dict | None]) -> tuple[str, int] | None:
    """(leader id, term) if every node answers, exactly one is leader, and all agree on it."""
    if not statuses or any(s is None for s in statuses.values()):
        return None
    leaders = [s for s in statuses.values() if s["role"] == "leader"]
    if len(leaders) != 1:
        return None
    leader = leaders[0]
    if leader["leader"] != leader["id"]:
        return None
    for s in statuses.values():
        if s["leader"] != leader["id"] or s["term"] != leader["term"]:
            return None
    return leader["id"], leader["term"]


class Cluster:
    """The compose project under test, as the generated file describes it."""

    def __init__(self, docker, project_dir: Path, files: list[str]):
        self.docker = docker
        self.engine = docker.engine
        self.dir = project_dir
        self.files = files
        self.project = docker.project_name()
        self.nodes: dict[str, dict] = {}  # service -> {"id", "port", "volume"}

    def compose(self, *args: str, timeout: float = 300):
        return self.docker.compose(self.dir, *args, files=self.files, timeout=timeout)

    def load_config(self) -> dict:
        res = self.compose("config", "--format", "json")
        assert res.returncode == 0, res.stderr
        config = json.loads(res.stdout)
        self.nodes = {}
        for name, svc in sorted(config["services"].items()):
            ports = [p for p in svc.get("ports", []) if int(p["target"]) == int(svc["environment"]["HTTP_PORT"])]
            assert len(ports) == 1, f"{name}: expected one published HTTP port, got {svc.get('ports')}"
            assert ports[0]["host_ip"] == "127.0.0.1", f"{name} is published on {ports[0]['host_ip']}"
            data_dir = svc["environment"]["DATA_DIR"]
            vols = [v for v in svc.get("volumes", []) if v["target"] == data_dir]
            assert len(vols) == 1 and vols[0]["type"] == "volume", f"{name}: {data_dir} is not one named volume"
            self.nodes[name] = {
                "id": svc["environment"]["NODE_ID"],
                "port": int(ports[0]["published"]),
                "volume": vols[0]["source"],
                "data_dir": data_dir,
            }
        return config

    def service_of(self, node_id: str) -> str:
        return next(name for name, n in self.nodes.items() if n["id"] == node_id)

    def container(self, service: str) -> str:
        ids = self.engine.cmd(
            "ps", "-aq",
            "--filter", f"label=com.docker.compose.project={self.project}",
            "--filter", f"label=com.docker.compose.service={service}",
        ).stdout.split()
        assert len(ids) == 1, f"{service}: expected one container, found {ids}"
        return ids[0]

    def inspect(self, fmt: str, *containers: str) -> list[str]:
        res = self.engine.cmd("inspect", "--format", fmt, *containers, timeout=60)
        assert res.returncode == 0, res.stderr
        return res.stdout.splitlines()

    def statuses(self, services=None) -> dict[str, dict | None]:
        services = list(self.nodes) if services is None else services
        return {s: get_status(self.nodes[s]["port"]) for s in services}

    def persisted(self, service: str) -> dict:
        """The node's $DATA_DIR/raft-state, read inside its container."""
        res = self.compose("exec", "-T", service, "cat", f"{self.nodes[service]['data_dir']}/raft-state", timeout=60)
        assert res.returncode == 0, f"{service}: cannot read raft-state: {res.stderr}"
        state = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
        assert "term" in state, f"{service}: malformed raft-state {res.stdout!r}"
        return {"term": int(state["term"]), "voted_for": state.get("voted_for") or None}

    def logs(self) -> str:
        res = self.compose("logs", "--no-color", "--tail", "40", timeout=60)
        return (res.stdout + res.stderr)[-6000:]

    def wait_for_leader(self, services, bound: float, exclude: str | None = None, min_term: int = 0):
        """Poll /status until the nodes agree on one leader for STABLE_FOR seconds.

        Returns (leader id, term, seconds until agreement was first seen).
        """
        t0 = time.monotonic()
        first_seen = None
        candidate = None
        last = {}
        while time.monotonic() - t0 < bound:
            last = self.statuses(services)
            agreed = agreed_leader(last)
            if agreed and agreed[0] != exclude and agreed[1] >= min_term:
                if agreed != candidate:
                    candidate, first_seen = agreed, time.monotonic()
                elif time.monotonic() - first_seen >= STABLE_FOR:
                    return candidate[0], candidate[1], first_seen - t0
            else:
                candidate, first_seen = None, None
            time.sleep(POLL)
        pytest.fail(
            f"no stable leader among {services} within {bound:.0f}s; last /status answers:\n"
            + json.dumps(last, indent=1)
            + "\n--- logs ---\n"
            + self.logs()
        )

    def project_resources(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.project}"
        return {
            "containers": self.engine.cmd("ps", "-aq", "--filter", label).stdout.split(),
            "networks": self.engine.cmd("network", "ls", "-q", "--filter", label).stdout.split(),
            "volumes": self.engine.cmd("volume", "ls", "-q", "--filter", label).stdout.split(),
        }


def scaffold_init(crate: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


PORT_TAKEN = ("port is already allocated", "address already in use")


# --------------------------------------------------------------------------
# The test


@pytest.mark.parametrize("nodes", [3, 5])
def test_generated_cluster_elects_fails_over_and_cleans_up(docker, compose_bin, tmp_path, nodes):
    timings: dict[str, float] = {}
    crate = copy_sample("raft-node", tmp_path)
    # Outside the build context, so it does not change what the engine builds.
    override = tmp_path / "image-tag.override.yml"
    cluster = None

    # 1. Generate and start, on N free loopback ports (retried if another
    #    process takes one of them between the probe and `up`).
    for attempt in range(3):
        base = free_port_range(nodes)
        gen = scaffold_init(crate, "--nodes", str(nodes), "--host-port", str(base), *(["--force"] if attempt else []))
        assert gen.returncode == 0, gen.stderr
        compose_file = crate / "docker-compose.yml"
        assert compose_file.is_file()

        services = sorted(json.loads(
            docker.compose(crate, "config", "--format", "json", files=[str(compose_file)]).stdout
        )["services"])
        image = docker.tag("raft-node")
        override.write_text(
            "services:\n" + "".join(f"  {s}:\n    image: {json.dumps(image)}\n" for s in services)
        )
        cluster = Cluster(docker, crate, [str(compose_file), str(override)])
        config = cluster.load_config()
        assert len(cluster.nodes) == nodes
        assert sorted(n["port"] for n in cluster.nodes.values()) == list(range(base, base + nodes))
        assert len({n["id"] for n in cluster.nodes.values()}) == nodes
        # Nothing may be pulled: the image is built from `build:` (a plain `up` does not rebuild it).
        policies = sorted(svc.get("pull_policy") for svc in config["services"].values())
        assert policies == ["never"] * nodes, policies

        t0 = time.monotonic()
        up = cluster.compose("up", "-d", "--pull", "never", timeout=UP_TIMEOUT)
        timings["build+up"] = time.monotonic() - t0
        if up.returncode == 0:
            break
        if not any(m in up.stderr for m in PORT_TAKEN) or attempt == 2:
            pytest.fail(f"compose up failed:\n{up.stderr[-4000:]}")
        cluster.compose("down", "-v", "-t", "0", "--remove-orphans")
    up_done = time.monotonic()

    # 3a. A first leader is elected (measured from `up` returning).
    all_services = list(cluster.nodes)
    leader_id, term, first_election = cluster.wait_for_leader(all_services, FIRST_ELECTION_BOUND)
    timings["first election"] = first_election

    # 2. Every node becomes healthy through the generated healthcheck.
    containers = {s: cluster.container(s) for s in all_services}
    fmt = "{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}"
    deadline = up_done + HEALTHY_BOUND
    while True:
        health = dict(zip(all_services, cluster.inspect(fmt, *containers.values()), strict=True))
        if all(h == "healthy" for h in health.values()):
            break
        assert "no-healthcheck" not in health.values(), f"containers without a healthcheck: {health}"
        if "unhealthy" in health.values() or time.monotonic() > deadline:
            log = cluster.inspect("{{json .State.Health.Log}}", *containers.values())
            pytest.fail(f"not all healthy within {HEALTHY_BOUND:.0f}s: {health}\n{log}\n{cluster.logs()}")
        time.sleep(0.5)
    timings["healthy"] = time.monotonic() - up_done

    # 3b. Still exactly one leader that every node agrees on.
    leader_id, term, _ = cluster.wait_for_leader(all_services, FIRST_ELECTION_BOUND)
    statuses = cluster.statuses()
    for service, st in statuses.items():
        assert st["id"] == cluster.nodes[service]["id"], f"{service} answers as node {st['id']}"
    assert sum(st["role"] == "leader" for st in statuses.values()) == 1, statuses
    assert {st["leader"] for st in statuses.values()} == {leader_id}, statuses

    # 4. Each node's data is in its own named volume of this project.
    project_volumes = set(cluster.project_resources()["volumes"])
    assert len(project_volumes) == nodes, project_volumes
    mounted = {}
    for service, cid in containers.items():
        dest = cluster.nodes[service]["data_dir"]
        (mount,) = cluster.inspect(
            "{{range .Mounts}}{{if eq .Destination \"" + dest + "\"}}{{.Type}} {{.Name}}{{end}}{{end}}", cid
        )
        kind, _, name = mount.partition(" ")
        assert kind == "volume", f"{service}: {dest} is a {kind or 'missing'} mount"
        mounted[service] = name
    assert len(set(mounted.values())) == nodes, f"nodes share volumes: {mounted}"
    assert set(mounted.values()) == project_volumes
    states = {s: cluster.persisted(s) for s in all_services}
    leader_service = cluster.service_of(leader_id)
    # The leader voted for itself in the term it won, and wrote that to its own volume.
    assert states[leader_service] == {"term": term, "voted_for": leader_id}, states
    for state in states.values():
        assert state["term"] == term, states

    # 5. Stop the leader: the others elect a new one in a higher term.
    old_term = states[leader_service]["term"]
    t0 = time.monotonic()
    stop = cluster.compose("stop", "-t", "5", leader_service)
    stopped_at = time.monotonic()
    timings["stop"] = stopped_at - t0
    assert stop.returncode == 0, stop.stderr
    (state,) = cluster.inspect("{{.State.Status}}", containers[leader_service])
    assert state == "exited", f"the stopped leader is {state}"
    rest = [s for s in all_services if s != leader_service]
    new_leader, new_term, took = cluster.wait_for_leader(
        rest, REELECTION_BOUND, exclude=leader_id, min_term=old_term + 1
    )
    timings["re-election after stop"] = took
    assert new_leader != leader_id and new_term > old_term
    assert took <= REELECTION_BOUND

    # 6. Start the old leader again: it comes back as a follower of the new leader.
    t0 = time.monotonic()
    start = cluster.compose("start", leader_service)
    assert start.returncode == 0, start.stderr
    port = cluster.nodes[leader_service]["port"]
    back = None
    while time.monotonic() - t0 < REJOIN_BOUND:
        back = get_status(port)
        if back and back["role"] == "follower" and back["leader"] == new_leader:
            break
        time.sleep(POLL)
    else:
        pytest.fail(f"old leader did not rejoin within {REJOIN_BOUND:.0f}s: {back}\n{cluster.logs()}")
    timings["rejoin"] = time.monotonic() - t0
    assert back["term"] >= old_term, f"term went back from {old_term} to {back['term']}"
    assert get_health(port) == 200
    final_leader, final_term, _ = cluster.wait_for_leader(all_services, REJOIN_BOUND)
    assert final_leader == new_leader, "the returning node disrupted the new leader"
    assert final_term == new_term
    rejoined = cluster.persisted(leader_service)
    assert rejoined["term"] >= old_term, rejoined

    # 7. `down -v` removes every container, network and volume of the project.
    t0 = time.monotonic()
    down = cluster.compose("down", "-v", "-t", "0", "--remove-orphans")
    timings["down"] = time.monotonic() - t0
    assert down.returncode == 0, down.stderr
    assert cluster.project_resources() == {"containers": [], "networks": [], "volumes": []}

    print(
        f"\n[cluster N={nodes}] "
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + f"; leader {leader_id} (term {old_term}) -> {new_leader} (term {new_term})"
    )
