"""Swarm stack checks: `docker stack config` (the stack loader, offline) and rules SC500-SC505.

A good three-node stack passes clean; each broken copy changes one thing and is rejected.
"""

from __future__ import annotations

import pytest

from conftest import run_scaffold
from generator import check_tools
from generator.check import check, check_files, exit_status, format_findings, kind_of
from generator.check_rules import Finding
from generator.check_swarm import check_swarm

NODE = """\
  raft-node-{i}:
    image: raft:1.0
    command: ["--id", "{i}"]
    deploy:
      endpoint_mode: dnsrr
      restart_policy: {{condition: on-failure}}
    networks: [raft]
"""
GOOD = 'version: "3.8"\nservices:\n' + "".join(NODE.format(i=i) for i in (1, 2, 3)) + "networks:\n  raft: {driver: overlay}\n"
PORT = "    ports:\n      - {target: 8080, published: 18080, mode: host}\n"


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def write(tmp_path, text, name="stack.yml"):
    (tmp_path / name).write_text(text)
    return tmp_path / name


@pytest.mark.parametrize("name,kind", [("stack.yml", "stack"), ("prod.stack.yaml", "stack"), ("docker-stack.yml", "stack"),
                                       ("docker-stack.prod.yaml", "stack"), ("compose.yaml", "compose"), ("stack.json", None)])
def test_the_kind_of_a_stack_file_comes_from_its_name(name, kind):
    assert kind_of(name) == kind


def test_a_good_stack_passes_clean(tmp_path):
    path = write(tmp_path, GOOD.replace("    networks: [raft]\n", PORT + "    networks: [raft]\n", 1))
    findings = check_files(path)
    assert findings == [], format_findings(findings)
    result = run_scaffold("check", str(path), "--strict")
    assert result.returncode == 0 and result.stdout.strip() == "no problems found", result.stdout + result.stderr


BROKEN = {
    "build: present": (("    image: raft:1.0\n", "    image: raft:1.0\n    build: .\n"), "SC502"),
    "pull_policy present": (("    image: raft:1.0\n", "    image: raft:1.0\n    pull_policy: never\n"), "SC502"),
    "develop present": (("    image: raft:1.0\n", "    image: raft:1.0\n    develop: {watch: []}\n"), "SC502"),
    "long depends_on": (
        ("    image: raft:1.0\n", "    image: raft:1.0\n    depends_on: {raft-node-2: {condition: service_started}}\n"),
        "SC502",
    ),
    "a dnsrr port without mode host": (("    networks: [raft]\n", '    ports: ["18080:8080"]\n    networks: [raft]\n'), "SC504"),
    "a dnsrr long-syntax port in ingress mode": (
        ("    networks: [raft]\n", PORT.replace("host", "ingress") + "    networks: [raft]\n"),
        "SC504",
    ),
    "a config the file does not define": (("    networks: [raft]\n", "    configs: [peers]\n    networks: [raft]\n"), "SC505"),
    "no version": (('version: "3.8"\n', ""), "SC501"),
    "a version 2 file": (('version: "3.8"\n', 'version: "2.4"\n'), "SC501"),
    "an unknown key (the stack loader)": (("    image: raft:1.0\n", "    image: raft:1.0\n    prots: [8080]\n"), "docker-stack:config"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_stack_is_rejected(tmp_path, name):
    (old, new), rule = BROKEN[name]
    findings = check_files(write(tmp_path, GOOD.replace(old, new, 1)))
    assert rule in {f.rule for f in errors(findings)}, format_findings(findings)
    assert exit_status(findings) == 1


def test_peers_without_dnsrr_warn_with_the_reason(tmp_path):
    findings = check_swarm(write(tmp_path, GOOD.replace("      endpoint_mode: dnsrr\n", "", 1)))
    assert [(f.rule, f.severity, f.line) for f in findings] == [("SC503", "warning", 3)], format_findings(findings)
    assert "raft-node-2, raft-node-3" in findings[0].message and "did not route" in findings[0].message


def test_not_a_stack_file(tmp_path):
    for text in ("- a\n", "services: [a]\n", "a: [\n"):
        findings = check_swarm(write(tmp_path, text))
        assert "SC500" in {f.rule for f in findings} and exit_status(findings) == 1, format_findings(findings)


def test_a_docker_cli_without_stack_config_is_a_note(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    old = tmp_path / "docker"
    old.write_text("#!/bin/sh\necho 'unknown command: docker stack config' >&2\nexit 1\n")
    old.chmod(0o755)
    monkeypatch.setattr(check_tools, "find_tool", lambda name: str(old))
    assert [(f.rule, f.severity) for f in check(path).findings] == [("SC001", "info")]
    assert [(f.rule, f.severity) for f in check(path, strict=True).findings] == [("SC001", "error")]
