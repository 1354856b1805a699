"""Generated Dockerfiles, built and run on a real engine.

For each buildable sample x runtime x strategy: the image builds, runs the real binary, and after a
one-line source edit the rebuild ships the edit without compiling the registry dependencies again.
Shipping the edit is what the classic dummy-main recipe fails; `test_the_dummy_main_recipe_ships_the_stub`
shows that it can fail.

What a build did is read from what it left behind (the image, the builder's target directory), never
from BuildKit's progress output, and no check depends on the machine's build cache being cold or warm.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.samples import copy_sample

REPO = Path(__file__).resolve().parents[2]
# One report per test session, so that runs at the same time never write into one file.
SESSION = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}"
REPORT = Path(os.environ.get("SCAFFOLD_ENGINE_REPORT") or REPO / "build" / f"engine-report-{SESSION}.jsonl")


@dataclass(frozen=True)
class Sample:
    name: str
    args: tuple[str, ...]  # what to run in the image
    expected: str  # what it prints before the edit
    edit_file: str
    edit_from: str
    edit_to: str  # TOKEN is replaced by the test run's id, so the rebuild is never a cache hit
    expected_after: str
    dependency: str | None = None  # a registry crate the build compiles (the rebuild must not, again)


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
    result = subprocess.run(
        [sys.executable, "-m", "generator.main", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr


def edit(crate: Path, sample: Sample, token: str) -> None:
    path = crate / sample.edit_file
    text = path.read_text()
    assert sample.edit_from in text, f"{sample.edit_file} no longer holds the line this test edits"
    path.write_text(text.replace(sample.edit_from, sample.edit_to.replace("TOKEN", token)))


# Appended to a copy of the generated Dockerfile (outside the build context): lists the libraries in
# the builder stage's target directory and the files of Cargo's fingerprint directories (written when
# a unit compiles), with their modification times. The probe mounts every cache the Dockerfile
# mounts, so it finds the target directory whether it is in a layer or a cache mount; PROBE differs
# per call, so the step is never a cache hit and reads that directory as it is now.
PROBE_STAGES = """
FROM builder AS library-probe
ARG PROBE
RUN {mounts} mkdir /probe && echo "$PROBE" > /probe/token \\
 && find target/release/deps -maxdepth 1 -name 'lib*.rlib' -printf '%f %T@\\n' > /probe/libraries \\
 && find target/release/.fingerprint -mindepth 2 -maxdepth 2 -type f -printf '%h %T@\\n' > /probe/units
FROM scratch AS library-report
COPY --from=library-probe /probe/ /
"""
CACHE_MOUNT = re.compile(r"--mount=type=cache,\S+")


def probe_target(docker, crate: Path, workdir: Path, probe: str) -> Path:
    """The folder holding the probe's listings of the builder's target directory."""
    dockerfile = (crate / "Dockerfile").read_text()
    mounts = " ".join(dict.fromkeys(CACHE_MOUNT.findall(dockerfile)))
    probe_file = workdir / f"{probe}.Dockerfile"
    probe_file.write_text(dockerfile + PROBE_STAGES.format(mounts=mounts))
    out = workdir / probe
    res = docker.engine.cmd(
        "build", "--progress=plain", "-f", str(probe_file), "--target", "library-report",
        "--build-arg", f"PROBE={probe}", "--output", f"type=local,dest={out}", str(crate), timeout=900,
    )
    assert res.returncode == 0, f"probing the builder's target directory failed:\n{(res.stdout + res.stderr)[-3000:]}"
    return out


def newest_by_name(listing: str, name_of) -> dict[str, float]:
    """name -> newest modification time over a probe listing's `path mtime` lines."""
    newest: dict[str, float] = {}
    for line in listing.splitlines():
        path, mtime = line.rsplit(" ", 1)
        name = name_of(path)
        newest[name] = max(float(mtime), newest.get(name, 0.0))
    return newest


def compiled_libraries(docker, crate: Path, workdir: Path, probe: str) -> dict[str, float]:
    """Crate name -> newest modification time (epoch seconds) of its library in target/release/deps."""
    out = probe_target(docker, crate, workdir, probe)
    return newest_by_name((out / "libraries").read_text(), lambda f: f.removeprefix("lib").removesuffix(".rlib").rsplit("-", 1)[0])


def compiled_units(docker, crate: Path, workdir: Path, probe: str) -> dict[str, float]:
    """Package name -> when Cargo last compiled (or ran the build script of) one of its units."""
    out = probe_target(docker, crate, workdir, probe)
    return newest_by_name((out / "units").read_text(), lambda d: d.rsplit("/", 1)[1].rsplit("-", 1)[0])


def registry_crates(crate: Path) -> set[str]:
    """Library names (underscored) of the registry packages Cargo.lock pins."""
    lock = tomllib.loads((crate / "Cargo.lock").read_text())
    return {p["name"].replace("-", "_") for p in lock.get("package", []) if p.get("source", "").startswith("registry+")}


def record(entry: dict) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps({"session": SESSION, **entry}) + "\n").encode()
    fd = os.open(REPORT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write per entry: whole lines even if SCAFFOLD_ENGINE_REPORT is shared
    finally:
        os.close(fd)


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
    rebuild_started = time.time()
    second = docker.build(crate, tag=tag)
    assert second.returncode == 0, second.output[-4000:]
    rerun = docker.run(tag, list(sample.args))
    expected_after = sample.expected_after.replace("TOKEN", docker.run_id)
    assert rerun.stdout.strip() == expected_after, "the rebuilt image does not carry the source edit"
    if sample.dependency:
        # Compiled before the rebuild started (by the first build, or earlier from the same cache),
        # so the rebuild did not compile them: the skeleton's dependency layer or the target cache
        # mount was reused.
        libraries = compiled_libraries(docker, crate, tmp_path, f"probe-{docker.run_id}")
        assert sample.dependency.replace("-", "_") in libraries, f"no {sample.dependency} library: {sorted(libraries)}"
        again = sorted(n for n in registry_crates(crate) if libraries.get(n, 0.0) >= rebuild_started)
        assert again == [], f"the rebuild compiled these dependencies again: {again}"

    inspect = docker.engine.cmd("image", "inspect", tag, "--format", "{{.Size}} {{.Config.User}}")
    size, user = inspect.stdout.split()
    assert user in ("10001:10001", "65532:65532")
    record({
        "sample": sample_name, "runtime": runtime, "strategy": strategy,
        "image_bytes": int(size), "first_build_s": round(first.duration, 1), "rebuild_s": round(second.duration, 1),
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
               "crates/core/target/release/leftover", "fuzz/target/x86_64-unknown-linux-gnu/junk", "vendor/dep/.git/config",
               ".git/config", ".idea/workspace.xml", "crates/api/src/main.rs.swp"]
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
    """The classic recipe: dummy main.rs, build, COPY the real src, build again. It ships the dummy.

    It does so because the real sources are older than the stub build. The stub step names this run,
    so it is never a cache hit from an earlier build (which could predate the sources' checkout).
    """
    crate = copy_sample("hello-bin", tmp_path)
    (crate / "Dockerfile").write_text(
        "FROM rust:1.95-slim-bookworm AS builder\n"
        "WORKDIR /app\n"
        "COPY Cargo.toml Cargo.lock ./\n"
        f"RUN mkdir src && echo 'fn main() {{}} // {docker.run_id}' > src/main.rs && cargo build --release\n"
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


def own_target_cache(crate: Path, run_id: str) -> None:
    """Give the Dockerfile's cache mounts ids of this run: what compiles is then up to this test's builds alone."""
    dockerfile = crate / "Dockerfile"
    dockerfile.write_text(re.sub(r"--mount=type=cache,id=", f"--mount=type=cache,id={run_id}-", dockerfile.read_text()))


# ws-api is the workspace's binary; ws-core is the library it (and ws-worker) depends on.
LEAF_EDIT = Sample(
    "workspace", (), "ws-api hello from the workspace", "crates/api/src/main.rs", 'println!("{}", ws_core::banner(name));',
    'println!("{} TOKEN", ws_core::banner(name));', "ws-api hello from the workspace TOKEN",
)


def test_an_edit_to_a_member_nothing_depends_on_compiles_that_member_only(docker, tmp_path):
    """What Cargo would do on the host: ws-api's main.rs changed, so ws-api compiles and ws-core does not.

    Before the edit every file is made newer than the first build, as a fresh checkout would be:
    timestamps alone must not make anything compile.
    """
    crate = copy_sample("workspace", tmp_path)
    scaffold("init", str(crate), "--no-input", "--strategy", "cache-mount")
    own_target_cache(crate, docker.run_id)
    tag = docker.tag("workspace-leaf")
    first = docker.build(crate, tag=tag)
    assert first.returncode == 0, first.output[-4000:]

    rebuild_started = time.time()
    for path in crate.rglob("*"):
        os.utime(path)
    edit(crate, LEAF_EDIT, docker.run_id)
    second = docker.build(crate, tag=tag)
    assert second.returncode == 0, second.output[-4000:]
    ran = docker.run(tag)
    assert ran.stdout.strip() == LEAF_EDIT.expected_after.replace("TOKEN", docker.run_id), "the rebuilt image does not carry the edit"

    units = compiled_units(docker, crate, tmp_path, f"probe-{docker.run_id}")
    assert "ws-core" in units and "ws-api" in units, f"no fingerprints of the workspace's units: {sorted(units)}"
    compiled = sorted(name for name, mtime in units.items() if mtime >= rebuild_started)
    assert compiled == ["ws-api"], f"the rebuild compiled {compiled}; Cargo on the host compiles ws-api only"


def test_a_cached_copy_layer_older_than_the_last_build_still_ships_its_sources(docker, tmp_path):
    """Edit, build, then put the file back as it was, timestamp included (an undo, a `cp -p`, a restored cache).

    BuildKit can then satisfy COPY from the first build's layer, whose main.rs is older than the
    second build's output: going by timestamps, Cargo would ship the edited binary.
    """
    sample = SAMPLE_CASES["hello-bin"]
    crate = copy_sample(sample.name, tmp_path)
    scaffold("init", str(crate), "--no-input", "--strategy", "cache-mount")
    main = crate / sample.edit_file
    original, original_stat = main.read_text(), main.stat()
    tag = docker.tag("stale-copy")
    assert docker.build(crate, tag=tag).returncode == 0

    edit(crate, sample, docker.run_id)
    edited = docker.build(crate, tag=tag)
    assert edited.returncode == 0, edited.output[-4000:]
    assert docker.run(tag).stdout.strip() == sample.expected_after.replace("TOKEN", docker.run_id)

    main.write_text(original)
    os.utime(main, ns=(original_stat.st_atime_ns, original_stat.st_mtime_ns))
    restored = docker.build(crate, tag=tag)
    assert restored.returncode == 0, restored.output[-4000:]
    assert docker.run(tag).stdout.strip() == sample.expected, "the image ships the edit that was undone"
