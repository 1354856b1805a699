"""Talking to the engine and reading BuildKit's plain progress output, for the benchmark."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from tests.images import baseimages

DOCKER = baseimages.docker_cli()
ENV = dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain")
MARK = "SCAFFOLD_BENCH_RUN"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def docker(*args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run([DOCKER, *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc


_UNITS = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9}


def context_bytes(output: str) -> int | None:
    """Bytes of the `[internal] load build context` step (not the .dockerignore or Dockerfile)."""
    steps: dict[str, str] = {}
    sent: dict[str, int] = {}
    for line in output.splitlines():
        m = re.match(r"#(\d+) (\[.*)", line)
        if m:
            steps.setdefault(m.group(1), m.group(2))
        m = re.match(r"#(\d+) transferring context: ([\d.]+)([kKMG]?B)", line)
        if m:
            sent[m.group(1)] = int(float(m.group(2)) * _UNITS[m.group(3)])
    for step, value in sent.items():
        if "load build context" in steps.get(step, ""):
            return value
    return None


def step_times(output: str, top: int = 6) -> list:
    """The slowest steps of one build, from BuildKit's plain progress: [[seconds, step], ...]."""
    names: dict[str, str] = {}
    done: list = []
    for line in output.splitlines():
        m = re.match(r"#(\d+) (\[.*)", line)
        if m:
            names.setdefault(m.group(1), m.group(2)[:160])
        m = re.match(r"#(\d+) DONE ([\d.]+)s", line)
        if m and m.group(1) in names:
            done.append([float(m.group(2)), re.sub(rf"{MARK}=\S+ ", "", names[m.group(1)])])
    return sorted(done, reverse=True)[:top]


def mark_runs(dockerfile: str, marker: str) -> str:
    """Prefix every RUN command with a no-op variable assignment naming this benchmark run.

    The build-cache records BuildKit creates for those commands then carry the marker in their
    description, so the clean-up prunes exactly this run's records and nothing else.
    """
    out, pos = [], 0
    for m in re.finditer(r"^RUN ", dockerfile, re.M):
        i = m.end()
        while True:
            while i < len(dockerfile) and dockerfile[i] in " \t":
                i += 1
            if dockerfile.startswith("\\\n", i):
                i += 2
                continue
            if dockerfile.startswith("--", i):
                while i < len(dockerfile) and dockerfile[i] not in " \t\n":
                    i += 1
                continue
            break
        out.append(dockerfile[pos:i] + f"{MARK}={marker} ")
        pos = i
    out.append(dockerfile[pos:])
    return "".join(out)


def cache_records() -> list[dict]:
    proc = docker("system", "df", "-v", "--format", "{{json .BuildCache}}", timeout=600)
    return json.loads(proc.stdout or "[]")
