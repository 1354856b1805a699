"""The end summary's preflight, with fake docker clients on PATH: what it says for each kind of machine,
and that it never fails (or holds up) `init`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import REPO
from generator.preflight import NO_DOCKER

DOCKER_28 = 'case "$*" in "--version") echo "Docker version 28.2.2, build 1";; *) echo "unknown command: docker $1" >&2; exit 1;; esac'
DOCKER_20 = 'case "$*" in "--version") echo "Docker version 20.10.24+dfsg1, build 297e128";; *) exit 1;; esac'
DOCKER_FULL = (
    'case "$*" in "--version") echo "Docker version 27.0.1, build 1";; "buildx version") echo "github.com/docker/buildx v0.15.1 1c1dbb2";;'
    ' "compose version --short") echo "2.28.1";; *) exit 1;; esac'
)
DOCKER_28_WITH_COMPOSE = DOCKER_28.replace('*) echo', '"compose version --short") echo "v2.40.3";; *) echo')
COMPOSE_V1 = 'echo "1.29.2"'
HANGS = "sleep 60"


def init(tmp_path, sample, tools: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`init` with only these fake tools on PATH (name -> sh script body)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in tools.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    crate = sample("raft-node")
    env = {**os.environ, "PATH": str(bin_dir)}
    return subprocess.run(
        [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, stdin=subprocess.DEVNULL,
    )


def machine(result) -> list[str]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return [line.strip() for line in lines[lines.index("this machine:") + 1 :]]


@pytest.mark.parametrize(
    "tools, buildkit, compose",
    [
        ({"docker": DOCKER_FULL}, "BuildKit:   found (github.com/docker/buildx v0.15.1", "Compose v2: found (docker compose 2.28.1)"),
        ({"docker": DOCKER_28_WITH_COMPOSE}, "BuildKit:   missing: this docker client needs the buildx plugin", "Compose v2: found"),
        ({"docker": DOCKER_20, "docker-compose": COMPOSE_V1}, "BuildKit:   built into docker 20.10.24; build with DOCKER_BUILDKIT=1",
         "Compose v2: missing: docker-compose 1.29.2 is Compose v1"),
        ({"docker": DOCKER_28}, "BuildKit:   missing", "Compose v2: missing: install Compose v2"),
    ],
)
def test_the_preflight_says_what_this_machine_has_and_what_to_do(tmp_path, sample, tools, buildkit, compose):
    found = machine(init(tmp_path, sample, tools))
    assert len(found) == 2 and found[0].startswith(buildkit) and found[1].startswith(compose), found
    if "missing" in found[0]:
        assert "docker-buildx-plugin" in found[0]
    if "missing" in found[1]:
        assert "docker-compose-plugin" in found[1]


def test_no_docker_at_all(tmp_path, sample):
    (line,) = machine(init(tmp_path, sample, {}))
    assert line.startswith("docker: not found (or `docker --version` failed); install Docker Engine")


def test_a_hanging_client_never_holds_up_or_fails_init(tmp_path, sample):
    start = time.monotonic()
    found = machine(init(tmp_path, sample, {"docker": HANGS}))
    assert found == [NO_DOCKER]
    assert time.monotonic() - start < 60  # the client is given a few seconds, not its 60


def test_quiet_runs_no_preflight(tmp_path, sample):
    result = init(tmp_path, sample, {"docker": f"touch {tmp_path}/asked\n{DOCKER_FULL}"}, "-q")
    assert result.returncode == 0 and "this machine:" not in result.stdout
    assert not (tmp_path / "asked").exists()
