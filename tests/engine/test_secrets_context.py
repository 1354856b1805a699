"""On a real engine: secrets never reach the build context, and images run as a numeric non-root user.

Secrets are planted in a copy of a sample (dotenv files at several depths, keys and certificates,
SSH keys, a nested .git) and the build context the engine really receives is read back through the
`docker` fixture's context_files. Images are built for the runtimes whose base images the test
machines make locally, and their configured user and the user the process really gets are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.samples import copy_sample

REPO = Path(__file__).resolve().parents[2]

SECRETS = [
    ".env",
    ".env.local",
    ".env.production",
    "config/.env",
    "crates/deep/nested/.env.test",
    "deploy/server.pem",
    "deploy/server.key",
    "src/tls/private.key",
    "keys/id_rsa",
    "keys/id_rsa.pub",
    "home/.ssh/id_ed25519",
    ".git/config",
    ".git/objects/ab/cdef",
    "target/release/leftover",
    "sub/target/debug/leftover",
]


def scaffold(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "generator.main", *args], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def plant(crate: Path) -> None:
    for relative in SECRETS:
        path = crate / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("SECRET=must-not-be-sent\n")


@pytest.mark.parametrize("runtime", ["debian-slim", "distroless", "alpine", "scratch"])
def test_planted_secrets_never_reach_the_engine(docker, tmp_path, runtime):
    crate = copy_sample("raft-node", tmp_path)
    health = ["--healthcheck", "exec"] if runtime in ("distroless", "scratch") else []
    scaffold("init", str(crate), "--no-input", "--runtime", runtime, *health)
    plant(crate)
    received = docker.context_files(crate)
    leaked = sorted(received & set(SECRETS))
    assert leaked == [], f"sent to the engine: {leaked}"
    assert not [p for p in received if f"/{p}".startswith("/.git/") or p.endswith((".pem", ".key")) or ".env" in p.rsplit("/", 1)[-1]]
    for needed in ("Cargo.toml", "Cargo.lock", "src/main.rs"):
        assert needed in received, f"{needed} is missing from the build context"


@pytest.mark.parametrize("runtime,expected", [("debian-slim", "10001:10001"), ("distroless", "65532:65532")])
def test_image_user_is_numeric_and_not_root(docker, tmp_path, runtime, expected):
    crate = copy_sample("raft-node", tmp_path)
    health = ["--healthcheck", "exec"] if runtime == "distroless" else []
    scaffold("init", str(crate), "--no-input", "--runtime", runtime, *health)
    plant(crate)
    tag = docker.tag(f"secure-{runtime}")
    built = docker.build(crate, tag=tag)
    assert built.returncode == 0, built.output[-3000:]
    config = json.loads(docker.engine.cmd("image", "inspect", tag).stdout)[0]["Config"]
    assert config["User"] == expected
    uid, gid = (int(part) for part in config["User"].split(":"))
    assert uid != 0 and gid != 0
    if runtime == "debian-slim":
        find = "find / -xdev \\( -name '.env*' -o -name '*.pem' -o -name 'id_rsa*' \\) -print 2>/dev/null"
        ran = docker.run(tag, ["-c", f"id -u; id -g; {find}"], entrypoint="bash")
        lines = ran.stdout.split()
        assert lines[:2] == ["10001", "10001"], ran.stderr
        assert lines[2:] == [], f"secrets in the image: {lines[2:]}"


def test_a_nested_git_directory_never_reaches_the_engine(docker, tmp_path):
    crate = copy_sample("raft-node", tmp_path)
    scaffold("init", str(crate), "--no-input")
    nested = crate / "vendor" / "thing" / ".git" / "config"
    nested.parent.mkdir(parents=True)
    nested.write_text("[remote]\n\turl = https://user:token@example.com/repo\n")
    assert "vendor/thing/.git/config" not in docker.context_files(crate)
