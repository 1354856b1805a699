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


class AnswerError(UsageError):
    """One question's answer failed its checks: the wizard needs to know which question, to ask it again."""

    def __init__(self, question: str, message: str) -> None:
        super().__init__(message)
        self.question = question


def where(path: Path, line: int | None = None) -> str:
    """A place in a file as messages name it: path:line, or the path alone."""
    return f"{path}:{line}" if line else str(path)


def resolve(path: Path, what: str | None = None) -> Path:
    """Path.resolve(), with a symlink loop or an unusable name reported as the user's problem.

    `what` says where the path came from (for example "workspace member `x`"); the message names the path.
    """
    try:
        return path.resolve()
    except RuntimeError:  # Python before 3.13 reports a symlink loop this way
        problem = "is a symlink loop"
    except ValueError:  # an embedded NUL byte
        problem = "is not a usable file name"
    except OSError as exc:
        problem = f"cannot be followed ({exc.strerror or exc})"
    source = f" ({what})" if what else ""
    raise ScaffoldError(f"{path}{source} {problem}; fix or remove it") from None


def broken_symlink(path: Path) -> bool:
    """A symlink that leads nowhere: a loop or a missing target."""
    try:
        return path.is_symlink() and not path.exists()
    except (OSError, ValueError):
        return True
