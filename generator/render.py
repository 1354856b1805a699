"""Stage 3: the plan -> file contents, in memory. Templates lay the plan out; they decide nothing."""

from __future__ import annotations

import functools
import json
import shlex
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import jinja2

from . import contract, filters_cluster
from .compiledtemplates import CompiledTemplates
from .errors import ScaffoldError
from .plan import PLAN_CHANGED_IN, BuildPlan
from .plan_cluster import PublishedPort
from .templateset import TemplateSet, load_template_set

# Names the plan had before it was organised by concept; a set exported then still reads them.
_OLD_PLAN_NAMES = frozenset({"dockerfile", "compose"})


class _PlanUndefined(jinja2.StrictUndefined):
    """StrictUndefined that says when a template reads a name an older plan had."""

    @property
    def _undefined_message(self) -> str:
        if isinstance(self._undefined_obj, BuildPlan) and self._undefined_name in _OLD_PLAN_NAMES:
            return (
                f"`plan.{self._undefined_name}` is no longer in the plan: the plan changed in scaffold {PLAN_CHANGED_IN}; "
                "re-export with `scaffold templates export DIR` and port your edits (`scaffold plan --json` shows the names)"
            )
        return str(super()._undefined_message)


@dataclass(frozen=True)
class RenderedFile:
    """One output file's name and content, rendered in memory."""

    name: str
    content: str


def render(plan: BuildPlan, template_set: TemplateSet | None = None, custom: Mapping[str, object] | None = None) -> list[RenderedFile]:
    """Every file of the template set (the built-in one by default), rendered from the plan, then each node's
    own files (`--node-file`), which the plan holds rendered: they are outputs whatever the set lays out."""
    template_set = template_set or load_template_set()
    env = _environment(template_set.root)
    files = []
    rendered = [f for f in template_set.files if f.written_for(plan)]
    for output, path in zip(rendered, plan.outputs, strict=True):
        try:
            template = env.get_template(output.template)
            text = template.render(plan=plan, custom=custom if custom is not None else MappingProxyType({}))
        except jinja2.TemplateSyntaxError as exc:
            raise ScaffoldError(f"{exc.filename}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise ScaffoldError(f"{template_set.root / output.template}: template {exc.name} is missing from {template_set.root}") from None
        except Exception as exc:  # noqa: BLE001 - a template's own mistake, or a bug of ours
            location = _template_frame(exc, template_set.root)
            if location is None:
                raise
            what = "uses an undefined value" if isinstance(exc, jinja2.UndefinedError) else "failed"
            raise ScaffoldError(f"{location}: template {what}: {exc}") from None
        files.append(RenderedFile(path, text))  # the plan's name: the ignore file moves beside the Dockerfile
    return files + [RenderedFile(f.path, f.content) for node in plan.cluster.nodes for f in node.files]


def _template_frame(exc: BaseException, root: Path) -> str | None:
    """`file:line` of the innermost template frame: Jinja maps its frames to the template's lines."""
    root = root.resolve()
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_absolute() and path.resolve().is_relative_to(root) and frame.lineno:
            found = f"{path}:{frame.lineno}"
    return found


@functools.lru_cache(maxsize=8)
def _environment(templates: Path) -> jinja2.Environment:
    """One environment per template folder: Jinja compiles each template once (it reloads edited files)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        bytecode_cache=CompiledTemplates(),
        undefined=_PlanUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["json"] = _json
    env.filters["compose"] = _compose_value
    env.filters["waiver"] = _waiver
    env.filters["compose_env"] = contract.compose_env
    env.filters["compose_port"] = _compose_port
    env.filters["compose_test"] = _compose_test
    env.filters["shell_quote"] = shlex.quote
    env.filters["shell_words"] = _shell_words
    env.filters["docker_string"] = _docker_string
    env.filters["seconds"] = _seconds
    env.filters["yaml"] = filters_cluster.yaml_value
    env.filters["k8s_value"] = filters_cluster.k8s_value
    env.filters["stack_env"] = filters_cluster.stack_env
    env.filters["stack_value"] = filters_cluster.stack_value
    env.filters["stack_list"] = filters_cluster.stack_list
    env.filters["stack_test"] = filters_cluster.stack_test
    env.globals["zip"] = zip
    return env


def _waiver(code: str, reason: str | None = None) -> str:
    """check_waivers.waiver_comment, loaded when a template writes a waiver (the check rules load with it)."""
    from .check_waivers import waiver_comment

    return waiver_comment(code, reason)


def _json(value) -> str:
    """Dockerfile exec form (ENTRYPOINT, HEALTHCHECK CMD): a JSON array, which BuildKit never expands."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _shell_words(words: Sequence[str]) -> str:
    """Arguments as one shell command line (cargo's arguments, paths for truncate): each quoted only if it must be."""
    return " ".join(shlex.quote(word) for word in words)


def _seconds(value: int) -> str:
    """A duration for HEALTHCHECK flags and compose: `10s`."""
    return f"{value}s"


def _compose_port(port: PublishedPort) -> str:
    """A compose `ports:` entry, `address:host:container`, as a literal string."""
    return _compose_value(f"{port.address}:{port.host}:{port.container}")


def _compose_test(command: Sequence[str]) -> str:
    """A compose healthcheck `test:` in exec form: `["CMD", ...]`."""
    return _compose_value(("CMD", *command))


def _compose_value(value: object) -> str:
    """A literal Compose value: a YAML double-quoted string with `$` doubled so Compose does not interpolate."""
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_compose_value(item) for item in value) + "]"
    return contract.compose_env(str(value))


def _docker_string(value: str) -> str:
    """One Dockerfile word that LABEL and ENV read back as exactly `value` (on one line).

    Double quotes, with `"` and `$` escaped (LABEL and ENV expand variables). A backslash goes
    between quoted parts as `\\\\`: inside double quotes `\\\\` is an escape for BuildKit but
    not for hadolint's parser, which then sees `\\"` as an escaped quote and reports a syntax error.
    Characters a line cannot hold (newlines, other control characters) become spaces.
    """
    printable = "".join(ch if ch.isprintable() else " " for ch in str(value))
    parts = (part.replace('"', '\\"').replace("$", "\\$") for part in printable.split("\\"))
    return "\\\\".join(f'"{part}"' for part in parts)
