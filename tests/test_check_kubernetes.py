"""Kubernetes checks: the API schemas (kubernetes-validate, strict, 1.29 and the newest shipped) and rules SC400-SC410.

A good Raft cluster passes clean; each broken copy changes one thing and is rejected by the check
meant to catch it, so every check is shown able to fail.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import run_scaffold
from generator.check import check, check_files, exit_status, format_findings, kind_of_file
from generator.check_kubernetes import check_kubernetes
from generator.check_rules import Finding

STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: raft
  labels: {app.kubernetes.io/name: raft}
spec:
  replicas: 3
  podManagementPolicy: Parallel
  serviceName: raft-peers
  ordinals: {start: 1}
  selector:
    matchLabels: {app.kubernetes.io/name: raft}
  template:
    metadata:
      labels: {app.kubernetes.io/name: raft}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: node
          image: registry.example/raft:1.0
          imagePullPolicy: IfNotPresent
          args: ["--id", "$(POD_INDEX)", "--peers", "raft-1.raft-peers,raft-2.raft-peers,raft-3.raft-peers"]
          env:
            - name: POD_INDEX
              valueFrom: {fieldRef: {fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"}}
            - name: NODE_ID
              value: "$(POD_INDEX)"
          ports:
            - {name: raft, containerPort: 9000, protocol: TCP}
            - {name: http, containerPort: 8080}
          livenessProbe: {httpGet: {path: /health, port: http}}
          readinessProbe: {httpGet: {path: /status, port: http}}
          startupProbe: {httpGet: {path: /health, port: http}, failureThreshold: 30}
          securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          volumeMounts:
            - {name: data, mountPath: /data}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: tmp, emptyDir: {}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
"""
SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: raft-peers}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app.kubernetes.io/name: raft}
  ports: [{name: raft, port: 9000}]
---
apiVersion: v1
kind: Service
metadata: {name: raft}
spec:
  type: ClusterIP
  selector: {app.kubernetes.io/name: raft}
  ports: [{name: http, port: 8080, targetPort: http}]
"""
PDB = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: raft}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app.kubernetes.io/name: raft}
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [statefulset.yaml, services.yaml, pdb.yaml]
"""
GOOD = {"statefulset.yaml": STATEFULSET, "services.yaml": SERVICES, "pdb.yaml": PDB, "kustomization.yaml": KUSTOMIZATION}


def write_k8s(root: Path, changes: dict[str, tuple[str, str]] | None = None) -> Path:
    """The good cluster in ROOT/k8s, with `file: (old, new)` text replacements (each must apply)."""
    folder = root / "k8s"
    folder.mkdir(parents=True)
    for name, text in GOOD.items():
        if changes and name in changes:
            old, new = changes[name]
            assert old in text, old
            text = text.replace(old, new)
        (folder / name).write_text(text)
    return folder


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def test_the_good_cluster_passes_clean(tmp_path):
    folder = write_k8s(tmp_path)
    findings = check_files(folder)
    assert findings == [], format_findings(findings)
    assert {f.file for f in check_files(tmp_path)} == set(), "a project folder checks its k8s/ folder too, clean"
    result = run_scaffold("check", str(folder), "--strict")
    assert result.returncode == 0 and result.stdout.strip() == "no problems found", result.stdout + result.stderr


def test_manifests_are_known_by_content(tmp_path):
    write_k8s(tmp_path)
    (tmp_path / "app.yaml").write_text(PDB)
    (tmp_path / "values.yaml").write_text("replicas: 3\nkind: notes\n")
    assert kind_of_file(tmp_path / "app.yaml") == "kubernetes"
    assert kind_of_file(tmp_path / "values.yaml") is None
    assert kind_of_file(tmp_path / "k8s" / "kustomization.yaml") == "kubernetes"  # checked, but it has no schema
    checked = {Path(f.file).name for f in check_files(tmp_path)}
    assert checked == {"app.yaml"}, checked  # app.yaml's PDB has no StatefulSet beside it: SC408


BROKEN = {
    "a field typo (schema, strict)": ("statefulset.yaml", ("  replicas: 3", "  replica: 3"), "kubernetes-validate:strict"),
    "a wrong type (schema)": ("services.yaml", ("port: 9000", "port: raft-port"), "kubernetes-validate:strict"),
    "an enum typo the schema misses": ("statefulset.yaml", ("Parallel", "Parallell"), "SC401"),
    "a PDB that breaks quorum": ("pdb.yaml", ("maxUnavailable: 1", "maxUnavailable: 2"), "SC403"),
    "a PDB by minAvailable that breaks quorum": ("pdb.yaml", ("maxUnavailable: 1", "minAvailable: 33%"), "SC403"),
    "serviceName without a Service": ("statefulset.yaml", ("serviceName: raft-peers", "serviceName: raft-headless"), "SC405"),
    "serviceName naming a Service that is not headless": ("services.yaml", ("  clusterIP: None\n", ""), "SC405"),
    "a selector that misses the template's labels": ("statefulset.yaml", ("matchLabels: {app.kubernetes.io/name: raft}",
                                                                          "matchLabels: {app.kubernetes.io/name: raft-node}"), "SC407"),
    "one literal node id for every pod": ("statefulset.yaml", ('value: "$(POD_INDEX)"', 'value: "1"'), "SC410"),
    "a duplicate key": ("pdb.yaml", ("  maxUnavailable: 1\n", "  maxUnavailable: 1\n  maxUnavailable: 1\n"), "SC409"),
    "a document without kind": ("pdb.yaml", ("kind: PodDisruptionBudget\n", ""), "SC400"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_manifest_is_rejected(tmp_path, name):
    file, change, rule = BROKEN[name]
    folder = write_k8s(tmp_path, {file: change})
    findings = check_files(folder)
    failed = {(Path(f.file).name, f.rule) for f in errors(findings)}
    assert (file if rule != "SC405" else "statefulset.yaml", rule) in failed, format_findings(findings)
    assert exit_status(findings) == 1


def test_a_schema_problem_names_both_versions_and_the_line(tmp_path):
    folder = write_k8s(tmp_path, {"statefulset.yaml": ("  replicas: 3", "  replica: 3")})
    typo = [f for f in check_kubernetes(folder / "statefulset.yaml") if f.rule == "kubernetes-validate:strict"]
    assert len(typo) == 1 and "'replica' was unexpected" in typo[0].message, typo
    assert "Kubernetes 1.29, 1.3" in typo[0].message and typo[0].line == 6  # spec:, where the schema found it


WARNINGS = {
    "OrderedReady with a readiness probe": (
        "statefulset.yaml",
        ("podManagementPolicy: Parallel", "podManagementPolicy: OrderedReady"),
        "SC402",
    ),
    "the default policy with a readiness probe": ("statefulset.yaml", ("  podManagementPolicy: Parallel\n", ""), "SC402"),
    "liveness that is the readiness probe": (
        "statefulset.yaml",
        (
            "{httpGet: {path: /health, port: http}}\n          readinessProbe: {httpGet: {path: /status",
            "{httpGet: {path: /status, port: http}}\n          readinessProbe: {httpGet: {path: /status",
        ),
        "SC404",
    ),
    "liveness asking for the leader": (
        "statefulset.yaml",
        ("livenessProbe: {httpGet: {path: /health", "livenessProbe: {httpGet: {path: /leader"),
        "SC404",
    ),
    "a headless Service without publishNotReadyAddresses": ("services.yaml", ("  publishNotReadyAddresses: true\n", ""), "SC406"),
    "a Service that selects nothing": (
        "services.yaml",
        (
            "type: ClusterIP\n  selector: {app.kubernetes.io/name: raft}",
            "type: ClusterIP\n  selector: {app.kubernetes.io/name: raft-client}",
        ),
        "SC408",
    ),
}


@pytest.mark.parametrize("name", WARNINGS)
def test_risky_manifests_warn_without_failing(tmp_path, name):
    file, change, rule = WARNINGS[name]
    findings = check_files(write_k8s(tmp_path, {file: change}))
    assert [f.rule for f in findings if f.severity != "info"] == [rule], format_findings(findings)
    assert exit_status(findings) == 0


@pytest.mark.parametrize(
    "replicas,max_unavailable,breaks",
    [(3, 1, False), (3, 2, True), (5, 2, False), (5, 3, True), (7, 3, False), (7, 4, True), (2, 1, True),
     (5, "40%", False), (5, "41%", True)],
)
def test_the_budget_against_quorum(tmp_path, replicas, max_unavailable, breaks):
    folder = write_k8s(tmp_path, {"statefulset.yaml": ("replicas: 3", f"replicas: {replicas}"),
                                  "pdb.yaml": ("maxUnavailable: 1", f"maxUnavailable: {max_unavailable!r}".replace("'", '"'))})
    assert ("SC403" in {f.rule for f in check_files(folder)}) is breaks


def test_a_missing_validator_is_a_note_and_fails_under_strict(tmp_path, monkeypatch):
    folder = write_k8s(tmp_path)
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)  # import fails
    notes = [f for f in check(folder).findings if f.rule == "SC001"]
    assert notes and all("kubernetes-validate is not installed" in f.message and f.severity == "info" for f in notes)
    assert exit_status(check(folder).findings) == 0
    assert exit_status(check(folder, strict=True).findings) == 1
    broken = write_k8s(tmp_path / "broken", {"statefulset.yaml": ("Parallel", "Parallell")})
    assert "SC401" in {f.rule for f in errors(check_files(broken))}, "our rules need no validator"


def test_a_manifest_can_waive_a_waivable_rule(tmp_path):
    folder = write_k8s(tmp_path, {"services.yaml": ("  publishNotReadyAddresses: true\n", "")})
    sts = folder / "statefulset.yaml"
    sts.write_text('# scaffold-check: ignore=SC406 reason="readiness does not wait for quorum"\n' + sts.read_text())
    report = check(folder)
    assert report.findings == () and [f.rule for f, _ in report.waived] == ["SC406"], report
