"""Health probes: the default kind from the crates a binary compiles, and the probe commands themselves.

The bash probes are run here for real against small servers on 127.0.0.1, with a stand-in `hostname`
that reports 127.0.0.1 as the container's own address (in a container it reports the interface's).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.probes import SHELLS, check_health_exec, check_probe, default_probe, probe_command

MANIFESTS = Path(__file__).resolve().parent / "manifests"
SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"


def choice(case: Path, binary: str, features=(), runtime="debian-slim"):
    facts = inspect_project(case)
    return default_probe(facts, facts.binary(binary), tuple(features), runtime)


@pytest.mark.parametrize(
    "binary, kind, reason",
    [
        ("axum-app", "http", "http: the binary depends on axum"),
        ("framework-app", "http", "http: the binary depends on axum (through loco-rs)"),
        ("hyper-server", "http", "http: the binary depends on hyper with its server feature"),
        ("docs-axum", "http", "http: the binary depends on axum (through utoipa-swagger-ui)"),
        ("hyper-client", "tcp", "tcp: no HTTP server crate in the binary's dependencies"),  # hyper through reqwest: a client
        ("grpc-app", "tcp", "tcp: no HTTP server crate in the binary's dependencies"),  # tonic serves HTTP/2 only
        ("optional-web", "tcp", "tcp: no HTTP server crate in the binary's dependencies"),  # axum behind an unused feature
        # another member asks utoipa-swagger-ui for its axum feature: the lock's edge may not apply to this build
        ("docs-plain", "tcp", "tcp: no HTTP server crate in the binary's dependencies"),
    ],
)
def test_default_kind_and_reason(binary, kind, reason):
    found = choice(MANIFESTS / "probe-servers", binary)
    assert (found.kind, found.reason) == (kind, reason)


def test_a_feature_that_enables_the_server_makes_it_http():
    assert choice(MANIFESTS / "probe-servers", "optional-web", ("web",)).kind == "http"


def test_without_a_lock_only_direct_dependencies_count(tmp_path):
    case = shutil.copytree(MANIFESTS / "probe-servers", tmp_path / "case")
    (case / "Cargo.lock").unlink()
    assert choice(case, "axum-app").kind == "http"
    assert choice(case, "framework-app").kind == "tcp"


def test_raft_node_gets_tcp():
    facts = inspect_project(SAMPLES / "raft-node")
    assert default_probe(facts, facts.default_binary, (), "debian-slim").kind == "tcp"


@pytest.mark.parametrize("runtime", ["distroless", "scratch"])
def test_no_shell_means_no_default_probe(runtime):
    found = choice(MANIFESTS / "probe-servers", "axum-app", runtime=runtime)
    assert found.kind == "none"
    assert runtime in found.reason


@pytest.mark.parametrize("runtime", ["distroless", "scratch"])
@pytest.mark.parametrize("kind", ["http", "tcp"])
def test_shell_probes_refused_where_the_image_has_no_shell(kind, runtime):
    with pytest.raises(UsageError, match=f"--healthcheck {kind}: the {runtime} image has no shell"):
        probe_command(kind, runtime, port=8080)


def test_exec_and_none_work_everywhere():
    for runtime in SHELLS:
        assert probe_command("none", runtime, port=1) is None
        assert probe_command("exec", runtime, port=1, health_exec=("/bin/app", "ping")) == ("/bin/app", "ping")
        assert probe_command("exec", runtime, port=1, binary_path="/usr/local/bin/app", health_command=("healthcheck",)) == (
            "/usr/local/bin/app", "healthcheck")


def test_unknown_kind():
    with pytest.raises(UsageError, match="choose one of"):
        check_probe("ping", "debian-slim")


@pytest.mark.parametrize("command", [(), ("",), ("app", "a\nb"), ("app\x00",)])
def test_bad_health_exec(command):
    with pytest.raises(UsageError, match="--health-exec"):
        check_health_exec(command)


def test_probes_never_target_loopback():
    for runtime, shell in SHELLS.items():
        for kind in ("http", "tcp"):
            if shell is None:
                continue
            for path in (None, "/health"):
                text = " ".join(probe_command(kind, runtime, port=8080, path=path))
                assert "127.0.0.1" not in text and "localhost" not in text


@pytest.mark.parametrize("runtime", [r for r, shell in SHELLS.items() if shell])
@pytest.mark.parametrize("kind, path", [("tcp", None), ("http", None), ("http", "/health")])
def test_probe_scripts_parse(runtime, kind, path):
    """Alpine's busybox probes are checked statically only: POSIX sh (dash) must parse them."""
    command = probe_command(kind, runtime, port=8080, path=path)
    shell = "bash" if command[0] == "bash" else "dash"
    assert command[1] == "-c"
    result = subprocess.run([shell, "-n", "-c", command[2]], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the bash probes, run -------------------------------------------------------------------------


class Server:
    """A one-thread server on 127.0.0.1 that answers every connection with `reply` (None: accept, say nothing)."""

    def __init__(self, reply: bytes | None):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.reply, self.requests = reply, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(3)
                try:
                    request = b""
                    while b"\r\n\r\n" not in request and len(request) < 4096:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    self.requests.append(request)
                    if self.reply is not None:
                        conn.sendall(self.reply)
                except OSError:
                    pass


@pytest.fixture
def own_address(tmp_path):
    """PATH with a `hostname` that answers -I with the given address list."""

    def make(addresses: str) -> dict:
        fake = tmp_path / "bin" / "hostname"
        fake.parent.mkdir(exist_ok=True)
        fake.write_text(f"#!/bin/sh\necho '{addresses}'\n")
        fake.chmod(0o755)
        return {"PATH": f"{fake.parent}:/usr/bin:/bin"}

    return make


def run_probe(command, env) -> int:
    return subprocess.run(list(command), env=env, capture_output=True, timeout=10).returncode


@pytest.mark.parametrize(
    "reply, path, healthy",
    [
        (b"HTTP/1.1 404 Not Found\r\n\r\n", None, True),  # any status line without an explicit path
        (b"HTTP/1.0 500 Oops\r\n\r\n", None, True),
        (b"+PONG\r\n", None, False),  # not HTTP
        (None, None, False),  # accepts, never answers: the read times out
        (b"HTTP/1.1 200 OK\r\n\r\n", "/health", True),
        (b"HTTP/1.0 204\r\n\r\n", "/health", True),  # no reason phrase
        (b"HTTP/1.1 404 Not Found\r\n\r\n", "/health", False),
        (b"HTTP/1.1 301 Moved\r\n\r\n", "/health", False),
    ],
)
def test_http_probe(reply, path, healthy, own_address):
    server = Server(reply)
    command = probe_command("http", "debian-slim", port=server.port, path=path)
    assert (run_probe(command, own_address("127.0.0.1 10.0.0.9")) == 0) is healthy
    assert server.requests and server.requests[0].startswith(f"GET {path or '/'} HTTP/1.0\r\n".encode())


def test_tcp_probe_open_and_closed_ports(own_address):
    server = Server(b"")
    env = own_address("127.0.0.1")
    assert run_probe(probe_command("tcp", "debian-slim", port=server.port), env) == 0
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        assert run_probe(probe_command("tcp", "debian-slim", port=unused.getsockname()[1]), env) != 0


def test_no_own_address_is_unhealthy(own_address):
    server = Server(b"HTTP/1.1 200 OK\r\n\r\n")
    for kind in ("tcp", "http"):
        assert run_probe(probe_command(kind, "debian-slim", port=server.port), own_address("")) != 0


def test_path_reaches_the_request_as_data(own_address):
    server = Server(b"HTTP/1.1 200 OK\r\n\r\n")
    path = "/a%s'$(touch /tmp/x)\"`"
    assert run_probe(probe_command("http", "debian-slim", port=server.port, path=path), own_address("127.0.0.1")) == 0
    assert server.requests[0].startswith(f"GET {path} HTTP/1.0\r\n".encode())



def test_every_probe_is_a_healthcheck_buildkit_and_hadolint_accept():
    """As the Dockerfile writes it (exec form, a JSON array): parsed back word for word, no finding."""
    from tests.validators import buildkit_parse, hadolint_many

    commands = {
        f"{runtime}-{kind}-{path}": probe_command(kind, runtime, port=8080, path=path, health_exec=("/bin/app", "ping"))
        for runtime, shell in SHELLS.items()
        for kind in (("http", "tcp", "exec") if shell else ("exec",))
        for path in ((None, "/health") if kind == "http" else (None,))
    }
    texts = {
        name: f'FROM debian:bookworm-slim\nUSER 10001:10001\nHEALTHCHECK --interval=10s CMD {json.dumps(list(command))}\nCMD ["app"]\n'
        for name, command in commands.items()
    }
    for name, text in texts.items():
        healthcheck = next(c for c in buildkit_parse(text) if c.cmd == "HEALTHCHECK")
        assert list(healthcheck.value)[1:] == list(commands[name]), name  # ("CMD", *command)
    assert hadolint_many(texts) == {name: [] for name in texts}
