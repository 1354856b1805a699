"""The questions behind an Answers object: built-in definitions, typing and single-answer validation.

The same definitions serve every way an answer arrives: a command-line flag, `--data key=value`,
the answers file, the user's defaults file, the wizard (validating while typing) and the JSON Schema.
Built-in questions are typed fields of Answers that drive plan decisions; a template set may add
its own questions (see templateset.py), which reach templates as `custom.<name>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .answers import CustomValue
from .errors import UsageError
from .inspect import ProjectFacts
from .listtext import parse_list_text

TYPES = ("str", "int", "bool", "choice", "list")

# The answers known so far, by name, while questions are resolved in order.
SoFar = Mapping[str, CustomValue | None]
Condition = Callable[[SoFar], bool]
Check = Callable[[CustomValue, SoFar], None]
Inspected = Callable[[ProjectFacts, SoFar], CustomValue | None]
Offered = Callable[[ProjectFacts, SoFar], tuple[str, ...]]


def always(_so_far: SoFar) -> bool:
    return True


@dataclass(frozen=True)
class Question:
    """One question: its type and constraints, its default, and its flag and prompt."""

    name: str  # Answers field, --data key and answers-file key
    type: str  # one of TYPES
    help: str
    default: CustomValue | Callable[[SoFar], CustomValue | None] | None = None  # a value, computed from earlier answers, or none
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    separator: str | None = ","  # how a list answer is typed on one line; None: one item (or a JSON array)
    when: Condition = always  # asked only when this holds for the earlier answers
    check: Check | None = None  # a rule that needs more than the constraints above (or other answers)
    flag: str | None = None  # the command-line option that answers it (init, update, plan)
    negative_flag: str | None = None  # a bool's option for false (--no-publish-raft, --writable-root)
    default_text: str | None = None  # how --help describes a default computed from other answers or the project
    when_text: str | None = None  # a template question's `when`, for messages and the schema
    inspected: Inspected | None = None  # what the project itself says, below the answers files and above the default
    inspected_note: Callable[[ProjectFacts, SoFar], str | None] | None = None  # said when the inspected value was taken
    choice_works: Callable[[str, SoFar], bool] | None = None  # a choice that cannot work with the earlier answers is left out
    default_warning: Callable[[CustomValue, SoFar], str | None] | None = None  # said when the default was taken
    picks_binary: bool = False  # package and bin: resolved together, from the project's binaries
    # One line per choice, beside it in the wizard (a bool's keys are "yes" and "no": shown as a choice of two).
    choice_help: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), compare=False)
    offered: Offered | None = None  # a list answer's items the project declares: a checklist, not asked when empty

    def default_for(self, so_far: SoFar) -> CustomValue | None:
        return self.default(so_far) if callable(self.default) else self.default

    def choices_for(self, so_far: SoFar) -> tuple[str, ...]:
        """The choices that can work with the earlier answers (a distroless image cannot make HTTP requests)."""
        works = self.choice_works
        return self.choices if works is None else tuple(c for c in self.choices if works(c, so_far))


def parse_text(question: Question, text: str) -> CustomValue:
    """A typed answer from one line of text (`--data key=value`, a wizard prompt)."""
    text = text.strip()
    if question.type == "int":
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{question.name} {text!r}: expected a whole number") from None
    if question.type == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "y", "on", "1"):
            return True
        if lowered in ("false", "no", "n", "off", "0"):
            return False
        raise UsageError(f"{question.name} {text!r}: expected true or false")
    if question.type == "list":
        return parse_list_text(question.name, text, question.separator)
    return text


def coerce(question: Question, value: object, source: str) -> CustomValue:
    """A typed answer from a TOML value, or a UsageError naming where it came from."""
    expected = {"int": "an integer", "bool": "true or false", "list": "a list of strings"}.get(question.type, "a string")
    if question.type == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if question.type == "bool" and isinstance(value, bool):
        return value
    if question.type == "list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if question.type in ("str", "choice") and isinstance(value, str):
        return value
    raise UsageError(f"{source}: `{question.name}` is {value!r}; expected {expected}")


def check_answer(question: Question, value: CustomValue, so_far: SoFar) -> None:
    """Raise UsageError when one answer cannot work with the earlier ones."""
    if question.check is not None:  # first: a built-in rule says it best
        question.check(value, so_far)
    if question.type == "choice":
        choices = question.choices_for(so_far)
        if value not in choices:
            raise UsageError(f"{_label(question)} {value!r}: choose one of {', '.join(choices)}")
    if question.pattern is not None and isinstance(value, str) and not re.fullmatch(question.pattern, value):
        raise UsageError(f"{_label(question)} {value!r}: does not match {question.pattern}")
    if isinstance(value, int) and not isinstance(value, bool):
        if question.minimum is not None and value < question.minimum:
            raise UsageError(f"{_label(question)} {value}: at least {question.minimum}")
        if question.maximum is not None and value > question.maximum:
            raise UsageError(f"{_label(question)} {value}: at most {question.maximum}")


def validator(question: Question, so_far: SoFar) -> Callable[[str], bool | str]:
    """For questionary's `validate=`: True, or the message to show under the prompt while typing."""

    def validate(text: str) -> bool | str:
        try:
            check_answer(question, parse_text(question, text), so_far)
        except UsageError as exc:
            return str(exc)
        return True

    return validate


def _label(question: Question) -> str:
    return question.flag or question.name


def json_schema(questions: tuple[Question, ...]) -> dict:
    """A JSON Schema (draft 2020-12) of an answers file for these questions."""
    properties: dict[str, dict] = {
        "_scaffold_version": {"type": "string", "description": "Version of scaffold that wrote the file."},
        "_template": {"type": "string", "description": "Template set: builtin, or its folder."},
        "_template_version": {"type": "string", "description": "Version of the template set."},
    }
    for question in questions:
        schema: dict = {"description": question.help}
        if question.type == "int":
            schema["type"] = "integer"
        elif question.type == "bool":
            schema["type"] = "boolean"
        elif question.type == "list":
            schema.update(type="array", items={"type": "string"})
        elif question.type == "choice":
            schema.update(type="string", enum=list(question.choices))
        else:
            schema["type"] = "string"
        if question.pattern is not None:
            schema["pattern"] = f"^(?:{question.pattern})$"  # answers match whole; a schema pattern searches
        if question.minimum is not None:
            schema["minimum"] = question.minimum
        if question.maximum is not None:
            schema["maximum"] = question.maximum
        default = None if callable(question.default) else question.default
        if default is not None:
            schema["default"] = list(default) if isinstance(default, tuple) else default
        if question.when_text:
            schema["description"] += f" (asked when {question.when_text})"
        properties[question.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "scaffold answers",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
