"""The one TOML reader: Cargo's files, the answers and defaults files and template manifests.

Every failure is one ScaffoldError that names the file (and the line when known) and says what to
do. The parser is `tomli`, the declared dependency (Python 3.11's `tomllib` is the same code), so
what the project declares is what runs.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli

from .errors import ScaffoldError

# Cargo manifests and lock files of real projects are well under this; anything bigger is not one.
MAX_TOML_BYTES = 8 * 1024 * 1024

_LINE_IN_MESSAGE = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class TomlKind:
    """What a file is, for the messages: its name, the tool that has to read it, whether empty is fine."""

    name: str
    reader: str
    may_be_empty: bool = False


CARGO_FILE = TomlKind("Cargo file", "cargo")
TOOLCHAIN_FILE = TomlKind("toolchain file", "rustup")
ANSWERS_FILE = TomlKind("answers file", "scaffold", may_be_empty=True)
USER_DEFAULTS = TomlKind("user defaults file", "scaffold", may_be_empty=True)
TEMPLATE_MANIFEST = TomlKind("template manifest", "scaffold")


def read_text(path: Path, kind: TomlKind = CARGO_FILE) -> str:
    """A small UTF-8 text file, or a ScaffoldError saying why it cannot be one."""
    try:
        info = path.stat()  # follows symlinks: a loop raises ELOOP, a dangling link ENOENT
        if not stat.S_ISREG(info.st_mode):
            fix = f"move it away or replace it with the {kind.name} {kind.reader} expects"
            raise ScaffoldError(f"{path}: not a regular file; {fix}")
        size = info.st_size
        if size > MAX_TOML_BYTES:
            raise ScaffoldError(f"{path}: {size} bytes is too large for a {kind.name}; check that it is the right file")
        raw = path.read_bytes()
    except OSError as exc:
        reason = f"cannot read the {kind.name} ({exc.strerror or exc})"
        raise ScaffoldError(f"{path}: {reason}; check that it exists and is readable") from None
    except ValueError:
        raise ScaffoldError(f"{path!r}: not a usable file name") from None
    if len(raw) > MAX_TOML_BYTES:  # grew while we looked, or a special file that reports size 0
        limit = f"more than {MAX_TOML_BYTES} bytes"
        raise ScaffoldError(f"{path}: {limit} is too large for a {kind.name}; check that it is the right file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScaffoldError(f"{path}:{line}: not UTF-8 text; a {kind.name} must be UTF-8") from None
    return text.removeprefix("\ufeff")  # a byte-order mark from Windows editors; Cargo accepts it


def load_toml(path: Path, kind: TomlKind = CARGO_FILE) -> dict[str, Any]:
    """The file's tables, or a ScaffoldError pointing at the file and line."""
    text = read_text(path, kind)
    fix = f"fix the file so that {kind.reader} can read it"
    if not kind.may_be_empty and not text.strip():
        raise ScaffoldError(f"{path}: the file is empty; {kind.reader} needs it as a {kind.name}")
    try:
        return tomli.loads(text)
    except RecursionError:
        raise ScaffoldError(f"{path}: arrays or tables nested too deeply to read; {fix}") from None
    except tomli.TOMLDecodeError as exc:
        message = str(exc)
        found = _LINE_IN_MESSAGE.search(message)
        line = int(found.group(1)) if found else text.count("\n") + 1
        reason = _LINE_IN_MESSAGE.sub("", message).replace("(at end of document)", "at end of file").strip()
        raise ScaffoldError(f"{path}:{line}: invalid TOML in the {kind.name} ({reason}); {fix}") from None
