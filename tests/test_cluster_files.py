"""Per-node files, the bootstrap one-shot and companion binaries, through the real command line.

kv-node is the sample whose contract needs all three: a config file per node with its peers map,
a cluster formed after start (its join mode), and its client kv-cli in the image.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib

import pytest
import yaml
from test_bad_input import assert_clean_failure, snapshot

from conftest import make_crate, run_scaffold

CONFIG = "/etc/kv/node.toml"
KV = ("--no-default-env", "--id-base", "1", "--http-port", "7000", "--raft-port", "7100", "--healthcheck", "tcp",
      "--node-arg=--config", f"--node-arg={CONFIG}")
NODE_FILE = f"--node-file=deploy/node.toml.j2:{CONFIG}"
JOIN = (
    "kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}"
    "JOIN {% for n in cluster.nodes %}{{ n.id }}={{ n.raft_address }} {% endfor %}"
)


def init(crate, *args: str):
    result = run_scaffold("init", str(crate), "--no-input", "-q", *args)
    assert result.returncode == 0, result.stderr
    return result


def compose(crate) -> dict:
    return yaml.safe_load((crate / "docker-compose.yml").read_text())


def peers_of(text: str) -> dict[str, str]:
    """The [peers] table of a rendered kv-node config (kv-node's own subset of TOML is TOML)."""
    return {key: value for key, value in tomllib.loads(text).get("peers", {}).items()}


# --- --node-file ---------------------------------------------------------------------------------


def test_each_node_gets_its_own_rendered_file_mounted_read_only(sample):
    crate = sample("kv-node")
    init(crate, *KV, NODE_FILE)
    services = compose(crate)["services"]
    for index in range(3):
        service = f"kv-node-{index}"
        text = (crate / "cluster" / service / "node.toml").read_text()
        config = tomllib.loads(text)
        assert config["id"] == index + 1 and config["listen"] == "0.0.0.0:7000" and config["raft_listen"] == "0.0.0.0:7100"
        assert peers_of(text) == {str(i + 1): f"kv-node-{i}:7100" for i in range(3) if i != index}
        binds = [v for v in services[service]["volumes"] if isinstance(v, dict)]
        assert binds == [{"type": "bind", "source": f"./cluster/{service}/node.toml", "target": CONFIG, "read_only": True}]
        # The file is an output: recorded like the compose file, and left out of the build context.
        assert (crate / ".scaffold" / "generated" / "cluster" / service / "node.toml").read_text() == text
        assert f"cluster/{service}/node.toml" in (crate / ".dockerignore").read_text().splitlines()
    answers = tomllib.loads((crate / ".scaffold" / "answers.toml").read_text())
    assert answers["node_files"] == [f"deploy/node.toml.j2:{CONFIG}"]


def test_the_plan_holds_node_files_as_data(sample):
    crate = sample("kv-node")
    result = run_scaffold("plan", str(crate), "--json", *KV, NODE_FILE)
    assert result.returncode == 0, result.stderr
    nodes = json.loads(result.stdout)["cluster"]["nodes"]
    assert [n["files"][0]["path"] for n in nodes] == [f"cluster/kv-node-{i}/node.toml" for i in range(3)]
    assert {n["files"][0]["container_path"] for n in nodes} == {CONFIG}
    assert [tomllib.loads(n["files"][0]["content"])["id"] for n in nodes] == [1, 2, 3]
    text = run_scaffold("plan", str(crate), *KV, NODE_FILE, "--extra-bin", "kv-cli", "--bootstrap-command", "kv-cli PING").stdout
    assert f"node file:    {CONFIG} <- cluster/<service>/node.toml" in text
    assert "also built:   kv-cli" in text and "bootstrap:    kv-node-bootstrap runs kv-cli PING" in text


def test_update_adds_and_removes_node_files_with_the_cluster_and_keeps_an_edited_one(sample):
    crate = sample("kv-node")
    init(crate, *KV, NODE_FILE)
    cluster = crate / "cluster"
    grown = run_scaffold("update", str(crate), "--data", "nodes=5")
    assert grown.returncode == 0, grown.stderr
    assert sorted(p.name for p in cluster.iterdir()) == [f"kv-node-{i}" for i in range(5)]
    assert peers_of((cluster / "kv-node-0" / "node.toml").read_text()).keys() == {"2", "3", "4", "5"}
    # Edit one node file that will stay and one that will go.
    kept = cluster / "kv-node-1" / "node.toml"
    kept.write_text(kept.read_text().replace('data_dir = "/data"', 'data_dir = "/data"  # tuned by hand'))
    doomed = cluster / "kv-node-4" / "node.toml"
    doomed.write_text(doomed.read_text().replace("# kv-node", "# my kv-node"))
    shrunk = run_scaffold("update", str(crate), "--data", "nodes=3")
    assert shrunk.returncode == 1
    assert "cluster/kv-node-4/node.toml: no longer generated" in shrunk.stderr and "kept" in shrunk.stderr
    assert not (cluster / "kv-node-3").exists()  # unedited: removed, folder and record too
    assert not (crate / ".scaffold" / "generated" / "cluster" / "kv-node-3").exists()
    assert doomed.read_text().startswith("# my kv-node")  # edited: never deleted silently
    assert '"/data"  # tuned by hand\n' in kept.read_text()  # merged: the edit stays, the peers shrink
    assert peers_of(kept.read_text()) == {"1": "kv-node-0:7100", "3": "kv-node-2:7100"}
    assert "kv-node-3" not in compose(crate)["services"]
    # Once the user deletes it, update is clean and forgets it.
    doomed.unlink()
    again = run_scaffold("update", str(crate))
    assert again.returncode == 0, again.stderr
    assert not (cluster / "kv-node-4").exists()
    assert not (crate / ".scaffold" / "generated" / "cluster" / "kv-node-4").exists()


def _loop(crate):
    os.symlink("loop-b.j2", crate / "loop-a.j2")
    os.symlink("loop-a.j2", crate / "loop-b.j2")
    return "loop-a.j2"


def _outside(crate):
    (crate.parent / "outside.j2").write_text("x\n")
    return "../outside.j2"


def _directory(crate):
    (crate / "conf").mkdir()
    return "conf"


def _missing(_crate):
    return "nowhere.j2"


@pytest.mark.parametrize(
    "make, problem",
    [(_missing, "does not exist"), (_outside, "outside the project"), (_directory, "is a directory"), (_loop, "symlink loop")],
    ids=["missing", "outside", "directory", "symlink loop"],
)
def test_a_bad_node_file_source_is_one_line_exit_1_and_writes_nothing(tmp_path, make, problem):
    crate = make_crate(tmp_path / "crate")
    source = make(crate)
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", f"--node-file={source}:/etc/app/conf")
    assert_clean_failure(result, 1, "--node-file", problem)
    assert snapshot(crate) == before


@pytest.mark.parametrize(
    "targets, problem",
    [
        (["etc/app.conf"], "is relative"),
        (["/data/app.conf"], "--node-file /data/app.conf: the node file"),  # inside the data volume
        (["/tmp/app.conf"], "tmpfs"),
        (["/usr/local/bin/app.conf"], "binary's folder"),
        (["/etc/app", "/etc/app/x"], "the node file"),  # one node file inside another
        (["/etc/app/../x"], "not a plain absolute file path"),
    ],
    ids=["relative", "data dir", "tmp", "binary", "another node file", "dotdot"],
)
def test_a_bad_container_path_is_one_line_exit_2_and_writes_nothing(tmp_path, targets, problem):
    crate = make_crate(tmp_path / "crate")
    for i, _ in enumerate(targets):
        (crate / f"t{i}.j2").write_text("id = {{ node.id }}\n")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", *(f"--node-file=t{i}.j2:{t}" for i, t in enumerate(targets)))
    assert_clean_failure(result, 2, "--node-file", problem)
    assert snapshot(crate) == before


def test_a_node_file_template_that_does_not_render_is_exit_2(tmp_path):
    crate = make_crate(tmp_path / "crate")
    (crate / "bad.j2").write_text("id = {{ node.name }}\n")
    result = run_scaffold("init", str(crate), "--no-input", "--node-file=bad.j2:/etc/app.conf")
    assert_clean_failure(result, 2, "--node-file", "node 0", "unknown variable")


# --- --bootstrap-command ---------------------------------------------------------------------------


def test_the_bootstrap_runs_once_every_node_is_healthy_in_the_app_image(sample):
    crate = sample("kv-node")
    result = init(crate, *KV, f"--node-file=deploy/join.toml.j2:{CONFIG}", "--extra-bin", "kv-cli", "--bootstrap-command", JOIN)
    boot = compose(crate)["services"]["kv-node-bootstrap"]
    assert boot["entrypoint"] == [
        "kv-cli", "--addr", "kv-node-0:7000", "--addr", "kv-node-1:7000", "--addr", "kv-node-2:7000",
        "JOIN", "1=kv-node-0:7100", "2=kv-node-1:7100", "3=kv-node-2:7100",
    ]
    assert boot["depends_on"] == {f"kv-node-{i}": {"condition": "service_healthy"} for i in range(3)}
    assert boot["restart"] == "no" and boot["image"] == "kv-node:latest" and boot["pull_policy"] == "never"
    assert "ports" not in boot and "volumes" not in boot
    assert "bootstrap:" not in result.stdout  # -q: no summary
    summary = run_scaffold("init", str(crate), "--no-input", "--force", *KV, "--bootstrap-command", JOIN).stdout
    for said in ("idempotent", "docker compose logs kv-node-bootstrap", "compose#10596"):
        assert said in summary


def test_a_bootstrap_image_is_pulled_when_missing(sample):
    crate = sample("kv-node")
    init(crate, *KV, "--bootstrap-command", "curl -fsS http://{{ cluster.nodes[0].http_address }}/init",
         "--bootstrap-image", "curlimages/curl:8.10.1")
    boot = compose(crate)["services"]["kv-node-bootstrap"]
    assert boot["image"] == "curlimages/curl:8.10.1" and boot["pull_policy"] == "missing"
    assert boot["entrypoint"] == ["curl", "-fsS", "http://kv-node-0:7000/init"]


@pytest.mark.parametrize(
    "args, flag, problem",
    [
        (["--bootstrap-command", "init {{ cluster.size "], "--bootstrap-command", "template syntax error"),
        (["--bootstrap-command", "init {{ node.id }}"], "--bootstrap-command", "no node"),
        (["--bootstrap-command", "init 'unclosed"], "--bootstrap-command", "does not split into words"),
        (["--bootstrap-command", "{{ '' }}"], "--bootstrap-command", "no command"),
        (["--bootstrap-command", "init 'a\rb'"], "--bootstrap-command", "carriage return"),
        (["--bootstrap-command", "init", "--healthcheck", "none"], "--bootstrap-command", "--healthcheck none"),
        (["--bootstrap-image", "curlimages/curl"], "--bootstrap-image", "no --bootstrap-command"),
        (["--bootstrap-command", "init", "--bootstrap-image", "Bad Image"], "--bootstrap-image", "image reference"),
    ],
    ids=["syntax", "node variable", "quotes", "empty", "carriage return", "no health", "image alone", "bad image"],
)
def test_a_bad_bootstrap_is_one_line_exit_2_and_writes_nothing(tmp_path, args, flag, problem):
    crate = make_crate(tmp_path / "crate")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", "--healthcheck", "tcp", *args)
    assert_clean_failure(result, 2, flag, problem)
    assert snapshot(crate) == before


# --- --extra-bin ------------------------------------------------------------------------------------


def test_extra_binaries_share_the_cargo_run_and_are_installed_next_to_the_main_one(sample):
    crate = sample("kv-node")
    init(crate, "--extra-bin", "kv-cli")
    dockerfile = (crate / "Dockerfile").read_text()
    assert "cargo build --release --locked -p kv-node --bin kv-node --bin kv-cli" in dockerfile
    assert dockerfile.count("cargo build ") == 1  # one invocation, so nothing is built twice
    assert "install -D -m 0755 target/release/kv-cli /out/usr/local/bin/kv-cli" in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/kv-node"]' in dockerfile


def test_extra_binaries_and_the_skeleton_build_use_identical_flags(sample):
    crate = sample("kv-node")
    init(crate, "--extra-bin", "kv-cli", "--strategy", "skeleton")
    builds = [line.strip() for line in (crate / "Dockerfile").read_text().splitlines() if "cargo build " in line]
    assert len(builds) == 2 and len({b.removeprefix("&& ").removesuffix(" \\") for b in builds}) == 1, builds


@pytest.mark.parametrize(
    "crate_name, args, problem",
    [
        ("kv-node", ["--extra-bin", "kv-shell"], "its other binaries: kv-cli"),
        ("kv-node", ["--extra-bin", "kv-node"], "already"),
        ("workspace", ["--bin", "ws-api", "--extra-bin", "ws-migrate"], "cargo unifies features"),
    ],
    ids=["unknown", "the main one", "another package"],
)
def test_a_bad_extra_binary_is_one_line_exit_2(sample, crate_name, args, problem):
    crate = sample(crate_name)
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", *args)
    assert_clean_failure(result, 2, "--extra-bin", problem)
    assert snapshot(crate) == before


# --- the answers' schema and file ---------------------------------------------------------------------


def test_schema_and_answers_file_cover_the_new_keys(sample, tmp_path):
    schema = json.loads(run_scaffold("schema").stdout)["properties"]
    assert schema["node_files"]["type"] == "array" and schema["extra_bins"]["type"] == "array"
    assert schema["bootstrap_command"]["type"] == "string" and "pattern" in schema["bootstrap_image"]
    crate = sample("kv-node")
    init(crate, *KV, NODE_FILE, "--extra-bin", "kv-cli", "--bootstrap-command", "kv-cli PING")
    first = {p: p.read_bytes() for p in crate.rglob("*") if p.is_file()}
    # Replayed from the answers file alone, the same files come out.
    replay = tmp_path / "replay"
    generated = {"docker-compose.yml", "Dockerfile", ".dockerignore", "cluster", ".scaffold"}
    shutil.copytree(crate, replay, ignore=lambda _directory, names: generated & set(names))
    result = run_scaffold("init", str(replay), "--no-input", "-q", "--answers", str(crate / ".scaffold" / "answers.toml"))
    assert result.returncode == 0, result.stderr
    for name in ("docker-compose.yml", "Dockerfile", "cluster/kv-node-2/node.toml"):
        assert (replay / name).read_bytes() == first[crate / name], name


def test_the_generated_files_pass_scaffold_check_strict(sample):
    """Compose v2, the compose-spec schema, hadolint and the security rules accept node files and the one-shot."""
    crate = sample("kv-node")
    init(crate, *KV, f"--node-file=deploy/join.toml.j2:{CONFIG}", "--extra-bin", "kv-cli", "--bootstrap-command", JOIN)
    result = run_scaffold("check", "--strict", str(crate))
    assert result.returncode == 0, result.stdout + result.stderr
    # And the check does look at the one-shot: without its tmpfs, the read-only rule fires.
    path = crate / "docker-compose.yml"
    path.write_text(path.read_text().replace("    tmpfs:\n      - /tmp\n    cap_drop:\n      - ALL\n    security_opt:\n"
                                             '      - "no-new-privileges:true"\n    healthcheck:',
                                             "    cap_drop:\n      - ALL\n    security_opt:\n"
                                             '      - "no-new-privileges:true"\n    healthcheck:'))
    broken = run_scaffold("check", str(crate))
    assert broken.returncode == 1 and "kv-node-bootstrap" in broken.stdout, broken.stdout


def test_a_node_file_that_listens_on_loopback_is_warned_about(tmp_path):
    crate = make_crate(tmp_path / "crate")
    (crate / "node.toml.j2").write_text('id = {{ node.id }}\nlisten = "127.0.0.1:{{ http_port }}"\n')
    result = run_scaffold("init", str(crate), "--no-input", "-q", "--node-file=node.toml.j2:/etc/app/node.toml")
    assert result.returncode == 0, result.stderr
    assert "warning: the node file cluster/demo-0/node.toml:2 sets listen to 127.0.0.1" in result.stderr
    (crate / "node.toml.j2").write_text('id = {{ node.id }}\nlisten = "0.0.0.0:{{ http_port }}"\n')
    quiet = run_scaffold("init", str(crate), "--no-input", "-q", "--force", "--node-file=node.toml.j2:/etc/app/node.toml")
    assert quiet.returncode == 0 and "node file" not in quiet.stderr, quiet.stderr
