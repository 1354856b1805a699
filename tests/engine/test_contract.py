"""End to end: raft-node run through a contract unlike its own defaults, set up with flags alone.

raft-node's own defaults are 0-based ids in NODE_ID, PEERS, HTTP_PORT, RAFT_PORT and DATA_DIR. Here
the generated compose file tells it none of those: ``--no-default-env`` drops them, ``--id-base 1``
makes the ids 1..N, and ``--node-arg`` / ``--node-env`` templates pass the id, the peers, the HTTP
port or address and the data directory as command-line arguments and the Raft port under RAFT_PORT only, on
ports and a data directory that differ from raft-node's defaults. If any part of the contract were
rendered wrong, a node would not start, answer under another id, or never reach its peers.

1. a 3-node cluster becomes healthy through the generated healthcheck, every node answers with the
   1-based id its arguments gave it, they agree on one leader, and stopping the leader elects
   another in a higher term;
2. a node that binds its HTTP API on 127.0.0.1 only is reported unhealthy by the generated tcp and
   http probes, while its twin in the same project, bound on 0.0.0.0, is healthy.

The helpers of test_cluster.py drive compose and read /status through the 127.0.0.1 ports this test
published; a per-run image tag keeps runs apart, and the ``docker`` fixture removes everything.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.engine.test_cluster import (
    FIRST_ELECTION_BOUND,
    HEALTHY_BOUND,
    PORT_TAKEN,
    REELECTION_BOUND,
    UP_TIMEOUT,
    Cluster,
    free_port_range,
    get_status,
    scaffold_init,
)
from tests.samples import copy_sample

pytestmark = pytest.mark.docker

# Differ from raft-node's own defaults (8080, 9000, /data), so a default cannot stand in for the contract.
HTTP_PORT = 8181
RAFT_PORT = 9191
DATA_DIR = "/var/lib/raft"
# Each setting as raft-node's command-line options; the Raft port through its variable.
CONTRACT = (
    "--no-default-env",
    "--http-port", str(HTTP_PORT), "--raft-port", str(RAFT_PORT), "--data-dir", DATA_DIR,
    "--node-arg=--id", "--node-arg={{ node.id }}",
    "--node-arg=--peers", '--node-arg={{ node.peers | map(attribute="raft_address") | join(",") }}',
    "--node-arg=--data-dir", "--node-arg={{ data_dir }}",
    "--node-env", "RAFT_PORT={{ raft_port }}",
)
DEFAULT_ENV = ("NODE_ID", "PEERS", "HTTP_PORT", "DATA_DIR")
# The first probe runs after start_period; a failing node turns unhealthy after `retries` more.
UNHEALTHY_BOUND = 90.0
HEALTH = "{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}"


def option_after(command: list[str], option: str) -> str:
    assert option in command, f"{option} is not in the generated command {command}"
    return command[command.index(option) + 1]


class ContractCluster(Cluster):
    """A Cluster whose nodes learn their id, HTTP address and data directory from their command."""

    def load_config(self) -> dict:
        res = self.compose("config", "--format", "json")
        assert res.returncode == 0, res.stderr
        config = json.loads(res.stdout)
        self.nodes = {}
        for name, svc in sorted(config["services"].items()):
            told = sorted(set(svc.get("environment") or {}) & set(DEFAULT_ENV))
            assert not told, f"{name} still gets the default contract {told} despite --no-default-env"
            command = svc.get("command") or []
            ports = [p for p in svc.get("ports", []) if int(p["target"]) == HTTP_PORT]
            assert len(ports) == 1, f"{name}: expected one published port for {HTTP_PORT}, got {svc.get('ports')}"
            assert ports[0]["host_ip"] == "127.0.0.1", f"{name} is published on {ports[0]['host_ip']}"
            data_dir = option_after(command, "--data-dir")
            vols = [v for v in svc.get("volumes", []) if v["target"] == data_dir]
            assert len(vols) == 1 and vols[0]["type"] == "volume", f"{name}: {data_dir} is not one named volume"
            self.nodes[name] = {
                "id": option_after(command, "--id"),
                "port": int(ports[0]["published"]),
                "volume": vols[0]["source"],
                "data_dir": data_dir,
                "command": command,
            }
        return config


def start(docker, tmp_path: Path, nodes: int, *flags: str) -> tuple[ContractCluster, dict]:
    """Generate with `flags` on N free loopback ports and `compose up`; retried if a port is taken meanwhile."""
    crate = copy_sample("raft-node", tmp_path)
    override = tmp_path / "image-tag.override.yml"  # outside the build context
    image = docker.tag("raft-node")
    for attempt in range(3):
        base = free_port_range(nodes)
        gen = scaffold_init(crate, "--nodes", str(nodes), "--host-port", str(base), *flags,
                            *(["--force"] if attempt else []))
        assert gen.returncode == 0, f"scaffold init {' '.join(flags)} failed:\n{gen.stderr}"
        compose_file = crate / "docker-compose.yml"
        services = sorted(json.loads(
            docker.compose(crate, "config", "--format", "json", files=[str(compose_file)]).stdout
        )["services"])
        override.write_text("services:\n" + "".join(f"  {s}:\n    image: {json.dumps(image)}\n" for s in services))
        cluster = ContractCluster(docker, crate, [str(compose_file), str(override)])
        config = cluster.load_config()
        assert len(cluster.nodes) == nodes
        assert sorted(n["port"] for n in cluster.nodes.values()) == list(range(base, base + nodes))
        up = cluster.compose("up", "-d", "--pull", "never", timeout=UP_TIMEOUT)
        if up.returncode == 0:
            return cluster, config
        if not any(m in up.stderr for m in PORT_TAKEN) or attempt == 2:
            pytest.fail(f"compose up failed:\n{up.stderr[-4000:]}")
        cluster.compose("down", "-v", "-t", "0", "--remove-orphans")
    raise AssertionError("unreachable")


def wait_for_health(cluster: ContractCluster, want: dict[str, str], bound: float) -> float:
    """Poll each container's health until it is `want[service]`; seconds taken.

    Fails at once on the opposite verdict: a node that should turn unhealthy must never pass a probe.
    """
    containers = {s: cluster.container(s) for s in want}
    t0 = time.monotonic()
    health: dict[str, str] = {}
    while time.monotonic() - t0 < bound:
        health = dict(zip(containers, cluster.inspect(HEALTH, *containers.values()), strict=True))
        assert "no-healthcheck" not in health.values(), f"containers without a healthcheck: {health}"
        wrong = {s: h for s, h in health.items() if h in ("healthy", "unhealthy") and h != want[s]}
        if wrong:
            log = cluster.inspect("{{json .State.Health.Log}}", *containers.values())
            pytest.fail(f"wanted {want}, got {health}\nprobe log: {log}\n{cluster.logs()}")
        if health == want:
            return time.monotonic() - t0
        time.sleep(0.5)
    log = cluster.inspect("{{json .State.Health.Log}}", *containers.values())
    pytest.fail(f"not {want} within {bound:.0f}s: {health}\nprobe log: {log}\n{cluster.logs()}")


def test_one_based_ids_through_arguments_elect_and_fail_over(docker, compose_bin, tmp_path):
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    http = ("--node-arg=--http-port", "--node-arg={{ http_port }}")
    cluster, config = start(docker, tmp_path, 3, "--id-base", "1", "--healthcheck", "http", *CONTRACT, *http)
    timings["build+up"] = time.monotonic() - t0
    services = list(cluster.nodes)
    # Ids come from --id-base, service names stay index-based.
    ids = {s: n["id"] for s, n in cluster.nodes.items()}
    assert ids == {"raft-node-0": "1", "raft-node-1": "2", "raft-node-2": "3"}
    for service, node in cluster.nodes.items():
        peers = option_after(node["command"], "--peers").split(",")
        assert sorted(peers) == [f"{s}:{RAFT_PORT}" for s in services if s != service], node["command"]
        assert config["services"][service]["environment"]["RAFT_PORT"] == str(RAFT_PORT)

    leader, term, timings["first election"] = cluster.wait_for_leader(services, FIRST_ELECTION_BOUND)
    timings["healthy"] = wait_for_health(cluster, dict.fromkeys(services, "healthy"), HEALTHY_BOUND)

    leader, term, _ = cluster.wait_for_leader(services, FIRST_ELECTION_BOUND)
    statuses = cluster.statuses()
    assert {s: st["id"] for s, st in statuses.items()} == {s: n["id"] for s, n in cluster.nodes.items()}
    assert sorted(st["id"] for st in statuses.values()) == ["1", "2", "3"]
    assert [st["role"] for st in statuses.values()].count("leader") == 1, statuses
    assert {st["leader"] for st in statuses.values()} == {leader}
    leader_service = cluster.service_of(leader)
    # The leader persisted its self-vote under the contract's data directory, not raft-node's default.
    assert cluster.persisted(leader_service) == {"term": term, "voted_for": leader}

    stop = cluster.compose("stop", "-t", "5", leader_service)
    assert stop.returncode == 0, stop.stderr
    rest = [s for s in services if s != leader_service]
    new_leader, new_term, timings["re-election"] = cluster.wait_for_leader(
        rest, REELECTION_BOUND, exclude=leader, min_term=term + 1
    )
    assert new_leader in {"1", "2", "3"} - {leader} and new_term > term

    t0 = time.monotonic()
    down = cluster.compose("down", "-v", "-t", "0", "--remove-orphans")
    timings["down"] = time.monotonic() - t0
    assert down.returncode == 0, down.stderr
    assert cluster.project_resources() == {"containers": [], "networks": [], "volumes": []}
    print("\n[contract N=3, ids 1..3] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
          + f"; leader {leader} (term {term}) -> {new_leader} (term {new_term})")


@pytest.mark.parametrize("probe", ["tcp", "http"])
def test_loopback_only_app_is_unhealthy(docker, compose_bin, tmp_path, probe):
    # Node 0 binds its HTTP API on loopback only, node 1 on every interface; all else is equal.
    listen = '--node-arg={{ "127.0.0.1" if node.index == 0 else "0.0.0.0" }}:{{ http_port }}'
    t0 = time.monotonic()
    cluster, config = start(docker, tmp_path, 2, "--healthcheck", probe, *CONTRACT, "--node-arg=--http-listen", listen)
    took_up = time.monotonic() - t0
    loopback, wildcard = sorted(cluster.nodes)
    assert option_after(cluster.nodes[loopback]["command"], "--http-listen") == f"127.0.0.1:{HTTP_PORT}"
    assert option_after(cluster.nodes[wildcard]["command"], "--http-listen") == f"0.0.0.0:{HTTP_PORT}"
    test = config["services"][loopback]["healthcheck"]["test"]
    entrypoint = json.loads(cluster.inspect("{{json .Config.Entrypoint}}", cluster.container(loopback))[0])
    assert entrypoint[0] not in test, f"--healthcheck {probe} runs the app itself: {test}"

    took = wait_for_health(cluster, {loopback: "unhealthy", wildcard: "healthy"}, UNHEALTHY_BOUND)

    # The loopback node is up and answering, inside its container only: its published port is dead.
    inside = cluster.compose("exec", "-T", loopback, *entrypoint, "healthcheck",
                             "--http-listen", f"127.0.0.1:{HTTP_PORT}", timeout=60)
    assert inside.returncode == 0, f"the loopback node is not serving at all: {inside.stderr}\n{cluster.logs()}"
    assert get_status(cluster.nodes[loopback]["port"]) is None
    assert get_status(cluster.nodes[wildcard]["port"]) is not None
    print(f"\n[loopback, --healthcheck {probe}] build+up {took_up:.1f}s, verdicts after {took:.1f}s")
