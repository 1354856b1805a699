"""`init --output-dir`: the folder is made, the compose build points back at the project, and nothing is
written into the project (the ignore file goes beside the Dockerfile, where BuildKit reads it)."""

from __future__ import annotations

import json
import subprocess

import pytest
from test_bad_input import snapshot

from conftest import make_crate, run_scaffold
from validators import compose_binary

BUILT = ("Dockerfile", "Dockerfile.dockerignore", "docker-compose.yml")


def resolved(folder) -> dict:
    """What Compose v2 makes of the compose file in `folder` (paths resolved against the folder)."""
    result = subprocess.run(
        [str(compose_binary()), "-p", "scaffold-output-dir", "config", "--format", "json"],
        cwd=folder, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_output_dir_is_made_and_the_build_points_back_at_the_project(sample, tmp_path, where):
    crate = sample("raft-node")
    out = (tmp_path / "elsewhere" / "deploy") if where == "outside" else (crate / "deploy" / "compose")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", "-q", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert all((out / name).is_file() for name in BUILT) and not (out / ".dockerignore").exists()
    after = snapshot(crate)
    if where == "outside":
        assert after == before  # nothing written into the project
    for service in resolved(out)["services"].values():
        build = service["build"]
        assert build["context"] == str(crate)
        assert (crate / build["dockerfile"]).resolve() == (out / "Dockerfile").resolve()
    compose = (out / "docker-compose.yml").read_text()
    assert str(tmp_path) not in compose  # relative paths: the folders can move together
    ignore = (out / "Dockerfile.dockerignore").read_text().splitlines()
    if where == "inside":  # the outputs inside the context are left out of it by their path from the root
        assert {"deploy/compose/Dockerfile", "deploy/compose/docker-compose.yml", "deploy/compose/.scaffold"} <= set(ignore)
    else:
        assert "Dockerfile" not in ignore and ".scaffold" not in ignore
    assert "**/.env" in ignore


def test_the_readme_replay_example_runs(sample, tmp_path):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input", "-q").returncode == 0
    copy = tmp_path / "copy"
    result = run_scaffold("init", "--no-input", "--answers", ".scaffold/answers.toml", "--output-dir", str(copy), cwd=crate)
    assert result.returncode == 0, result.stderr
    assert (copy / "docker-compose.yml").read_text().count("NODE_ID") == 3


def test_an_output_dir_that_cannot_be_made_is_one_line(tmp_path):
    crate = tmp_path / "crate"
    (tmp_path / "file").write_text("a file, not a folder\n")
    make_crate(crate)
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input", "--output-dir", str(tmp_path / "file" / "deploy"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and "--output-dir" in result.stderr
    assert snapshot(tmp_path) == before


def test_the_summary_says_where_to_start_the_cluster(sample, tmp_path):
    crate = sample("raft-node")
    out = tmp_path / "deploy"
    result = run_scaffold("init", str(crate), "--no-input", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert f"start:      cd {out} && docker compose up -d --build" in result.stdout
    here = run_scaffold("init", str(crate), "--no-input")
    assert "start:      docker compose up -d --build" in here.stdout
