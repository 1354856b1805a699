"""Real published servers, built and started with the files scaffold generates, set up with flags alone.

Each crate is fetched as published on the registry (``tests/published.py``: its own Cargo.lock,
unmodified), ``scaffold init <crate> --no-input <flags>`` writes the files, and the generated
Dockerfile is built once per test run on the faithful rust stand-in, which fetches the dependencies
from the registry. The generated docker-compose.yml then starts the server with nothing added by
hand: its arguments, its port, its healthcheck and its user all come from the generated files.

- sfz serves 127.0.0.1:5000 unless told ``--bind 0.0.0.0 --port <port> <dir>``: those arguments are
  ``--node-arg`` templates (the port is ``{{ http_port }}``, the directory ``{{ data_dir }}``), and the
  generated HTTP healthcheck requests ``/``.
- bore does nothing useful without the subcommand ``server``, a ``--node-arg``; it speaks its own
  protocol, not HTTP, so its healthcheck is a TCP connect (``--healthcheck tcp``) and the test speaks
  that protocol through the published port. Its crate ships a Dockerfile and .dockerignore of its
  own; ``--force`` replaces them.
- simple-http-server with its ``tls`` feature (``--features tls``) links the system OpenSSL: scaffold
  finds openssl-sys in Cargo.lock, installs pkg-config and libssl-dev to build and libssl3 to run, and
  the test checks the running binary links a library of each runtime package it installed. Its
  ``rust-toolchain`` file pins ``stable``, which rustup downloads in the generated toolchain layer on
  the official image; here no toolchain can be downloaded, so it is built on the NOT FAITHFUL channels
  stand-in (the host toolchain also registered as ``stable``). It stays beside rathole as the only engine
  build with ``--features``, where the feature alone brings in openssl-sys.
- rathole (0.4.8) has no toolchain file and links the system OpenSSL by default (native-tls), so the same
  proof runs on the faithful stand-in. Its server reads its addresses and services from a config file
  named on its command line: a ``--node-file`` template of the user's (written into the test's copy of
  the crate, not a change to its sources), rendered per node and mounted read-only, and ``--node-arg``s
  naming it. The test completes rathole's control-channel handshake with the token of that file through
  the published port, and the service the file declares is then bound in the container. (rathole 0.5.0's
  lock holds time 0.3.29, which Rust 1.80 and later do not compile; scaffold warns about it.)

mini-redis binds 127.0.0.1 in code, so it is no "reachable" case; it is fetched and inspected in
tests/test_published.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.inspect import inspect_project
from tests.engine.conftest import DockerTest, channels_image, free_port
from tests.published import private_copy

REPO = Path(__file__).resolve().parents[2]
HEALTH = "{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}"


@dataclass(frozen=True)
class Server:
    crate: str
    version: str  # a release with a Cargo.lock whose dependencies build on the host's Rust
    init_flags: tuple[str, ...]  # everything the server needs to run, as scaffold flags
    port: int  # the port it is told to listen on inside the container, on every interface
    features: tuple[str, ...] = ()  # given to scaffold as --features
    channels: bool = False  # built on the channels stand-in: its toolchain file names a channel
    files: tuple[tuple[str, str], ...] = ()  # the user's own files (path in the crate, content), e.g. a --node-file template


SFZ = Server(
    "sfz", "0.7.1",
    ("--http-port", "8080", "--healthcheck", "http", "--health-path", "/",
     "--node-arg=--bind", "--node-arg=0.0.0.0", "--node-arg=--port", "--node-arg={{ http_port }}",
     "--node-arg={{ data_dir }}"),
    8080,
)
SIMPLE_HTTP = Server(
    "simple-http-server", "0.8.1",
    ("--http-port", "8080", "--healthcheck", "http", "--health-path", "/",
     "--node-arg=--port", "--node-arg={{ http_port }}", "--node-arg={{ data_dir }}"),
    8080, features=("tls",), channels=True,
)
# rathole reads its listen addresses and services from a config file named on its command line: the
# user's --node-file template, rendered per node and mounted read-only where the argument points.
RATHOLE_TOKEN = "scaffold-published-test"
RATHOLE_SERVICE = ("echo", 5202)  # a service rathole exposes once a client with its token connects
RATHOLE_CONFIG = (
    '[server]\nbind_addr = "0.0.0.0:{{ http_port }}"\n\n'
    f'[server.services.{RATHOLE_SERVICE[0]}]\ntoken = "{RATHOLE_TOKEN}"\nbind_addr = "0.0.0.0:{RATHOLE_SERVICE[1]}"\n'
)
RATHOLE = Server(
    "rathole", "0.4.8",
    ("--http-port", "2333", "--healthcheck", "tcp", "--node-file", "deploy/server.toml.j2:/etc/rathole/server.toml",
     "--node-arg=--server", "--node-arg=/etc/rathole/server.toml"),
    2333, files=(("deploy/server.toml.j2", RATHOLE_CONFIG),),
)
BORE = Server("bore-cli", "0.6.0", ("--force", "--http-port", "7835", "--healthcheck", "tcp", "--node-arg", "server"), 7835)


@dataclass(frozen=True)
class Generated:
    crate: Path  # the published crate with scaffold's files in it
    tag: str  # its image, built from the generated Dockerfile


@pytest.fixture(scope="session")
def published_image(engine, base_images, tmp_path_factory):
    """published_image(server) -> Generated: the crate generated and built once per run."""
    run_docker = DockerTest(engine, None)
    built: dict[Server, tuple[Generated, int, str]] = {}

    def image(server: Server) -> Generated:
        if server not in built:
            crate = private_copy(server.crate, server.version, tmp_path_factory.mktemp("published"))
            for path, content in server.files:
                (crate / path).parent.mkdir(parents=True, exist_ok=True)
                (crate / path).write_text(content)
            init = subprocess.run(
                [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "-q", "--nodes", "1",
                 "--host-port", str(free_port()), *server.init_flags,
                 *(f"--features={feature}" for feature in server.features)],
                capture_output=True, text=True, cwd=REPO,
            )
            assert init.returncode == 0, init.stderr
            tag = run_docker.tag(server.crate)
            args = {"RUST_VERSION": channels_image(run_docker)} if server.channels else None
            res = run_docker.build(crate, crate / "Dockerfile", tag, build_args=args, timeout=1800)
            where = " on the NOT FAITHFUL channels stand-in" if server.channels else ""
            print(f"\n[published] {server.crate} {server.version}: built in {res.duration / 60:.1f} min{where}", end="")
            built[server] = (Generated(crate, tag), res.returncode, res.output[-4000:])
        generated, returncode, output = built[server]
        assert returncode == 0, f"{server.crate} {server.version} did not build:\n{output}"
        return generated

    yield image
    problems = run_docker.cleanup()
    if problems:
        print("\n[cleanup] " + "\n[cleanup] ".join(problems), file=sys.stderr)


@dataclass(frozen=True)
class Started:
    container: str
    host_port: int  # where the generated compose file published the server's port on 127.0.0.1
    service: dict  # the service as `compose config` resolves it


def compose_up(docker: DockerTest, generated: Generated, tmp_path: Path, limit: float = 120) -> Started:
    """Start the generated compose file on the already built image and wait for its healthcheck.

    An override file outside the crate points the service at the image built by the fixture, and
    `--no-build` keeps compose from building it again; everything else is the generated file.
    """
    compose_file = generated.crate / "docker-compose.yml"
    config = json.loads(docker.compose(generated.crate, "config", "--format", "json", files=[str(compose_file)]).stdout)
    [(name, service)] = config["services"].items()
    override = tmp_path / "image.override.yml"
    override.write_text(f"services:\n  {name}:\n    image: {json.dumps(generated.tag)}\n")
    files = [str(compose_file), str(override)]
    up = docker.compose(generated.crate, "up", "-d", "--no-build", "--pull", "never", files=files, timeout=300)
    assert up.returncode == 0, f"compose up failed:\n{up.stderr[-3000:]}"
    container = docker.compose(generated.crate, "ps", "-q", name, files=files).stdout.strip()
    assert container, f"compose started no container for {name}"
    [published] = [p for p in service["ports"] if p["host_ip"] == "127.0.0.1"]
    deadline = time.monotonic() + limit
    status = ""
    while time.monotonic() < deadline:
        status = docker.engine.cmd("inspect", "--format", HEALTH, container).stdout.strip()
        if status in ("healthy", "unhealthy", "no-healthcheck"):
            break
        time.sleep(2)
    if status != "healthy":
        logs = docker.engine.cmd("logs", "--tail", "30", container)
        health = docker.engine.cmd("inspect", "--format", "{{json .State.Health}}", container).stdout[-1500:]
        pytest.fail(f"{name} is {status or 'not running'} after {limit:.0f}s\n{health}\n{logs.stdout}{logs.stderr}")
    return Started(container, int(published["published"]), service)


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


def test_sfz_started_by_the_generated_compose_file_serves_through_its_published_port(docker, compose_bin, published_image, tmp_path):
    generated = published_image(SFZ)
    started = compose_up(docker, generated, tmp_path)  # healthy: GET / on the container's own address
    assert started.service["command"] == ["--bind", "0.0.0.0", "--port", str(SFZ.port), "/data"]
    with urllib.request.urlopen(f"http://127.0.0.1:{started.host_port}/", timeout=10) as resp:
        assert resp.status == 200
        assert b"<html" in resp.read(4096).lower()
    user = docker.engine.cmd("image", "inspect", "--format", "{{.Config.User}}", generated.tag).stdout.strip()
    status = docker.engine.cmd("exec", started.container, "cat", "/proc/1/status").stdout
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid == user.split(":")[0] != "0", f"runs as uid {uid}, the image says {user!r}"


def test_bore_server_started_by_the_generated_compose_file_answers_its_protocol(docker, compose_bin, published_image, tmp_path):
    generated = published_image(BORE)
    started = compose_up(docker, generated, tmp_path)  # healthy: a TCP connect to the container's own address
    assert started.service["command"] == ["server"]
    deadline = time.monotonic() + 60
    reply = b""
    while time.monotonic() < deadline and not reply.endswith(b"\0"):
        with connect(started.host_port) as sock:
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
    state = docker.engine.cmd("inspect", "--format", "{{.State.Running}}", started.container).stdout.strip()
    assert state == "true"


def _installs(dockerfile: str) -> list[tuple[str, ...]]:
    """The packages of each `apt-get install` in the Dockerfile, in stage order."""
    return [tuple(m.split()) for m in re.findall(r"apt-get install -y --no-install-recommends ([^\\&\n]+)", dockerfile)]


def _links_the_runtime_packages(docker: DockerTest, container: str, binary: str, runtime: tuple[str, ...]) -> None:
    """The running binary links libraries of the runtime packages installed, and of no others."""
    # The packages owning the shared libraries the binary links (dpkg knows a file by the path its
    # package ships, which on merged /usr need not be the one ldd prints).
    script = (f"for f in $(ldd /usr/local/bin/{binary} | awk '/=> \\//{{print $3}}'); do "
              "dpkg -S \"*/$(basename \"$(realpath \"$f\")\")\"; done | cut -d: -f1 | sort -u")
    linked = docker.engine.cmd("exec", container, "sh", "-c", script)
    assert linked.returncode == 0, linked.stderr
    libraries = set(linked.stdout.split()) - {"libc6", "libgcc-s1"}  # in every runtime image
    assert libraries and libraries <= set(runtime), (libraries, runtime)
    installed = docker.engine.cmd("exec", container, "dpkg-query", "-W", "-f", "${Status}\n", *runtime)
    assert installed.stdout.split("\n")[:-1] == ["install ok installed"] * len(runtime), installed.stdout


def _installs_what_inspect_names(generated: Generated, server: Server):
    """The system packages inspect names for openssl-sys, installed by the generated Dockerfile."""
    facts = inspect_project(generated.crate)
    system = facts.system_packages(facts.default_binary, server.features)
    assert system.build and system.runtime, system
    assert all("openssl-sys" in system.why(p) for p in (*system.build, *system.runtime)), system.needed_by
    assert _installs((generated.crate / "Dockerfile").read_text()) == [system.build, system.runtime]
    return system


def test_simple_http_server_with_tls_links_the_system_openssl_scaffold_installs(docker, compose_bin, published_image, tmp_path):
    generated = published_image(SIMPLE_HTTP)
    system = _installs_what_inspect_names(generated, SIMPLE_HTTP)
    started = compose_up(docker, generated, tmp_path)  # healthy: GET / on the container's own address
    with urllib.request.urlopen(f"http://127.0.0.1:{started.host_port}/", timeout=10) as resp:
        assert resp.status == 200
        assert b"<html" in resp.read(4096).lower()
    _links_the_runtime_packages(docker, started.container, "simple-http-server", system.runtime)


def _listening(docker: DockerTest, container: str, port: int) -> bool:
    """Whether a TCP socket of the container listens on port (state 0A in /proc/net/tcp{,6})."""
    tables = docker.engine.cmd("exec", container, "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout
    return any(f.split()[1].endswith(f":{port:04X}") and f.split()[3] == "0A"
               for f in tables.splitlines() if len(f.split()) > 3 and ":" in f.split()[1])


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_rathole_server_reads_its_node_file_links_the_system_openssl_and_answers_its_protocol(
        docker, compose_bin, published_image, tmp_path):
    generated = published_image(RATHOLE)  # no toolchain file: built on the faithful stand-in
    system = _installs_what_inspect_names(generated, RATHOLE)
    started = compose_up(docker, generated, tmp_path)  # healthy: a TCP connect to the container's own address
    assert started.service["command"] == ["--server", "/etc/rathole/server.toml"]
    rendered = (generated.crate / "cluster" / "rathole-0" / "server.toml").read_text()
    assert f'bind_addr = "0.0.0.0:{RATHOLE.port}"' in rendered
    name, service_port = RATHOLE_SERVICE
    assert not _listening(docker, started.container, service_port)  # exposed only once a client is in
    # rathole's control channel (bincode): Hello::ControlChannelHello(version 1, sha256(service name)), the
    # server's Hello with a nonce, Auth(sha256(token + nonce)), then Ack::Ok (variant 0) from the server.
    with connect(started.host_port) as sock:
        sock.settimeout(10)
        sock.sendall(b"\0\0\0\0\x01" + hashlib.sha256(name.encode()).digest())
        hello = _recv_exactly(sock, 37)
        assert hello[:5] == b"\0\0\0\0\x01", hello
        sock.sendall(hashlib.sha256(RATHOLE_TOKEN.encode() + hello[5:]).digest())
        assert _recv_exactly(sock, 4) == b"\0\0\0\0", "rathole did not accept the token of its node file"
        deadline = time.monotonic() + 30
        while not _listening(docker, started.container, service_port) and time.monotonic() < deadline:
            time.sleep(1)
        assert _listening(docker, started.container, service_port), f"service {name} is not bound after the handshake"
    _links_the_runtime_packages(docker, started.container, "rathole", system.runtime)
