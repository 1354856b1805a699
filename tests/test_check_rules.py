"""The rule registry: every finding names a registered rule, every rule is reachable, duplicates go."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from generator import check_tools
from generator.check import check_files, format_findings
from generator.check_dockerfile import check_dockerfile
from generator.check_rules import RULES, SEVERITIES, Finding, rule_of

GOOD_IGNORE = "target\n**/target\n**/.git\n**/.env\n"

# OrderedReady with readiness, liveness = readiness, a field typo, an enum typo, a selector that misses, one literal id,
# a headless Service without publishNotReadyAddresses, a client Service and a PDB that break things, a duplicate key,
# a StatefulSet whose serviceName names nothing, a document without kind.
RAFT_MANIFESTS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: raft}
spec:
  replicas: 3
  replica: 3
  serviceName: peers
  selector: {matchLabels: {app: raft}}
  template:
    metadata: {labels: {app: raft}}
    spec:
      containers:
        - name: node
          image: raft:1
          imagePullPolicy: Sometimes
          env: [{name: NODE_ID, value: "1"}]
          livenessProbe: {httpGet: {path: /status, port: 8080}}
          readinessProbe: {httpGet: {path: /status, port: 8080}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: other}
spec:
  serviceName: nowhere
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: another}}
    spec: {containers: [{name: c, image: c:1}]}
---
apiVersion: v1
kind: Service
metadata: {name: peers}
spec: {clusterIP: None, selector: {app: raft}}
---
apiVersion: v1
kind: Service
metadata: {name: client}
spec: {selector: {app: nothing}, selector: {app: nobody}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: raft}
spec: {maxUnavailable: 2, selector: {matchLabels: {app: raft}}}
---
apiVersion: v1
metadata: {name: kindless}
"""

# Broken inputs, each a folder's files; together they reach every rule that does not need a missing tool.
BROKEN: dict[str, dict[str, str]] = {
    "unparseable Dockerfile": {"Dockerfile": "FROM alpine:3.20\nLABEL lonely\n", ".dockerignore": GOOD_IGNORE},
    "Dockerfile without FROM": {"Dockerfile": "ARG VERSION=1\n", ".dockerignore": GOOD_IGNORE},
    "hand-written Dockerfile, no .dockerignore": {
        "Dockerfile.prod": "FROM rust AS build\nWORKDIR src\nCOPY . .\nRUN cargo build --release\n"
        "FROM debian:latest\nRUN apt-get update && apt-get install -y libssl3\nUSER app\n"
        "HEALTHCHECK CMD curl -f http://localhost/\nCMD /app\n",
    },
    "incomplete .dockerignore": {".dockerignore": "target\n"},
    ".dockerignore that excludes a file the build compiles in": {
        "Cargo.toml": '[package]\nname = "a"\nversion = "0.1.0"\n\n[[bin]]\nname = "a"\npath = "main.rs"\n',
        "main.rs": 'const CERT: &[u8] = include_bytes!("server.pem");\nfn main() {}\n',
        "server.pem": "test only\n",
        ".dockerignore": GOOD_IGNORE + "**/*.pem\n",
    },
    "insecure compose file": {
        "compose.yaml": 'version: "3.8"\nservices:\n  app:\n    image: app:1.0\n    container_name: app\n    privileged: true\n'
        "    ports: [\"8080:8080\"]\n    environment: {API_TOKEN: abc}\n    network_mode: host\n",
    },
    "compose file Compose rejects": {"docker-compose.yml": "services:\n  app:\n    image: app:1.0\n    prots: [\"8080\"]\n"},
    "compose file that is a list": {"compose.yml": "- app\n"},
    "Kubernetes manifests with Raft mistakes": {"raft.yaml": RAFT_MANIFESTS},
    "Kubernetes manifest that does not parse": {"node.yaml": "apiVersion: v1\nkind: [\n"},
    "stack file with Swarm mistakes": {"stack.yml": 'version: "2.4"\nservices:\n'
        "  a: {image: n:1, build: ., pull_policy: never, deploy: {endpoint_mode: dnsrr}, ports: [\"80:80\"]}\n"
        "  b: {image: n:1, develop: {watch: []}, configs: [c]}\n"},
    "stack file that is a list": {"docker-stack.yml": "- a\n"},
}


def findings_for(tmp_path: Path, files: dict[str, str]) -> list[Finding]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return check_files(tmp_path)


def tool_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    """The findings when the tools are missing, then when they are there but fail."""
    files = {
        "Dockerfile": "FROM alpine:3.20\nUSER 1:1\nENTRYPOINT [\"/a\"]\n",
        ".dockerignore": GOOD_IGNORE,
        "compose.yaml": "services: {}\n",
    }
    with monkeypatch.context() as patch:
        patch.setattr(check_tools, "find_tool", lambda name: None)
        patch.setattr(check_tools, "compose_binary", lambda: None)
        missing = findings_for(tmp_path / "missing", files)
    garbage = tmp_path / "prints-garbage"
    garbage.write_text("#!/bin/sh\necho not json\n")
    garbage.chmod(0o755)
    with monkeypatch.context() as patch:
        patch.setattr(check_tools, "find_tool", lambda name: str(garbage))
        patch.setattr(check_tools, "compose_binary", lambda: [str(tmp_path / "no-such-binary")])
        failing = findings_for(tmp_path / "failing", files)
    return missing + failing


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_input_fails_and_names_registered_rules(tmp_path, name):
    findings = findings_for(tmp_path, BROKEN[name])
    assert any(f.severity == "error" for f in findings), format_findings(findings)
    for f in findings:
        rule = rule_of(f.rule)  # KeyError: an unregistered rule
        assert f.severity in SEVERITIES
        if ":" in f.rule:  # a tool's own code under the tool's entry
            assert re.fullmatch(rf"{re.escape(rule.code)}:[\w-]+", f.rule), f.rule
        else:
            assert f.severity == rule.severity, f


def test_every_registered_rule_is_produced_by_a_fixture(tmp_path, monkeypatch):
    findings = [f for i, files in enumerate(BROKEN.values()) for f in findings_for(tmp_path / str(i), files)]
    findings += tool_scenarios(tmp_path / "tools", monkeypatch)
    produced = {rule_of(f.rule).code for f in findings}
    assert set(RULES) - produced == set(), "registered rules no fixture produces"


def test_tool_problems_are_reported_but_do_not_fail(tmp_path, monkeypatch):
    findings = tool_scenarios(tmp_path, monkeypatch)
    assert {f.rule for f in findings if f.severity != "info"} == {"SC002"}, format_findings(findings)
    failed = [f.message for f in findings if f.rule == "SC002"]
    assert any(m.startswith("hadolint could not run") for m in failed) and any(m.startswith("Compose v2 could not run") for m in failed)


def test_registry_records(tmp_path):
    for code, rule in RULES.items():
        assert rule.code == code and rule.severity in SEVERITIES and rule.message
        for replaced in rule.replaces:
            tool = rule_of(replaced)  # a registered tool
            assert ":" in replaced and tool.code != code and not tool.replaces
    assert not any(RULES[code].waivable for code in ("SC100", "SC300", "compose")), "a file that does not parse cannot be waived"


def test_a_tool_finding_our_rule_also_reports_is_shown_once(tmp_path):
    dockerfile = (
        "FROM debian:bookworm-slim AS build\nCMD echo build\n"  # hadolint only: our rules look at the final stage
        "FROM debian:latest\nUSER app\nCMD /app\n"  # hadolint DL3007, DL3066, DL3025 and our SC104, SC101, SC102
    )
    findings = findings_for(tmp_path, {"Dockerfile": dockerfile, ".dockerignore": GOOD_IGNORE})
    both = {(3, "hadolint:DL3007"), (4, "hadolint:DL3066"), (5, "hadolint:DL3025"), (3, "SC104"), (4, "SC101"), (5, "SC102")}
    assert both <= {(f.line, f.rule) for f in check_dockerfile(tmp_path / "Dockerfile")}, "each reports it on its own"
    by_line = {(f.line, f.rule) for f in findings}
    assert {(3, "SC104"), (4, "SC101"), (5, "SC102"), (2, "hadolint:DL3025")} <= by_line, format_findings(findings)
    assert not by_line & {(3, "hadolint:DL3007"), (4, "hadolint:DL3066"), (5, "hadolint:DL3025")}, format_findings(findings)
