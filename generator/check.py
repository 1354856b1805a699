"""`scaffold check [PATH]`: validate existing container files, ours or hand-written.

Finds the files (a folder's, or the one file given), runs each kind's checks (check_dockerfile,
check_dockerignore, check_compose), and reports every finding with its severity. Each finding names
a rule in RULES (check_rules), the one registry; where a tool and one of our rules report the same
thing, ours is kept. A tool that is not installed is an info finding, never a failure: the check
fails (exit status 1) only on an error-severity finding.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path

from .check_compose import check_compose
from .check_dockerfile import check_dockerfile
from .check_dockerignore import check_dockerignore, check_ignore_file_exists
from .check_rules import RULES, SEVERITIES, Finding, without_duplicates
from .errors import ScaffoldError

__all__ = ["RULES", "Finding", "check_files", "exit_status", "format_findings", "kind_of"]

# File kinds by name, in the order they are tried: `Dockerfile.dockerignore` is an ignore file.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dockerignore", (".dockerignore", "*.dockerignore")),
    ("dockerfile", ("Dockerfile*", "*.Dockerfile", "Containerfile")),
    ("compose", ("compose*.yaml", "compose*.yml", "docker-compose*.yaml", "docker-compose*.yml")),
)
_CHECKS: dict[str, Callable[[Path], list[Finding]]] = {
    "dockerignore": check_dockerignore,
    "dockerfile": check_dockerfile,
    "compose": check_compose,
}
_KNOWN_NAMES = "Dockerfile*, *.Dockerfile, Containerfile, .dockerignore, *.dockerignore, compose*.y*ml, docker-compose*.y*ml"


def kind_of(name: str) -> str | None:
    """The kind of container file a file name says it is, or None."""
    return next((kind for kind, patterns in _KINDS if any(fnmatchcase(name, p) for p in patterns)), None)


def check_files(path: Path) -> list[Finding]:
    """Every finding for the container files in `path`: a folder (each file of a known kind in it), or one file."""
    if path.is_dir():
        files = [(child, kind) for child in sorted(path.iterdir()) if child.is_file() and (kind := kind_of(child.name))]
        if not files:
            raise ScaffoldError(f"{path}: no Dockerfile, .dockerignore or compose file here; pass the folder that holds them")
    elif path.is_file():
        kind = kind_of(path.name)
        if kind is None:
            raise ScaffoldError(f"{path}: not a container file scaffold can check; pass a file named {_KNOWN_NAMES}, or its folder")
        files = [(path, kind)]
    else:
        raise ScaffoldError(f"{path}: no such file or directory; pass a container file or the folder that holds them")
    findings: list[Finding] = []
    for file, kind in files:
        findings += _CHECKS[kind](file)
        if kind == "dockerfile" and path.is_dir():  # a single file is checked on its own
            findings += check_ignore_file_exists(file)
    return without_duplicates(findings)


def format_findings(findings: list[Finding]) -> str:
    """One line per finding (infos first, then by file and line), and a count of errors and warnings."""
    ordered = sorted(findings, key=lambda f: (f.severity != "info", f.file, f.line or 0, f.rule))
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n and s != "info")
    return "\n".join([*(f.format() for f in ordered), summary or "no problems found"])


def exit_status(findings: list[Finding]) -> int:
    """1 when any finding is an error; warnings and infos do not fail the check."""
    return 1 if any(f.severity == "error" for f in findings) else 0
