"""User-facing failures.

Every problem a user can cause or fix is raised as a ScaffoldError and reaches them as one line;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class ScaffoldError(Exception):
    """A problem the user can fix: says what is wrong, where, and what to do."""


class UsageError(ScaffoldError):
    """A command-line answer that cannot be used (exit status 2, like other usage errors)."""


def where(path: Path, line: int | None = None) -> str:
    return f"{path}:{line}" if line else str(path)
