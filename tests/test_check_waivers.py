"""Waivers: `--ignore CODE` and `# scaffold-check: ignore=CODE` comments take waivable findings out of the count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_crate, run_scaffold
from generator.check import check, exit_status, format_report
from generator.check_rules import RULES
from generator.check_waivers import Waiver, file_waivers, waiver_comment
from generator.errors import ScaffoldError

WAIVABLE = sorted(code for code, rule in RULES.items() if rule.waivable)
NOT_WAIVABLE = sorted(code for code, rule in RULES.items() if not rule.waivable)


def init(tmp_path, *options: str, waivers: bool = True):
    """A crate with generated files; waivers=False takes out the waivers init wrote for its options."""
    crate = make_crate(tmp_path / "crate")
    result = run_scaffold("init", str(crate), "--no-input", *options)
    assert result.returncode == 0, result.stderr
    if not waivers:
        compose = crate / "docker-compose.yml"
        compose.write_text("".join(line for line in compose.read_text().splitlines(True) if "scaffold-check:" not in line))
    return crate


def counted(report) -> set[str]:
    return {f.rule for f in report.findings if f.severity != "info"}


def test_the_rules_init_options_break_are_waivable(tmp_path):
    """`--publish-address 0.0.0.0` breaks SC305 and `--writable-root` SC304: init can write their waivers."""
    crate = init(tmp_path, "--publish-address", "0.0.0.0", "--writable-root", waivers=False)
    assert counted(check(crate)) == {"SC304", "SC305"}
    assert all(RULES[code].waivable for code in ("SC304", "SC305"))


@pytest.mark.parametrize(
    "options, codes",
    [
        (["--publish-address", "0.0.0.0"], {"SC305"}),
        (["--publish-address", "[::]"], {"SC305"}),
        (["--writable-root"], {"SC304"}),
        (["--publish-address", "0.0.0.0", "--writable-root"], {"SC304", "SC305"}),
        ([], set()),
    ],
)
def test_init_waives_the_rules_its_chosen_options_break(tmp_path, options, codes):
    crate = init(tmp_path, *options)
    result = run_scaffold("check", str(crate))
    assert result.returncode == 0, result.stdout + result.stderr
    report = check(crate)
    assert {f.rule for f, _ in report.waived} == codes
    assert all(w.source.startswith(str(crate / "docker-compose.yml")) and w.reason for _, w in report.waived)


def test_init_waives_nothing_for_a_chosen_lan_address(tmp_path):
    """Only every-interface publishing breaks SC305: a chosen address gets no waiver (and needs none)."""
    crate = init(tmp_path, "--publish-address", "192.168.7.7")
    assert "scaffold-check:" not in (crate / "docker-compose.yml").read_text()
    assert counted(check(crate)) == set()


def test_waived_by_flag_repeated_or_comma_separated(tmp_path):
    crate = init(tmp_path, "--publish-address", "0.0.0.0", "--writable-root", waivers=False)
    before = run_scaffold("check", str(crate))
    assert before.returncode == 1 and "[SC305]" in before.stdout
    for flags in (["--ignore", "SC304", "--ignore", "SC305"], ["--ignore", "SC305,SC304"]):
        result = run_scaffold("check", str(crate), *flags)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[SC305]" not in result.stdout and "[SC304]" not in result.stdout
        assert result.stdout.splitlines()[-2:] == [
            "no problems found",
            "6 findings waived: SC304 x3 (--ignore), SC305 x3 (--ignore)",  # three nodes, each with both
        ]
    only = check(crate, ["SC305"])
    assert counted(only) == {"SC304"} and exit_status(only.findings) == 1  # a waiver covers its own rule only


def test_waived_by_a_comment_in_the_file(tmp_path):
    crate = init(tmp_path, "--publish-address", "0.0.0.0", waivers=False)
    compose = crate / "docker-compose.yml"
    compose.write_text(f"{waiver_comment('SC305', 'the nodes serve the LAN')}\n{compose.read_text()}")
    result = run_scaffold("check", str(crate))
    assert result.returncode == 0, result.stdout + result.stderr  # Compose v2 still accepts the file: no compose:config
    assert result.stdout.splitlines()[-2:] == [
        "no problems found",
        f'3 findings waived: SC305 x3 ({compose}:1 "the nodes serve the LAN")',
    ]


def test_a_comment_waives_only_in_its_own_file(tmp_path):
    good = 'FROM alpine:3.20\nUSER {user}\nENTRYPOINT ["/a"]\n'
    (tmp_path / "Dockerfile").write_text(good.format(user="root"))
    (tmp_path / "Dockerfile.dev").write_text("# scaffold-check: ignore=SC101,SC200\n" + good.format(user="root"))
    report = check(tmp_path)
    assert {(f.file, f.rule) for f in report.findings if f.severity == "error"} == {
        (str(tmp_path / "Dockerfile"), "SC101"), (str(tmp_path / ".dockerignore"), "SC200"),
    }, format_report(report)
    # The Dockerfile's comment covers what checking it finds, its missing ignore file (SC200) too.
    assert sorted((f.rule, w.source) for f, w in report.waived) == [
        ("SC101", f"{tmp_path / 'Dockerfile.dev'}:1"), ("SC200", f"{tmp_path / 'Dockerfile.dev'}:1"),
    ]
    where = f"{tmp_path / 'Dockerfile.dev'}:1"
    assert format_report(report).endswith(f"2 findings waived: SC101 ({where}), SC200 ({where})")


def test_a_tool_entry_waives_all_its_findings_or_one_code(tmp_path):
    (tmp_path / "Dockerfile").write_text('FROM debian:12\nRUN apt-get update && apt-get install -y curl\nUSER 1:1\nENTRYPOINT ["/a"]\n')
    hadolint = {f.rule for f in check(tmp_path / "Dockerfile").findings if f.rule.startswith("hadolint:")}
    assert {"hadolint:DL3008", "hadolint:DL3015"} <= hadolint
    assert {f.rule for f in check(tmp_path / "Dockerfile", ["hadolint:DL3008"]).findings} & hadolint == hadolint - {"hadolint:DL3008"}
    assert not {f.rule for f in check(tmp_path / "Dockerfile", ["hadolint"]).findings} & hadolint


@pytest.mark.parametrize("code", [*NOT_WAIVABLE, "SC999", "hadolintx", "SC305:x", "hadolint:", ""])
def test_a_code_that_cannot_be_waived_is_refused(tmp_path, code):
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    result = run_scaffold("check", str(tmp_path), "--ignore", f"SC305,{code}")
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --ignore {code}" if code else "error: --ignore give a rule code"), line
    if code:
        assert set(re.findall(r"SC\d{3}|hadolint", line.split("waivable: ", 1)[1])) == set(WAIVABLE), line


@pytest.mark.parametrize(
    "comment", ["# scaffold-check: ignore=SC300", "# scaffold-check: ignore=SC305,SC001", "# scaffold-check: ignore=SC42"]
)
def test_a_comment_naming_a_code_that_cannot_be_waived_is_the_files_problem(tmp_path, comment):
    (tmp_path / "compose.yaml").write_text(f"services: {{}}\n{comment}\n")
    result = run_scaffold("check", str(tmp_path / "compose.yaml"))
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    bad = comment.rsplit(",", 1)[-1].rsplit("=", 1)[-1]
    assert line.startswith(f"error: {tmp_path / 'compose.yaml'}:2: waiver {bad}") and "SC305" in line, line


@pytest.mark.parametrize(
    "comment", ["# scaffold-check: SC305", "# scaffold-check: ignore=SC305 because", '# scaffold-check: ignore=SC305 reason="\\q"']
)
def test_a_malformed_waiver_comment_says_how_to_write_one(comment):
    expected = r'^f:3: not a waiver scaffold can read; write it as # scaffold-check: ignore=SC305 reason="why"$'
    with pytest.raises(ScaffoldError, match=expected):
        file_waivers(Path("f"), f"a\nb\n{comment}\n")


def test_waiver_comment_refuses_what_cannot_be_waived():
    for code in (*NOT_WAIVABLE, "SC999"):
        with pytest.raises(ValueError, match=code):
            waiver_comment(code)
    assert waiver_comment("SC305") == "# scaffold-check: ignore=SC305"


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from([*WAIVABLE, "hadolint:DL3008"]), reason=st.text())
def test_a_generated_waiver_comment_reads_back_and_leaves_the_file_valid(code, reason):
    comment = waiver_comment(code, reason)
    assert "\n" not in comment and "\r" not in comment
    compose = "services:\n  app:\n    image: app:1.0\n"
    text = f"{compose}{comment}\n"
    assert file_waivers(Path("compose.yaml"), text) == (Waiver(code, "compose.yaml:4", reason or None),)
    assert yaml.safe_load(text) == yaml.safe_load(compose)  # a YAML comment whatever the reason holds


@given(reason=st.text(min_size=1))
@settings(max_examples=100, deadline=None)
def test_a_waiver_comment_is_a_comment_to_buildkit(reason):
    import dockerfile

    text = 'FROM alpine:3.20\nENTRYPOINT ["/a"]\n'
    commented = f"FROM alpine:3.20\n{waiver_comment('SC101', reason)}\nENTRYPOINT [\"/a\"]\n"
    assert [(c.cmd, c.value) for c in dockerfile.parse_string(commented)] == [(c.cmd, c.value) for c in dockerfile.parse_string(text)]
