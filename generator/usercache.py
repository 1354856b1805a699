"""The user's cache folder for what scaffold can compute again: cargo's resolutions, compiled templates.

Everything under it is keyed by its inputs, so a stale entry is never read, and a cache that cannot
be written is skipped, never an error.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache(kind: str) -> Path:
    """`$XDG_CACHE_HOME/scaffold/KIND` (default `~/.cache/scaffold/KIND`); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold" / kind
