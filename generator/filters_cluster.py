"""Render filters for the Kubernetes manifests and the Swarm stack file: how their values are written.

Both are YAML, and every string is written double-quoted with contract.yaml_quoted, so what the user
typed reads back literally. On top of YAML, Kubernetes expands `$(VAR)` in env values and args
(`$$` is a literal `$`), and Swarm expands Go templates (`{{ .Task.Slot }}`) in env values and
the hostname, while `docker stack deploy` interpolates `${VAR}` as compose does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .contract import FromHost, yaml_quoted

if TYPE_CHECKING:
    from .podtemplate import Part


def yaml_value(value: object) -> str:
    """A YAML scalar: numbers and booleans as they are, everything else a double-quoted string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return yaml_quoted(str(value))


def k8s_value(parts: Sequence[Part]) -> str:
    """An env value or argument: literal `$` doubled, the pod's own variables as `$(NAME)`."""
    return yaml_quoted("".join(f"$({p.ref})" if p.ref else p.text.replace("$", "$$") for p in parts))


def stack_env(value: object) -> str:
    """A stack file's environment value: `$` doubled for the CLI, `{{` kept literal from Swarm's templates."""
    if isinstance(value, FromHost):
        return yaml_quoted("${" + value.key + "}")
    return yaml_quoted(_no_go_template(str(value)).replace("$", "$$"))


def stack_value(value: object) -> str:
    """A stack file's literal string elsewhere (a command argument): `$` doubled; Swarm does not template it."""
    return yaml_quoted(str(value).replace("$", "$$"))


def stack_list(values: Sequence[object]) -> str:
    """A flow sequence of literal strings (a command, a healthcheck's test)."""
    return "[" + ", ".join(stack_value(v) for v in values) + "]"


def stack_test(command: Sequence[str]) -> str:
    """A healthcheck `test:` in exec form: `["CMD", ...]`."""
    return stack_list(("CMD", *command))


def _no_go_template(text: str) -> str:
    return text.replace("{{", '{{"{{"}}')
