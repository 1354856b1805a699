"""scaffold update: three-way merges keep the user's edits; conflicts are marked and exit 1."""

from __future__ import annotations

import os
import sys
import tomllib

import pexpect
import pytest
import yaml

from conftest import REPO, run_scaffold
from generator.templateset import export_builtin
from generator.update import merge_file

USER_LINE = "# our team's note: keep this line\n"


def init(crate, *args):
    result = run_scaffold("init", str(crate), "--no-input", *args)
    assert result.returncode == 0, result.stderr
    return crate


def insert_after(path, marker: str, line: str) -> None:
    text = path.read_text()
    assert marker in text
    path.write_text(text.replace(marker, marker + line, 1))


def tree(directory) -> dict:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def templates(tmp_path):
    folder = tmp_path / "templates"
    export_builtin(folder)
    return folder


def test_an_edit_survives_an_update_that_changes_other_parts(sample, templates):
    crate = init(sample("raft-node"), "--template", str(templates))
    dockerfile = crate / "Dockerfile"
    insert_after(dockerfile, "ARG RUST_VERSION=1.95\n", USER_LINE)
    # The template set changes elsewhere in the Dockerfile, and the cluster grows.
    with (templates / "Dockerfile.j2").open("a") as template:
        template.write("# rendered by the team's template set\n")
    manifest = templates / "template.toml"
    manifest.write_text(manifest.read_text().replace('version = "2.2"', 'version = "2.3"'))
    result = run_scaffold("update", str(crate), "--data", "nodes=5")
    assert result.returncode == 0, result.stderr
    text = dockerfile.read_text()
    assert USER_LINE in text  # the edit
    assert text.endswith("# rendered by the team's template set\n")  # the template change
    assert "<<<<<<<" not in text
    assert (crate / "docker-compose.yml").read_text().count("NODE_ID") == 5
    assert "merged" in result.stdout and "2.2 -> 2.3" in result.stdout
    answers = tomllib.loads((crate / ".scaffold/answers.toml").read_text())
    assert answers["nodes"] == 5 and answers["_template_version"] == "2.3"
    # The new render is the next base: a second update has nothing to do and keeps the edit.
    again = run_scaffold("update", str(crate))
    assert again.returncode == 0, again.stderr
    assert dockerfile.read_text() == text
    assert "kept" in again.stdout and "merged" not in again.stdout


def test_an_edited_answers_file_is_applied(sample):
    crate = init(sample("raft-node"))
    insert_after(crate / "docker-compose.yml", "services:\n", "  # a comment of ours\n")
    answers = crate / ".scaffold/answers.toml"
    answers.write_text(answers.read_text().replace('rust_log = "info"', 'rust_log = "debug"'))
    result = run_scaffold("update", str(crate))
    assert result.returncode == 0, result.stderr
    compose = (crate / "docker-compose.yml").read_text()
    assert 'RUST_LOG: "debug"' in compose and "# a comment of ours" in compose


def test_a_changed_cargo_project_reaches_the_files(sample):
    crate = init(sample("raft-node"))
    insert_after(crate / "Dockerfile", "ARG RUST_VERSION=1.95\n", USER_LINE)
    manifest = crate / "Cargo.toml"
    text = manifest.read_text()
    assert "[package]\n" in text
    manifest.write_text(text.replace("[package]\n", '[package]\nhomepage = "https://example.org/raft"\n', 1))
    result = run_scaffold("update", str(crate))
    assert result.returncode == 0, result.stderr
    dockerfile = (crate / "Dockerfile").read_text()
    assert "https://example.org/raft" in dockerfile and USER_LINE in dockerfile


def test_a_conflicting_edit_is_marked_and_exits_1(sample):
    crate = init(sample("raft-node"))
    compose = crate / "docker-compose.yml"
    compose.write_text(compose.read_text().replace('RUST_LOG: "info"', 'RUST_LOG: "trace"'))
    insert_after(crate / "Dockerfile", "ARG RUST_VERSION=1.95\n", USER_LINE)
    result = run_scaffold("update", str(crate), "--data", "rust_log=warn", "--data", "http_port=8081")
    assert result.returncode == 1
    assert "conflict" in result.stdout and "docker-compose.yml" in result.stderr and "Traceback" not in result.stderr
    text = compose.read_text()
    marked = '  RUST_LOG: "trace"\n=======\n  RUST_LOG: "warn"\n'
    assert f"<<<<<<< yours (docker-compose.yml)\n{marked}>>>>>>> new render (docker-compose.yml)\n" in text
    assert 'HTTP_PORT: "8081"' in text  # the rest of the file merged cleanly
    dockerfile = (crate / "Dockerfile").read_text()
    # Files without a conflict are updated.
    assert USER_LINE in dockerfile and "ENV HTTP_PORT=8081" in dockerfile.replace('"', "")


def test_dry_run_shows_the_diff_and_writes_nothing(sample):
    crate = init(sample("raft-node"))
    before = tree(crate)
    result = run_scaffold("update", str(crate), "--data", "nodes=5", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "+++ b/docker-compose.yml" in result.stdout
    assert status_words(result.stdout) == {"Dockerfile": "identical", ".dockerignore": "identical", "docker-compose.yml": "updated"}
    assert tree(crate) == before


def status_words(stdout: str) -> dict[str, str]:
    """file name -> status word, from the `  STATUS  PATH` lines both modes print."""
    words = {}
    for line in stdout.splitlines():
        status, _, path = line.strip().partition("  ")
        if path.strip().startswith("/") and status in ("new", "identical", "updated", "kept", "merged", "conflict", "changed"):
            words[path.strip().rsplit("/", 1)[-1]] = status
    return words


def conflicted(sample):
    """A project whose compose file and the next update's render disagree on the same line."""
    crate = init(sample("raft-node"))
    compose = crate / "docker-compose.yml"
    compose.write_text(compose.read_text().replace('RUST_LOG: "info"', 'RUST_LOG: "trace"'))
    answers = crate / ".scaffold/answers.toml"
    answers.write_text(answers.read_text().replace('rust_log = "info"', 'rust_log = "warn"'))
    return crate


def test_dry_run_exits_1_when_the_real_run_would_conflict_with_the_same_status_words(sample):
    crate = conflicted(sample)
    before = tree(crate)
    dry = run_scaffold("update", str(crate), "--dry-run")
    assert dry.returncode == 1 and "docker-compose.yml" in dry.stderr and "Traceback" not in dry.stderr
    assert tree(crate) == before
    real = run_scaffold("update", str(crate))
    assert real.returncode == 1
    dry_words = {name: word for name, word in status_words(dry.stdout).items() if name != "answers.toml"}
    real_words = {name: word for name, word in status_words(real.stdout).items() if name != "answers.toml"}
    assert dry_words == real_words and dry_words["docker-compose.yml"] == "conflict"


def test_unresolved_markers_stay_a_conflict_until_removed(sample):
    crate = conflicted(sample)
    assert run_scaffold("update", str(crate)).returncode == 1
    compose = crate / "docker-compose.yml"
    assert "<<<<<<<" in compose.read_text()
    for args in ((), ("--dry-run",)):  # run again without resolving: still a conflict, in both modes
        again = run_scaffold("update", str(crate), *args)
        assert again.returncode == 1, again.stdout
        assert status_words(again.stdout)["docker-compose.yml"] == "conflict"
    text = compose.read_text()
    start, end = text.index("<<<<<<<"), text.index(">>>>>>>")
    resolved = text[:start] + '  RUST_LOG: "warn"\n' + text[text.index("\n", end) + 1 :]
    compose.write_text(resolved)
    done = run_scaffold("update", str(crate))
    assert done.returncode == 0, done.stderr
    assert "<<<<<<<" not in compose.read_text()


def test_update_needs_an_answers_file(sample):
    crate = sample("raft-node")
    result = run_scaffold("update", str(crate))
    assert result.returncode == 1 and "scaffold init" in result.stderr


@pytest.mark.parametrize(
    "base, ours, theirs, status, content",
    [
        ("a\nb\n", None, "a\nc\n", "new", "a\nc\n"),
        ("a\nb\n", "a\nc\n", "a\nc\n", "identical", "a\nc\n"),
        ("a\nb\n", "a\nb\n", "a\nc\n", "updated", "a\nc\n"),
        ("a\nb\n", "x\na\nb\n", "a\nb\n", "kept", "x\na\nb\n"),
        ("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n", "merged", "A\nb\nc\nD\n"),
        ("a\nb\n", "a\nB\n", "a\nC\n", "conflict", "a\n<<<<<<< yours (f)\nB\n=======\nC\n>>>>>>> new render (f)\n"),
    ],
)
def test_merge_file(base, ours, theirs, status, content):
    result = merge_file("f", base, ours, theirs)
    assert (result.status, result.content) == (status, content)
    assert (result.conflicts > 0) == (status == "conflict")


def run_update_on_a_terminal(crate, keys: list[str]) -> tuple[int, str]:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PYTHONPATH": str(REPO)}
    child = pexpect.spawn(
        sys.executable, ["-m", "generator.main", "update", str(crate), "--data", "rust_log=warn"],
        env=env, cwd=str(REPO), encoding="utf-8", timeout=20, dimensions=(40, 200),
    )  # fmt: skip
    for key in keys:
        child.expect("your edits conflict with the new render")
        child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


@pytest.mark.parametrize(
    "keys, code, expected",
    [
        (["\r"], 1, "<<<<<<< yours"),  # merge: markers
        (["\x1b[B\r"], 0, 'RUST_LOG: "warn"'),  # overwrite
        (["\x1b[B\x1b[B\r"], 0, 'RUST_LOG: "trace"'),  # skip
        (["\x1b[B\x1b[B\x1b[B\r", "\x1b[B\r"], 0, 'RUST_LOG: "warn"'),  # show the diff, then overwrite
    ],
)
def test_conflict_choices_on_a_terminal(sample, keys, code, expected):
    crate = init(sample("raft-node"))
    compose = crate / "docker-compose.yml"
    compose.write_text(compose.read_text().replace('RUST_LOG: "info"', 'RUST_LOG: "trace"'))
    status, _output = run_update_on_a_terminal(crate, keys)
    assert status == code
    text = compose.read_text()
    assert expected in text
    if code == 0:
        assert "<<<<<<<" not in text


CONTRACT = (
    "--id-base", "1", "--no-default-env", "--port", "client=6379",
    "--node-env", "APP_ID={{ node.id }}",
    "--node-env", 'APP_PEERS={{ node.peers | map(attribute="raft_address") | join(",") }}',
    "--node-arg", '{{ "--init" if node.index == 0 else "--join" }}',
    "--node-arg", '{{ "" if node.index == 0 else cluster.nodes[0].raft_address }}',
)


def test_update_replays_the_contract_per_node_and_keeps_an_edit_elsewhere(sample):
    crate = init(sample("raft-node"), *CONTRACT)
    compose = crate / "docker-compose.yml"
    insert_after(compose, "  restart: unless-stopped\n", "  stop_grace_period: 30s\n")
    result = run_scaffold("update", str(crate), "--data", "nodes=5")
    assert result.returncode == 0, result.stderr
    text = compose.read_text()
    assert "<<<<<<<" not in text and "stop_grace_period: 30s" in text
    services = yaml.safe_load(text)["services"]
    assert list(services) == [f"raft-node-{i}" for i in range(5)]
    for i, service in enumerate(services.values()):
        env = service["environment"]
        assert env["APP_ID"] == str(i + 1) and "NODE_ID" not in env
        assert env["APP_PEERS"].split(",") == [f"raft-node-{j}:9000" for j in range(5) if j != i]
        assert service["command"] == (["--init"] if i == 0 else ["--join", "raft-node-0:9000"])
        assert service["ports"] == [f"127.0.0.1:{8080 + i}:8080", f"127.0.0.1:{6379 + i}:6379"]
