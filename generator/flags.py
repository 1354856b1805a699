"""The answer flags of `init`, `update` and `plan`, generated from the question table.

Each built-in question with a `flag` becomes one typer option: its help is the question's help,
its default is the question's default (or `default_text` for one computed from other answers or
the project), a bool gets its `negative_flag`, and a list is repeatable, each value split by the
question's separator. `answer_flags` adds these options to a command's signature (typer reads
`__signature__`) and hands the command, in their place, one Layer of the flags actually given.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import typer

from .answers import CustomValue
from .answersfile import Layer
from .questions import Question
from .questions_builtin import BUILTIN

FLAG_QUESTIONS: tuple[Question, ...] = tuple(q for q in BUILTIN if q.flag)
_TYPES: dict[str, Any] = {"int": int | None, "bool": bool | None, "list": list[str] | None}
# Where click says a value came from, by name: typer ships its own copy of click, so its enum may differ.
_GIVEN = ("COMMANDLINE", "ENVIRONMENT")


def parameter_name(question: Question) -> str:
    """The Python name typer derives from the option (`--build-package` -> build_package)."""
    assert question.flag is not None
    return question.flag.removeprefix("--").replace("-", "_")


def option(question: Question) -> Any:
    """The typer option of one question (a choice question's type is an Enum: see `annotation`)."""
    assert question.flag is not None
    names = f"{question.flag}/{question.negative_flag}" if question.negative_flag else question.flag
    text = question.help
    default = None if callable(question.default) else question.default
    if isinstance(default, tuple):
        return typer.Option(list(default) or None, names, help=text, show_default=question.default_text or bool(default))
    if default is None:
        return typer.Option(None, names, help=text, show_default=question.default_text or False)
    return typer.Option(default, names, help=text, show_default=question.default_text or True)


def annotation(question: Question) -> Any:
    """The parameter type typer reads: an Enum of the choices for a choice question."""
    if question.type == "choice":
        name = parameter_name(question).title().replace("_", "")
        choices: Any = enum.Enum(name, {c: c for c in question.choices})  # type: ignore[misc]  # built from the table
        return choices | None
    return _TYPES.get(question.type, str | None)


def given_value(question: Question, value: Any) -> CustomValue:
    """A flag's value as the question's answer: a choice's text, a repeated list option, each value split
    by the separator (kept whole when the question has none: a template holds commas and spaces)."""
    if isinstance(value, enum.Enum):
        return value.value
    if question.type != "list":
        return value
    if question.separator is None:
        return tuple(value)
    parts = (part for item in value for part in (item.split() if question.separator == " " else item.split(question.separator)))
    return tuple(part.strip() for part in parts if part.strip())


def answer_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` every answer flag; it receives, in their place, `flags: Layer` of those given."""
    own = [p for name, p in inspect.signature(command, eval_str=True).parameters.items() if name != "flags"]
    generated = _flag_parameters()
    keyword_only = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    context = inspect.Parameter("_answer_flags_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    @functools.wraps(command)
    def run(**values: Any) -> None:
        ctx: typer.Context = values.pop(context.name)
        flags = flags_layer(ctx, FLAG_QUESTIONS, values)
        for question in FLAG_QUESTIONS:
            values.pop(parameter_name(question))
        command(flags=flags, **values)

    parameters = [context, *keyword_only, *generated]
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    del run.__wrapped__  # typer must read the new signature, not the command's own
    return run


@functools.cache
def _flag_parameters() -> tuple[inspect.Parameter, ...]:
    """The answer flags as parameters, made once: init, update and plan share them (each question's type, and
    its option, which typer copies before it changes one)."""
    return tuple(
        inspect.Parameter(parameter_name(q), inspect.Parameter.KEYWORD_ONLY, default=option(q), annotation=annotation(q))
        for q in FLAG_QUESTIONS
    )


def flags_layer(ctx: typer.Context, questions: Sequence[Question], values: dict[str, Any]) -> Layer:
    """The answers given as flags on this command line (not typer's defaults: those come last)."""
    given = {}
    for question in questions:
        name = parameter_name(question)
        if getattr(ctx.get_parameter_source(name), "name", None) in _GIVEN:
            given[question.name] = given_value(question, values[name])
    return Layer("flags", given)
