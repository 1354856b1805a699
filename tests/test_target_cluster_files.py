"""Per-node files and the bootstrap on Kubernetes (a ConfigMap with a key per pod, a Job) and Swarm (configs, a one-shot).

kv-node is the sample: its peers map is in a config file per node, and its join mode is formed by a
bootstrap. Every output goes through its validators: kubernetes-validate strict and SC400-SC410 for
k8s/, `docker stack config` and SC500-SC505 for stack.yml.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import test_cluster_files_properties as properties
import yaml
from hypothesis import HealthCheck, given, settings

from conftest import run_scaffold
from generator import nodefiles
from generator.answers import Answers
from generator.contract import cluster_view
from generator.errors import ScaffoldError, UsageError
from generator.inspect import inspect_project
from generator.main import plan_summary
from generator.plan import make_plan
from generator.plan_kubernetes_setup import MAX_CONFIG_MAP, pod_files
from generator.render import render
from generator.templateset import OutputFile
from tests.samples import SAMPLES
from tests.test_deploy_targets import stack_findings
from tests.test_kubernetes_output import expand, findings, objects, pod_view

CONFIG = "/etc/kv/node.toml"
JOIN = (
    "kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}"
    "JOIN {% for n in cluster.nodes %}{{ n.id }}={{ n.raft_address }} {% endfor %}"
)
KV = {"id_base": 1, "default_env": False, "http_port": 7000, "raft_port": 7100, "healthcheck": "tcp",
      "node_args": ("--config", CONFIG)}
PEERS = ("deploy/node.toml.j2:" + CONFIG,)
K8S_BASE = ["k8s/kustomization.yaml", "k8s/policies.yaml", "k8s/services.yaml", "k8s/statefulset.yaml"]


@functools.cache
def kv_node():
    return inspect_project(SAMPLES / "kv-node")


def files_for(targets: tuple[str, ...], **answers) -> dict[str, str]:
    return {f.name: f.content for f in render(make_plan(kv_node(), Answers(targets=targets, **{**KV, **answers})))}


def k8s(files: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in files.items() if name.startswith("k8s/")}


def write(files: dict[str, str], folder: Path) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


# --- Kubernetes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_each_pod_mounts_its_own_file_rendered_with_the_pods_dns_names(tmp_path, nodes):
    files = k8s(files_for(("kubernetes",), nodes=nodes, node_files=PEERS, bootstrap_command=JOIN))
    assert sorted(files) == sorted([*K8S_BASE, "k8s/files.yaml", "k8s/bootstrap.yaml"])
    assert findings(files, tmp_path) == []
    found = objects(files)
    sts, data = found["StatefulSet"], found["ConfigMap"]["data"]
    assert found["ConfigMap"]["metadata"]["name"] == "kv-node-files"
    assert set(yaml.safe_load(files["k8s/kustomization.yaml"])["resources"]) >= {"files.yaml", "bootstrap.yaml"}
    pod = sts["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "files"]
    assert volume["configMap"] == {"name": "kv-node-files", "defaultMode": 0o444}
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "files"]
    assert mount["mountPath"] == CONFIG and mount["readOnly"] is True
    for ordinal in range(1, nodes + 1):
        env, args = pod_view(sts, ordinal)
        key = expand(mount["subPathExpr"], {k: v for k, v in env.items() if v is not None})
        config = tomllib.loads(data[key])  # this pod's own key, named from its own POD_NAME
        assert config["id"] == ordinal and args == ["--config", CONFIG]
        assert config.get("peers", {}) == {str(i): f"kv-node-{i}.kv-node-peers:7100" for i in range(1, nodes + 1) if i != ordinal}
    assert len(data) == nodes
    digest = sts["spec"]["template"]["metadata"]["annotations"]["checksum/node-files"]
    assert digest == make_plan(kv_node(), Answers(targets=("kubernetes",), nodes=nodes, node_files=PEERS, **KV)).kubernetes.files.sha256


def test_a_changed_file_changes_the_pod_template_so_the_pods_roll():
    def digest(**answers):
        return objects(k8s(files_for(("kubernetes",), node_files=PEERS, **answers)))["StatefulSet"]["spec"]["template"]["metadata"]
    assert digest() == digest(rust_log="info")  # the same files: the same pod template annotation
    assert digest() != digest(data_dir="/var/lib/kv")  # the files name the data dir: a new hash


def test_the_bootstrap_job_runs_the_command_once_against_the_pods(tmp_path):
    files = k8s(files_for(("kubernetes",), bootstrap_command=JOIN + " '$(HOME) $$x'", pull_secret="registry"))
    assert sorted(files) == sorted([*K8S_BASE, "k8s/bootstrap.yaml"])
    assert findings(files, tmp_path) == []
    job = objects(files)["Job"]
    assert job["metadata"]["name"] == "kv-node-bootstrap" and job["spec"]["backoffLimit"] >= 1
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure" and pod["imagePullSecrets"] == [{"name": "registry"}]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == "kv-node:latest"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    pods = [f"kv-node-{i}.kv-node-peers" for i in (1, 2, 3)]
    expected = ["kv-cli", *(w for p in pods for w in ("--addr", f"{p}:7000")), "JOIN", *(f"{i}={p}:7100" for i, p in enumerate(pods, 1)),
                "$(HOME) $$x"]
    assert [expand(word, {}) for word in container["command"]] == expected  # literal: no variable expands
    # Not a node: neither Service nor the budget selects it.
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] != "kv-node"
    other = files_for(("kubernetes",), bootstrap_command=JOIN, bootstrap_image="curlimages/curl:8.8.0")
    assert objects(k8s(other))["Job"]["spec"]["template"]["spec"]["containers"][0]["image"] == "curlimages/curl:8.8.0"


def test_a_broken_job_or_config_map_is_rejected(tmp_path):
    files = k8s(files_for(("kubernetes",), node_files=PEERS, bootstrap_command=JOIN))
    typo = {**files, "k8s/bootstrap.yaml": files["k8s/bootstrap.yaml"].replace("backoffLimit:", "backofLimit:")}
    assert any("backofLimit" in f for f in findings(typo, tmp_path / "a"))
    policy = {**files, "k8s/bootstrap.yaml": files["k8s/bootstrap.yaml"].replace("OnFailure", "OnFailures")}
    assert any(f.startswith("SC401") and "OnFailures" in f for f in findings(policy, tmp_path / "b"))
    data = {**files, "k8s/files.yaml": files["k8s/files.yaml"].replace("data:", "datas:")}
    assert any("datas" in f for f in findings(data, tmp_path / "c"))


def test_config_map_keys_are_valid_and_one_config_map_has_a_size_limit(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "my node (1).conf.j2").write_text("id = {{ node.id }}\n")
    (project / "big.j2").write_text("x" * (MAX_CONFIG_MAP // 2))
    view = cluster_view("app", 3, 0, 8080, 9000, "/data", ())
    pods = ("app-0", "app-1", "app-2")
    files = pod_files("app", nodefiles.load(project, ("my node (1).conf.j2:/etc/a.conf",)), view, pods)
    assert files is not None and [f.key for f in files.data] == [f"{p}.my_node__1_.conf" for p in pods]
    with pytest.raises(UsageError, match="more than the 1048576 one ConfigMap holds"):
        pod_files("app", nodefiles.load(project, ("big.j2:/etc/big",)), view, pods)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: the kustomization is not built")
def test_kubectl_builds_the_kustomization_with_the_files_and_the_job(tmp_path):
    write(k8s(files_for(("kubernetes",), node_files=PEERS, bootstrap_command=JOIN, namespace="kv")), tmp_path)
    built = subprocess.run(["kubectl", "kustomize", str(tmp_path / "k8s")], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    kinds = {(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in yaml.safe_load_all(built.stdout)}
    assert {("ConfigMap", "kv-node-files", "kv"), ("Job", "kv-node-bootstrap", "kv")} <= kinds


def test_kubernetes_alone_writes_no_cluster_folder():
    files = files_for(("kubernetes",), node_files=PEERS)
    assert not [name for name in files if name.startswith("cluster/")]
    assert "cluster/" not in files[".dockerignore"]
    summary = plan_summary(make_plan(kv_node(), Answers(targets=("kubernetes",), node_files=PEERS, **KV)))
    assert [line for line in summary if line.startswith("node file:")] == [
        f"node file:    {CONFIG} <- ConfigMap kv-node-files key <pod>.node.toml (read-only)"]


# --- Swarm ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_each_node_service_mounts_a_hash_named_config_of_its_own_file(tmp_path, nodes):
    files = files_for(("compose", "swarm"), nodes=nodes, node_files=PEERS, bootstrap_command=JOIN)
    write(files, tmp_path)  # the configs' files next to the stack file, for the stack loader
    assert stack_findings(files["stack.yml"], tmp_path) == []
    stack, compose = yaml.safe_load(files["stack.yml"]), yaml.safe_load(files["docker-compose.yml"])
    for index in range(nodes):
        service = f"kv-node-{index}"
        (mount,) = stack["services"][service]["configs"]
        assert mount["target"] == CONFIG and mount["mode"] == 0o444
        source = stack["configs"][mount["source"]]["file"]
        assert source == f"./cluster/{service}/node.toml"  # the file compose mounts: one file for both
        assert {"type": "bind", "source": source, "target": CONFIG, "read_only": True} in compose["services"][service]["volumes"]
        content = files[source.removeprefix("./")]
        assert mount["source"].endswith(hashlib.sha256(content.encode()).hexdigest()[:8])
    assert len(stack["configs"]) == nodes
    boot = stack["services"]["kv-node-bootstrap"]
    assert boot["entrypoint"] == compose["services"]["kv-node-bootstrap"]["entrypoint"]
    assert boot["deploy"]["restart_policy"]["condition"] == "on-failure" and boot["deploy"]["restart_policy"]["max_attempts"] > 1
    assert "depends_on" not in boot and boot["image"] == stack["services"]["kv-node-0"]["image"]


def test_a_changed_file_is_a_new_config():
    def names(**answers):
        return sorted(yaml.safe_load(files_for(("swarm",), node_files=PEERS, **answers)["stack.yml"])["configs"])
    assert names() == names(rust_log="info")
    assert not set(names()) & set(names(data_dir="/var/lib/kv"))


def test_a_broken_stack_file_with_configs_is_rejected(tmp_path):
    files = files_for(("swarm",), node_files=PEERS)
    write(files, tmp_path)
    stack = yaml.safe_load(files["stack.yml"])
    name = next(iter(stack["configs"]))
    broken = files["stack.yml"].replace(f'  "{name}":\n', '  "another":\n')  # a node mounts a config the file lacks
    assert any(f.startswith("SC505") and "is not defined" in f for f in stack_findings(broken, tmp_path))
    (tmp_path / stack["configs"][name]["file"]).unlink()  # its file is gone
    assert any(f.startswith("SC505") and "which does not exist" in f for f in stack_findings(files["stack.yml"], tmp_path))
    typo = files["stack.yml"].replace("        mode: 0444\n", "        mode: rw\n", 1)
    assert any(f.startswith("docker-stack") for f in stack_findings(typo, tmp_path))


def test_swarm_uses_the_pushed_image_for_its_own_bootstrap(tmp_path):
    stack = yaml.safe_load(files_for(("swarm",), bootstrap_command=JOIN, image="registry.example/kv:1")["stack.yml"])
    assert stack["services"]["kv-node-bootstrap"]["image"] == "registry.example/kv:1"


# --- the command line, update, the template set's `when` ---------------------------------------------------


def test_update_removes_the_config_map_file_with_the_last_node_file_and_keeps_an_edited_one(sample):
    crate = sample("kv-node")
    flags = ("--no-input", "-q", "--target", "kubernetes,swarm", "--no-default-env", "--id-base", "1", "--http-port", "7000",
             "--raft-port", "7100", "--healthcheck", "tcp", f"--node-file={PEERS[0]}", "--bootstrap-command", JOIN)
    result = run_scaffold("init", str(crate), *flags)
    assert result.returncode == 0, result.stderr
    assert (crate / "k8s/files.yaml").is_file() and (crate / "k8s/bootstrap.yaml").is_file() and (crate / "cluster").is_dir()
    files = crate / "k8s/files.yaml"
    files.write_text(files.read_text() + "# mine\n")
    dropped = run_scaffold("update", str(crate), "--data", "node_files=[]")
    assert dropped.returncode == 1 and "k8s/files.yaml: no longer generated" in dropped.stderr
    assert files.read_text().endswith("# mine\n") and not (crate / "cluster").exists()
    assert "files.yaml" not in (crate / "k8s/kustomization.yaml").read_text()
    files.write_text(files.read_text().removesuffix("# mine\n"))
    again = run_scaffold("update", str(crate))
    assert again.returncode == 0, again.stderr
    assert not files.exists() and not (crate / ".scaffold/generated/k8s/files.yaml").exists()
    assert (crate / "k8s/bootstrap.yaml").is_file() and "no longer generated" not in again.stderr


def test_a_template_set_file_is_written_only_when_its_plan_value_is_set(tmp_path):
    plan = make_plan(kv_node(), Answers(targets=("kubernetes",), **KV))
    assert OutputFile("x", "x.j2", targets=("kubernetes",), when="kubernetes.network").written_for(plan)
    assert not OutputFile("x", "x.j2", targets=("kubernetes",), when="kubernetes.bootstrap").written_for(plan)
    assert not OutputFile("x", "x.j2", targets=("swarm",), when="kubernetes.network").written_for(plan)
    assert not OutputFile("x", "x.j2", when="swarm.bootstrap").written_for(plan)  # swarm is None: not set
    with pytest.raises(ScaffoldError, match="the plan has no bootstrp there"):
        OutputFile("x", "x.j2", when="kubernetes.bootstrp").written_for(plan)


def test_a_bad_when_in_a_manifest_is_refused(tmp_path):
    from generator.templateset import export_builtin, load_template_set

    export_builtin(tmp_path / "set")
    manifest = tmp_path / "set" / "template.toml"
    manifest.write_text(manifest.read_text().replace('when = "kubernetes.files"', 'when = "kubernetes files"'))
    with pytest.raises(ScaffoldError, match='`when` is a plan value such as "kubernetes.bootstrap"'):
        load_template_set(tmp_path / "set")


# --- any user text, literally ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(properties.choices())
def test_node_file_text_and_bootstrap_words_reach_pods_and_stack_literally(drawn):
    answers, text, word = drawn
    answers = dataclasses.replace(answers, targets=("kubernetes", "swarm"), default_env=False)
    plan = properties.plan_or_refusal(answers, text)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    found = objects(k8s(files))
    for index in range(answers.nodes):
        node_id = answers.id_base + index
        assert found["ConfigMap"]["data"][f"raft-node-{node_id}.node.conf"] == f"{text}\nid={node_id}\n"
    command = [expand(w, {}) for w in found["Job"]["spec"]["template"]["spec"]["containers"][0]["command"]]
    assert command == [word, str(answers.nodes), f"raft-node-{answers.id_base}.raft-node-peers:9000"]
    stack = yaml.safe_load(files["stack.yml"])
    for node in plan.cluster.nodes:
        (mount,) = stack["services"][node.service]["configs"]
        assert files[stack["configs"][mount["source"]]["file"].removeprefix("./")] == f"{text}\nid={node.id}\n"
