"""Checks for a compose file: Compose v2's own `config` validation, and scaffold's hardening rules SC300-SC309.

Our rules hold every service to what the generated file does: no privileges, no-new-privileges,
cap_drop ALL, a read-only root with a tmpfs, ports bound to an address, no literal secrets, no fixed
container names, no host namespaces or Docker socket.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from . import check_tools
from .check_rules import Finding, finding, tool_finding

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", re.IGNORECASE)


def check_compose(path: Path) -> list[Finding]:
    text = check_tools.read_text(path)
    file = str(path)
    findings = _compose_config(path)
    try:
        model = yaml.safe_load(text)
        lines = check_tools.key_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        return findings + [check_tools.invalid_yaml("SC300", file, exc)]
    if not isinstance(model, dict):
        return findings + [finding("SC300", file, reason="no top-level mapping")]
    if "version" in model:
        findings.append(finding("SC307", file, lines.get(("", "version"))))
    services = model.get("services") or {}
    if not isinstance(services, dict):
        return findings + [finding("SC300", file, lines.get(("", "services")), reason="`services` is not a mapping")]
    for name, service in services.items():
        if isinstance(service, dict):
            line = lines.get(("services", str(name)))
            findings += [finding(code, file, line, service=name, **fields) for code, fields in _service_problems(service)]
    return findings


def _service_problems(service: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    if service.get("privileged") is True:
        yield "SC301", {}
    if "no-new-privileges:true" not in [str(o).replace("=", ":").replace(" ", "") for o in service.get("security_opt") or []]:
        yield "SC302", {}
    if "ALL" not in [str(c).upper() for c in service.get("cap_drop") or []]:
        yield "SC303", {}
    if service.get("read_only") is not True:
        yield "SC304", {"problem": "add read_only: true (with tmpfs: [/tmp])"}
    elif not service.get("tmpfs"):
        yield "SC304", {"problem": "read_only: true without a tmpfs; add tmpfs: [/tmp] so the app has somewhere to write"}
    for port in service.get("ports") or []:
        problem = _port_problem(port)
        if problem:
            yield "SC305", problem
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        entries = [str(e) for e in environment]
        environment = {e.partition("=")[0]: e.partition("=")[2] if "=" in e else None for e in entries}
    for key, value in environment.items():
        if _SECRET_NAME.search(str(key)) and value not in (None, "") and not re.fullmatch(r"\$\{?\w+(:?[-?][^}]*)?\}?", str(value)):
            yield "SC306", {"key": str(key)}
    if "container_name" in service:
        yield "SC308", {}
    for key in ("network_mode", "pid", "ipc"):
        if str(service.get(key, "")).lower() == "host":
            yield "SC309", {"problem": f"{key}: host shares the host's namespace"}
    for volume in service.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":", 1)[0]
        if source and "docker.sock" in str(source):
            yield "SC309", {"problem": "mounting the Docker socket gives the container root on the host"}


def _port_problem(port: Any) -> dict[str, str] | None:
    """The SC305 fields for a port published on every interface, else None."""
    if isinstance(port, dict):
        if port.get("published") in (None, "") or str(port.get("host_ip") or "") not in _ANY_ADDRESS:
            return None
        return {"port": json.dumps(port), "where": "on every interface", "fix": "host_ip: 127.0.0.1 (or a chosen address)"}
    shown = str(port)
    parts = shown.rsplit(":", 2) if shown.count(":") >= 2 or shown.startswith("[") else shown.split(":")
    if len(parts) == 1:
        return {"port": shown, "where": "on a random host port on every interface", "fix": f"127.0.0.1:PORT:{shown}"}
    if len(parts) == 3 and parts[0] not in _ANY_ADDRESS:
        return None
    return {"port": shown, "where": "on every interface", "fix": "127.0.0.1:" + ":".join(parts[-2:])}


_ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def _compose_config(path: Path) -> list[Finding]:
    file = str(path)
    command = check_tools.compose_binary()
    if command is None:
        install = f"docker compose v2, or {check_tools.INSTALL}"
        return [finding("SC001", file, tool="Compose v2", install=install, skipped="`config` was not run")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    try:
        result = subprocess.run(
            [*command, "-p", "scaffoldcheck", "-f", path.name, "config", "-q"],
            cwd=path.parent, capture_output=True, text=True, env=env, timeout=check_tools.TOOL_TIMEOUT, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [finding("SC002", file, tool="Compose v2", reason=str(exc))]
    if result.returncode != 0:
        return [tool_finding("compose", "config", file, None, None, " ".join((result.stderr or result.stdout).split())[:500])]
    return []
