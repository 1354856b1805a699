"""The Kubernetes output (`--target kubernetes`): every rendering validated, its meaning checked, its refusals.

Each case is written to a folder and checked as `scaffold check` does (generator/check_kubernetes.py):
kubernetes-validate strict for Kubernetes 1.29 and the newest schemas it ships, plus rules SC400-SC410.
No cluster runs here, so what a pod would see is computed by expanding `$(VAR)` as Kubernetes does
(tests' own expander, below) and compared with what the run contract says each node is told.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import podtemplate, runtimes
from generator.answers import Answers
from generator.check_kubernetes import check_kubernetes
from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.plan_image import InstalledBinary, User
from generator.plan_kubernetes import make_kubernetes
from generator.podtemplate import Part, Pod
from generator.render import render

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"
ALL_PEERS = 'PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}'
CONTRACTS = {
    # The built-in contract, its peer list naming every node (raft-node skips its own entry).
    "builtin": {"node_env": (ALL_PEERS,)},
    # Nothing told: no env but the pod's own name and index, no args.
    "none": {"default_env": False},
    # Ids from 1 under other names, arguments, a named port, a secret from the host, `$` in a value.
    "custom": {
        "id_base": 1, "default_env": False, "ports": ("client=6379",), "node_env_from_host": ("APP_TOKEN",),
        "node_env": ("APP_ID={{ node.id }}", "APP_NAME={{ node.service }}", "APP_COST=$5 $(HOME)",
                     'APP_PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}'),
        "node_args": ("--listen", "0.0.0.0:{{ http_port }}", "--id={{ node.id }}", "--name", "{{ node.service }}"),
    },
}


@functools.cache
def raft_node():
    return inspect_project(SAMPLES / "raft-node")


def kubernetes_files(**answers) -> dict[str, str]:
    plan = make_plan(raft_node(), Answers(targets=("kubernetes",), **answers))
    return {f.name: f.content for f in render(plan) if f.name.startswith("k8s/")}


def findings(files: dict[str, str], folder: Path) -> list[str]:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return [f"{f.rule}: {f.message}" for name in files for f in check_kubernetes(folder / name)]


def objects(files: dict[str, str]) -> dict[str, dict]:
    """Every object by kind (and the Services by name)."""
    found = {}
    for text in files.values():
        for body in yaml.safe_load_all(text):
            if body:
                found[body["kind"] if body["kind"] != "Service" else f"Service/{body['metadata']['name']}"] = body
    return found


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of env values and args: `$$` is `$`, `$(NAME)` a defined variable, else kept."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def pod_view(sts: dict, ordinal: int) -> tuple[dict[str, str | None], list[str]]:
    """The environment (a value from a Secret is None) and the args pod `ordinal` of the StatefulSet gets."""
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    name = f"{sts['metadata']['name']}-{ordinal}"
    fields = {"metadata.name": name, "metadata.labels['apps.kubernetes.io/pod-index']": str(ordinal)}
    env: dict[str, str | None] = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = expand(var["value"], {k: v for k, v in env.items() if v is not None})
        elif "fieldRef" in var["valueFrom"]:
            env[var["name"]] = fields[var["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            assert var["valueFrom"]["secretKeyRef"] == {"name": f"{sts['metadata']['name']}-env", "key": var["name"]}
            env[var["name"]] = None
    known = {k: v for k, v in env.items() if v is not None}
    return env, [expand(arg, known) for arg in container.get("args", [])]


CASES = list(itertools.product((1, 3, 5, 7), runtimes.NAMES, CONTRACTS))


@pytest.mark.parametrize(("nodes", "runtime", "contract"), CASES, ids=[f"{n}-{r}-{c}" for n, r, c in CASES])
def test_every_rendering_passes_the_schemas_and_our_rules(tmp_path, nodes, runtime, contract):
    files = kubernetes_files(nodes=nodes, runtime=runtime, **CONTRACTS[contract])
    assert sorted(files) == ["k8s/kustomization.yaml", "k8s/policies.yaml", "k8s/services.yaml", "k8s/statefulset.yaml"]
    assert findings(files, tmp_path) == []
    found = objects(files)
    sts, headless = found["StatefulSet"], found["Service/raft-node-peers"]
    id_base = CONTRACTS[contract].get("id_base", 0)
    assert sts["spec"]["replicas"] == nodes and sts["spec"]["ordinals"] == {"start": id_base}
    assert sts["spec"]["podManagementPolicy"] == "Parallel" and sts["spec"]["serviceName"] == "raft-node-peers"
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert ("PodDisruptionBudget" in found) == (nodes >= 3)
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == runtimes.get(runtime).uid and pod["securityContext"]["runAsNonRoot"]
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"] == {**container["livenessProbe"], "tcpSocket": {"port": "http"}}
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/data", "/tmp"]
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == container["volumeMounts"][0]["name"]


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_each_pod_is_told_what_the_contract_tells_its_node(nodes):
    sts = objects(kubernetes_files(nodes=nodes, **CONTRACTS["custom"]))["StatefulSet"]
    everyone = ",".join(f"raft-node-{1 + i}.raft-node-peers:9000" for i in range(nodes))
    for ordinal in range(1, nodes + 1):
        env, args = pod_view(sts, ordinal)
        name = f"raft-node-{ordinal}.raft-node-peers"
        assert env["APP_ID"] == str(ordinal) and env["APP_NAME"] == name
        assert env["APP_COST"] == "$5 $(HOME)" and env["APP_PEERS"] == everyone
        assert env["APP_TOKEN"] is None  # from the Secret raft-node-env
        assert args == ["--listen", "0.0.0.0:8080", f"--id={ordinal}", "--name", name]


def test_the_builtin_contract_gives_each_pod_its_id():
    sts = objects(kubernetes_files(nodes=3, **CONTRACTS["builtin"]))["StatefulSet"]
    assert [pod_view(sts, i)[0]["NODE_ID"] for i in range(3)] == ["0", "1", "2"]


# --- what one pod template cannot express ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "named"),
    [
        ({"node_env": ()}, "the built-in PEERS"),  # the other nodes: differs per pod by more than its own name
        ({"id_base": 1, "node_env": (ALL_PEERS, "APP_INDEX={{ node.index }}")}, "--node-env APP_INDEX={{ node.index }}"),
        ({"node_args": ('{{ "--init" if node.index == 0 else "--join" }}',)}, "--node-arg"),
        ({"node_args": ('{{ "" if node.index else "--first" }}',)}, "renders empty on some pods only"),
    ],
)
def test_what_one_pod_template_cannot_express_is_refused_in_one_line(answers, named):
    with pytest.raises(UsageError) as refused:
        make_plan(raft_node(), Answers(targets=("kubernetes",), nodes=3, **{"node_env": (ALL_PEERS,), **answers}))
    message = str(refused.value)
    assert "\n" not in message and named in message and "--target kubernetes" in message


def test_the_same_answers_are_fine_for_compose_alone():
    assert make_plan(raft_node(), Answers(nodes=3)).kubernetes is None


def test_a_single_node_has_no_budget_and_says_why():
    plan = make_plan(raft_node(), Answers(targets=("kubernetes",), nodes=1))
    assert any("no PodDisruptionBudget" in w for w in plan.warnings)
    assert "PodDisruptionBudget" not in objects({f.name: f.content for f in render(plan) if f.name.startswith("k8s/")})


def test_names_kubernetes_cannot_take_are_mapped_and_shown():
    plan = make_kubernetes(Answers(targets=("kubernetes",), nodes=3, node_env=(ALL_PEERS,), ports=("admin_console_port=7000",)),
                           "9Raft_Node", "x:latest", User(1, 1), InstalledBinary("9Raft_Node", "/usr/local/bin/9Raft_Node"),
                           None, ())
    assert plan.names.app == "app-9raft-node" and plan.identity.pods == ("app-9raft-node-0", "app-9raft-node-1", "app-9raft-node-2")
    assert "Kubernetes names: binary 9Raft_Node becomes app-9raft-node (DNS-1123)" in plan.warnings
    long = make_kubernetes(Answers(nodes=1), "a" * 80, "x:latest", User(1, 1), InstalledBinary("a", "/a"), None, ())
    assert len(long.names.headless) <= 63 and len(long.names.app) + len("-99") <= 63


# --- the checks can fail ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        (("  replicas: 3\n", "  replica: 3\n"), "kubernetes-validate"),  # a field typo
        (("podManagementPolicy: Parallel", "podManagementPolicy: Parallell"), "SC401"),
        (("maxUnavailable: 1", "maxUnavailable: 2"), "SC403"),  # 2 of 3 down breaks quorum
        (("publishNotReadyAddresses: true", "publishNotReadyAddresses: false"), "SC406"),
        (("serviceName: \"raft-node-peers\"", "serviceName: \"raft-node-peer\""), "SC405"),
        # Liveness asking what readiness asks (here /ready, which may wait for a leader): restart storms.
        (("livenessProbe:\n            tcpSocket:\n", "livenessProbe:\n            httpGet:\n              path: \"/ready\"\n"), "SC404"),
    ],
)
def test_a_broken_manifest_is_rejected(tmp_path, edit, rule):
    files = kubernetes_files(nodes=3, ready_path="/ready", **CONTRACTS["builtin"])
    broken = {name: text.replace(*edit) for name, text in files.items()}
    assert broken != files, "the edit must change a file"
    assert any(line.startswith(rule) for line in findings(broken, tmp_path)), findings(broken, tmp_path)


# --- one pod template: the substitutions -------------------------------------------------------------


def test_a_value_is_expressed_with_the_fewest_substitutions_that_fit_every_pod():
    pods = [Pod(f"app-{i}", i) for i in range(1, 4)]
    literal = podtemplate.express(["threads 1 on 10.0.0.1"] * 3, pods)
    assert literal == (Part("threads 1 on 10.0.0.1"),)
    values = [f"--id={i} --threads 1 --name app-{i}.peers" for i in range(1, 4)]
    own = podtemplate.express(values, pods)
    assert own is not None and [podtemplate.expand(own, pod) for pod in pods] == values
    assert Part("", "POD_NAME") in own and Part("", "POD_INDEX") in own
    assert podtemplate.express(["app-2,app-3", "app-1,app-3", "app-1,app-2"], pods) is None  # the others: no template
    assert podtemplate.express(["x12", "x2", "x3"], pods) is None  # 12 is not the id 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    namespace=st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z"),
    image=st.sampled_from(["app", "ghcr.io/me/app:1.0", "localhost:5000/a/b:v1", "r.example/x@sha256:" + "0" * 64]),
    size=st.sampled_from(["1Gi", "500Mi", "2.5Gi", "10G"]),
    service_type=st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer"]),
    anti_affinity=st.sampled_from(["preferred", "required"]),
    readiness=st.sampled_from([{}, {"ready_path": "/ready"}, {"ready_command": ("/bin/true",)}, {"healthcheck": "exec"}]),
    nodes=st.integers(1, 7),
)
def test_any_kubernetes_answers_pass_the_schemas_and_our_rules(tmp_path_factory, namespace, image, size, service_type,
                                                                anti_affinity, readiness, nodes):
    files = kubernetes_files(nodes=nodes, namespace=namespace, image=image, storage_size=size, service_type=service_type,
                             anti_affinity=anti_affinity, pull_secret="regcred", node_env=(ALL_PEERS,), **readiness)
    assert findings(files, tmp_path_factory.mktemp("k8s")) == []
    found = objects(files)
    assert found["Service/raft-node"]["spec"]["type"] == service_type
    assert found["StatefulSet"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == size
    assert yaml.safe_load(files["k8s/kustomization.yaml"])["namespace"] == namespace
