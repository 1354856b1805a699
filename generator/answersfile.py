"""Where answers come from, and where they are kept.

Precedence, highest first: command-line flags > `--data key=value` > the answers file (`--answers`,
or `.scaffold/answers.toml` for `update`) > the user's defaults file > what the inspector found >
the template set's defaults. `resolve` walks the questions in order, so a default can depend on an
earlier answer (the health check on the runtime, the Rust release on the binary).

`.scaffold/answers.toml` records every resolved answer (generator/state.py owns the `.scaffold/`
folder and what it records about the template set).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from . import __version__
from .answers import Answers, CustomValue
from .choices import choose_binary
from .errors import AnswerError, ScaffoldError, UsageError
from .inspect import Binary, ProjectFacts
from .questions import Question, SoFar, check_answer, coerce, parse_text
from .questions_builtin import BUILTIN_NAMES
from .state import newer_scaffold_warning
from .tomlfile import ANSWERS_FILE, USER_DEFAULTS, load_toml

# Sources the wizard never asks again: the user said it on this command line.
COMMAND_LINE = ("flags", "--data")

Asker = Callable[[Question, "CustomValue | None", SoFar], "CustomValue | None"]  # None: left unset
BinaryAsker = Callable[[Sequence[Binary], "Binary | None"], Binary]


@dataclass(frozen=True)
class Layer:
    """The answers one source gives, by question name."""

    source: str  # "flags", "--data", "answers file", "user defaults"
    values: Mapping[str, CustomValue]


@dataclass(frozen=True)
class StoredAnswers:
    """An answers file: its answers as a layer, and which template set and tool wrote it."""

    layer: Layer
    template: str | None  # as recorded: "builtin" or a folder (state.template_folder says which)
    template_version: str | None
    scaffold_version: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """The answers resolved from the layers, and where each came from."""

    answers: Answers
    sources: Mapping[str, str]  # question -> the layer it came from, "inspected", "default" or "wizard"
    warnings: tuple[str, ...]
    notes: tuple[str, ...] = ()  # why an inspected answer was taken (the healthcheck kind): said, not warned


def last_answers_path() -> Path:
    """Where the wizard keeps the answers of a run that wrote nothing, for `init --answers` to resume (never in the project)."""
    state_home = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    if not state_home.is_absolute():  # the XDG rule: a relative path is ignored
        state_home = Path.home() / ".local" / "state"
    return state_home / "scaffold" / "last-answers.toml"


def user_defaults_path() -> Path:
    explicit = os.environ.get("SCAFFOLD_CONFIG")
    if explicit:
        return Path(explicit)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "scaffold" / "defaults.toml"


# --- layers ------------------------------------------------------------------------------------


def data_layer(pairs: Sequence[str], questions: Sequence[Question]) -> Layer:
    """`--data key=value` answers, typed by their question."""
    by_name = {q.name: q for q in questions}
    values: dict[str, CustomValue] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or key not in by_name:
            raise UsageError(f"--data {pair!r}: expected KEY=VALUE with KEY one of {', '.join(by_name)}")
        values[key] = parse_text(by_name[key], text)
    return Layer("--data", MappingProxyType(values))


def read_answers_file(path: Path, questions: Sequence[Question], source: str = "answers file") -> StoredAnswers:
    data = load_toml(path, ANSWERS_FILE)
    by_name = {q.name: q for q in questions}
    values: dict[str, CustomValue] = {}
    warnings = []
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if key not in by_name:
            warnings.append(f"{path}: `{key}` is not a question of this template set; ignored")
            continue
        values[key] = coerce(by_name[key], value, str(path))
    meta = {key: data.get(key) for key in ("_template", "_template_version", "_scaffold_version")}
    for key, value in meta.items():
        if value is not None and not isinstance(value, str):
            raise ScaffoldError(f"{path}: `{key}` is {value!r}; expected a string")
    newer = newer_scaffold_warning(path, meta["_scaffold_version"])
    if newer is not None:
        warnings.append(newer)
    return StoredAnswers(
        Layer(source, MappingProxyType(values)),
        meta["_template"],
        meta["_template_version"],
        meta["_scaffold_version"],
        tuple(warnings),
    )


def user_defaults_layer(questions: Sequence[Question]) -> tuple[Layer, tuple[str, ...]]:
    """The per-user defaults file, and a warning naming the keys no question of this template set has.

    Unknown keys are warned about, not refused: other template sets may read the same file. A
    `$SCAFFOLD_CONFIG` that names no file is an error, since the user asked for that file.
    """
    path = user_defaults_path()
    if os.environ.get("SCAFFOLD_CONFIG") and not path.is_file():
        raise UsageError(f"$SCAFFOLD_CONFIG names {path}, which is not a file; create it or unset SCAFFOLD_CONFIG")
    if not path.is_file():
        return Layer("user defaults", MappingProxyType({})), ()
    known = [q.name for q in questions]
    data = load_toml(path, USER_DEFAULTS)
    values = {q.name: coerce(q, data[q.name], str(path)) for q in questions if q.name in data}
    unknown = [key for key in data if key not in known]
    warnings = (f"{path}: {', '.join(unknown)}: not a question of this template set, ignored; known: {', '.join(known)}",)
    return Layer("user defaults", MappingProxyType(values)), warnings if unknown else ()


# --- precedence ---------------------------------------------------------------------------------


def resolve(
    questions: Sequence[Question],
    layers: Sequence[Layer],
    facts: ProjectFacts,
    ask: Asker | None = None,
    ask_binary: BinaryAsker | None = None,
) -> Resolution:
    """One Answers object from the layers (highest first), the facts and the defaults.

    With `ask` (the wizard), every question that applies and was not given on the command line is
    asked, its default being what the lower layers would have chosen.
    """
    so_far: dict[str, CustomValue | None] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    notes: list[str] = []
    _resolve_binary(facts, layers, ask_binary, so_far, sources)
    for question in questions:
        if question.picks_binary:
            continue
        value, source = _lookup(layers, question.name)
        if value is None and question.inspected is not None:
            value, source = question.inspected(facts, so_far), "inspected"
            if value is not None and question.inspected_note is not None:
                note = question.inspected_note(facts, so_far)
                notes += [note] if note else []
        if value is None:
            value, source = question.default_for(so_far), "default"
        if ask is not None and source not in COMMAND_LINE and question.when(so_far):
            value, source = ask(question, value, so_far), "wizard"
        if value is not None:
            try:
                check_answer(question, value, so_far)
            except UsageError as exc:
                raise AnswerError(question.name, f"{exc} (from {source})" if source not in ("flags", "wizard") else str(exc)) from None
        if source == "default" and value is not None and question.default_warning is not None:
            warning = question.default_warning(value, so_far)
            warnings += [warning] if warning else []
        so_far[question.name] = value
        sources[question.name] = source
    builtin = {name: value for name, value in so_far.items() if name in BUILTIN_NAMES}
    custom = tuple(sorted((name, value) for name, value in so_far.items() if name not in BUILTIN_NAMES and value is not None))
    # Each value was typed by its question (coerce, parse_text, check_answer): Answers' field types.
    answers = Answers(**cast(dict[str, Any], builtin), custom=custom)
    return Resolution(answers, MappingProxyType(sources), tuple(warnings), tuple(notes))


def answer_values(answers: Answers, questions: Sequence[Question]) -> dict[str, CustomValue]:
    """The answers in question order, leaving out the unset ones (TOML has no null)."""
    custom = dict(answers.custom)
    values = {}
    for question in questions:
        value = getattr(answers, question.name) if question.name in BUILTIN_NAMES else custom.get(question.name)
        if value is not None:
            values[question.name] = value
    return values


def _lookup(layers: Sequence[Layer], name: str) -> tuple[CustomValue | None, str]:
    for layer in layers:
        if name in layer.values:
            return layer.values[name], layer.source
    return None, ""


def _resolve_binary(
    facts: ProjectFacts,
    layers: Sequence[Layer],
    ask_binary: BinaryAsker | None,
    so_far: dict[str, CustomValue | None],
    sources: dict[str, str],
) -> None:
    """package and bin together: either one narrows the other, and the inspector knows the primary binary."""
    package, package_source = _lookup(layers, "package")
    name, bin_source = _lookup(layers, "bin")
    given = package_source in COMMAND_LINE or bin_source in COMMAND_LINE
    if ask_binary is not None and not given and len(facts.binaries) > 1:
        matching = (b for b in facts.binaries if b.name == name and package in (None, b.package))
        current = next(matching, facts.default_binary)
        chosen = ask_binary(facts.binaries, current)
        package, name, package_source, bin_source = chosen.package, chosen.name, "wizard", "wizard"
    elif package is None or name is None:
        try:
            chosen = choose_binary(facts, package if isinstance(package, str) else None, name if isinstance(name, str) else None)
        except UsageError:
            chosen = None  # no primary binary or a wrong name: make_plan says which, with the choices
        if chosen is not None:
            if package is None:
                package, package_source = chosen.package, "inspected"
            if name is None:
                name, bin_source = chosen.name, "inspected"
    so_far.update(package=package, bin=name)
    sources.update(package=package_source or "default", bin=bin_source or "default")




def answers_toml(values: Mapping[str, CustomValue], template: str, template_version: str) -> str:
    """The answers file: metadata first, then one `key = value` line per answer."""
    lines = [
        "# Answers scaffold generated these files from. Edit them and run `scaffold update` to apply the change.",
        f"_scaffold_version = {toml_value(__version__)}",
        f"_template = {toml_value(template)}",
        f"_template_version = {toml_value(template_version)}",
    ]
    lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def toml_value(value: CustomValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    out = []
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
