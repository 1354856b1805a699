"""`.scaffold/`: where the template set is recorded, how update finds it again, and the version warning."""

from __future__ import annotations

import os
import tomllib

import pytest

from conftest import run_scaffold
from generator import __version__
from generator.state import answers_path, newer_scaffold_warning, same_template_set, template_folder, template_record
from generator.templateset import export_builtin, load_template_set


def bump(templates, old: str = "2.2", new: str = "2.3") -> None:
    manifest = templates / "template.toml"
    text = manifest.read_text()
    assert f'version = "{old}"' in text
    manifest.write_text(text.replace(f'version = "{old}"', f'version = "{new}"'))


def recorded(crate) -> dict:
    return tomllib.loads(answers_path(crate).read_text())


def init(crate, *args: str) -> None:
    result = run_scaffold("init", str(crate), "--no-input", *args)
    assert result.returncode == 0, result.stderr


def test_a_set_inside_the_project_reports_its_version_bump(sample):
    crate = sample("raft-node")
    templates = crate / "templates" / "mine"
    export_builtin(templates)
    init(crate, "--template", str(templates))
    assert recorded(crate)["_template"] == "../templates/mine"  # relative to .scaffold/
    bump(templates)
    result = run_scaffold("update", str(crate))
    assert result.returncode == 0, result.stderr
    assert f"template set {load_template_set(templates).name}: 2.2 -> 2.3" in result.stdout
    assert recorded(crate)["_template_version"] == load_template_set(templates).version


def test_a_set_outside_the_project_is_recorded_relatively_and_moves_with_it(sample, tmp_path):
    crate = sample("raft-node")  # tmp_path/raft-node
    templates = tmp_path / "templates"
    export_builtin(templates)
    init(crate, "--template", str(templates))
    assert recorded(crate)["_template"] == "../../templates"
    # The project and its set move together, as on another machine; the old place is gone.
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    os.rename(crate, moved / crate.name)
    os.rename(templates, moved / "templates")
    with (moved / "templates" / "Dockerfile.j2").open("a") as template:
        template.write("# the moved set\n")
    bump(moved / "templates")
    result = run_scaffold("update", str(moved / crate.name))
    assert result.returncode == 0, result.stderr
    assert "2.2 -> 2.3" in result.stdout
    assert (moved / crate.name / "Dockerfile").read_text().endswith("# the moved set\n")
    assert recorded(moved / crate.name)["_template"] == "../../templates"


def test_a_newer_scaffold_that_wrote_the_answers_file_is_one_warning(sample):
    crate = sample("raft-node")
    init(crate)
    quiet = run_scaffold("update", str(crate))
    assert quiet.returncode == 0 and "newer" not in quiet.stderr
    answers = answers_path(crate)
    text = answers.read_text()
    assert f'_scaffold_version = "{__version__}"' in text
    answers.write_text(text.replace(f'_scaffold_version = "{__version__}"', '_scaffold_version = "99.0.0"'))
    result = run_scaffold("update", str(crate))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "99.0.0" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and f"this scaffold {__version__}" in warnings[0]


@pytest.mark.parametrize(
    ("version", "warns"),
    [("99.0.0", True), ("0.99", True), (__version__, False), ("0.0.1", False), (None, False), ("unknown", False)],
)
def test_which_recorded_versions_are_newer(tmp_path, version, warns):
    assert (newer_scaffold_warning(tmp_path / "answers.toml", version) is not None) == warns


def test_records_resolve_against_the_answers_file(tmp_path):
    answers = tmp_path / "out" / ".scaffold" / "answers.toml"
    assert template_folder("../templates", answers) == tmp_path / "out" / ".scaffold" / ".." / "templates"
    assert template_folder("./sets/mine", answers) == tmp_path / "out" / ".scaffold" / "sets" / "mine"
    assert template_folder((tmp_path / "sets").as_posix(), answers) == tmp_path / "sets"
    assert template_folder("builtin", answers) is None and template_folder(None, answers) is None
    # What scaffold 0.1.0 wrote for a set inside the output directory: relative to that directory.
    assert template_folder("templates/mine", answers) == tmp_path / "out" / "templates" / "mine"


def test_one_comparison_for_the_same_template_set(tmp_path):
    export_builtin(tmp_path / "a")
    export_builtin(tmp_path / "b")
    answers = tmp_path / "project" / ".scaffold" / "answers.toml"
    mine, other, builtin = load_template_set(tmp_path / "a"), load_template_set(tmp_path / "b"), load_template_set()
    record = template_record(mine, answers)
    assert record == "../../a"
    assert same_template_set(record, answers, mine)
    assert same_template_set(str((tmp_path / "a").resolve()), answers, mine)  # an absolute record
    assert not same_template_set(record, answers, other)
    assert not same_template_set(record, answers, builtin) and not same_template_set("builtin", answers, mine)
    assert same_template_set("builtin", answers, builtin) and same_template_set(None, answers, builtin)


def test_a_set_with_no_relative_path_is_recorded_absolute(tmp_path, monkeypatch):
    export_builtin(tmp_path / "a")
    mine = load_template_set(tmp_path / "a")

    def across_drives(path, start):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", across_drives)
    answers = tmp_path / "project" / ".scaffold" / "answers.toml"
    assert template_record(mine, answers) == (tmp_path / "a").resolve().as_posix()


def test_a_recorded_set_that_is_gone_says_how_to_name_it(sample, tmp_path):
    crate = sample("raft-node")
    templates = tmp_path / "templates"
    export_builtin(templates)
    init(crate, "--template", str(templates))
    os.rename(templates, tmp_path / "renamed")
    result = run_scaffold("update", str(crate))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "../../templates" in result.stderr and "--template" in result.stderr
    again = run_scaffold("update", str(crate), "--template", str(tmp_path / "renamed"))
    assert again.returncode == 0, again.stderr
