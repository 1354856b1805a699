"""Checks for a Dockerfile: hadolint, BuildKit's own parser, and scaffold's rules SC100-SC104.

Our rules cover what scaffold guarantees for the final image: a numeric non-root USER, exec-form
ENTRYPOINT/CMD, a HEALTHCHECK the image can run, and pinned base images. Without BuildKit's parser
(the `dockerfile` package) a simple parser still lets our rules run.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import check_tools, runtimes
from .check_rules import Finding, Severity, finding, tool_finding

# hadolint's levels in our severities ("style" is advice, like "info").
_HADOLINT_LEVELS: dict[str, Severity] = {"error": "error", "warning": "warning", "info": "info", "style": "info"}


@dataclass(frozen=True)
class _Instruction:
    cmd: str
    value: tuple[str, ...]
    flags: tuple[str, ...]
    json: bool
    line: int  # 1-based
    original: str


def check_dockerfile(path: Path) -> list[Finding]:
    text = check_tools.read_text(path)
    findings = _hadolint(path)
    instructions, problems = _parse(path, text)
    findings += problems
    if instructions is None:
        return findings
    return findings + _rules(str(path), instructions)


def _hadolint(path: Path) -> list[Finding]:
    file = str(path)
    binary = check_tools.find_tool("hadolint")
    if binary is None:
        return [finding("SC001", file, tool="hadolint", install=check_tools.INSTALL, skipped="its rules were not run")]
    try:
        result = subprocess.run(
            [binary, "--no-fail", "-f", "json", file], capture_output=True, text=True,
            timeout=check_tools.TOOL_TIMEOUT, stdin=subprocess.DEVNULL,
        )
        report = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return [finding("SC002", file, tool="hadolint", reason=str(exc))]
    return [
        tool_finding("hadolint", str(item.get("code")), file, item.get("line"), _HADOLINT_LEVELS.get(str(item.get("level"))),
                     str(item.get("message")))
        for item in report
    ]


def _parse(path: Path, text: str) -> tuple[list[_Instruction] | None, list[Finding]]:
    """BuildKit's parse when the `dockerfile` package is installed, else a simple one (with a note)."""
    try:
        import dockerfile  # BuildKit's parser, compiled from Go
    except ImportError:
        note = finding("SC001", str(path), tool="the BuildKit parser", install=check_tools.INSTALL,
                       skipped="a simpler parser was used")
        return _fallback_parse(text), [note]
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return None, [finding("SC100", str(path), reason=f"BuildKit cannot parse it: {' '.join(str(exc).split())}")]
    return [_Instruction(c.cmd.upper(), tuple(c.value), tuple(c.flags), bool(c.json), c.start_line, c.original) for c in commands], []


def _fallback_parse(text: str) -> list[_Instruction]:
    """Line continuations and comments only: enough for our rules when BuildKit's parser is missing."""
    out: list[_Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        parts = line.split(None, 1)
        cmd, rest = parts[0].upper(), parts[1] if len(parts) > 1 else ""
        flags = []
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.lstrip()
        is_json = False
        values: tuple[str, ...]
        try:
            parsed = json.loads(rest)
            if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
                values, is_json = tuple(parsed), True
            else:
                values = tuple(rest.split())
        except ValueError:
            values = tuple(rest.split()) if cmd not in ("CMD", "ENTRYPOINT", "RUN") else (rest,)
        if cmd == "HEALTHCHECK" and values and values[0].upper() == "CMD":
            inner = rest[rest.upper().index("CMD") + 3:].strip()
            try:
                values, is_json = ("CMD", *json.loads(inner)), True
            except ValueError:
                values = ("CMD", inner)
        out.append(_Instruction(cmd, values, tuple(flags), is_json, start, line))
    return out


_NUMERIC_USER = re.compile(r"^(\d+)(:(\d+))?$")


def _rules(file: str, instructions: list[_Instruction]) -> list[Finding]:
    findings: list[Finding] = []
    args = {}
    stages: list[list[_Instruction]] = []
    names: set[str] = set()
    for ins in instructions:
        if ins.cmd == "ARG" and not stages:
            for word in ins.value:
                key, _, default = word.partition("=")
                args[key] = default
        if ins.cmd == "FROM":
            stages.append([ins])
            image = _expand(ins.value[0] if ins.value else "", args)
            problem = _unpinned(image, names) if image else "the image comes from an ARG without a default; give it a pinned default"
            if problem:
                findings.append(finding("SC104", file, ins.line, image=ins.value[0], problem=problem))
            if len(ins.value) >= 3 and ins.value[1].upper() == "AS":
                names.add(ins.value[2].lower())
        elif stages:
            stages[-1].append(ins)
    if not stages:
        return findings + [finding("SC100", file, reason="no FROM instruction")]
    final = stages[-1]
    base = _expand(final[0].value[0], args) if final[0].value else ""
    findings += _user_findings(file, final)
    for ins in final:
        if ins.cmd in ("ENTRYPOINT", "CMD") and not ins.json:
            findings.append(finding("SC102", file, ins.line, instruction=ins.cmd))
    health = [i for i in final if i.cmd == "HEALTHCHECK"]
    if health:
        problem = _health_problem(health[-1], final, base)
        if problem:
            findings.append(finding("SC103", file, health[-1].line, problem=problem))
    return findings


def _user_findings(file: str, final: list[_Instruction]) -> list[Finding]:
    users = [i for i in final if i.cmd == "USER"]
    if not users:
        return [finding("SC101", file, final[0].line, problem="there is no USER, so it runs as root; add e.g. USER 10001:10001")]
    last = users[-1]
    user = last.value[0] if last.value else ""
    match = _NUMERIC_USER.match(user)
    if not match:
        problem = f"USER {user} is not a numeric uid:gid (Kubernetes runAsNonRoot cannot verify names)"
        return [finding("SC101", file, last.line, problem=problem)]
    if int(match.group(1)) == 0:
        return [finding("SC101", file, last.line, problem=f"USER {user} is root")]
    return []


def _expand(image: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)(:-[^}]*)?\}?", lambda m: args.get(m.group(1)) or (m.group(2) or ":-")[2:], image)


def _unpinned(image: str, stages: set[str]) -> str | None:
    if not image or image.lower() in stages or image == "scratch":
        return None
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag means `latest`, which changes under you; pin a version"
    if last.rsplit(":", 1)[1] == "latest":
        return "`latest` changes under you; pin a version"
    return None


# The programs a HEALTHCHECK commonly runs; for others we cannot tell and assume the image has them.
_PROBES = frozenset({"sh", "bash", "ash", "curl", "wget"})


def image_programs(base: str) -> frozenset[str]:
    """Which probe programs a runtime image has: the runtime table's, or a usual Linux image's when unknown."""
    runtime = runtimes.guess(base)
    return runtime.programs if runtime is not None else frozenset({"sh", "bash"})


def _health_problem(health: _Instruction, final: list[_Instruction], base: str) -> str | None:
    if health.value and health.value[0].upper() == "NONE":
        return None
    command = list(health.value[1:]) if health.value and health.value[0].upper() == "CMD" else list(health.value)
    if not command or not command[0].split():
        return "it has no command"
    has = image_programs(base)
    if not health.json and "sh" not in has:
        return f"the shell form needs /bin/sh, which {base} does not have; use the exec form"
    program = command[0] if health.json else command[0].split()[0]
    name = program.rsplit("/", 1)[-1]
    copied = {i.value[-1] for i in final if i.cmd in ("COPY", "ADD") and i.value}
    if program.startswith("/") and any(program == c or program.startswith(c.rstrip("/") + "/") for c in copied):
        return None
    installed = " ".join(" ".join(i.value) for i in final if i.cmd == "RUN")
    if name in _PROBES and name not in has and not re.search(rf"\b{name}\b", installed):
        return f"it runs {program}, which {base} does not have; install it, copy it in, or use another probe"
    return None
