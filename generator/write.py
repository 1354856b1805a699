"""Stage 4: the only stage that touches the disk. Compares, reports, and writes atomically."""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: stale files are judged by age alone
    fcntl = None  # type: ignore[assignment]

from .errors import ScaffoldError

if TYPE_CHECKING:  # the renderer and the plan load only for commands that render
    from .render import RenderedFile


@dataclass(frozen=True)
class FileOutcome:
    """What writing one file would do, with its diff against the file there."""

    name: str
    status: str  # "new", "identical", "changed" (overwritten with --force) or "conflict"
    diff: str


def compare(files: list[RenderedFile], output_dir: Path) -> list[FileOutcome]:
    outcomes = []
    for file in files:
        path = output_dir / file.name
        old = read_existing(path)
        if old is None:
            status = "new"
        elif old == file.content:
            status = "identical"
        else:
            status = "conflict"
        diff = unified_diff(file.name, old, file.content)
        outcomes.append(FileOutcome(file.name, status, diff))
    return outcomes


def write_files(files: list[RenderedFile], output_dir: Path, *, force: bool, consented: Collection[str] = ()) -> list[FileOutcome]:
    """Write every file, or none: conflicts without --force stop the run before anything is written,
    except in the files the user agreed to have overwritten (`consented`, in the wizard)."""
    outcomes = compare(files, output_dir)
    conflicts = [o.name for o in outcomes if o.status == "conflict" and o.name not in consented]
    if conflicts and not force:
        raise ScaffoldError(
            f"{output_dir}: {', '.join(conflicts)} {'exists' if len(conflicts) == 1 else 'exist'} with other content; nothing was written. "
            "Review with --dry-run, then use --force to overwrite"
        )
    _check_writable(output_dir)
    remove_stale_temporaries(output_dir, [f.name for f in files])  # what killed runs left (never on a refused run)
    by_name = {f.name: f for f in files}
    for outcome in outcomes:
        if outcome.status in ("new", "conflict"):
            atomic_write(output_dir / outcome.name, by_name[outcome.name].content)
    return [FileOutcome(o.name, "changed" if o.status == "conflict" else o.status, o.diff) for o in outcomes]


def read_existing(path: Path) -> str | None:
    """The file's text, None when there is none, or a ScaffoldError for what cannot be read or replaced."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ScaffoldError(f"{path}: exists and is not a regular file; move it away first")
    if not path.exists():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fix = "move it away or fix its permissions"
        raise ScaffoldError(f"{path}: cannot read the existing file ({exc}); {fix}") from None


def _check_writable(output_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise ScaffoldError(f"{output_dir}: output directory is not a directory; pass a folder as --output-dir")
    if not output_dir.exists():
        try:
            output_dir.mkdir(parents=True)
        except OSError as exc:
            raise ScaffoldError(f"{output_dir}: cannot create the output directory ({exc.strerror}); pass another --output-dir") from None
    if not os.access(output_dir, os.W_OK | os.X_OK):
        fix = "fix its permissions or pass another --output-dir"
        raise ScaffoldError(f"{output_dir}: output directory is not writable; {fix}")


def write_if_changed(path: Path, content: str) -> str:
    """Write one file unless it already holds `content`: "new", "identical" or "changed"."""
    old = read_existing(path)
    if old == content:
        remove_stale_temporaries(path.parent, [path.name])
        return "identical"
    atomic_write(path, content)
    return "new" if old is None else "changed"


def unified_diff(name: str, old: str | None, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}",
        )
    )


# mkstemp's names: prefix, 8 characters from [a-z0-9_], suffix. Only files named like this are ours to remove.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")
# Without flock (Windows) a temporary file untouched this long belongs to a run that died.
_STALE_AGE_SECONDS = 3600


def temporary_files(output_dir: Path, names: list[str]) -> list[Path]:
    """The temporary files a run writing `names` into output_dir creates (`.Dockerfile.k3j_x9a2.tmp`)."""
    try:
        entries = list(output_dir.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and match.group("name") in names and entry.is_file() and not entry.is_symlink():
            found.append(entry)
    return sorted(found)


def remove_stale_temporaries(output_dir: Path, names: list[str]) -> list[Path]:
    """Remove what killed runs left behind: temporary files of ours that no live run holds.

    A run holds an exclusive flock on its temporary file from creation to rename, and the kernel
    drops it when the process dies however it dies; a file whose lock we can take is stale.
    """
    removed = []
    for path in temporary_files(output_dir, names):
        try:
            if _is_stale(path):
                path.unlink()
                removed.append(path)
        except OSError:
            continue  # gone already, or not ours to remove: never a reason to fail the run
    return removed


def _is_stale(path: Path) -> bool:
    if fcntl is None:  # pragma: no cover
        import time

        return time.time() - path.stat().st_mtime > _STALE_AGE_SECONDS
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live run is writing it
    finally:
        os.close(fd)  # also releases the lock we took
    return True


def atomic_write(path: Path, content: str) -> None:
    """Write next to the target and rename over it: readers see the old file or the new one, never half.

    A kill at any instant leaves the old file or the new one, plus at most a `.NAME.XXXXXXXX.tmp`
    that the next run removes (see remove_stale_temporaries).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, [path.name])
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    for attempt in (1, 2):
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # tells other runs this file is in use
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
                os.chmod(temporary, mode)
                # Renamed while still open, so the lock covers the file until it has its final name.
                os.replace(temporary, path)
        except FileNotFoundError:
            # Another run took our temporary file for stale in the instant before we locked it: start over once.
            Path(temporary).unlink(missing_ok=True)
            if attempt == 2:
                raise
            continue
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)
        return


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable: after a power cut the directory must not point at the old file."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def remove_file(path: Path, keep: Path) -> None:
    """Delete a file scaffold wrote and no longer renders, then the folders it leaves empty, up to `keep`."""
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != keep and folder.is_relative_to(keep):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty, or not ours to remove
        folder = folder.parent
