"""Stage 4: the only stage that touches the disk. Compares, reports, and writes atomically."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ScaffoldError
from .render import RenderedFile


@dataclass(frozen=True)
class FileOutcome:
    name: str
    status: str  # "new", "identical", "changed" (overwritten with --force) or "conflict"
    diff: str


def compare(files: list[RenderedFile], output_dir: Path) -> list[FileOutcome]:
    outcomes = []
    for file in files:
        path = output_dir / file.name
        old = _read_existing(path)
        if old is None:
            status = "new"
        elif old == file.content:
            status = "identical"
        else:
            status = "conflict"
        diff = "".join(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                file.content.splitlines(keepends=True),
                fromfile=f"a/{file.name}" if old is not None else "/dev/null",
                tofile=f"b/{file.name}",
            )
        )
        outcomes.append(FileOutcome(file.name, status, diff))
    return outcomes


def write_files(files: list[RenderedFile], output_dir: Path, *, force: bool) -> list[FileOutcome]:
    """Write every file, or none: conflicts without --force stop the run before anything is written."""
    outcomes = compare(files, output_dir)
    conflicts = [o.name for o in outcomes if o.status == "conflict"]
    if conflicts and not force:
        raise ScaffoldError(
            f"{output_dir}: {', '.join(conflicts)} already exist with other content; nothing was written. "
            "Review with --dry-run, then use --force to overwrite"
        )
    _check_writable(output_dir)
    by_name = {f.name: f for f in files}
    for outcome in outcomes:
        if outcome.status in ("new", "conflict"):
            _atomic_write(output_dir / outcome.name, by_name[outcome.name].content)
    return [FileOutcome(o.name, "changed" if o.status == "conflict" else o.status, o.diff) for o in outcomes]


def _read_existing(path: Path) -> str | None:
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ScaffoldError(f"{path}: exists and is not a regular file; move it away first")
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"{path}: cannot read the existing file ({exc}); move it away or fix its permissions") from None


def _check_writable(output_dir: Path) -> None:
    if not output_dir.is_dir():
        raise ScaffoldError(f"{output_dir}: output directory does not exist; create it or pass another --output-dir")
    if not os.access(output_dir, os.W_OK | os.X_OK):
        raise ScaffoldError(f"{output_dir}: output directory is not writable; fix its permissions or pass another --output-dir")


def _atomic_write(path: Path, content: str) -> None:
    """Write next to the target and rename over it: readers see the old file or the new one, never half."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

