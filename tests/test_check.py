"""`scaffold check`: our generated files pass every check; which files are checked; output and exit status.

The checks of each kind of file are in test_check_dockerfile, test_check_dockerignore and
test_check_compose; the rule registry in test_check_rules.
"""

from __future__ import annotations

import itertools
import sys

import pytest

from conftest import make_crate, run_scaffold
from test_check_dockerfile import BAD_DOCKERFILE

from generator import check_tools, runtimes
from generator.check import check, check_files, exit_status, format_findings, format_report, kind_of
from generator.check_rules import Finding
from generator.errors import ScaffoldError


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in errors(findings)}


COMBINATIONS = list(itertools.product(runtimes.NAMES, ["skeleton", "cache-mount"]))


@pytest.mark.parametrize("runtime,strategy", COMBINATIONS)
def test_generated_files_have_no_findings(tmp_path, runtime, strategy):
    crate = make_crate(tmp_path / "crate")
    health = [] if runtimes.get(runtime).has_shell else ["--healthcheck", "exec"]
    result = run_scaffold("init", str(crate), "--no-input", "--runtime", runtime, "--strategy", strategy, *health)
    assert result.returncode == 0, result.stderr
    findings = check_files(crate)
    assert [f for f in findings if f.severity != "info"] == [], format_findings(findings)
    assert exit_status(findings) == 0


@pytest.mark.parametrize(
    "name,kind",
    [
        ("Dockerfile", "dockerfile"), ("Dockerfile.prod", "dockerfile"), ("app.Dockerfile", "dockerfile"),
        ("Containerfile", "dockerfile"), (".dockerignore", "dockerignore"), ("Dockerfile.prod.dockerignore", "dockerignore"),
        ("compose.yaml", "compose"), ("compose.prod.yml", "compose"), ("docker-compose.yml", "compose"),
        ("docker-compose.override.yaml", "compose"), ("Cargo.toml", None), ("compose.json", None), ("dockerfile.txt", None),
    ],
)
def test_the_kind_of_a_file_comes_from_its_name(name, kind):
    assert kind_of(name) == kind


def test_any_dockerfile_path_is_checked_on_its_own(tmp_path):
    (tmp_path / "Dockerfile.prod").write_text(BAD_DOCKERFILE)
    result = run_scaffold("check", str(tmp_path / "Dockerfile.prod"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{tmp_path / 'Dockerfile.prod'}:9: error: [SC101]" in result.stdout
    assert "[SC200]" not in result.stdout  # only the file given: its folder's .dockerignore is not looked for


def test_a_folder_checks_every_file_of_a_known_kind(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER 1:1\nENTRYPOINT [\"/a\"]\n")
    (tmp_path / "Dockerfile.dev").write_text("FROM alpine:3.20\nUSER root\nENTRYPOINT [\"/a\"]\n")
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    findings = check_files(tmp_path)
    assert {(f.file, f.rule) for f in errors(findings)} == {
        (str(tmp_path / ".dockerignore"), "SC200"),
        (str(tmp_path / "Dockerfile.dev"), "SC101"),
    }, format_findings(findings)


def test_an_unknown_kind_of_file_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("FROM alpine\n")
    result = run_scaffold("check", str(tmp_path / "notes.txt"))
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        (f"error: {tmp_path / 'notes.txt'}: not a container file scaffold can check; pass a file named Dockerfile*, "
         "*.Dockerfile, Containerfile, .dockerignore, *.dockerignore, compose*.y*ml, docker-compose*.y*ml, or its folder")
    ]


def test_a_folder_without_container_files(tmp_path):
    with pytest.raises(ScaffoldError, match="no Dockerfile"):
        check_files(tmp_path)
    with pytest.raises(ScaffoldError, match="no such file"):
        check_files(tmp_path / "missing")


def without_validators(monkeypatch: pytest.MonkeyPatch, *missing: str) -> None:
    """Make the named validators (hadolint, dockerfile, compose) look not installed."""
    if "hadolint" in missing:
        monkeypatch.setattr(check_tools, "find_tool", lambda name: None)
    if "compose" in missing:
        monkeypatch.setattr(check_tools, "compose_binary", lambda: None)
    if "dockerfile" in missing:
        monkeypatch.setitem(sys.modules, "dockerfile", None)  # import fails


VALIDATORS = {"hadolint": "hadolint is not installed", "dockerfile": "BuildKit parser is not installed", "compose": "Compose v2 is not installed"}


def test_missing_tools_are_notes_not_failures(tmp_path, monkeypatch):
    crate = make_crate(tmp_path / "crate")
    assert run_scaffold("init", str(crate), "--no-input", "--writable-root").returncode == 0
    without_validators(monkeypatch, *VALIDATORS)
    findings = check_files(crate)
    notes = [f.message for f in findings if f.severity == "info" and f.rule == "SC001"]
    assert len(notes) == 3 and all(any(VALIDATORS[v] in n for n in notes) for v in VALIDATORS), notes
    assert all("pip install 'scaffold[check]'" in n for n in notes)
    # Compose rules need no validator (PyYAML is a dependency): --writable-root is still reported.
    assert {f.rule for f in findings if f.severity != "info"} == {"SC304"}, format_findings(findings)
    # The simple parser still applies our Dockerfile rules.
    (crate / "Dockerfile").write_text(BAD_DOCKERFILE)
    assert {"SC101", "SC102", "SC103", "SC104"} <= rules(check_files(crate))


@pytest.mark.parametrize("missing", VALIDATORS)
def test_strict_fails_when_a_validator_is_missing(tmp_path, monkeypatch, missing):
    crate = make_crate(tmp_path / "crate")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    assert exit_status(check(crate, strict=True).findings) == 0  # every validator is installed with the test extra
    without_validators(monkeypatch, missing)
    assert exit_status(check(crate).findings) == 0
    report = check(crate, strict=True)
    failed = [f for f in report.findings if f.severity == "error"]
    assert [f.rule for f in failed] == ["SC001"] and VALIDATORS[missing] in failed[0].message, format_report(report)
    assert "--strict" in failed[0].message
    assert exit_status(report.findings) == 1


def test_strict_fails_when_a_validator_cannot_run(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    monkeypatch.setattr(check_tools, "compose_binary", lambda: [str(tmp_path / "no-such-binary")])
    assert [(f.rule, f.severity) for f in check(tmp_path / "compose.yaml").findings] == [("SC002", "warning")]
    assert [(f.rule, f.severity) for f in check(tmp_path / "compose.yaml", strict=True).findings] == [("SC002", "error")]


def test_strict_on_the_command_line(tmp_path):
    crate = make_crate(tmp_path / "crate")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    result = run_scaffold("check", str(crate), "--strict")
    assert result.returncode == 0 and result.stdout.strip() == "no problems found", result.stdout + result.stderr


def test_format_shows_the_severity_of_each_finding():
    findings = [
        Finding("Dockerfile", 3, "SC101", "USER app: use a numeric uid:gid", "error"),
        Finding("Dockerfile", 2, "hadolint:DL3008", "Pin versions", "warning"),
        Finding("Dockerfile", None, "SC001", "x", "info"),
    ]
    assert format_findings(findings).splitlines() == [
        "Dockerfile: info: [SC001] x",
        "Dockerfile:2: warning: [hadolint:DL3008] Pin versions",
        "Dockerfile:3: error: [SC101] USER app: use a numeric uid:gid",
        "1 error, 1 warning",
    ]
    assert format_findings(findings[1:2] * 2).splitlines()[-1] == "2 warnings"
    assert format_findings(findings[2:]).splitlines()[-1] == "no problems found"
    assert format_findings([]) == "no problems found"


def test_only_errors_fail():
    def one(severity):
        return [Finding("f", None, "SC101", "m", severity)]

    assert (exit_status(one("error")), exit_status(one("warning")), exit_status(one("info")), exit_status([])) == (1, 0, 0, 0)
