"""write: nothing is overwritten without --force, identical files are left alone, writes are atomic."""

from __future__ import annotations

import os
import stat

import pytest

from generator.errors import ScaffoldError
from generator.render import RenderedFile
from generator.write import compare, write_files

FILES = [RenderedFile("Dockerfile", "FROM scratch\n"), RenderedFile(".dockerignore", "target\n")]


def test_new_files_are_written(tmp_path):
    outcomes = write_files(FILES, tmp_path, force=False)
    assert [(o.name, o.status) for o in outcomes] == [("Dockerfile", "new"), (".dockerignore", "new")]
    assert (tmp_path / "Dockerfile").read_text() == "FROM scratch\n"
    assert (tmp_path / ".dockerignore").read_text() == "target\n"


def test_identical_files_are_reported_and_untouched(tmp_path):
    write_files(FILES, tmp_path, force=False)
    before = (tmp_path / "Dockerfile").stat().st_mtime_ns
    outcomes = write_files(FILES, tmp_path, force=False)
    assert {o.status for o in outcomes} == {"identical"}
    assert (tmp_path / "Dockerfile").stat().st_mtime_ns == before


def test_conflict_without_force_writes_nothing(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM mine\n")
    with pytest.raises(ScaffoldError, match="Dockerfile exists with other content"):
        write_files(FILES, tmp_path, force=False)
    assert (tmp_path / "Dockerfile").read_text() == "FROM mine\n"
    assert not (tmp_path / ".dockerignore").exists()  # not even the files that had no conflict


def test_force_overwrites_and_keeps_permissions(tmp_path):
    target = tmp_path / "Dockerfile"
    target.write_text("FROM mine\n")
    target.chmod(0o600)
    outcomes = write_files(FILES, tmp_path, force=True)
    assert outcomes[0].status == "changed"
    assert target.read_text() == "FROM scratch\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_compare_shows_a_unified_diff(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM mine\n")
    diff = compare(FILES, tmp_path)[0].diff
    assert diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n")
    assert "-FROM mine\n+FROM scratch\n" in diff


def test_no_temporary_files_are_left_behind(tmp_path):
    write_files(FILES, tmp_path, force=False)
    assert sorted(os.listdir(tmp_path)) == [".dockerignore", "Dockerfile"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "Dockerfile"
    target.write_text("FROM mine\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_files(FILES, tmp_path, force=True)
    assert target.read_text() == "FROM mine\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_missing_output_dir_is_made(tmp_path):
    write_files(FILES, tmp_path / "new" / "folder", force=False)
    assert sorted(p.name for p in (tmp_path / "new" / "folder").iterdir()) == sorted(f.name for f in FILES)


def test_an_output_dir_that_cannot_be_made_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x\n")
    with pytest.raises(ScaffoldError, match="cannot create the output directory"):
        write_files(FILES, tmp_path / "file" / "nope", force=False)


def test_a_directory_in_the_way_is_refused(tmp_path):
    (tmp_path / "Dockerfile").mkdir()
    with pytest.raises(ScaffoldError, match="not a regular file"):
        write_files(FILES, tmp_path, force=True)
