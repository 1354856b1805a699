"""Can this machine build and start what `init` wrote? The end summary's preflight.

The generated Dockerfile needs BuildKit (`RUN --mount`) and the compose file needs Compose v2
(`develop`, `pull_policy`, builds through BuildKit). Asked of the docker client only (its version and
plugins), never the engine: cheap, a few seconds at most, and nothing it finds ever fails `init`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence

_TIMEOUT = 5
# Docker CLI 23 made BuildKit the default builder and moved it into the buildx plugin; older clients have it built in.
_BUILDX_REQUIRED_FROM = 23
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")

NO_DOCKER = (
    "docker: not found (or `docker --version` failed); install Docker Engine with the buildx and Compose v2 plugins "
    "(docs.docker.com/engine/install)"
)

Runner = Callable[[Sequence[str]], "str | None"]


def run(command: Sequence[str]) -> str | None:
    """The command's stdout when it exits 0; None when it is missing, fails or hangs."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def preflight(runner: Runner = run) -> tuple[str, ...]:
    """One line per tool: what was found, or what is missing and what to do."""
    client = runner(("docker", "--version"))
    if client is None:
        return (NO_DOCKER,)
    return (_buildkit(client, runner), _compose(runner))


def _buildkit(client: str, runner: Runner) -> str:
    buildx = runner(("docker", "buildx", "version"))
    if buildx is not None:
        return f"BuildKit:   found ({buildx.splitlines()[0]})"
    version = _VERSION.search(client)
    if version and int(version[1]) < _BUILDX_REQUIRED_FROM:
        return f"BuildKit:   built into docker {version[0]}; build with DOCKER_BUILDKIT=1 docker build (compose uses it itself)"
    return (
        "BuildKit:   missing: this docker client needs the buildx plugin for `RUN --mount` builds; install it "
        "(Docker's packages: docker-buildx-plugin; Debian 13: docker-buildx)"
    )


def _compose(runner: Runner) -> str:
    plugin = runner(("docker", "compose", "version", "--short"))
    if plugin is not None and plugin.lstrip("v").startswith("2"):
        return f"Compose v2: found (docker compose {plugin})"
    standalone = runner(("docker-compose", "version", "--short"))
    if standalone is not None and standalone.lstrip("v").startswith("2"):
        return f"Compose v2: found as docker-compose {standalone}; run `docker-compose` where this summary says `docker compose`"
    rejects = "which rejects these files (their `develop:` section, `RUN --mount` builds)"
    old = f"docker-compose {standalone} is Compose v1, {rejects}; " if standalone else ""
    return f"Compose v2: missing: {old}install Compose v2 (Docker's packages: docker-compose-plugin; Debian 13: docker-compose)"
