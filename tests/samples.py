"""The sample crates as tests see them: a private copy without anything scaffold writes into them.

The README's set-up command generates files into sample-crates/raft-node; a test that copied those
along would start from a project that already has a Dockerfile, a compose file and answers. The
outputs left out are read from the built-in template set, so a new output is left out too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.state import STATE_DIR
from generator.templateset import load_template_set

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample-crates"


def generated_names() -> frozenset[str]:
    """Top-level names scaffold writes into a project: every built-in output, its state folder, Cargo's target."""
    outputs = {f.path.split("/", 1)[0] for f in load_template_set().files}
    return frozenset(outputs | {STATE_DIR, "target"})


def copy_sample(name: str, destination: Path, samples: Path = SAMPLES) -> Path:
    """Copy samples/<name> to destination/<name>, leaving out generated files at the crate root."""
    source = samples / name
    left_out = generated_names()

    def ignore(directory: str, names: list[str]) -> set[str]:
        if Path(directory) == source:
            return {n for n in names if n in left_out}
        return {n for n in names if n == "target"}

    target = destination / name
    shutil.copytree(source, target, ignore=ignore)
    return target
