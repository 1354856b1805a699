"""The wizard: `scaffold init` on a terminal asks each question with questionary.

Only imported when the wizard runs (questionary and prompt_toolkit take a while to load).
Ctrl-C raises KeyboardInterrupt out of every prompt; the CLI turns it into exit status 130.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import questionary

from .answers import CustomValue
from .inspect import Binary
from .questions import Question, SoFar, parse_text, validator
from .update import MergeResult
from .write import unified_diff


@dataclass(frozen=True)
class Wizard:
    """Prompts bound to a terminal (or, in tests, to a pipe input and a dummy output)."""

    input: Any = None
    output: Any = None

    def _io(self) -> dict[str, Any]:
        return {key: value for key, value in (("input", self.input), ("output", self.output)) if value is not None}

    def ask(self, question: Question, default: CustomValue | None, so_far: SoFar, offered: Sequence[str] = ()) -> CustomValue | None:
        """One question; `offered` (what the project declares) turns a list question into a checklist."""
        message = f"{question.help}"
        help_of = question.choice_help
        if question.type == "choice":
            choices = question.choices_for(so_far)
            start = default if default in choices else choices[0]
            return self._select(message, [(c, help_of.get(c)) for c in choices], start)
        if question.type == "bool" and help_of:
            picked = self._select(message, [(word, help_of.get(word)) for word in ("yes", "no")], "yes" if default else "no")
            return picked == "yes"
        if question.type == "bool":
            return questionary.confirm(message, default=bool(default), **self._io()).unsafe_ask()
        if question.type == "list" and offered:
            chosen = default if isinstance(default, tuple) else ()
            items = dict.fromkeys((*offered, *chosen))  # an earlier answer the project no longer declares stays visible
            boxes = [questionary.Choice(item, value=item, checked=item in chosen) for item in items]
            return tuple(questionary.checkbox(message, choices=boxes, **self._io()).unsafe_ask())
        text = questionary.text(
            message, default=_as_text(question, default), validate=validator(question, so_far), **self._io()
        ).unsafe_ask()
        if question.type == "str" and question.default is None and not text.strip():
            return None  # left empty: unset, as when its flag is not given
        return parse_text(question, text)

    def _select(self, message: str, choices: Sequence[tuple[str, str | None]], start: str) -> str:
        """A choice per line, each with its description beside it."""
        width = max(len(value) for value, _ in choices)
        titled = [questionary.Choice(f"{value:<{width}}  {text}" if text else value, value=value) for value, text in choices]
        default = next(c for c in titled if c.value == start)
        return questionary.select(message, choices=titled, default=default, **self._io()).unsafe_ask()

    def confirm(self, message: str, default: bool = True) -> bool:
        return questionary.confirm(message, default=default, **self._io()).unsafe_ask()

    def existing_file(self, name: str, diff: str) -> str:
        """What to do with a file that is there with other content: "overwrite" or "skip" (after any number of diffs)."""
        choices = [
            questionary.Choice("overwrite: replace it with the generated file", value="overwrite"),
            questionary.Choice("skip: keep your file as it is", value="skip"),
            questionary.Choice("show the diff between your file and the generated one", value="diff"),
        ]
        while True:
            choice = questionary.select(f"{name} exists with other content.", choices=choices, **self._io()).unsafe_ask()
            if choice != "diff":
                return choice
            print(diff or "(no difference)")

    def ask_binary(self, binaries: Sequence[Binary], default: Binary | None) -> Binary:
        choices = [questionary.Choice(f"{b.name} (package {b.package})", value=i) for i, b in enumerate(binaries)]
        start = binaries.index(default) if default in binaries else None
        index = questionary.select(
            "Binary to build and run:", choices=choices, default=choices[start] if start is not None else None, **self._io()
        ).unsafe_ask()
        return binaries[index]

    def resolve_conflict(self, result: MergeResult) -> str:
        """What to do with a file whose edits conflict: "overwrite", "skip" or "merge" (markers)."""
        choices = [
            questionary.Choice("merge: write both versions between conflict markers", value="merge"),
            questionary.Choice("overwrite: take the new render, drop your edits to this file", value="overwrite"),
            questionary.Choice("skip: keep your file as it is", value="skip"),
            questionary.Choice("show the diff between your file and the new render", value="diff"),
        ]
        while True:
            choice = questionary.select(
                f"{result.name}: your edits conflict with the new render ({result.conflicts} place(s)).",
                choices=choices,
                **self._io(),
            ).unsafe_ask()
            if choice != "diff":
                return choice
            print(unified_diff(result.name, result.ours, result.theirs) or "(no difference)")


def _as_text(question: Question, value: CustomValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        if question.separator is None or any(question.separator in item for item in value if question.separator != " "):
            return json.dumps(list(value)) if value else ""  # listtext reads a JSON array back as these items
        return (question.separator if question.separator == " " else ", ").join(value)
    return str(value)
