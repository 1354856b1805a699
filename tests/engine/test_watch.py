"""`docker compose watch` on a generated cluster (real Compose v2): a source edit rebuilds the image and
recreates every node, and the build is shared by the nodes.

Compose's `action: rebuild` needs `build:` on each watched service, so every node carries the same
build and image tag. Which containers run, and what their binary prints, is read from the engine,
never from Compose's progress output; every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.engine.test_cluster import free_port_range, scaffold_init
from tests.samples import copy_sample

NODES = 2
EDIT_FROM = 'println!("{NAME} {VERSION}")'


def _containers(docker, crate: Path, files: list[str]) -> dict[str, str]:
    """service -> the id of its running container."""
    found = {}
    for service in (f"raft-node-{i}" for i in range(NODES)):
        ids = docker.compose(crate, "ps", "-q", service, files=files, timeout=60).stdout.split()
        if ids:
            found[service] = ids[0]
    return found


def _version(docker, container: str) -> str:
    ran = docker.engine.cmd("exec", container, "/usr/local/bin/raft-node", "--version", timeout=60)
    return ran.stdout.strip()


def test_a_source_edit_rebuilds_and_recreates_every_node(docker, compose_bin, tmp_path):
    crate = copy_sample("raft-node", tmp_path)
    generated = scaffold_init(crate, "--nodes", str(NODES), "--host-port", str(free_port_range(NODES)))
    assert generated.returncode == 0, generated.stderr
    override = tmp_path / "image-tag.override.yml"  # outside the build context and the watched paths
    image = docker.tag("raft-node-watch")
    services = [f"raft-node-{i}" for i in range(NODES)]
    override.write_text("services:\n" + "".join(f"  {s}:\n    image: {json.dumps(image)}\n" for s in services))
    files = [str(crate / "docker-compose.yml"), str(override)]

    config = json.loads(docker.compose(crate, "config", "--format", "json", files=files).stdout)
    builds = {json.dumps(config["services"][s]["build"], sort_keys=True) for s in services}
    assert len(builds) == 1, f"the nodes must share one build: {builds}"
    assert all(config["services"][s]["develop"]["watch"] for s in services)

    built = docker.compose(crate, "build", files=files, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    up = docker.compose(crate, "up", "-d", "--no-build", "--pull", "never", files=files, timeout=300)
    assert up.returncode == 0, up.stderr[-3000:]
    before = _containers(docker, crate, files)
    assert sorted(before) == services, before
    assert _version(docker, before[services[0]]) == "raft-node 0.1.0"

    project = ["-p", docker.project_name(), "--project-directory", str(crate), *(a for f in files for a in ("-f", f))]
    watch = subprocess.Popen(
        [docker.compose_binary, *project, "watch", "--no-up"], env=docker.engine.env, cwd=crate,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        main = crate / "src" / "main.rs"
        source = main.read_text()
        assert EDIT_FROM in source
        expected = f"raft-node 0.1.0 (watched {docker.run_id})"
        # Watch starts asynchronously: edit, and edit again (new content) until the nodes are replaced.
        deadline, edits, after, last_edit = time.monotonic() + 900, 0, before, 0.0
        while time.monotonic() < deadline:
            if edits == 0 or time.monotonic() > last_edit + 120:
                edits += 1
                main.write_text(source.replace(EDIT_FROM, f'println!("{{NAME}} {{VERSION}} (watched {docker.run_id})"); // {edits}'))
                last_edit = time.monotonic()
            time.sleep(3)
            assert watch.poll() is None, f"docker compose watch exited with {watch.returncode}"
            after = _containers(docker, crate, files)
            if sorted(after) == services and all(after[s] != before[s] for s in services):
                break
        else:
            raise AssertionError(f"within 900 s of editing src/main.rs the nodes were not all recreated: {before} -> {after}")
        versions = {}
        for _ in range(30):  # the recreated containers may still be starting
            versions = {s: _version(docker, after[s]) for s in services}
            if all(v == expected for v in versions.values()):
                break
            time.sleep(2)
        assert all(v == expected for v in versions.values()), versions
    finally:
        watch.terminate()
        try:
            watch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait(timeout=30)
