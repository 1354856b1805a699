"""Dockerfile checks: hadolint's findings at its own levels, BuildKit's parser, and our rules SC100-SC104."""

from __future__ import annotations

from generator.check import check_files, exit_status, format_findings
from generator.check_dockerfile import check_dockerfile
from generator.check_rules import Finding

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


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def rules_in(text: str, tmp_path) -> set[str]:
    (tmp_path / "Dockerfile").write_text(text)
    return {f.rule for f in check_dockerfile(tmp_path / "Dockerfile")}


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
    assert any(f.rule.startswith("hadolint:DL") for f in findings), "hadolint's own findings are included"
    assert exit_status(findings) == 1


def test_hadolint_findings_keep_its_level(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\nWORKDIR app\nLABEL invalid_Key=x\nRUN apt-get update\nRUN apt-get install -y curl\n"
        "USER 10001:10001\nENTRYPOINT [\"/app\"]\n"
    )
    levels = {f.rule: f.severity for f in check_dockerfile(tmp_path / "Dockerfile") if f.rule.startswith("hadolint:")}
    # hadolint's levels: DL3000 error, DL3008 warning, DL3009 info, DL3048 style (shown as info).
    assert levels["hadolint:DL3000"] == "error" and levels["hadolint:DL3008"] == "warning"
    assert levels["hadolint:DL3009"] == "info" and levels["hadolint:DL3048"] == "info"


def test_hadolint_warnings_alone_do_not_fail(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN apt-get install -y curl\nUSER 1:1\nENTRYPOINT [\"/a\"]\n")
    findings = check_dockerfile(tmp_path / "Dockerfile")
    assert "hadolint:DL3008" in {f.rule for f in findings} and errors(findings) == []
    assert exit_status(findings) == 0


def test_buildkit_rejects_an_unparseable_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nLABEL lonely\n")
    findings = check_dockerfile(tmp_path / "Dockerfile")
    parse = [f for f in findings if f.rule == "SC100"]
    assert len(parse) == 1 and "BuildKit cannot parse it" in parse[0].message and parse[0].severity == "error"
    assert exit_status(findings) == 1


def test_a_dockerfile_without_from(tmp_path):
    assert "SC100" in rules_in("ARG VERSION=1\n", tmp_path)


def test_healthcheck_feasibility(tmp_path):
    cases = {
        "FROM gcr.io/distroless/cc-debian12:nonroot\nUSER 65532:65532\n"
        "HEALTHCHECK CMD [\"bash\", \"-c\", \"true\"]\nENTRYPOINT [\"/app\"]\n": True,
        "FROM scratch\nUSER 10001:10001\nHEALTHCHECK CMD /app health\nENTRYPOINT [\"/app\"]\n": True,
        "FROM alpine:3.20\nUSER 10001:10001\nHEALTHCHECK CMD [\"wget\", \"-q\", \"http://127.0.0.1/\"]\nENTRYPOINT [\"/app\"]\n": False,
        "FROM alpine:3.20\nUSER 10001:10001\nHEALTHCHECK CMD [\"bash\", \"-c\", \"true\"]\nENTRYPOINT [\"/app\"]\n": True,
        "FROM debian:bookworm-slim\nUSER 10001:10001\n"
        "HEALTHCHECK CMD [\"wget\", \"-q\", \"http://127.0.0.1/\"]\nENTRYPOINT [\"/app\"]\n": True,
        "FROM debian:bookworm-slim\nRUN apt-get install -y --no-install-recommends curl\nUSER 10001:10001\n"
        "HEALTHCHECK CMD [\"curl\", \"-f\", \"http://127.0.0.1/\"]\nENTRYPOINT [\"/app\"]\n": False,
        "FROM scratch\nCOPY app /usr/local/bin/app\nUSER 10001:10001\n"
        "HEALTHCHECK CMD [\"/usr/local/bin/app\", \"health\"]\nENTRYPOINT [\"/usr/local/bin/app\"]\n": False,
        "FROM alpine:3.20\nUSER 10001:10001\nHEALTHCHECK NONE\nENTRYPOINT [\"/app\"]\n": False,
    }
    for text, reported in cases.items():
        assert ("SC103" in rules_in(text, tmp_path)) == reported, text


def test_root_and_named_users(tmp_path):
    for user, reported in (("0", True), ("0:0", True), ("root", True), ("app", True), ("10001", False), ("10001:10001", False)):
        assert ("SC101" in rules_in(f"FROM alpine:3.20\nUSER {user}\nENTRYPOINT [\"/app\"]\n", tmp_path)) == reported, user
    assert "SC101" in rules_in("FROM alpine:3.20\nENTRYPOINT [\"/app\"]\n", tmp_path), "no USER at all"


def test_arg_defaults_are_used_for_base_image_tags(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "ARG RUST_VERSION=1.95\nARG BASE\nFROM rust:${RUST_VERSION}-slim AS b\nFROM ${BASE}\nUSER 1:1\nENTRYPOINT [\"/a\"]\n"
    )
    latest = [f for f in check_dockerfile(tmp_path / "Dockerfile") if f.rule == "SC104"]
    assert [f.line for f in latest] == [4]
