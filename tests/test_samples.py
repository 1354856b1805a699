"""The README's set-up command writes into sample-crates/; the tests that follow must not see its output."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tests.samples import REPO, SAMPLES, copy_sample, generated_names


def readme_command(marker: str) -> str:
    """The shell command in the code block right after `<!-- marker -->` in README.md (what .ci/run reads)."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = lines.index(f"<!-- {marker} -->")
    assert lines[start + 1].startswith("```"), f"README.md: no code block after <!-- {marker} -->"
    return lines[start + 2]


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_readme_has_the_two_set_up_commands():
    setup, tests = readme_command("setup-command"), readme_command("test-command")
    assert "pip install ." in setup and " scaffold init " in f" {setup}"
    assert "pytest" in tests


def test_copies_leave_out_what_the_readme_set_up_command_writes(tmp_path):
    # Replay the set-up command's scaffold step on a copy of sample-crates/, as a newcomer's clone has it.
    # A newcomer's clone holds none of the files (the repository's own sample folders may, from an
    # earlier run of the set-up command by an older scaffold).
    clone = tmp_path / "clone"
    for sample in (p for p in SAMPLES.iterdir() if p.is_dir()):
        copy_sample(sample.name, clone / "sample-crates")
    scaffold_step = next(part for part in readme_command("setup-command").split("&&") if part.split()[0] == "scaffold")
    args = shlex.split(scaffold_step)[1:]
    done = subprocess.run([sys.executable, "-m", "generator.main", *args], cwd=clone, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    crate = (clone / args[1]).resolve()  # the sample the command generated into
    written = [line.split()[-1] for line in done.stdout.splitlines() if line.strip() and line.split()[-1].startswith("/")]
    reported = [Path(path).relative_to(crate) for path in written]  # the status lines, not the summary after them
    assert reported, f"the set-up command reported no files: this test no longer replays it\n{done.stdout}"
    assert {p.parts[0] for p in reported} <= generated_names()
    touched = crate.name

    copied = copy_sample(touched, tmp_path / "copy", samples=clone / "sample-crates")
    assert not [p for p in reported if (copied / p).exists()], "a copy carries files the set-up command wrote"
    # ...and nothing else is left out: every source file of the sample is in the copy.
    sources = {f for f in files_under(crate) if f.split("/", 1)[0] not in {"target", *{p.parts[0] for p in reported}}}
    assert files_under(copied) == sources
