"""What scaffold keeps in a project's `.scaffold/` folder, and how it names the template set there.

- `.scaffold/answers.toml`: every resolved answer, plus `_template` (which set rendered the files),
  `_template_version` and `_scaffold_version`;
- `.scaffold/generated/<file>`: each file as last generated, the base of `scaffold update`'s merge.

`_template` is `builtin` or the set's folder relative to the answers file's folder (`../templates`
for a set inside the project), so a project and its set can move together to another folder or
machine. A folder with no relative path to it (another drive on Windows) is recorded absolute.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import ScaffoldError
from .templateset import BUILTIN_IDENTITY, TemplateSet
from .tomlfile import ANSWERS_FILE, load_toml
from .write import atomic_write, read_existing, remove_file

if TYPE_CHECKING:  # the renderer and the plan load only for commands that render
    from .render import RenderedFile

STATE_DIR = ".scaffold"
ANSWERS_NAME = f"{STATE_DIR}/answers.toml"  # relative to the output directory
GENERATED_DIR = f"{STATE_DIR}/generated"


def answers_path(output_dir: Path) -> Path:
    return output_dir / ANSWERS_NAME


def read_generated(output_dir: Path, name: str) -> str | None:
    """`name` as scaffold last generated it, or None before the first run."""
    return read_existing(output_dir / GENERATED_DIR / name)


def generated_names(output_dir: Path) -> list[str]:
    """The files scaffold generated here before (it keeps their merge bases), relative to the output directory."""
    root = output_dir / GENERATED_DIR
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def record_generated(files: list[RenderedFile], output_dir: Path) -> None:
    """Keep each render as the next update's merge base (unchanged copies are not rewritten)."""
    for file in files:
        path = output_dir / GENERATED_DIR / file.name
        if read_existing(path) != file.content:
            atomic_write(path, file.content)


def recorded_under(output_dir: Path, folder: str) -> list[str]:
    """The names of the files recorded as generated inside `folder` (the node files' cluster/), sorted."""
    root = output_dir / GENERATED_DIR
    base = root / folder
    if not base.is_dir() or base.is_symlink():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file() and not p.is_symlink())


def forget_generated(output_dir: Path, name: str) -> None:
    """Drop the record of a file scaffold no longer renders."""
    remove_file(output_dir / GENERATED_DIR / name, output_dir / GENERATED_DIR)


# --- the template set's identity ------------------------------------------------------------------


def template_record(template_set: TemplateSet, answers_file: Path) -> str:
    """How the answers file at `answers_file` names the set: `builtin`, or its folder relative to the file."""
    if template_set.identity == BUILTIN_IDENTITY:
        return BUILTIN_IDENTITY
    folder = template_set.root.resolve()
    try:
        relative = os.path.relpath(folder, answers_file.parent.resolve())
    except ValueError:  # no relative path between them (different drives)
        return folder.as_posix()
    recorded = Path(relative).as_posix()
    return recorded if recorded == ".." or recorded.startswith("../") else f"./{recorded}"


def template_folder(recorded: str | None, answers_file: Path) -> Path | None:
    """The folder a recorded `_template` names (None: the built-in set), resolved against the answers file.

    Scaffold 0.1.0 recorded a set inside the output directory relative to that directory, without a
    leading `./` or `../`; such a record is still read that way.
    """
    if recorded is None or recorded == BUILTIN_IDENTITY:
        return None
    path = Path(recorded)
    if path.is_absolute():
        return path
    if recorded.startswith(("./", "../")):
        return answers_file.parent / path
    return answers_file.parent.parent / path


def stored_template(answers_file: Path) -> Path | None:
    """The template set folder the answers file names, for `update` to load before it reads the answers."""
    recorded = load_toml(answers_file, ANSWERS_FILE).get("_template")
    folder = template_folder(recorded if isinstance(recorded, str) else None, answers_file)
    if folder is not None and not folder.is_dir():
        raise ScaffoldError(
            f"{answers_file}: the template set it records ({recorded}) is not at {os.path.normpath(folder)}; "
            "pass --template DIR to say where it is now"
        )
    return folder


def same_template_set(recorded: str | None, answers_file: Path, template_set: TemplateSet) -> bool:
    """Whether the set the answers file records is `template_set` (the one comparison of set identities)."""
    folder = template_folder(recorded, answers_file)
    if folder is None or template_set.identity == BUILTIN_IDENTITY:
        return folder is None and template_set.identity == BUILTIN_IDENTITY
    return os.path.realpath(folder) == os.path.realpath(template_set.root)


# --- the scaffold that wrote the file ---------------------------------------------------------------

_RELEASE = re.compile(r"^\d+(\.\d+)*")


def newer_scaffold_warning(answers_file: Path, recorded_version: str | None) -> str | None:
    """A warning when a newer scaffold than this one wrote the answers file: it may know answers this one misreads."""
    recorded, running = _release(recorded_version), _release(__version__)
    if recorded is None or running is None or recorded <= running:
        return None
    return (
        f"{answers_file}: written by scaffold {recorded_version}, newer than this scaffold {__version__}; "
        f"upgrade scaffold to {recorded_version} or later so that no answer is misread"
    )


def _release(version: str | None) -> tuple[int, ...] | None:
    found = _RELEASE.match(version or "")
    return tuple(int(part) for part in found.group(0).split(".")) if found else None
