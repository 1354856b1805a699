"""`init --output-dir` outside the project, on a real engine: Compose v2 builds the project from the output
folder, and BuildKit reads the ignore file written beside the Dockerfile (`Dockerfile.dockerignore`), so
planted secrets never reach the engine although nothing was written into the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.samples import copy_sample

REPO = Path(__file__).resolve().parents[2]
PLANTED = (".env", "deploy/server.pem", "keys/id_rsa", "target/release/leftover")


def _received(docker, context: Path, beside: Path) -> set[str]:
    """The files the engine receives for a build of `context` whose Dockerfile sits in `beside`, with the
    ignore file generated there: a `FROM scratch` probe Dockerfile takes the generated one's ignore file."""
    probe = beside / "probe.Dockerfile"
    probe.write_text("FROM scratch\nCOPY . /\n")
    (beside / "probe.Dockerfile.dockerignore").write_text((beside / "Dockerfile.dockerignore").read_text())
    with tempfile.TemporaryDirectory(prefix="scaffold-ctx-") as out:
        built = docker.engine.cmd("build", "--progress=plain", "-f", str(probe), "--output", f"type=local,dest={out}", str(context))
        assert built.returncode == 0, built.stderr[-2000:]
        return {os.path.relpath(os.path.join(root, name), out) for root, _dirs, files in os.walk(out) for name in files}


def test_compose_builds_the_project_from_an_output_dir_outside_it(docker, compose_bin, tmp_path):
    crate = copy_sample("hello-bin", tmp_path)
    for relative in PLANTED:
        (crate / relative).parent.mkdir(parents=True, exist_ok=True)
        (crate / relative).write_text("must not be sent\n")
    out = tmp_path / "elsewhere" / "deploy"
    result = subprocess.run([sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "-q", "--nodes", "1",
                             "--output-dir", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert not (crate / ".dockerignore").exists() and not (crate / "Dockerfile").exists()

    received = _received(docker, crate, out)
    assert "Cargo.toml" in received and "src/main.rs" in received
    assert not received & set(PLANTED), f"sent to the engine: {sorted(received & set(PLANTED))}"

    image = docker.tag("hello-output-dir")
    override = tmp_path / "tag.override.yml"
    override.write_text(f"services:\n  hello-bin-0:\n    image: {json.dumps(image)}\n")
    files = [str(out / "docker-compose.yml"), str(override)]
    built = docker.compose(out, "build", files=files, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    ran = docker.run(image)
    assert ran.returncode == 0 and "hello from hello-bin" in ran.stdout, ran.stderr
