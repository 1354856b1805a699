"""`scaffold check [PATH]`: validate existing container files, ours or hand-written.

Finds the files (a folder's, or the one file given), runs each kind's checks (check_dockerfile,
check_dockerignore, check_compose, check_kubernetes, check_swarm), and reports every finding with its severity. Each finding names
a rule in RULES (check_rules), the one registry; where a tool and one of our rules report the same
thing, ours is kept. Waivers (check_waivers) take a finding out of the count and into a summary
line. A tool that is not installed is an info finding, unless `--strict` makes it an error: the
check fails (exit status 1) only on an error-severity finding.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from . import check_tools
from .check_compose import check_compose
from .check_dockerfile import check_dockerfile
from .check_dockerignore import check_dockerignore, check_ignore_file_exists
from .check_kubernetes import check_kubernetes, is_manifest
from .check_rules import RULES, SEVERITIES, Finding, without_duplicates
from .check_swarm import check_swarm
from .check_waivers import Waiver, file_waivers, flag_waivers
from .errors import ScaffoldError

__all__ = ["RULES", "Finding", "Report", "check", "check_files", "exit_status", "format_findings", "format_report", "kind_of"]

# File kinds by name, in the order they are tried: `Dockerfile.dockerignore` is an ignore file, `compose.stack.yml` a
# stack file. Kubernetes manifests are known by content (kind_of_file), and a folder's `k8s/` folder is checked too.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dockerignore", (".dockerignore", "*.dockerignore")),
    ("dockerfile", ("Dockerfile*", "*.Dockerfile", "Containerfile")),
    ("stack", ("stack.yaml", "stack.yml", "*.stack.yaml", "*.stack.yml", "docker-stack*.yaml", "docker-stack*.yml")),
    ("compose", ("compose*.yaml", "compose*.yml", "docker-compose*.yaml", "docker-compose*.yml")),
)
_CHECKS: dict[str, Callable[[Path], list[Finding]]] = {
    "dockerignore": check_dockerignore,
    "dockerfile": check_dockerfile,
    "compose": check_compose,
    "stack": check_swarm,
    "kubernetes": check_kubernetes,
}
_KNOWN_NAMES = ("Dockerfile*, *.Dockerfile, Containerfile, .dockerignore, *.dockerignore, compose*.y*ml, docker-compose*.y*ml, "
                "stack.y*ml, *.stack.y*ml, docker-stack*.y*ml, a Kubernetes manifest (*.y*ml with apiVersion and kind)")
_TOOL_MISSING = ("SC001", "SC002")  # a validator not installed, or not able to run: errors under --strict


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]  # what counts towards the summary and the exit status
    waived: tuple[tuple[Finding, Waiver], ...] = ()


def kind_of(name: str) -> str | None:
    """The kind of container file a file name says it is, or None."""
    return next((kind for kind, patterns in _KINDS if any(fnmatchcase(name, p) for p in patterns)), None)


def kind_of_file(path: Path) -> str | None:
    """The kind by name, else a YAML file's by its content: a Kubernetes manifest, or None."""
    return kind_of(path.name) or ("kubernetes" if is_manifest(path) else None)


def _files(path: Path) -> list[tuple[Path, str]]:
    if path.is_dir():
        children = sorted(path.iterdir()) + (sorted((path / "k8s").iterdir()) if (path / "k8s").is_dir() else [])
        files = [(child, kind) for child in children if child.is_file() and (kind := kind_of_file(child))]
        if not files:
            raise ScaffoldError(f"{path}: no Dockerfile, .dockerignore, compose, stack or Kubernetes file here; "
                                "pass the folder that holds them")
        return files
    if path.is_file():
        kind = kind_of_file(path)
        if kind is None:
            raise ScaffoldError(f"{path}: not a container file scaffold can check; pass a file named {_KNOWN_NAMES}, or its folder")
        return [(path, kind)]
    raise ScaffoldError(f"{path}: no such file or directory; pass a container file or the folder that holds them")


def _each_file(path: Path) -> Iterator[tuple[Path, list[Finding]]]:
    """Each checked file with the findings of checking it."""
    for file, kind in _files(path):
        findings = _CHECKS[kind](file)
        if kind == "dockerfile" and path.is_dir():  # a single file is checked on its own
            findings += check_ignore_file_exists(file)
        yield file, without_duplicates(findings)


def check_files(path: Path) -> list[Finding]:
    """Every finding for the container files in `path`: a folder (each file of a known kind in it), or one file."""
    return [f for _, findings in _each_file(path) for f in findings]


def check(path: Path, ignore: Iterable[str] = (), strict: bool = False) -> Report:
    """The findings that count, and those waived by `--ignore` codes or by a file's own waiver comments."""
    flags = flag_waivers(ignore)  # a bad code fails before any file is read
    counted: list[Finding] = []
    waived: list[tuple[Finding, Waiver]] = []
    for file, findings in _each_file(path):
        waivers = file_waivers(file, check_tools.read_text(file)) + flags
        for f in findings:
            waiver = next((w for w in waivers if w.covers(f)), None)
            if waiver is not None:
                waived.append((f, waiver))
            elif strict and f.rule in _TOOL_MISSING:
                counted.append(replace(f, severity="error", message=f"{f.message}; --strict needs every validator"))
            else:
                counted.append(f)
    return Report(tuple(counted), tuple(waived))


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per finding (infos first, then by file and line), and a count of errors and warnings."""
    ordered = sorted(findings, key=lambda f: (f.severity != "info", f.file, f.line or 0, f.rule))
    counts = {s: sum(f.severity == s for f in ordered) for s in SEVERITIES}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n and s != "info")
    return "\n".join([*(f.format() for f in ordered), summary or "no problems found"])


def format_report(report: Report) -> str:
    """The findings, then one line that sums up the waived ones: each rule with where it was waived and why."""
    text = format_findings(report.findings)
    if not report.waived:
        return text
    groups = Counter((f.rule, w.source, w.reason) for f, w in report.waived)
    parts = [
        f"{rule}{f' x{n}' if n > 1 else ''} ({source}{f' {json.dumps(reason, ensure_ascii=False)}' if reason else ''})"
        for (rule, source, reason), n in groups.items()
    ]
    count = len(report.waived)
    return f"{text}\n{count} finding{'s' if count != 1 else ''} waived: {', '.join(parts)}"


def exit_status(findings: Iterable[Finding]) -> int:
    """1 when any finding is an error; warnings and infos do not fail the check."""
    return 1 if any(f.severity == "error" for f in findings) else 0
