"""What a .dockerignore leaves out, by Docker's rules: Go filepath.Match plus `**`, anchored at the context
root, the last matching pattern wins; not gitignore's: `foo` does not exclude `src/foo`.

The planner (which patterns the generated file needs) and `scaffold check` (SC201, SC202) both match with it.
"""

from __future__ import annotations

import fnmatch
import os
import re


def patterns_of(text: str) -> list[tuple[bool, str]]:
    """A .dockerignore's patterns in order, as (negated, pattern), cleaned the way Docker cleans them."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = os.path.normpath(pattern.lstrip("/")).replace(os.sep, "/") if pattern not in ("", ".") else pattern
        patterns.append((negated, pattern))
    return patterns


def ignored(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also covers everything below a match."""
    result = False
    parts = relative.split("/")
    for negated, pattern in patterns:
        for depth in range(1, len(parts) + 1):
            if _match(pattern, "/".join(parts[:depth])):
                result = not negated
                break
    return result


def _match(pattern: str, path: str) -> bool:
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        else:
            ch = pattern[i]
            regex += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) if ch not in "[]" else ch
            i += 1
    try:
        return re.fullmatch(regex, path) is not None
    except re.error:
        return fnmatch.fnmatchcase(path, pattern)
