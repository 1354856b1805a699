"""End to end: kv-node, whose contract is unlike raft-node's, clustered with flags alone.

kv-node reads everything from a config file named on its command line, has 1-based ids, takes its peers
as a map in that file, speaks a line protocol (not HTTP) and ships a companion client, kv-cli. Nothing of
this is written by hand here: `--node-file` renders each node's config from a template of the project,
`--node-arg` points the node at it, `--extra-bin kv-cli` puts the client in the image, `--healthcheck tcp`
probes the line-protocol port.

1. Peers from the config file: 3 nodes become healthy, elect one leader, take a write and serve it back
   through kv-cli run inside a node (`compose exec`), and after the leader is stopped elect another that
   still serves the write.
2. Peers from a bootstrap: the nodes start un-joined (`cluster = "join"`), and a `--bootstrap-command`
   one-shot sends one JOIN to every node once all are healthy; a second `docker compose up` runs the
   one-shot again, which must change nothing (idempotence).

Only 127.0.0.1 ports this test published are used; the ``docker`` fixture removes everything.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.engine.test_cluster import PORT_TAKEN, UP_TIMEOUT, Cluster, free_port_range, scaffold_init
from tests.engine.test_contract import HEALTH
from tests.samples import copy_sample

pytestmark = pytest.mark.docker

CLIENT_PORT = 7000
RAFT_PORT = 7100
CONFIG = "/etc/kv/node.toml"
CONTRACT = (
    "--no-default-env", "--id-base", "1", "--http-port", str(CLIENT_PORT), "--raft-port", str(RAFT_PORT),
    "--node-arg=--config", f"--node-arg={CONFIG}", "--extra-bin", "kv-cli", "--healthcheck", "tcp",
)
# One JOIN naming every member, sent to every node by kv-cli's repeated --addr.
BOOTSTRAP = (
    "kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}"
    "JOIN {% for n in cluster.nodes %}{{ n.id }}={{ n.raft_address }} {% endfor %}"
)
HEALTHY_BOUND = 90.0
LEADER_BOUND = 30.0
BOOTSTRAP_BOUND = 60.0


class KvCluster(Cluster):
    """The generated project; every question to a node is kv-cli run in that node's own container."""

    def cli(self, service: str, *words: str) -> str:
        res = self.compose("exec", "-T", service, "kv-cli", *words, timeout=60)
        return res.stdout.strip() if res.returncode == 0 else f"<exit {res.returncode}: {res.stdout.strip()} {res.stderr.strip()}>"

    def roles(self, services: list[str]) -> dict[str, str]:
        return {s: self.cli(s, "ROLE") for s in services}

    def wait_for_leader(self, services, bound: float, exclude: str | None = None, min_term: int = 0):  # type: ignore[override]
        """(leader service, term) once one node leads and the others follow its id in its term."""
        ids = {s: str(int(s.rsplit("-", 1)[1]) + 1) for s in services}  # --id-base 1
        deadline = time.monotonic() + bound
        roles: dict[str, str] = {}
        while time.monotonic() < deadline:
            roles = self.roles(services)
            leaders = [(s, int(r.split()[1])) for s, r in roles.items() if r.startswith("leader ")]
            if len(leaders) == 1 and leaders[0][0] != exclude and leaders[0][1] >= min_term:
                leader, term = leaders[0]
                if all(r == f"follower {ids[leader]} {term}" for s, r in roles.items() if s != leader):
                    return leader, term
            time.sleep(0.3)
        pytest.fail(f"no single agreed leader among {services} within {bound:.0f}s: {roles}\n{self.logs()}")

    def wait_for_value(self, service: str, key: str, want: str, bound: float = 15.0) -> None:
        deadline = time.monotonic() + bound
        got = ""
        while time.monotonic() < deadline:
            got = self.cli(service, "GET", key)
            if got == f"VALUE {want}":
                return
            time.sleep(0.3)
        pytest.fail(f"{service}: GET {key} gave {got!r}, not VALUE {want}\n{self.roles(list(self.nodes) or [service])}\n{self.logs()}")

    def wait_healthy(self, services: list[str]) -> float:
        containers = [self.container(s) for s in services]
        t0 = time.monotonic()
        health: list[str] = []
        while time.monotonic() - t0 < HEALTHY_BOUND:
            health = self.inspect(HEALTH, *containers)
            if all(h == "healthy" for h in health):
                return time.monotonic() - t0
            shown = dict(zip(services, health, strict=False))
            assert "unhealthy" not in health and "no-healthcheck" not in health, f"{shown}\n{self.logs()}"
            time.sleep(0.5)
        pytest.fail(f"not healthy within {HEALTHY_BOUND:.0f}s: {dict(zip(services, health, strict=False))}\n{self.logs()}")


def start(docker, tmp_path: Path, *flags: str) -> tuple[KvCluster, dict, list[str]]:
    """Generate kv-node's cluster with `flags`, give it a per-run image tag, and `up -d` it."""
    crate = copy_sample("kv-node", tmp_path)
    override = tmp_path / "image-tag.override.yml"  # outside the build context
    image = docker.tag("kv-node")
    built = False
    for attempt in range(3):
        base = free_port_range(3)
        gen = scaffold_init(crate, "--nodes", "3", "--host-port", str(base), *CONTRACT, *flags, *(["--force"] if attempt else []))
        assert gen.returncode == 0, f"scaffold init failed:\n{gen.stderr}"
        compose_file = crate / "docker-compose.yml"
        config_res = docker.compose(crate, "config", "--format", "json", files=[str(compose_file)])
        assert config_res.returncode == 0, config_res.stderr
        config = json.loads(config_res.stdout)
        override.write_text("services:\n" + "".join(f"  {s}:\n    image: {json.dumps(image)}\n" for s in sorted(config["services"])))
        cluster = KvCluster(docker, crate, [str(compose_file), str(override)])
        nodes = sorted(s for s in config["services"] if not s.endswith("-bootstrap"))
        if not built:  # once, from the generated Dockerfile: compose's first `up` would build it on every node side
            # by side, and the next `up` can then recreate the nodes once (each recorded its own build's image ID)
            res = docker.build(crate, crate / "Dockerfile", image)
            assert res.returncode == 0, res.output[-3000:]
            built = True
        up = cluster.compose("up", "-d", "--pull", "never", timeout=UP_TIMEOUT)
        if up.returncode == 0:
            return cluster, config, nodes
        if not any(m in up.stderr for m in PORT_TAKEN) or attempt == 2:
            pytest.fail(f"compose up failed:\n{up.stderr[-4000:]}")
        cluster.compose("down", "-v", "-t", "0", "--remove-orphans")
    raise AssertionError("unreachable")


def test_kv_node_peers_from_node_files_elect_answer_and_survive_leader_loss(docker, compose_bin, tmp_path):
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    cluster, config, nodes = start(docker, tmp_path, f"--node-file=deploy/node.toml.j2:{CONFIG}")
    timings["build+up"] = time.monotonic() - t0
    assert nodes == ["kv-node-0", "kv-node-1", "kv-node-2"]
    for index, service in enumerate(nodes):
        mounts = [m for m in config["services"][service]["volumes"] if m["target"] == CONFIG]
        assert len(mounts) == 1 and mounts[0]["type"] == "bind" and mounts[0]["read_only"], mounts
        assert mounts[0]["source"].endswith(f"cluster/{service}/node.toml"), mounts
        # Each node reads its own rendered file: its own 1-based id and the two others as peers.
        text = cluster.compose("exec", "-T", service, "cat", CONFIG).stdout
        assert f"id = {index + 1}\n" in text, text
        peers = {line.split(" = ")[0] for line in text.split("[peers]\n", 1)[1].splitlines() if " = " in line}
        assert peers == {str(i + 1) for i in range(3) if i != index}, text
    timings["healthy"] = cluster.wait_healthy(nodes)

    t0 = time.monotonic()
    leader, term = cluster.wait_for_leader(nodes, LEADER_BOUND)
    timings["leader"] = time.monotonic() - t0
    follower = next(s for s in nodes if s != leader)
    assert cluster.cli(follower, "SET", "greeting", "hello", "world") == f"REDIRECT {int(leader.rsplit('-', 1)[1]) + 1}"
    assert cluster.cli(leader, "SET", "greeting", "hello", "world") == "OK"
    for service in nodes:
        cluster.wait_for_value(service, "greeting", "hello world")

    stop = cluster.compose("stop", "-t", "5", leader)
    assert stop.returncode == 0, stop.stderr
    rest = [s for s in nodes if s != leader]
    t0 = time.monotonic()
    new_leader, new_term = cluster.wait_for_leader(rest, LEADER_BOUND, exclude=leader, min_term=term + 1)
    timings["re-election"] = time.monotonic() - t0
    assert new_leader != leader and new_term > term
    cluster.wait_for_value(new_leader, "greeting", "hello world")
    print("\n[kv-node cluster] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def bootstrap_run(cluster: KvCluster, service: str, before: str | None = None) -> tuple[str, str]:
    """Wait for a run of the one-shot that started after `before` (a StartedAt) to exit 0; (its log, its StartedAt)."""
    deadline = time.monotonic() + BOOTSTRAP_BOUND
    log, state = "", ""
    while time.monotonic() < deadline:
        state = cluster.inspect("{{.State.Status}} {{.State.ExitCode}} {{.State.StartedAt}}", cluster.container(service))[0]
        status, code, started = state.split()
        if status == "exited" and started != before and not started.startswith("0001-"):
            log = cluster.compose("logs", "--no-color", "--no-log-prefix", service).stdout
            assert code == "0", f"{service} exited {code}:\n{log}\n{cluster.logs()}"
            return log, started
        time.sleep(0.5)
    pytest.fail(f"{service} did not run to its end within {BOOTSTRAP_BOUND:.0f}s ({state}):\n{cluster.logs()}")


def test_bootstrap_forms_the_cluster_and_a_second_up_changes_nothing(docker, compose_bin, tmp_path):
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    cluster, config, nodes = start(docker, tmp_path, f"--node-file=deploy/join.toml.j2:{CONFIG}", "--bootstrap-command", BOOTSTRAP)
    timings["build+up"] = time.monotonic() - t0
    boot = "kv-node-bootstrap"
    spec = config["services"][boot]
    assert spec["restart"] == "no" and {s: d["condition"] for s, d in spec["depends_on"].items()} == dict.fromkeys(nodes, "service_healthy")
    assert spec["entrypoint"][:1] == ["kv-cli"] and spec["entrypoint"].count("--addr") == 3, spec["entrypoint"]

    timings["healthy"] = cluster.wait_healthy(nodes)
    t0 = time.monotonic()
    log, started = bootstrap_run(cluster, boot)
    assert log.count("OK joined 3 members") == 3, log
    leader, term = cluster.wait_for_leader(nodes, LEADER_BOUND)
    timings["bootstrap+leader"] = time.monotonic() - t0
    assert cluster.cli(leader, "SET", "colour", "blue") == "OK"
    cluster.wait_for_value(next(s for s in nodes if s != leader), "colour", "blue")

    # A second `up`: compose starts the exited one-shot again; the same JOIN is OK on joined nodes.
    t0 = time.monotonic()
    running = {s: cluster.container(s) for s in nodes}
    again = cluster.compose("up", "-d", "--pull", "never", timeout=UP_TIMEOUT)
    assert again.returncode == 0, again.stderr
    # The nodes keep running: only the exited one-shot starts again.
    assert {s: cluster.container(s) for s in nodes} == running, f"the second up recreated nodes:\n{again.stderr[-3000:]}"
    starts = cluster.inspect("{{.RestartCount}}", *running.values())
    assert starts == ["0"] * len(nodes), f"nodes restarted: {starts}\n{cluster.logs()}"
    log, _ = bootstrap_run(cluster, boot, before=started)
    assert "ERR" not in log and log.count("OK joined 3 members") >= 3, log
    timings["second up"] = time.monotonic() - t0
    still, _ = cluster.wait_for_leader(nodes, LEADER_BOUND)
    for service in nodes:
        assert cluster.cli(service, "ROLE") != "unjoined"
        cluster.wait_for_value(service, "colour", "blue")
    assert still in nodes
    print("\n[kv-node bootstrap] " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
