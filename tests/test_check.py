"""`scaffold check`: our generated files pass every check; hand-written mistakes are each reported."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from conftest import make_crate, run_scaffold

from generator import check, runtimes
from generator.check import Finding, check_files, exit_status, format_findings
from generator.errors import ScaffoldError




def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in errors(findings)}


COMBINATIONS = list(itertools.product(runtimes.NAMES, ["skeleton", "cache-mount"]))


@pytest.mark.parametrize("runtime,strategy", COMBINATIONS)
def test_generated_files_have_no_findings(tmp_path, runtime, strategy):
    crate = make_crate(tmp_path / "crate")
    health = [] if runtimes.get(runtime).has_http_client else ["--healthcheck", "exec"]
    result = run_scaffold("init", str(crate), "--no-input", "--runtime", runtime, "--strategy", strategy, *health)
    assert result.returncode == 0, result.stderr
    findings = check_files(crate)
    assert errors(findings) == [], format_findings(findings)
    assert exit_status(findings) == 0


BAD_DOCKERFILE = """\
FROM rust AS build
WORKDIR /src
COPY . .
RUN cargo build --release

FROM debian:latest
RUN apt-get update && apt-get install -y libssl3
COPY --from=build /src/target/release/app /usr/local/bin/app
USER app
HEALTHCHECK CMD curl -f http://localhost:8080/health
CMD /usr/local/bin/app --serve
"""

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


def test_a_hand_written_bad_dockerfile_reports_each_problem(tmp_path):
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    findings = check_files(tmp_path)
    by_rule = {f.rule: f for f in errors(findings)}
    assert {"SC101", "SC102", "SC103", "SC104", "SC200"} <= set(by_rule), format_findings(findings)
    assert by_rule["SC101"].line == 9 and "USER app" in by_rule["SC101"].message
    assert by_rule["SC102"].line == 11
    assert "curl" in by_rule["SC103"].message
    latest = [f for f in errors(findings) if f.rule == "SC104"]
    assert sorted(f.line for f in latest) == [1, 6]
    assert any(f.rule.startswith("DL") for f in findings), "hadolint's own findings are included"
    assert exit_status(findings) == 1


def test_a_hand_written_bad_compose_file_reports_each_problem(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(BAD_COMPOSE)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    findings = [f for f in check_files(tmp_path / "docker-compose.yml")]
    app = {f.rule for f in errors(findings) if "service app" in f.message}
    assert {"SC301", "SC302", "SC303", "SC304", "SC305", "SC306", "SC308", "SC309"} <= app, format_findings(findings)
    secrets = [f.message for f in findings if f.rule == "SC306"]
    assert len(secrets) == 1 and "DATABASE_PASSWORD" in secrets[0]  # ${API_TOKEN} comes from the environment
    assert sum(f.rule == "SC305" for f in findings) == 2
    worker = {f.rule for f in errors(findings) if "service worker" in f.message}
    assert worker == {"SC304", "SC309"}  # read_only without tmpfs; network_mode: host
    version = [f for f in findings if f.rule == "SC307"]
    assert len(version) == 1 and version[0].line == 1
    assert all(f.line == 3 for f in findings if "service app" in f.message)


def test_publishing_on_every_interface_is_reported(tmp_path):
    crate = make_crate(tmp_path / "crate")
    result = run_scaffold("init", str(crate), "--no-input", "--publish-address", "0.0.0.0")
    assert result.returncode == 0, result.stderr
    assert rules(check_files(crate)) == {"SC305"}


@pytest.mark.parametrize(
    "ignore,missing",
    [
        ("target\n**/.git\n**/.env\n**/target\n", []),
        ("target\n.git\n**/.env\n**/target\n", ["vendor/dep/.git"]),
        ("", ["target", ".git", ".env"]),
        ("target/\n.git/\n.env\n", ["crates/app/.env", "crates/app/target/release"]),
        ("**\n!src\n!Cargo.toml\n", []),
        ("target\n**/target\n**/.git\n**/.env\n!.env\n", [".env"]),
    ],
)
def test_dockerignore_rules_follow_docker_matching(tmp_path, ignore, missing):
    (tmp_path / ".dockerignore").write_text(ignore)
    findings = check.check_dockerignore(tmp_path / ".dockerignore")
    if not missing:
        assert findings == []
    else:
        assert len(findings) == 1 and findings[0].rule == "SC201"
        for path in missing:
            assert path in findings[0].message


def test_an_unparseable_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nLABEL lonely\n")
    findings = check.check_dockerfile(tmp_path / "Dockerfile")
    assert "SC100" in rules(findings) and exit_status(findings) == 1


def test_healthcheck_feasibility(tmp_path):
    cases = {
        "FROM gcr.io/distroless/cc-debian12:nonroot\nUSER 65532:65532\nHEALTHCHECK CMD [\"bash\", \"-c\", \"true\"]\nENTRYPOINT [\"/app\"]\n": True,
        "FROM scratch\nUSER 10001:10001\nHEALTHCHECK CMD /app health\nENTRYPOINT [\"/app\"]\n": True,
        "FROM alpine:3.20\nUSER 10001:10001\nHEALTHCHECK CMD [\"wget\", \"-q\", \"http://127.0.0.1/\"]\nENTRYPOINT [\"/app\"]\n": False,
        "FROM alpine:3.20\nUSER 10001:10001\nHEALTHCHECK CMD [\"bash\", \"-c\", \"true\"]\nENTRYPOINT [\"/app\"]\n": True,
        "FROM debian:bookworm-slim\nRUN apt-get install -y --no-install-recommends curl\nUSER 10001:10001\n"
        "HEALTHCHECK CMD [\"curl\", \"-f\", \"http://127.0.0.1/\"]\nENTRYPOINT [\"/app\"]\n": False,
        "FROM scratch\nCOPY app /usr/local/bin/app\nUSER 10001:10001\nHEALTHCHECK CMD [\"/usr/local/bin/app\", \"health\"]\nENTRYPOINT [\"/usr/local/bin/app\"]\n": False,
    }
    for text, reported in cases.items():
        (tmp_path / "Dockerfile").write_text(text)
        found = "SC103" in {f.rule for f in check.check_dockerfile(tmp_path / "Dockerfile")}
        assert found == reported, text


def test_root_and_named_users(tmp_path):
    for user, reported in (("0", True), ("0:0", True), ("root", True), ("app", True), ("10001", False), ("10001:10001", False)):
        (tmp_path / "Dockerfile").write_text(f"FROM alpine:3.20\nUSER {user}\nENTRYPOINT [\"/app\"]\n")
        found = "SC101" in {f.rule for f in check.check_dockerfile(tmp_path / "Dockerfile")}
        assert found == reported, user


def test_arg_defaults_are_used_for_base_image_tags(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "ARG RUST_VERSION=1.95\nARG BASE\nFROM rust:${RUST_VERSION}-slim AS b\nFROM ${BASE}\nUSER 1:1\nENTRYPOINT [\"/a\"]\n"
    )
    latest = [f for f in check.check_dockerfile(tmp_path / "Dockerfile") if f.rule == "SC104"]
    assert [f.line for f in latest] == [4]


def test_missing_tools_are_notes_not_failures(tmp_path, monkeypatch):
    crate = make_crate(tmp_path / "crate")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    monkeypatch.setattr(check, "_tool", lambda name: None)
    monkeypatch.setattr(check, "compose_binary", lambda: None)
    monkeypatch.setitem(sys.modules, "dockerfile", None)  # import fails
    monkeypatch.setitem(sys.modules, "yaml", None)
    findings = check_files(crate)
    notes = [f.message for f in findings if f.severity == "note"]
    assert any("hadolint is not installed" in n for n in notes)
    assert any("BuildKit parser is not installed" in n for n in notes)
    assert any("Compose v2 is not installed" in n for n in notes)
    assert any("PyYAML is not installed" in n for n in notes)
    assert errors(findings) == [], format_findings(findings)
    assert exit_status(findings) == 0
    # The simple parser still applies our Dockerfile rules.
    (crate / "Dockerfile").write_text(BAD_DOCKERFILE)
    assert {"SC101", "SC102", "SC103", "SC104"} <= rules(check_files(crate))


def test_a_folder_without_container_files(tmp_path):
    with pytest.raises(ScaffoldError, match="no Dockerfile"):
        check_files(tmp_path)
    with pytest.raises(ScaffoldError, match="no such file"):
        check_files(tmp_path / "missing")


def test_format(tmp_path):
    findings = [Finding("Dockerfile", 3, "SC101", "USER app: use a numeric uid:gid"), Finding("Dockerfile", None, "note", "x", "note")]
    text = format_findings(findings)
    assert text.splitlines() == ["Dockerfile: note: [note] x", "Dockerfile:3: error: [SC101] USER app: use a numeric uid:gid", "1 problem found"]
    assert format_findings([]) == "no problems found"
