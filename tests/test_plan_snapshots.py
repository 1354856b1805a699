"""`scaffold plan --json` for every fixture crate and sample crate, compared with a reviewed snapshot.

The snapshots in tests/snapshots/ are what the plan (and so every template) sees for each project
with the default answers. A change to the plan shows up here as a diff to review. To accept an
intended change, regenerate them and review the diff before committing:

    SCAFFOLD_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_plan_snapshots.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import REPO, SAMPLES, run_scaffold
from generator import pipeline
from generator.answersfile import Layer
from generator.errors import ScaffoldError
from generator.plan import SCHEMA_VERSION, as_data
from generator.templateset import load_template_set

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
MANIFESTS = Path(__file__).resolve().parent / "manifests"
PROJECTS = {
    **{f"sample-{p.name}": p for p in sorted(SAMPLES.iterdir()) if (p / "Cargo.toml").is_file()},
    **{p.name: p for p in sorted(MANIFESTS.iterdir()) if (p / "Cargo.toml").is_file()},
}
UPDATING = os.environ.get("SCAFFOLD_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(autouse=True)
def without_cargo(monkeypatch, tmp_path):
    """The same snapshot on every machine: cargo's answers depend on its local cache (tests/test_cargoresolve.py)."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def plan_json(project: Path, **flags: object) -> str | None:
    """The plan as `scaffold plan --json` prints it, or None for a project that has no plan (an error)."""
    try:
        generated = pipeline.generate(pipeline.open_project(project), load_template_set(), [Layer("flags", flags)])
    except ScaffoldError:
        return None
    return json.dumps(as_data(generated.plan, generated.project.facts.root), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_the_plan_matches_its_snapshot(name):
    text = plan_json(PROJECTS[name])
    snapshot = SNAPSHOTS / f"{name}.json"
    if UPDATING:
        if text is None:
            snapshot.unlink(missing_ok=True)
        else:
            snapshot.write_text(text, encoding="utf-8")
    if text is None:
        assert not snapshot.exists(), (
            f"{name} has no plan any more; remove {snapshot.name} (or regenerate with SCAFFOLD_UPDATE_SNAPSHOTS=1)"
        )
        return
    assert snapshot.is_file(), f"no snapshot for {name}; create it with SCAFFOLD_UPDATE_SNAPSHOTS=1 and review it"
    assert text == snapshot.read_text(encoding="utf-8"), (
        f"the plan of {name} differs from tests/snapshots/{snapshot.name}; "
        "if intended, rerun with SCAFFOLD_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_every_snapshot_belongs_to_a_project():
    assert {p.stem for p in SNAPSHOTS.glob("*.json")} <= set(PROJECTS)


def test_the_snapshots_cover_fixtures_that_plan_and_ones_that_do_not():
    planned = {p.stem for p in SNAPSHOTS.glob("*.json")}
    assert {"sample-raft-node", "sample-workspace", "pq", "ws-globs"} <= planned
    assert not {"sample-lib-only", "ambiguous", "foreign-target"} & planned  # these stop with an error


@pytest.mark.skipif(UPDATING, reason="snapshots are being rewritten")
def test_a_plan_change_breaks_the_snapshot():
    changed = plan_json(PROJECTS["sample-raft-node"], nodes=5)
    assert changed is not None and changed != (SNAPSHOTS / "sample-raft-node.json").read_text(encoding="utf-8")


def test_the_command_prints_the_same_data_without_absolute_paths():
    result = run_scaffold("plan", str(SAMPLES / "workspace"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema_version"] == SCHEMA_VERSION
    assert result.stdout == plan_json(SAMPLES / "workspace")
    assert str(REPO) not in result.stdout
    assert data["outputs"] == [f.path for f in load_template_set().files if f.rendered_for(("compose",))]


def test_no_snapshot_holds_an_absolute_path():
    for snapshot in SNAPSHOTS.glob("*.json"):
        assert str(REPO) not in snapshot.read_text(encoding="utf-8"), snapshot.name


def test_the_summary_names_the_decisions():
    result = run_scaffold("plan", str(SAMPLES / "raft-node"), "--runtime", "alpine", "--nodes", "5")
    assert result.returncode == 0, result.stderr
    assert "alpine:3.22" in result.stdout and "5 node(s)" in result.stdout and "/usr/local/bin/raft-node" in result.stdout
