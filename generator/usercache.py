"""The user's cache folder for what scaffold can compute again: cargo's resolutions, compiled templates,
the loopback check's findings.

Everything under it is keyed by its inputs, so a stale entry is never read, and a cache that cannot
be written is skipped, never an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def user_cache(kind: str) -> Path:
    """`$XDG_CACHE_HOME/scaffold/KIND` (default `~/.cache/scaffold/KIND`); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold" / kind


def write_json(path: Path, data: object) -> None:
    """Atomically (a reader sees the old file or the new one); a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
