"""Generated Dockerfiles, built and run on a real engine.

For each buildable sample x runtime x strategy: the image builds, runs the real binary, and after a
one-line source edit the rebuild reuses the dependency layer and ships the edit. The last check is
the one the classic dummy-main recipe fails; `test_the_dummy_main_recipe_ships_the_stub` shows that
it can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.samples import copy_sample

REPO = Path(__file__).resolve().parents[2]
REPORT = Path(os.environ.get("SCAFFOLD_ENGINE_REPORT", REPO / "build" / "engine-report.jsonl"))


@dataclass(frozen=True)
class Sample:
    name: str
    args: tuple[str, ...]  # what to run in the image
    expected: str  # what it prints before the edit
    edit_file: str
    edit_from: str
    edit_to: str  # TOKEN is replaced by the test run's id, so the rebuild is never a cache hit
    expected_after: str
    dependency: str | None = None  # a registry crate whose compilation must not repeat on rebuild

    @property
    def package(self) -> str:
        return "ws-core" if self.name == "workspace" else self.name


SAMPLE_CASES = {
    "hello-bin": Sample(
        "hello-bin", (), "hello from hello-bin", "src/main.rs", 'println!("hello from {name}")',
        'println!("hello again TOKEN from {name}")', "hello again TOKEN from hello-bin",
    ),
    "raft-node": Sample(
        "raft-node", ("--version",), "raft-node 0.1.0", "src/main.rs", 'println!("{NAME} {VERSION}")',
        'println!("{NAME} {VERSION} (rebuilt TOKEN)")', "raft-node 0.1.0 (rebuilt TOKEN)",
    ),
    # The edit is to a build script's input: the rebuild must rerun build.rs.
    "workspace": Sample(
        "workspace", (), "ws-api hello from the workspace", "crates/core/data/greeting.txt", "hello from the workspace",
        "edited greeting TOKEN", "ws-api edited greeting TOKEN",
    ),
    "openssl-app": Sample(
        "openssl-app", ("--version",), "openssl-app 0.1.0", "src/main.rs",
        'println!("{name} {}", env!("CARGO_PKG_VERSION"))',
        'println!("{name} {} (rebuilt TOKEN)", env!("CARGO_PKG_VERSION"))', "openssl-app 0.1.0 (rebuilt TOKEN)",
        dependency="openssl-sys",
    ),
}

# Everything buildable here: glibc runtimes. musl (alpine, scratch) needs a target this toolchain
# does not have; those are rendered and statically validated in tests/test_render.py.
MATRIX = [
    (sample, runtime, strategy)
    for sample in SAMPLE_CASES
    for runtime in ("debian-slim", "distroless")
    for strategy in ("skeleton", "cache-mount")
]


def scaffold(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "generator.main", *args], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def edit(crate: Path, sample: Sample, token: str) -> None:
    path = crate / sample.edit_file
    text = path.read_text()
    assert sample.edit_from in text, f"{sample.edit_file} no longer holds the line this test edits"
    path.write_text(text.replace(sample.edit_from, sample.edit_to.replace("TOKEN", token)))


def step_status(output: str, step: str) -> str:
    """'CACHED' or 'RUN' for a build step named like '[builder 2/4]' in BuildKit's plain output."""
    ids = [line.split()[0] for line in output.splitlines() if step in line and line.startswith("#")]
    assert ids, f"no step {step} in the build output"
    cached = any(line.startswith(f"{ids[0]} CACHED") for line in output.splitlines())
    return "CACHED" if cached else "RUN"


def record(entry: dict) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


@pytest.mark.parametrize("sample_name, runtime, strategy", MATRIX, ids=["-".join(m) for m in MATRIX])
def test_build_run_edit_rebuild(docker, tmp_path, sample_name, runtime, strategy):
    sample = SAMPLE_CASES[sample_name]
    crate = copy_sample(sample_name, tmp_path)
    scaffold("init", str(crate), "--no-input", "--runtime", runtime, "--strategy", strategy)
    tag = docker.tag(f"{sample_name}-{runtime}-{strategy}")

    first = docker.build(crate, tag=tag)
    assert first.returncode == 0, first.output[-4000:]
    ran = docker.run(tag, list(sample.args))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == sample.expected

    edit(crate, sample, docker.run_id)
    second = docker.build(crate, tag=tag)
    assert second.returncode == 0, second.output[-4000:]
    rerun = docker.run(tag, list(sample.args))
    expected_after = sample.expected_after.replace("TOKEN", docker.run_id)
    assert rerun.stdout.strip() == expected_after, "the rebuilt image does not carry the source edit"
    if strategy == "skeleton":
        assert step_status(second.output, "[builder 2/4]") == "CACHED", "the dependency layer was rebuilt"
    # The first build may come from the machine's build cache; the rebuild never does (TOKEN).
    assert f"Compiling {sample.package}" in second.output
    if sample.dependency:
        assert f"Compiling {sample.dependency}" not in second.output, "dependencies were compiled again"

    inspect = docker.engine.cmd("image", "inspect", tag, "--format", "{{.Size}} {{.Config.User}}")
    size, user = inspect.stdout.split()
    assert user in ("10001:10001", "65532:65532")
    record({
        "sample": sample_name, "runtime": runtime, "strategy": strategy,
        "image_bytes": int(size), "cold_build_s": round(first.duration, 1), "rebuild_s": round(second.duration, 1),
    })


def test_image_runs_as_numeric_non_root_user(docker, tmp_path):
    crate = copy_sample("raft-node", tmp_path)
    scaffold("init", str(crate), "--no-input")
    tag = docker.tag("raft-node-user")
    assert docker.build(crate, tag=tag).returncode == 0
    ran = docker.run(tag, ["-c", "id -u; id -g; stat -c %u /data; stat -c %u /usr/local/bin/raft-node"], entrypoint="bash")
    assert ran.stdout.split() == ["10001", "10001", "10001", "0"], ran.stderr


def test_build_context_holds_what_the_build_needs_and_no_secrets(docker, tmp_path):
    crate = copy_sample("workspace", tmp_path)
    scaffold("init", str(crate), "--no-input")
    planted = [".env", ".env.production", "deploy/server.pem", "keys/id_rsa", "crates/api/tls.key", "target/debug/junk",
               "crates/core/target/release/leftover", "fuzz/target/x86_64-unknown-linux-gnu/junk", "vendor/dep/.git/config", ".git/config", ".idea/workspace.xml", "crates/api/src/main.rs.swp"]
    for relative in planted:
        (crate / relative).parent.mkdir(parents=True, exist_ok=True)
        (crate / relative).write_text("must not be sent\n")
    (crate / "README.md").write_text("docs the build may include_str!\n")
    (crate / "crates/core/src/target").mkdir()
    (crate / "crates/core/src/target/mod.rs").write_text("// a module folder that happens to be named target\n")
    received = docker.context_files(crate)
    assert not received & set(planted), f"sent to the engine: {sorted(received & set(planted))}"
    for needed in ("Cargo.toml", "Cargo.lock", "README.md", "crates/core/build.rs", "crates/core/data/greeting.txt",
                   "crates/api/src/main.rs", "crates/worker/src/bin/ws-migrate.rs", "crates/core/src/target/mod.rs"):
        assert needed in received, f"{needed} is missing from the build context"


def test_the_dummy_main_recipe_ships_the_stub(docker, tmp_path):
    """The classic recipe: dummy main.rs, build, COPY the real src, build again. It ships the dummy."""
    crate = copy_sample("hello-bin", tmp_path)
    (crate / "Dockerfile").write_text(
        "FROM rust:1.95-slim-bookworm AS builder\n"
        "WORKDIR /app\n"
        "COPY Cargo.toml Cargo.lock ./\n"
        "RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release\n"
        "COPY src ./src\n"
        "RUN cargo build --release\n"
        "FROM debian:bookworm-slim\n"
        "COPY --from=builder /app/target/release/hello-bin /usr/local/bin/hello-bin\n"
        'ENTRYPOINT ["/usr/local/bin/hello-bin"]\n'
    )
    tag = docker.tag("dummy-main")
    built = docker.build(crate, tag=tag)
    assert built.returncode == 0, built.output[-3000:]
    ran = docker.run(tag)
    assert ran.returncode == 0
    assert ran.stdout == "", "the recipe was expected to ship the stub (prints nothing)"
