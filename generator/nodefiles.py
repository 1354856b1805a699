"""Per-node files (`--node-file TEMPLATE_PATH:CONTAINER_PATH`): a template in the project, rendered for each
node with the run contract's variables, written to `cluster/<service>/<name>` next to the compose file and
mounted read-only at CONTAINER_PATH in that node only.

Compose refuses inline `content` configs on a read-only service, so the rendered files are real files:
outputs like the compose file (recorded in .scaffold/, merged by `update`), kept out of the build context.
A bad source is the project's problem (exit 1); a bad container path is a usage error (exit 2).
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import contract
from .contract import ClusterView
from .errors import ScaffoldError, UsageError

FOLDER = "cluster"  # next to the compose file; one subfolder per node service
CONTAINER_PATH = re.compile(r"^/[A-Za-z0-9._@+-][A-Za-z0-9._@+/-]*$")
MAX_BYTES = 1 << 20  # a config file, not a data set


@dataclass(frozen=True)
class NodeFileSource:
    """A `--node-file` template, read from the project."""

    given: str  # the flag's value, for messages
    source: str  # the template's path, relative to the project
    container_path: str  # absolute, in the container
    name: str  # the rendered file's name in cluster/<service>/
    text: str  # the template


@dataclass(frozen=True)
class NodeFile:
    """One node's rendered copy: what Kubernetes or Swarm outputs would put in a ConfigMap or config too."""

    container_path: str
    content: str
    path: str  # where it is written, relative to the output directory: cluster/<service>/<name>


def parse(given: str) -> tuple[str, str]:
    """`TEMPLATE_PATH:CONTAINER_PATH` -> the two paths, the container one checked (split at the last `:`)."""
    source, colon, target = given.rpartition(":")
    flag = contract.flag_text("--node-file", given)
    if not colon or not source:
        raise UsageError(f"{flag}: expected TEMPLATE_PATH:CONTAINER_PATH, such as deploy/node.toml.j2:/etc/app/node.toml")
    if not target.startswith("/"):
        example = f"/etc/app/{target or 'node.toml'}"
        raise UsageError(f"{flag}: the container path {target!r} is relative; give an absolute path such as {example}")
    pure = PurePosixPath(target)
    if not CONTAINER_PATH.match(target) or ".." in pure.parts or pure.as_posix() != target or target == "/":
        raise UsageError(f"{flag}: the container path {target!r} is not a plain absolute file path (letters, digits, . _ - @ +, no ..)")
    return source, target


def load(root: Path, given: tuple[str, ...]) -> tuple[NodeFileSource, ...]:
    """Each `--node-file` with its template read from the project; two that would be written alike are refused."""
    sources: list[NodeFileSource] = []
    for text in given:
        source, target = parse(text)
        relative, template = _read(root, source, contract.flag_text("--node-file", text))
        given_name = PurePosixPath(source).name
        name = given_name.removesuffix(".j2") or given_name
        for other in sources:
            if other.name == name:
                raise UsageError(
                    f"{contract.flag_text('--node-file', text)}: renders to {FOLDER}/<service>/{name}, as {other.given} does; "
                    "rename one of the templates"
                )
        sources.append(NodeFileSource(text, relative, target, name, template))
    return tuple(sources)


def render(sources: tuple[NodeFileSource, ...], cluster: ClusterView) -> tuple[tuple[NodeFile, ...], ...]:
    """Per node, its rendered files."""
    per_source = [contract.render_text("--node-file", s.given, s.text, cluster) for s in sources]
    return tuple(
        tuple(
            NodeFile(s.container_path, texts[node.index], f"{FOLDER}/{node.service}/{s.name}")
            for s, texts in zip(sources, per_source, strict=True)
        )
        for node in cluster.nodes
    )


def _read(root: Path, source: str, flag: str) -> tuple[str, str]:
    """The template's path relative to the project and its text; ScaffoldError (exit 1) for a source that cannot be one."""
    base = os.path.realpath(root)
    path = Path(source) if Path(source).is_absolute() else root / source
    try:
        real = os.path.realpath(path, strict=True)
    except FileNotFoundError:
        raise ScaffoldError(f"{flag}: {path} does not exist; give a template file inside the project") from None
    except OSError as exc:
        problem = "is a symlink loop" if exc.errno == errno.ELOOP else f"cannot be resolved ({exc.strerror})"
        raise ScaffoldError(f"{flag}: {path} {problem}; point it at a regular file inside the project") from None
    if os.path.commonpath([base, real]) != base:
        raise ScaffoldError(f"{flag}: {path} is outside the project ({root}); copy the template into the project")
    if os.path.isdir(real):
        raise ScaffoldError(f"{flag}: {path} is a directory; give one template file per --node-file")
    if not os.path.isfile(real):
        raise ScaffoldError(f"{flag}: {path} is not a regular file; give a template file")
    try:
        if os.path.getsize(real) > MAX_BYTES:
            raise ScaffoldError(f"{flag}: {path} is larger than {MAX_BYTES} bytes; a node file is a config file")
        with open(real, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"{flag}: cannot read {path} as UTF-8 text ({exc}); fix the file or its permissions") from None
    return Path(os.path.relpath(real, base)).as_posix(), text
