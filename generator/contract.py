"""The run contract: what each node is told (environment, arguments, ports), from per-node templates.

A TEMPLATE is a Jinja template string rendered once per node. Answers files are committed and
replayed by `update`, so templates run in an immutable sandbox with strict undefined variables:
they can read the cluster's facts and nothing else. Every failure is a UsageError of one line
that names the flag, the node and the problem.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from . import __version__
from .compiledtemplates import CompiledTemplates
from .errors import UsageError
from .ports import NamedPort

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ID_BASE = 1_000_000
MAX_REPEAT = 1 << 16  # longest string or list a template may build with `*`
VARIABLES = "node, cluster, http_port, raft_port, data_dir, ports"
CLUSTER_VARIABLES = "cluster, http_port, raft_port, data_dir, ports (no node: it runs once for the cluster)"

# The built-in contract, as templates like the user's. Cluster-only keys are left out with one node.
DEFAULT_ENV = (
    ("NODE_ID", "{{ node.id }}"),
    ("PEERS", '{{ node.peers | map(attribute="raft_address") | join(",") }}'),
    ("HTTP_PORT", "{{ http_port }}"),
    ("RAFT_PORT", "{{ raft_port }}"),
    ("DATA_DIR", "{{ data_dir }}"),
)
CLUSTER_ONLY = frozenset({"PEERS", "RAFT_PORT"})


@dataclass(frozen=True)
class NodeView:
    """One node as templates see it. `peers` is filled for the node being rendered (and cluster.nodes)."""

    index: int  # 0-based; names services and volumes, so it never changes with the id base
    id: int  # id_base + index
    service: str
    raft_address: str  # service:raft_port
    http_address: str  # service:http_port
    ports: Mapping[str, int]  # named client ports, name -> container port
    addresses: Mapping[str, str]  # name -> service:port
    peers: tuple[NodeView, ...] = ()


@dataclass(frozen=True)
class ClusterView:
    """The whole cluster as templates see it."""

    nodes: tuple[NodeView, ...]
    http_port: int
    raft_port: int
    data_dir: str
    ports: Mapping[str, int]

    @property
    def size(self) -> int:
        return len(self.nodes)


@dataclass(frozen=True)
class FromHost:
    """An environment value compose takes from the host at `up` (`--node-env-from-host KEY`): never written."""

    key: str

    def __str__(self) -> str:
        return "${" + self.key + "}"


EnvValue = str | FromHost


def cluster_view(
    prefix: str, nodes: int, id_base: int, http_port: int, raft_port: int, data_dir: str, ports: Sequence[NamedPort] = ()
) -> ClusterView:
    """The cluster's facts: services `<prefix>-<index>`, ids from `id_base`."""
    named = MappingProxyType({p.name: p.port for p in ports})
    bases = []
    for index in range(nodes):
        service = f"{prefix}-{index}"
        addresses = MappingProxyType({name: f"{service}:{port}" for name, port in named.items()})
        bases.append(NodeView(index, id_base + index, service, f"{service}:{raft_port}", f"{service}:{http_port}", named, addresses))
    full = tuple(replace(node, peers=tuple(other for other in bases if other is not node)) for node in bases)
    return ClusterView(full, http_port, raft_port, data_dir, named)


class _Sandbox(ImmutableSandboxedEnvironment):
    """No attribute the sandbox deems unsafe, no mutation, and no `*`/`**` that builds huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int) and (abs(right) > 64 or (isinstance(left, int) and left.bit_length() > 256)):
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"repetition longer than {MAX_REPEAT}")
        return super().call_binop(context, operator, left, right)


class _Sources(jinja2.BaseLoader):
    """A template's name is its source: so the compiled template can come from the user's cache."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, None, Callable[[], bool]]:
        return template, None, lambda: True


@functools.cache
def _environment(whole_files: bool) -> jinja2.Environment:
    """The sandbox for one-line templates, or for whole files (`--node-file`), where a block tag on a line of its
    own leaves no blank line. Made on first use: the cache folder is not touched by a command that renders none."""
    salt = f"run contract {__version__} {'files' if whole_files else 'lines'}"
    return _Sandbox(
        loader=_Sources(), bytecode_cache=CompiledTemplates(salt), undefined=jinja2.StrictUndefined, autoescape=False,
        keep_trailing_newline=True, trim_blocks=whole_files, lstrip_blocks=whole_files,
    )


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _compile(flag: str, source: str, whole_file: bool = False) -> jinja2.Template:
    try:
        return _environment(whole_file).get_template(source)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"{flag}: template syntax error: {_one_line(exc.message or exc)}") from None


def _render(flag: str, template: jinja2.Template, node: NodeView | None, cluster: ClusterView) -> str:
    """Render for one node, or (node None: the bootstrap) once for the cluster, where `node` is not defined."""
    where = f"{flag}: node {node.index} ({node.service})" if node is not None else flag
    variables = dict(
        cluster=cluster, http_port=cluster.http_port, raft_port=cluster.raft_port, data_dir=cluster.data_dir, ports=cluster.ports
    )
    if node is not None:
        variables["node"] = node
    try:
        return template.render(**variables)
    except jinja2.UndefinedError as exc:
        known = VARIABLES if node is not None else CLUSTER_VARIABLES
        raise UsageError(f"{where}: unknown variable or attribute ({_one_line(exc)}); templates can use {known}") from None
    except SecurityError as exc:
        raise UsageError(f"{where}: not allowed in a template ({_one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - anything a user's template does wrong (a TypeError, a bad filter)
        raise UsageError(f"{where}: cannot render ({type(exc).__name__}: {_one_line(exc)})") from None


def flag_text(flag: str, value: str) -> str:
    """`--node-env 'APP_ID={{ node.id }}'`, shortened so the message stays one readable line."""
    shown = value if len(value) <= 60 else value[:57] + "..."
    return f"{flag} {json.dumps(shown, ensure_ascii=False)}"


def check_syntax(flag: str, source: str) -> None:
    """The template parses (the wizard checks while typing; rendering needs the whole cluster)."""
    _compile(flag_text(flag, source), source)


def check_id_base(id_base: int) -> None:
    if not 0 <= id_base <= MAX_ID_BASE:
        raise UsageError(f"--id-base {id_base}: node ids start at a number from 0 to {MAX_ID_BASE}")


def describe(env: Sequence[tuple[str, EnvValue]], args: Sequence[str]) -> list[str]:
    """One node's contract as the wizard and the summary show it: `KEY=value` lines, then the command."""
    lines = [f"{key}={value}" + (" (from the host)" if isinstance(value, FromHost) else "") for key, value in env]
    return lines + ([f"command: {shlex.join(args)}"] if args else [])


def parse_node_env(text: str) -> tuple[str, str]:
    """`KEY=TEMPLATE` -> (KEY, TEMPLATE), the key checked."""
    key, equals, template = text.partition("=")
    if not equals:
        raise UsageError(f"{flag_text('--node-env', text)}: expected KEY=TEMPLATE, such as APP_ID={{{{ node.id }}}}")
    check_env_key("--node-env", key, text)
    return key, template


def check_env_key(flag: str, key: str, text: str | None = None) -> None:
    if not ENV_KEY.match(key):
        raise UsageError(
            f"{flag_text(flag, text if text is not None else key)}: {key!r} is not an environment variable name "
            "(letters, digits and _, not starting with a digit)"
        )


def env_templates(node_env: Sequence[str], nodes: int, default_env: bool = True) -> tuple[tuple[str, str], ...]:
    """The contract's (KEY, TEMPLATE) pairs: the built-in ones (unless turned off), then the user's.

    A user's key that the built-in contract has replaces it in place; a key the user gives twice is an error.
    """
    pairs: dict[str, str] = {}
    if default_env:
        pairs.update((key, template) for key, template in DEFAULT_ENV if nodes > 1 or key not in CLUSTER_ONLY)
    given: set[str] = set()
    for text in node_env:
        key, template = parse_node_env(text)
        if key in given:
            raise UsageError(f"{flag_text('--node-env', text)}: {key} is given twice; keep one")
        given.add(key)
        pairs[key] = template
    return tuple(pairs.items())


def render_env(
    templates: Sequence[tuple[str, str]], cluster: ClusterView, from_host: Sequence[str] = ()
) -> tuple[tuple[tuple[str, EnvValue], ...], ...]:
    """Per node, the (KEY, value) environment; `from_host` keys come last as FromHost values."""
    keys = {key for key, _ in templates}
    for i, key in enumerate(from_host):
        check_env_key("--node-env-from-host", key)
        if key in from_host[:i]:
            raise UsageError(f"--node-env-from-host {key}: given twice; keep one")
        if key in keys:
            builtin = " (the built-in contract sets it; --no-default-env turns that off)" if key in dict(DEFAULT_ENV) else ""
            raise UsageError(f"--node-env-from-host {key}: {key} is also set by a template{builtin}; keep one of them")
    flags = [flag_text("--node-env", f"{key}={source}") for key, source in templates]
    compiled = [(key, flag, _compile(flag, source)) for (key, source), flag in zip(templates, flags, strict=True)]
    result = []
    for node in cluster.nodes:
        env: list[tuple[str, EnvValue]] = []
        for key, flag, template in compiled:
            value = _render(flag, template, node, cluster)
            problem = _env_problem(value)
            if problem:
                raise UsageError(
                    f"{flag}: node {node.index} ({node.service}): the value holds {problem}, which an environment variable cannot carry"
                )
            env.append((key, value))
        env += [(key, FromHost(key)) for key in from_host]
        result.append(tuple(env))
    return tuple(result)


def _env_problem(value: str) -> str | None:
    for ch, name in (("\x00", "a NUL"), ("\n", "a newline"), ("\r", "a carriage return")):
        if ch in value:
            return name
    return "invalid UTF-8" if any("\ud800" <= ch <= "\udfff" for ch in value) else None


def render_args(templates: Sequence[str], cluster: ClusterView) -> tuple[tuple[str, ...], ...]:
    """Per node, the container's command. An argument that renders empty is left out, so a condition can drop one."""
    compiled = [(flag_text("--node-arg", source), _compile(flag_text("--node-arg", source), source)) for source in templates]
    result = []
    for node in cluster.nodes:
        args = []
        for flag, template in compiled:
            value = _render(flag, template, node, cluster)
            if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
                raise UsageError(f"{flag}: node {node.index} ({node.service}): the argument holds a NUL or invalid UTF-8")
            if value:
                args.append(value)
        result.append(tuple(args))
    return tuple(result)


def render_text(flag: str, given: str, source: str, cluster: ClusterView) -> tuple[str, ...]:
    """Per node, a whole file's text from `source` (`--node-file`, as `given`): any text, NULs aside. Jinja
    writes every line break as `\n` (a CRLF template gives an LF file)."""
    shown = flag_text(flag, given)
    template = _compile(shown, source, whole_file=True)
    result = []
    for node in cluster.nodes:
        text = _render(shown, template, node, cluster)
        if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
            raise UsageError(f"{shown}: node {node.index} ({node.service}): the file holds a NUL or invalid UTF-8")
        result.append(text)
    return tuple(result)


def render_command(flag: str, source: str, cluster: ClusterView) -> tuple[str, ...]:
    """A command rendered once for the cluster (`--bootstrap-command`), split into words as a POSIX shell would
    split it (quotes group, nothing expands); no shell runs it."""
    shown = flag_text(flag, source)
    if "\r" in source:  # Jinja reads it as a line break, so it could not reach the command as written
        raise UsageError(f"{shown}: holds a carriage return, which cannot reach the command literally; remove it")
    text = _render(shown, _compile(shown, source), None, cluster)
    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"{shown}: renders {_one_line(text)[:60]!r}, which does not split into words ({exc})") from None
    if not words:
        raise UsageError(f"{shown}: renders to no command; give the program to run and its arguments")
    if any("\x00" in word or any("\ud800" <= ch <= "\udfff" for ch in word) for word in words):
        raise UsageError(f"{shown}: the command holds a NUL or invalid UTF-8")
    return words


def shared_env(per_node: Sequence[Sequence[tuple[str, EnvValue]]]) -> tuple[tuple[str, EnvValue], ...]:
    """The (KEY, value) pairs every node has alike: compose can hold them once (x-environment)."""
    if not per_node:
        return ()
    others = [dict(env) for env in per_node[1:]]
    return tuple((key, value) for key, value in per_node[0] if all(env.get(key) == value for env in others))


def compose_env(value: EnvValue) -> str:
    """A compose file's environment value: text with `$` doubled (compose would interpolate it), `${KEY}` for FromHost."""
    if isinstance(value, FromHost):
        return yaml_quoted("${" + value.key + "}")
    return yaml_quoted(value.replace("$", "$$"))


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar that reads back as `text`. Everything outside printable ASCII is an escape
    (\\u, or \\U past U+FFFF: YAML does not join surrogate pairs); raw, YAML rejects DEL and folds NEL."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'
