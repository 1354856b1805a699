"""Real published servers, built with the files scaffold generates, and run.

Each crate is fetched as published on the registry (``tests/published.py``: its own Cargo.lock,
unmodified), ``scaffold init <crate> --no-input`` writes the files, and the generated Dockerfile is
built once per test run on the faithful rust stand-in, which fetches the dependencies from the
registry. The image then runs with the generated ENTRYPOINT, user and HEALTHCHECK.

What the generated files cannot express yet, so these tests supply it themselves:

- Program arguments. sfz serves 127.0.0.1:5000 unless told ``--bind 0.0.0.0 --port 8080 <dir>``;
  bore does nothing useful without the subcommand ``server``. scaffold has no answer for them, so
  the tests append them to ``docker run``; the generated compose file would start both without
  arguments (sfz then unreachable from outside its container, bore printing its usage).
- A TCP healthcheck. bore speaks its own protocol, not HTTP, so it is generated with
  ``--healthcheck none`` and the test speaks that protocol through the published port instead.
- bore's crate ships a Dockerfile and .dockerignore of its own; ``--force`` replaces them.

mini-redis binds 127.0.0.1 in code, so it is no "reachable" case; it is fetched and inspected in
tests/test_published.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.conftest import DockerTest
from tests.published import private_copy

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Server:
    crate: str
    version: str  # a release with a Cargo.lock whose dependencies build on the host's Rust
    init_flags: tuple[str, ...]
    args: tuple[str, ...]  # appended to `docker run`: scaffold cannot pass program arguments yet
    port: int  # where it listens inside the container, on every interface


SFZ = Server("sfz", "0.7.1", ("--http-port", "8080", "--health-path", "/"),
             ("--bind", "0.0.0.0", "--port", "8080", "/data"), 8080)
BORE = Server("bore-cli", "0.6.0", ("--force", "--healthcheck", "none", "--http-port", "7835"), ("server",), 7835)


@pytest.fixture(scope="session")
def published_image(engine, base_images, tmp_path_factory):
    """published_image(server) -> tag: the crate built from its generated Dockerfile, once per run."""
    run_docker = DockerTest(engine, None)
    built: dict[Server, tuple[str, int, str]] = {}

    def image(server: Server) -> str:
        if server not in built:
            crate = private_copy(server.crate, server.version, tmp_path_factory.mktemp("published"))
            init = subprocess.run(
                [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", *server.init_flags],
                capture_output=True, text=True, cwd=REPO,
            )
            assert init.returncode == 0, init.stderr
            tag = run_docker.tag(server.crate)
            res = run_docker.build(crate, crate / "Dockerfile", tag, timeout=1800)
            print(f"\n[published] {server.crate} {server.version}: built in {res.duration / 60:.1f} min", end="")
            built[server] = (tag, res.returncode, res.output[-4000:])
        tag, returncode, output = built[server]
        assert returncode == 0, f"{server.crate} {server.version} did not build:\n{output}"
        return tag

    yield image
    problems = run_docker.cleanup()
    if problems:
        print("\n[cleanup] " + "\n[cleanup] ".join(problems), file=sys.stderr)


def wait_healthy(docker: DockerTest, container: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    status = ""
    while time.monotonic() < deadline:
        status = docker.engine.cmd("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        if status in ("healthy", "unhealthy"):
            break
        time.sleep(2)
    if status != "healthy":
        logs = docker.engine.cmd("logs", "--tail", "30", container)
        health = docker.engine.cmd("inspect", "--format", "{{json .State.Health}}", container).stdout[-1500:]
        pytest.fail(f"{container} is {status or 'not running'} after {limit:.0f}s\n{health}\n{logs.stdout}{logs.stderr}")


def connect(port: int, limit: float = 60) -> socket.socket:
    """A connection to 127.0.0.1:port once the published port answers (Docker accepts before the app does)."""
    deadline = time.monotonic() + limit
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError as e:
            last = e
            time.sleep(1)
    pytest.fail(f"nothing answered on 127.0.0.1:{port} within {limit:.0f}s: {last}")


def test_sfz_is_healthy_and_serves_through_the_published_port(docker, published_image, port):
    tag = published_image(SFZ)
    name = docker.name("sfz")
    res = docker.run(tag, SFZ.args, detach=True, publish={SFZ.port: port}, name=name)
    assert res.returncode == 0, res.stderr
    wait_healthy(docker, name)  # the generated HEALTHCHECK: GET / on 127.0.0.1:8080 inside
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.status == 200
        assert b"<html" in resp.read(4096).lower()
    user = docker.engine.cmd("image", "inspect", "--format", "{{.Config.User}}", tag).stdout.strip()
    status = docker.engine.cmd("exec", name, "cat", "/proc/1/status").stdout
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid == user.split(":")[0] != "0", f"runs as uid {uid}, the image says {user!r}"


def test_bore_server_answers_its_protocol_through_the_published_port(docker, published_image, port):
    tag = published_image(BORE)
    name = docker.name("bore")
    res = docker.run(tag, BORE.args, detach=True, publish={BORE.port: port}, name=name)
    assert res.returncode == 0, res.stderr
    deadline = time.monotonic() + 60
    reply = b""
    while time.monotonic() < deadline and not reply.endswith(b"\0"):
        with connect(port) as sock:
            # bore's control protocol: JSON messages, each ending in a NUL byte.
            sock.sendall(json.dumps({"Hello": 0}).encode() + b"\0")
            reply = b""
            try:
                while not reply.endswith(b"\0"):
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    reply += chunk
            except OSError:
                pass
        if not reply.endswith(b"\0"):
            time.sleep(1)
    assert reply.endswith(b"\0"), f"bore server did not answer within 60s: {reply!r}"
    message = json.loads(reply.split(b"\0")[0])  # the first frame; heartbeats may follow
    assert 1024 <= message["Hello"] <= 65535, message
    state = docker.engine.cmd("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
    assert state == "true"
