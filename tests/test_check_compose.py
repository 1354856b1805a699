"""Compose checks: Compose v2's `config` rejects what it cannot run, and our hardening rules SC300-SC309."""

from __future__ import annotations

from conftest import make_crate, run_scaffold
from generator.check import check_files, exit_status, format_findings
from generator.check_compose import check_compose
from generator.check_rules import Finding

BAD_COMPOSE = """\
version: "3.8"
services:
  app:
    build: .
    container_name: app
    privileged: true
    ports:
      - "8080:8080"
      - 9000
    environment:
      DATABASE_PASSWORD: hunter2
      API_TOKEN: ${API_TOKEN}
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
  worker:
    image: app:1.0
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    network_mode: host
"""


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def test_a_hand_written_bad_compose_file_reports_each_problem(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(BAD_COMPOSE)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    findings = check_files(tmp_path / "docker-compose.yml")
    app = {f.rule for f in errors(findings) if "service app" in f.message}
    assert {"SC301", "SC302", "SC303", "SC304", "SC305", "SC306", "SC308", "SC309"} <= app, format_findings(findings)
    secrets = [f.message for f in findings if f.rule == "SC306"]
    assert len(secrets) == 1 and "DATABASE_PASSWORD" in secrets[0]  # ${API_TOKEN} comes from the environment
    assert sum(f.rule == "SC305" for f in findings) == 2
    worker = {f.rule for f in errors(findings) if "service worker" in f.message}
    assert worker == {"SC304", "SC309"}  # read_only without tmpfs; network_mode: host
    version = [f for f in findings if f.rule == "SC307"]
    assert len(version) == 1 and version[0].line == 1 and version[0].severity == "warning"
    assert all(f.line == 3 for f in findings if "service app" in f.message)


def test_compose_config_rejects_what_compose_cannot_run(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: app:1.0\n    depends_on: [db]\n")
    rejected = [f for f in check_compose(tmp_path / "compose.yaml") if f.rule == "compose:config"]
    assert len(rejected) == 1 and "db" in rejected[0].message and rejected[0].severity == "error"


def test_not_a_compose_file(tmp_path):
    cases = (("services: [a, b]\n", "`services` is not a mapping"), ("- app\n", "no top-level mapping"), ("a: [\n", "not valid YAML"))
    for text, reason in cases:
        (tmp_path / "compose.yaml").write_text(text)
        findings = check_compose(tmp_path / "compose.yaml")
        parse = [f for f in findings if f.rule == "SC300"]
        assert len(parse) == 1 and reason in parse[0].message, format_findings(findings)
        assert exit_status(findings) == 1


def test_an_obsolete_version_key_alone_warns_without_failing(tmp_path):
    crate = make_crate(tmp_path / "crate")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    compose = crate / "docker-compose.yml"
    compose.write_text('version: "3.8"\n' + compose.read_text())
    findings = check_files(compose)
    assert [(f.rule, f.severity) for f in findings] == [("SC307", "warning")], format_findings(findings)
    result = run_scaffold("check", str(compose))
    assert result.returncode == 0 and "warning: [SC307]" in result.stdout and result.stdout.strip().endswith("1 warning")


def test_publishing_on_every_interface_is_reported(tmp_path):
    crate = make_crate(tmp_path / "crate")
    result = run_scaffold("init", str(crate), "--no-input", "--publish-address", "0.0.0.0")
    assert result.returncode == 0, result.stderr
    assert {f.rule for f in errors(check_files(crate))} == {"SC305"}
