"""Template sets: a folder of Jinja templates with a `template.toml` manifest.

The built-in templates are one set. Another set (`--template DIR`) can change them, add output
files (a Makefile, a Kubernetes manifest) and add questions of its own, which templates read as
`custom.<name>`. Templates see only `plan` and `custom`: the plan decides, the templates lay out.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .deploytargets import NAMES as TARGET_NAMES
from .errors import ScaffoldError
from .questions import (
    TYPES,
    Condition,
    Question,
    SoFar,
    always,
    check_answer,
    coerce,
)
from .questions_builtin import BUILTIN, BUILTIN_NAMES
from .tomlfile import TEMPLATE_MANIFEST, load_toml

MANIFEST = "template.toml"
BUILTIN_IDENTITY = "builtin"
# Pattern texts, compiled by `re` when first used (the built-in set has no questions of its own to check).
_NAME = r"^[a-z][a-z0-9_]*$"
_WHEN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


@dataclass(frozen=True)
class OutputFile:
    """A file the template set writes: its template, where it goes and for which targets."""

    path: str  # where the file goes, relative to the output directory
    template: str  # the template that renders it, relative to the set's folder
    context: bool = True  # the image build reads it; false: the .dockerignore leaves it out of the build context
    targets: tuple[str, ...] = TARGET_NAMES  # the --target values that write it (`target` in the manifest; absent: every one)
    when: str | None = None  # a plan value such as "kubernetes.bootstrap": the file is written only when it is set

    def rendered_for(self, chosen: tuple[str, ...]) -> bool:
        return any(target in chosen for target in self.targets)

    def written_for(self, plan: Any) -> bool:
        """Its target is chosen and its `when` value of the plan (a BuildPlan) is set: not None, empty or false."""
        if not self.rendered_for(plan.targets):
            return False
        value = plan
        for step in self.when.split(".") if self.when else ():
            if value is None:
                return False
            if not hasattr(value, step):
                raise ScaffoldError(
                    f"{MANIFEST}: [[files]] {self.path}: when = {self.when!r}: the plan has no {step} there "
                    "(`scaffold plan --json` shows its names)"
                )
            value = getattr(value, step)
        return bool(value)


@dataclass(frozen=True)
class TemplateSet:
    """A template set: its templates, the files they write, and its own questions."""

    root: Path
    identity: str  # "builtin", or the set's folder
    name: str
    version: str
    files: tuple[OutputFile, ...]
    extra_questions: tuple[Question, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        return BUILTIN + self.extra_questions


def template_dir() -> Path:
    """The built-in set: inside the wheel as generator/templates; a source checkout keeps it at the top."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def load_template_set(directory: Path | None = None) -> TemplateSet:
    """The built-in set (no directory), or the set in `directory`, with its manifest checked."""
    root = template_dir() if directory is None else directory
    manifest = root / MANIFEST
    if not root.is_dir():
        raise ScaffoldError(f"{root}: template set folder does not exist")
    if not manifest.is_file():
        raise ScaffoldError(
            f"{root}: not a template set (no {MANIFEST}); "
            "`scaffold templates export DIR` writes the built-in one to start from"
        )
    data = load_toml(manifest, TEMPLATE_MANIFEST)
    where = str(manifest)
    _only_keys(where, data, {"template", "files", "questions"})
    meta = _table(where, data.get("template"), "[template]")
    _only_keys(f"{where}: [template]", meta, {"name", "version", "description"})
    name = _string(where, meta, "name", "[template]")
    version = _string(where, meta, "version", "[template]")
    files = _files(root, where, data.get("files"))
    questions = _questions(where, data.get("questions", []))
    identity = BUILTIN_IDENTITY if directory is None else str(root.resolve())
    return TemplateSet(root, identity, name, version, files, questions)


def export_builtin(destination: Path) -> list[Path]:
    """Copy the built-in set to `destination` (new or empty) to customize it."""
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise ScaffoldError(f"{destination}: not an empty folder; export into a new or empty one")
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(template_dir().iterdir()):
        if source.is_file() and (source.name == MANIFEST or source.suffix == ".j2"):
            shutil.copyfile(source, destination / source.name)
            written.append(destination / source.name)
    return written


# --- manifest checks ---------------------------------------------------------------------------


def _files(root: Path, where: str, entries: object) -> tuple[OutputFile, ...]:
    if not isinstance(entries, list) or not entries:
        raise ScaffoldError(f'{where}: needs [[files]] entries such as path = "Dockerfile", template = "Dockerfile.j2"')
    files, seen = [], set()
    for number, entry in enumerate(entries, 1):
        label = f"[[files]] entry {number}"
        entry = _table(where, entry, label)
        _only_keys(f"{where}: {label}", entry, {"path", "template", "context", "target", "when"})
        path = _relative(where, _string(where, entry, "path", label), label)
        template = _relative(where, _string(where, entry, "template", label), label)
        context = entry.get("context", True)
        if not isinstance(context, bool):
            raise ScaffoldError(f"{where}: {label}: `context` is true (the image build reads {path}) or false")
        if path.split("/")[0] == ".scaffold":
            raise ScaffoldError(f"{where}: {label}: {path} would go inside .scaffold/, which scaffold keeps for itself")
        if path in seen:
            raise ScaffoldError(f"{where}: {label}: {path} is listed twice")
        if not (root / template).is_file():
            raise ScaffoldError(f"{where}: {label}: template {template} does not exist in {root}")
        when = entry.get("when")
        if when is not None and (not isinstance(when, str) or not re.match(_WHEN, when)):
            raise ScaffoldError(f'{where}: {label}: `when` is a plan value such as "kubernetes.bootstrap"')
        seen.add(path)
        files.append(OutputFile(path, template, context, _targets(where, label, entry.get("target", list(TARGET_NAMES))), when))
    return tuple(files)


def _targets(where: str, label: str, value: object) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in TARGET_NAMES for n in names):
        raise ScaffoldError(f"{where}: {label}: `target` is one of {', '.join(TARGET_NAMES)}, or a list of them")
    return tuple(dict.fromkeys(names))


def _questions(where: str, entries: object) -> tuple[Question, ...]:
    if not isinstance(entries, list):
        raise ScaffoldError(f"{where}: questions must be [[questions]] tables")
    questions: list[Question] = []
    for number, entry in enumerate(entries, 1):
        label = f"[[questions]] entry {number}"
        entry = _table(where, entry, label)
        _only_keys(f"{where}: {label}", entry, {"name", "type", "help", "default", "choices", "validation", "when"})
        name = _string(where, entry, "name", label)
        label = f"question {name}"
        if not re.match(_NAME, name):
            raise ScaffoldError(f"{where}: {label}: a name is lower-case letters, digits and _, starting with a letter")
        if name in BUILTIN_NAMES or any(q.name == name for q in questions):
            raise ScaffoldError(f"{where}: {label}: the name is already taken by another question")
        kind = entry.get("type", "str")
        if kind not in TYPES:
            raise ScaffoldError(f"{where}: {label}: type {kind!r}; use one of {', '.join(TYPES)}")
        choices = entry.get("choices", [])
        strings = isinstance(choices, list) and all(isinstance(c, str) for c in choices)
        if not strings or (kind == "choice") != bool(choices):
            raise ScaffoldError(f'{where}: {label}: `choices` is a list of strings, given exactly for type = "choice"')
        validation = _table(where, entry.get("validation", {}), f"{label}: validation")
        _only_keys(f"{where}: {label}: validation", validation, {"regex", "min", "max"})
        pattern = validation.get("regex")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                problem = f"validation.regex {pattern!r} is not a regular expression ({exc})"
                raise ScaffoldError(f"{where}: {label}: {problem}") from None
        for bound in ("min", "max"):
            if bound in validation and (kind != "int" or not isinstance(validation[bound], int)):
                raise ScaffoldError(f"{where}: {label}: validation.{bound} is a whole number, for type = \"int\"")
        when_text = entry.get("when")
        known = BUILTIN_NAMES | {q.name for q in questions}
        when = always if when_text is None else parse_condition(when_text, known, f"{where}: {label}")
        question = Question(
            name,
            kind,
            str(entry.get("help", name)),
            choices=tuple(choices),
            pattern=pattern,
            minimum=validation.get("min"),
            maximum=validation.get("max"),
            when=when,
            when_text=when_text,
        )
        default = entry.get("default", _EMPTY[kind] if kind != "choice" else choices[0])
        if kind == "int" and "default" not in entry:
            raise ScaffoldError(f"{where}: {label}: an int question needs a default")
        default = coerce(question, default, f"{where}: {label}: default")
        check_answer(question, default, {})
        questions.append(dataclasses.replace(question, default=default))
    return tuple(questions)


_EMPTY = {"str": "", "bool": False, "list": [], "int": None}
_CLAUSE = r"^\s*(not\s+)?([a-z][a-z0-9_]*)\s*(?:(==|!=|>=|<=|>|<)\s*(.+?))?\s*$"


def parse_condition(text: object, known: frozenset[str] | set[str], where: str) -> Condition:
    """`when`: clauses joined by `and`, each `name`, `not name` or `name OP value` (OP: == != > >= < <=)."""
    if not isinstance(text, str) or not text.strip():
        raise ScaffoldError(f"{where}: `when` is a condition such as \"nodes > 1\"")
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = re.match(_CLAUSE, part)
        if not found or (found.group(1) and found.group(3)):
            expected = "`name`, `not name` or `name OP value` joined by `and`"
            raise ScaffoldError(f"{where}: when = {text!r}: expected {expected}")
        negate, name, op, literal = found.groups()
        if name not in known:
            raise ScaffoldError(f"{where}: when = {text!r}: {name} is not a question asked before this one")
        clauses.append((bool(negate), name, op, _literal(literal) if op else None))

    def condition(so_far: SoFar) -> bool:
        return all(_holds(so_far.get(name), negate, op, value) for negate, name, op, value in clauses)

    return condition


def _literal(text: str) -> object:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _holds(actual: object, negate: bool, op: str | None, expected: object) -> bool:
    if op is None:
        return not actual if negate else bool(actual)
    if op in ("==", "!="):
        return (actual == expected) == (op == "==")
    try:
        return {">": actual > expected, ">=": actual >= expected, "<": actual < expected, "<=": actual <= expected}[op]  # type: ignore[operator]
    except TypeError:
        return False


def _table(where: str, value: object, label: str) -> dict:
    if not isinstance(value, dict):
        raise ScaffoldError(f"{where}: {label} is missing or not a table")
    return value


def _string(where: str, table: dict, key: str, label: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ScaffoldError(f"{where}: {label}: `{key}` is missing or not a string")
    return value


def _relative(where: str, path: str, label: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise ScaffoldError(f"{where}: {label}: {path} must be a relative path inside the folder, without ..")
    return pure.as_posix()


def _only_keys(where: str, table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScaffoldError(f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(allowed))}")
