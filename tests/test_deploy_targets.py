"""`--target`: one plan, the files of the chosen targets; the Swarm stack file; bad input; `update`.

The stack file is checked with `scaffold check`'s stack checks (generator/check_swarm.py: the stack
loader of `docker stack config` and SC500-SC504); the Kubernetes folder with `kubectl kustomize`,
which builds a kustomization offline. The Swarm engine run is tests/engine/test_swarm.py.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_scaffold
from generator import runtimes
from generator.answers import Answers
from generator.check_swarm import check_swarm
from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.plan_swarm import make_swarm
from generator.render import render
from tests.samples import SAMPLES
from tests.test_kubernetes_output import ALL_PEERS, expand, objects, pod_view

EVERY = "compose,kubernetes,swarm"


@functools.cache
def raft_node():
    return inspect_project(SAMPLES / "raft-node")


def files_for(**answers) -> dict[str, str]:
    return {f.name: f.content for f in render(make_plan(raft_node(), Answers(**answers)))}


def stack_findings(text: str, folder: Path) -> list[str]:
    (folder / "stack.yml").write_text(text)
    return [f"{f.rule}: {f.message}" for f in check_swarm(folder / "stack.yml")]


# --- targets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (("compose",), {"Dockerfile", ".dockerignore", "docker-compose.yml"}),
        (("swarm",), {"Dockerfile", ".dockerignore", "stack.yml"}),
        (("kubernetes", "swarm"), {"Dockerfile", ".dockerignore", "stack.yml", "k8s/kustomization.yaml", "k8s/statefulset.yaml",
                                   "k8s/services.yaml", "k8s/policies.yaml"}),
    ],
)
def test_only_the_chosen_targets_files_are_rendered(targets, expected):
    plan = make_plan(raft_node(), Answers(targets=targets, node_env=(ALL_PEERS,)))
    assert set(plan.outputs) == expected == {f.name for f in render(plan)}
    assert (plan.kubernetes is not None) == ("kubernetes" in targets) and (plan.swarm is not None) == ("swarm" in targets)


def test_the_targets_are_recorded_and_update_adds_and_updates_their_files(sample):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input", "-q").returncode == 0
    assert not (crate / "k8s").exists() and not (crate / "stack.yml").exists()
    added = run_scaffold("update", str(crate), "--target", EVERY, "--node-env", ALL_PEERS)
    assert added.returncode == 0, added.stderr
    assert tomllib.loads((crate / ".scaffold/answers.toml").read_text())["targets"] == EVERY.split(",")
    assert (crate / "stack.yml").is_file() and (crate / "k8s/statefulset.yaml").is_file()
    edited = (crate / "k8s/services.yaml").read_text().replace("  type: \"ClusterIP\"", "  type: \"ClusterIP\"  # mine")
    (crate / "k8s/services.yaml").write_text(edited)
    grown = run_scaffold("update", str(crate), "--data", "nodes=5")
    assert grown.returncode == 0, grown.stderr + grown.stdout
    assert objects({"s": (crate / "k8s/statefulset.yaml").read_text()})["StatefulSet"]["spec"]["replicas"] == 5
    assert "raft-node-4" in (crate / "stack.yml").read_text() and "# mine" in (crate / "k8s/services.yaml").read_text()
    dropped = run_scaffold("update", str(crate), "--target", "compose")
    assert dropped.returncode == 0, dropped.stderr
    assert "warning: stack.yml: no longer generated" in dropped.stderr and "k8s/statefulset.yaml: no longer" in dropped.stderr
    assert (crate / "stack.yml").is_file() and "raft-node-4" in (crate / "stack.yml").read_text()  # left as it is


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--target", "nomad"], "not a target; choose from compose, kubernetes, swarm"),
        (["--target", "kubernetes", "--image", "Me/App:1"], "--image 'Me/App:1': not an image reference"),
        (["--target", "kubernetes", "--storage-size", "1GB"], "--storage-size '1GB': not a storage size"),
        (["--target", "kubernetes", "--storage-size", "0Gi"], "--storage-size '0Gi': not a storage size"),
        (["--target", "kubernetes", "--namespace", "Raft_NS"], "--namespace 'Raft_NS': not a Kubernetes namespace"),
        (["--target", "kubernetes", "--pull-secret", "a b"], "--pull-secret 'a b': not a Kubernetes Secret name"),
        (["--target", "kubernetes", "--ready-path", "/a", "--ready-command", "true"], "both set the readiness probe"),
        (["--target", "kubernetes", "--nodes", "3"], "the built-in PEERS differs between pods"),
    ],
)
def test_bad_target_answers_are_one_line_exit_2_and_nothing_written(sample, flags, says):
    crate = sample("raft-node")
    before = sorted(p.name for p in crate.iterdir())
    result = run_scaffold("init", str(crate), "--no-input", *flags)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in crate.iterdir()) == before


@pytest.mark.parametrize("reference", ["raft-node", "ghcr.io/me/raft-node:1.0", "localhost:5000/a/b_c:v1.2-rc",
                                       "[::1]:5000/x@sha256:" + "a" * 64])
def test_image_references_docker_accepts_are_taken(reference):
    plan = make_plan(raft_node(), Answers(targets=("swarm",), image=reference))
    assert plan.swarm is not None and plan.swarm.image == reference


def test_the_schema_has_the_target_answers():
    schema = run_scaffold("schema")
    assert schema.returncode == 0
    for key in ("targets", "image", "pull_secret", "namespace", "service_type", "storage_size", "anti_affinity", "ready_path",
                "ready_command", "swarm_publish"):
        assert key in schema.stdout


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: the kustomization is not built")
def test_kubectl_builds_the_kustomization_offline(tmp_path):
    files = files_for(targets=("kubernetes",), namespace="raft", node_env=(ALL_PEERS,))
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path / "k8s")], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    kinds = sorted((d["kind"], d["metadata"].get("namespace")) for d in yaml.safe_load_all(built.stdout))
    assert kinds == [("NetworkPolicy", "raft"), ("PodDisruptionBudget", "raft"), ("Service", "raft"), ("Service", "raft"),
                     ("StatefulSet", "raft")]


# --- the Swarm stack file ----------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", runtimes.NAMES)
@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_every_stack_file_passes_the_stack_loader_and_our_rules(tmp_path, runtime, nodes):
    stack = yaml.safe_load(text := files_for(targets=("swarm",), nodes=nodes, runtime=runtime)["stack.yml"])
    assert stack_findings(text, tmp_path) == []
    assert stack["version"].startswith("3.") and len(stack["services"]) == nodes
    for name, service in stack["services"].items():
        assert service["deploy"]["endpoint_mode"] == "dnsrr" and "ports" not in service and service["hostname"] == name
        assert not {"build", "pull_policy", "develop", "security_opt", "tmpfs"} & set(service)


def test_published_stack_ports_are_mode_host_and_the_address_warning_is_given(tmp_path):
    plan = make_plan(raft_node(), Answers(targets=("swarm",), swarm_publish=True, ports=("client=6379",), default_env=False))
    assert any("--publish-address 127.0.0.1 cannot be honoured" in w for w in plan.warnings)
    text = {f.name: f.content for f in render(plan)}["stack.yml"]
    assert stack_findings(text, tmp_path) == []
    ports = yaml.safe_load(text)["services"]["raft-node-2"]["ports"]
    assert ports == [{"target": 8080, "published": 8082, "protocol": "tcp", "mode": "host"},
                     {"target": 6379, "published": 6381, "protocol": "tcp", "mode": "host"}]


def test_swarm_names_the_binary_cannot_keep_are_shown():
    plan = make_plan(raft_node(), Answers(targets=("swarm",)))
    assert not any(w.startswith("Swarm names") for w in plan.warnings)
    long = tuple(dataclasses.replace(n, service=f"{'a' * 55}-{n.index}") for n in plan.cluster.nodes)
    cluster = dataclasses.replace(plan.cluster, nodes=long)
    warnings = make_swarm(Answers(targets=("swarm",)), cluster, "A" * 55).warnings
    assert f"Swarm names: binary {'A' * 55} becomes {'a' * 55} in the service names (DNS)" in warnings
    assert any("leaves 5 characters for the stack name" in w for w in warnings)


def test_a_broken_stack_file_is_rejected(tmp_path):
    text = files_for(targets=("swarm",))["stack.yml"]
    assert any(f.startswith("SC503") for f in stack_findings(text.replace("  endpoint_mode: dnsrr\n", ""), tmp_path))
    assert any(f.startswith("docker-stack") for f in stack_findings(text.replace("  replicas: 1\n", "  replicas: one\n"), tmp_path))


# --- user text, literally, in both outputs -------------------------------------------------------------

# Any text without Jinja's delimiters (the contract renders it as a template), control characters but line breaks included.
user_text = st.one_of(
    st.sampled_from(["$HOME", "$(HOME)", "$$(X)", "${X}", "a: b", "q\"'\\", "é€😀", " spaced ", "null", "1e3", "0", "-"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="{}%#\n\r\x00"), max_size=30),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=user_text, arg=user_text, nodes=st.integers(1, 4), id_base=st.sampled_from([0, 1, 7]))
def test_user_text_reaches_every_pod_and_node_service_literally(text, arg, nodes, id_base):
    answers = Answers(targets=("kubernetes", "swarm"), nodes=nodes, id_base=id_base, default_env=False,
                      node_env=(f"APP_TEXT={text}", f"APP_OWN={text}-{{{{ node.id }}}}"), node_args=(arg,) if arg else ())
    try:
        files = files_for(**answers.__dict__)
    except UsageError as exc:  # only what one pod template cannot hold: a text that is the id itself
        assert "\n" not in str(exc) and "one pod template cannot express" in str(exc)
        return
    sts = objects({k: v for k, v in files.items() if k.startswith("k8s/")})["StatefulSet"]
    stack = yaml.safe_load(files["stack.yml"])
    for index in range(nodes):
        env, args = pod_view(sts, id_base + index)
        assert env["APP_TEXT"] == text and env["APP_OWN"] == f"{text}-{id_base + index}" and args == ([arg] if arg else [])
        service = stack["services"][f"raft-node-{index}"]
        told = {**stack["x-environment"], **service["environment"]} if stack["x-environment"] else service["environment"]
        # The stack's own escapes: `$$` for the CLI's interpolation, {{"{{"}} for Swarm's templates.
        assert expand_stack(told["APP_TEXT"]) == text and service.get("command", []) == ([arg.replace("$", "$$")] if arg else [])


def expand_stack(value: str) -> str:
    return value.replace("$$", "$").replace('{{"{{"}}', "{{")


def test_the_kubernetes_expander_of_these_tests_follows_kubernetes():
    assert expand("$$(A) $(A) $(B) $ $$", {"A": "x"}) == "$(A) x $(B) $ $"


@pytest.mark.parametrize("target", ["kubernetes", "swarm"])
def test_node_files_and_bootstrap_are_laid_out_for_every_target_and_pass_the_check(sample, target):
    crate = sample("kv-node")
    peers = '--node-env=PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}'
    flags = ["--node-file", "deploy/node.toml.j2:/etc/kv/node.toml", "--bootstrap-command", "kv-cli ROLE", "--healthcheck", "tcp"]
    result = run_scaffold("init", str(crate), "--no-input", "-q", "--target", f"compose,{target}", peers, *flags)
    assert result.returncode == 0, result.stderr
    written = {"kubernetes": ["k8s/files.yaml", "k8s/bootstrap.yaml"], "swarm": ["stack.yml"]}[target]
    assert all((crate / name).is_file() for name in written) and (crate / "cluster/kv-node-0/node.toml").is_file()
    check = run_scaffold("check", str(crate), "--strict")
    assert check.returncode == 0, check.stdout + check.stderr
