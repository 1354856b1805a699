"""Reading the TOML files a Cargo project is made of, with errors that point at file and line."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import ScaffoldError

# Cargo manifests and lock files of real projects are well under this; anything bigger is not one.
MAX_TOML_BYTES = 8 * 1024 * 1024

_LINE_IN_MESSAGE = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_text(path: Path, kind: str = "TOML files") -> str:
    """A small UTF-8 text file, or a ScaffoldError saying why it cannot be one."""
    try:
        info = path.stat()  # follows symlinks: a loop raises ELOOP, a dangling link ENOENT
        if not stat.S_ISREG(info.st_mode):
            raise ScaffoldError(f"{path}: not a regular file; move it away or replace it with the file Cargo expects")
        size = info.st_size
        if size > MAX_TOML_BYTES:
            raise ScaffoldError(f"{path}: {size} bytes is too large for a Cargo file; check that it is the right file")
        raw = path.read_bytes()
    except OSError as exc:
        raise ScaffoldError(f"{path}: cannot read it ({exc.strerror or exc}); check that it exists and is readable") from None
    except ValueError:
        raise ScaffoldError(f"{path!r}: not a usable file name") from None
    if len(raw) > MAX_TOML_BYTES:  # grew while we looked, or a special file that reports size 0
        raise ScaffoldError(f"{path}: more than {MAX_TOML_BYTES} bytes is too large for a Cargo file; check that it is the right file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScaffoldError(f"{path}:{line}: not UTF-8 text; {kind} must be UTF-8") from None
    return text.removeprefix("\ufeff")  # a byte-order mark from Windows editors; Cargo accepts it


def load_toml(path: Path) -> dict[str, Any]:
    text = read_text(path)
    if not text.strip():
        raise ScaffoldError(f"{path}: the file is empty; Cargo needs it to describe the project")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ScaffoldError(f"{path}: arrays or tables nested too deeply to read; fix the file so that cargo can read it") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _LINE_IN_MESSAGE.search(message)
        line = int(found.group(1)) if found else text.count("\n") + 1
        reason = _LINE_IN_MESSAGE.sub("", message).replace("(at end of document)", "at end of file").strip()
        location = f"{path}:{line}"
        raise ScaffoldError(f"{location}: invalid TOML ({reason}); fix the file so that cargo can read it") from None
