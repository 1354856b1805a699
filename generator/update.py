"""`scaffold update`: bring new renders into files the user may have edited, by three-way merge.

For each file: base = what scaffold generated last time (.scaffold/generated/<file>), ours = the
file as it is now, theirs = the new render. Edits on one side only are taken as they are; edits
on both sides to the same lines are a conflict, written inline between <<<<<<< and >>>>>>> markers.

A node file (cluster/<service>/...) recorded last time that the new render no longer has (the cluster
shrank), or a file of a chosen target whose plan value is no longer set (k8s/files.yaml without
--node-file), is removed when it is as generated; one the user edited is a conflict and stays.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .nodefiles import FOLDER
from .render import RenderedFile
from .state import forget_generated, generated_names, read_generated, record_generated, recorded_under
from .write import atomic_write, read_existing, remove_file, unified_diff

YOURS = "yours"
_OPENING = re.compile(r"^<{7}(?: |$)")
NEW = "new render"


@dataclass(frozen=True)
class MergeResult:
    name: str
    # "new" (no file yet), "identical" (nothing to do), "updated" (no edits of yours: the new render),
    # "kept" (only your edits), "merged" (both, cleanly), "conflict" (markers, new or left from an
    # earlier update), "overwritten", "skipped",
    # "removed" (a node file no longer rendered, deleted as it was unedited or already gone)
    status: str
    ours: str | None
    theirs: str
    content: str  # what the file holds after the update
    conflicts: int  # conflicting regions left in `content`
    removed: bool = False  # the new render has no such file (theirs and content are then "" or your file)

    @property
    def changes_file(self) -> bool:
        return self.content != self.ours

    @property
    def diff(self) -> str:
        return unified_diff(self.name, self.ours, self.content)


def merge_file(name: str, base: str | None, ours: str | None, theirs: str) -> MergeResult:
    if ours is None:
        return MergeResult(name, "new", None, theirs, theirs, 0)
    unresolved = unresolved_conflicts(ours)
    if unresolved:  # an earlier update's markers: still a conflict until the user removes them
        return MergeResult(name, "conflict", ours, theirs, ours, unresolved)
    if ours == theirs:
        return MergeResult(name, "identical", ours, theirs, ours, 0)
    if base == ours:
        return MergeResult(name, "updated", ours, theirs, theirs, 0)
    if base == theirs:
        return MergeResult(name, "kept", ours, theirs, ours, 0)
    from merge3 import Merge3  # here, not at the top: `init` imports this module and should start fast

    merge = Merge3(_lines(base or ""), _lines(ours), _lines(theirs))
    conflicts = sum(1 for region in merge.merge_regions() if region[0] == "conflict")
    content = "".join(merge.merge_lines(name_a=f"{YOURS} ({name})", name_b=f"{NEW} ({name})"))
    return MergeResult(name, "conflict" if conflicts else "merged", ours, theirs, content, conflicts)


def unresolved_conflicts(text: str) -> int:
    """The conflict regions still marked in a file (a `<<<<<<<` line opens each)."""
    return sum(1 for line in text.splitlines() if _OPENING.match(line))


def removal(name: str, base: str | None, ours: str | None) -> MergeResult:
    """A file the new render no longer has: removed when it is as scaffold wrote it (or gone), else a conflict."""
    if ours is None or ours == base:
        return MergeResult(name, "removed", ours, "", "", 0, removed=True)
    return MergeResult(name, "conflict", ours, "", ours, 1, removed=True)


def plan_update(files: list[RenderedFile], output_dir: Path, dropped: Collection[str] = ()) -> list[MergeResult]:
    """Merge every new render with the file on disk, and list the node files and `dropped` files (set files whose
    `when` no longer holds) no longer rendered; reads only."""
    results = []
    for file in files:
        base = read_generated(output_dir, file.name)
        results.append(merge_file(file.name, base, read_existing(output_dir / file.name), file.content))
    rendered = {file.name for file in files}
    recorded = set(generated_names(output_dir))
    for name in (*recorded_under(output_dir, FOLDER), *(d for d in dropped if d in recorded)):
        if name not in rendered:
            results.append(removal(name, read_generated(output_dir, name), read_existing(output_dir / name)))
    return results


def no_longer_generated(files: list[RenderedFile], output_dir: Path, dropped: Collection[str] = ()) -> list[str]:
    """Files an earlier run generated that this one does not (a dropped --target), still there: left alone, and said."""
    rendered = {f.name for f in files} | set(dropped)
    return [name for name in generated_names(output_dir) if name not in rendered and (output_dir / name).is_file()]


def overwrite(result: MergeResult) -> MergeResult:
    """Resolve a conflict by taking the new render (your edits to this file are dropped; a removed one is deleted)."""
    status = "removed" if result.removed else "overwritten"
    return MergeResult(result.name, status, result.ours, result.theirs, result.theirs, 0, result.removed)


def skip(result: MergeResult) -> MergeResult:
    """Resolve a conflict by keeping your file as it is (a removed node file becomes yours: no longer managed)."""
    return MergeResult(result.name, "skipped", result.ours, result.theirs, result.ours or "", 0, result.removed)


def apply_update(results: list[MergeResult], output_dir: Path) -> None:
    """Write the merged files and delete the removed ones, then record the new renders as the next update's base.

    A removed node file left in conflict keeps its record, so the next update asks again until you delete it."""
    for result in results:
        if result.removed and result.status == "removed":
            remove_file(output_dir / result.name, output_dir)
        elif not result.removed and result.changes_file:
            atomic_write(output_dir / result.name, result.content)
    for result in results:
        if result.removed and not result.conflicts:
            forget_generated(output_dir, result.name)
    record_generated([RenderedFile(r.name, r.theirs) for r in results if not r.removed], output_dir)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)
