"""The contract's pieces as wired in: old answers files, the mount table, the default probe's note, init's summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_scaffold
from generator.answersfile import read_answers_file, resolve
from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.mounts import check_mounts, mount_table
from generator.plan import make_plan
from generator.questions_builtin import BUILTIN

RAFT = Path(__file__).resolve().parent.parent / "sample-crates" / "raft-node"


def test_an_old_answers_file_keeps_its_http_check_on_its_path(tmp_path):
    old = tmp_path / "answers.toml"
    old.write_text('healthcheck = "http"\nhealth_path = "/health"\nnodes = 3\n')
    facts = inspect_project(RAFT)
    resolution = resolve(BUILTIN, [read_answers_file(old, BUILTIN).layer], facts)
    assert resolution.notes == ()  # chosen by the file, not inspected
    check = make_plan(facts, resolution.answers).image.healthcheck
    assert check.kind == "http" and check.command[-2:] == ("probe", "/health") and "2[0-9][0-9]" in check.command[2]
    assert resolution.answers.node_env == () and resolution.answers.default_env and resolution.answers.id_base == 0


def test_the_inspected_probe_says_why():
    resolution = resolve(BUILTIN, [], inspect_project(RAFT))
    assert resolution.answers.healthcheck == "tcp"
    assert resolution.notes == ("healthcheck tcp: no HTTP server crate in the binary's dependencies; choose another with --healthcheck",)


@pytest.mark.parametrize("data_dir, read_only, clash", [
    ("/tmp", True, "tmpfs"), ("/tmp/x", True, "tmpfs"), ("/usr/local/bin", False, "binary's folder"), ("/usr", True, "binary's folder"),
])
def test_mounts_that_overlap_are_refused(data_dir, read_only, clash):
    with pytest.raises(UsageError, match=f"--data-dir {data_dir}: .*{clash}"):
        check_mounts(mount_table(data_dir, read_only, "/usr/local/bin/app"))


@pytest.mark.parametrize("data_dir, read_only", [("/data", True), ("/tmp", False), ("/var/lib/app", True), ("/tmpdata", True)])
def test_mounts_apart_are_fine(data_dir, read_only):
    check_mounts(mount_table(data_dir, read_only, "/usr/local/bin/app"))


def test_init_ends_with_the_summary_and_quiet_leaves_it_out(sample):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--id-base", "1", "--port", "client=6379", "--node-arg", "--serve")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "docker compose up -d --build" in out
    for i in range(3):
        # a TCP probe: nothing says the port speaks HTTP, so it is an address, not a URL
        assert f"raft-node-{i} (id {i + 1}): 127.0.0.1:{8080 + i}, 127.0.0.1:{6379 + i}->6379" in out
    assert "NODE_ID=1" in out and "PEERS=raft-node-1:9000,raft-node-2:9000" in out and "command: --serve" in out
    assert "a TCP connect to port 8080 on the container's own address" in out and "no HTTP server crate" in out
    http = run_scaffold("init", str(crate), "--no-input", "--force", "--healthcheck", "http")
    assert http.returncode == 0 and "raft-node-0 (id 0): http://127.0.0.1:8080/" in http.stdout, http.stdout
    quiet = run_scaffold("init", str(crate), "--no-input", "--force", "-q")
    assert quiet.returncode == 0 and "docker compose up" not in quiet.stdout and "Dockerfile" in quiet.stdout
