"""Checks for a Swarm stack file (`docker stack deploy -c stack.yml`): the stack loader and rules SC500-SC505.

A stack file is a compose file read by another loader: `docker stack config` (a Docker CLI that has
it; client side, no swarm needed) runs that loader and its schema, which rejects keys Compose v2
accepts. Our rules hold what was measured on Engine 20.10: `version: "3.x"` is needed; `build:` is
ignored and `pull_policy`, `develop` and the long form of `depends_on` are rejected; service VIPs
do not route between peers, so the node services use `endpoint_mode: dnsrr`, which cannot publish
through the ingress; a config a service mounts must be defined, and its file exist (SC505). Services
that run the same image are taken to be peers (the nodes of a cluster).
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

_VERSION = re.compile(r"3(\.\d+)?")
_NOT_IN_A_STACK = {
    "build": "docker stack deploy ignores it, so the image must already exist: build it first and name it in image:",
    "pull_policy": "docker stack deploy rejects it (not in the stack file format); use --resolve-image never",
    "develop": "docker stack deploy rejects it (not in the stack file format)",
}


def check_swarm(path: Path) -> list[Finding]:
    text = check_tools.read_text(path)
    file = str(path)
    findings = _stack_config(path)
    try:
        model = yaml.safe_load(text)
        lines = check_tools.key_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        return findings + [check_tools.invalid_yaml("SC500", file, exc)]
    services = model.get("services") if isinstance(model, dict) else None
    if not isinstance(services, dict):
        return findings + [finding("SC500", file, reason="no top-level mapping with a `services` mapping")]
    version = model.get("version")
    if version is None:
        findings.append(finding("SC501", file, 1, problem="no version key"))
    elif not _VERSION.fullmatch(str(version)):
        findings.append(finding("SC501", file, lines.get(("", "version")), problem=f"version: {json.dumps(version)}"))
    images: dict[str, list[str]] = {}
    for name, service in services.items():
        if isinstance(service, dict) and service.get("image"):
            images.setdefault(str(service["image"]), []).append(str(name))
    for name, service in services.items():
        if isinstance(service, dict):
            peers = [p for p in images.get(str(service.get("image")), []) if p != str(name)]
            line = lines.get(("services", str(name)))
            findings += [
                finding(code, file, line, service=name, **fields) for code, fields in _service_problems(service, peers)
            ]
            findings += [
                finding("SC505", file, line, service=name, config=config, problem=problem)
                for config, problem in _config_problems(service, model.get("configs"), path.parent)
            ]
    return findings


def _config_problems(service: dict[str, Any], configs: Any, folder: Path) -> Iterator[tuple[str, str]]:
    defined = configs if isinstance(configs, dict) else {}
    for mount in service.get("configs") or []:
        name = str(mount.get("source") if isinstance(mount, dict) else mount)
        config = defined.get(name)
        if config is None:
            yield name, "is not defined under the top-level configs"
        elif isinstance(config, dict) and isinstance(config.get("file"), str) and not (folder / config["file"]).is_file():
            yield name, f"reads {config['file']}, which does not exist"


def _service_problems(service: dict[str, Any], peers: list[str]) -> Iterator[tuple[str, dict[str, str]]]:
    for key, why in _NOT_IN_A_STACK.items():
        if key in service:
            yield "SC502", {"key": key, "why": why}
    if isinstance(service.get("depends_on"), dict):
        yield "SC502", {"key": "depends_on", "why": "docker stack deploy rejects the long form (a mapping); use a list"}
    deploy = service.get("deploy")
    dnsrr = isinstance(deploy, dict) and deploy.get("endpoint_mode") == "dnsrr"
    if peers and not dnsrr:
        yield "SC503", {"peers": ", ".join(peers)}
    if dnsrr:
        for port in service.get("ports") or []:
            if not isinstance(port, dict) or port.get("mode") != "host":
                yield "SC504", {"port": json.dumps(port)}


def _stack_config(path: Path) -> list[Finding]:
    """`docker stack config`: the stack loader and schema `docker stack deploy` uses, run offline."""
    file = str(path)
    docker = check_tools.find_tool("docker")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    missing = finding(
        "SC001",
        file,
        tool="docker stack config",
        install="a Docker CLI newer than 20.10",
        skipped="the stack loader was not run",
    )
    if docker is None:
        return [missing]
    try:
        probe = subprocess.run(
            [docker, "stack", "config", "--help"],
            capture_output=True,
            text=True,
            env=env,
            timeout=check_tools.TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        if probe.returncode != 0:
            return [missing]
        result = subprocess.run(
            [docker, "stack", "config", "-c", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            env=env,
            timeout=check_tools.TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [finding("SC002", file, tool="docker stack config", reason=str(exc))]
    if result.returncode != 0:
        return [
            tool_finding(
                "docker-stack", "config", file, None, None, " ".join((result.stderr or result.stdout).split())[:500]
            )
        ]
    return []
