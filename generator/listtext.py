"""List answers typed on one line (`--data key=...`, a wizard prompt), including values that hold the separator."""

from __future__ import annotations

import json

from .errors import UsageError


def parse_list_text(name: str, text: str, separator: str | None) -> tuple[str, ...]:
    """A list answer typed on one line (`--data`, a prompt).

    `[...]` is a JSON array of strings, for values that hold the separator (`node_env=["A=1,2","B=x"]`).
    Otherwise the text is split on `separator`, or is one item when the question has none (templates,
    which hold commas too often for any separator to be safe).
    """
    text = text.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name} {text[:60]!r}: starts with [ but is not a JSON array ({exc.msg}); "
                             'write a list as ["one", "two"] and a single value that starts with [ as ["[...]"]') from None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise UsageError(f"{name} {text[:60]!r}: expected a JSON array of strings")
        return tuple(items)
    if separator is None:
        return (text,) if text else ()
    parts = text.split(separator) if separator != " " else text.split()
    return tuple(part.strip() for part in parts if part.strip())
