"""A run killed at any instant leaves every file whole: its old content or its new content.

The command line is SIGKILLed at random points while it overwrites files with --force, and so is a
process writing large files through write.py (where the write itself takes long enough to be hit
often). Afterwards each file must be exactly its old or its new content. The only other thing a
kill may leave is a `.NAME.XXXXXXXX.tmp` file of its own, which the next run removes.
"""

from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, make_crate, run_scaffold
from generator.write import remove_stale_temporaries, temporary_files

OUTPUTS = ["Dockerfile", ".dockerignore", "docker-compose.yml"]
TEMPORARY = re.compile(r"^\.(Dockerfile|\.dockerignore|docker-compose\.yml)\.[a-z0-9_]{8}\.tmp$")
ITERATIONS = int(os.environ.get("SCAFFOLD_KILL_ITERATIONS", "40"))



def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def assert_whole(directory: Path, variants: list[dict[str, bytes]], extra_allowed: set[str]) -> list[str]:
    """Every output is one variant's content exactly; anything else is a temporary file of ours."""
    leftovers = []
    for relative, content in files_of(directory).items():
        name = Path(relative).name
        if relative in extra_allowed:
            continue
        if TEMPORARY.match(name) or re.match(r"^\..+\.[a-z0-9_]{8}\.tmp$", name):
            leftovers.append(relative)
            continue
        choices = [v[relative] for v in variants if relative in v]
        assert choices, f"unexpected file {relative}"
        assert content in choices, f"{relative} is neither old nor new content ({len(content)} bytes)"
    return leftovers


def test_cli_killed_at_random_points_leaves_old_or_new_files(tmp_path):
    crate = make_crate(tmp_path / "crate")
    flags = [["--nodes", "3"], ["--nodes", "5", "--runtime", "alpine", "--rust-log", "debug"]]
    # Both variants made in the target folder itself (the files name their way back to the project),
    # the second one first, so that the target starts out holding the first.
    target = tmp_path / "target"
    made = {}
    for i in (1, 0):
        result = run_scaffold("init", str(crate), "--no-input", "--force", "--output-dir", str(target), *flags[i])
        assert result.returncode == 0, result.stderr
        made[i] = files_of(target)
    variants = [made[0], made[1]]
    assert variants[0]["Dockerfile"] != variants[1]["Dockerfile"]

    command = [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "--force", "--output-dir", str(target)]
    started = time.monotonic()
    subprocess.run(command + flags[1], capture_output=True, check=True)
    full_run = time.monotonic() - started
    rng = random.Random(20240601)
    budget = time.monotonic() + 45
    leftovers_seen = 0
    for i in range(ITERATIONS):
        if time.monotonic() > budget:
            break
        process = subprocess.Popen(command + flags[i % 2], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
        # Half the kills land anywhere, half near the end of the run, where the files are written.
        delay = rng.uniform(0, full_run) if i % 4 < 2 else rng.uniform(0.7 * full_run, 1.1 * full_run)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        leftovers_seen += len(assert_whole(target, variants, set()))

    finished = run_scaffold("init", str(crate), "--no-input", "--force", "--output-dir", str(target), *flags[0])
    assert finished.returncode == 0, finished.stderr
    assert assert_whole(target, variants, set()) == [], "the next complete run removes what killed runs left"
    for name in OUTPUTS:  # the ignore file sits beside the Dockerfile in an output folder
        name = "Dockerfile.dockerignore" if name == ".dockerignore" else name
        assert (target / name).read_bytes() == variants[0][name]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from generator.render import RenderedFile
    from generator.write import write_files

    out, tag, size = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    files = [RenderedFile(name, f"# {tag} {name}\\n" + tag * size) for name in NAMES]
    print("ready", flush=True)
    write_files(files, out, force=True)
    print("done", flush=True)
    """
).replace("NAMES", repr(OUTPUTS))


def wait_for_temporary(directory: Path, process: subprocess.Popen, deadline: float) -> None:
    """Return once `directory` holds a temporary file (or the writer has ended); fail at the deadline."""
    while not any(TEMPORARY.match(p.name) for p in directory.iterdir()):
        if process.poll() is not None:
            return
        assert time.monotonic() < deadline, f"no temporary file appeared in {directory} within 10 s of the write starting"
        time.sleep(0.0005)


def test_large_writes_killed_mid_write_leave_old_or_new_files(tmp_path):
    size = 4 * 1024 * 1024
    variants = [{name: f"# {tag} {name}\n".encode() + tag.encode() * size for name in OUTPUTS} for tag in ("a", "b")]
    out = tmp_path / "out"
    out.mkdir()
    for name in OUTPUTS:
        (out / name).write_bytes(variants[0][name])
    script = tmp_path / "writer.py"
    script.write_text(WRITER)

    def start(tag: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, str(script), str(out), tag, str(size)], stdout=subprocess.PIPE, text=True, cwd=REPO,
                                   env={**os.environ, "PYTHONPATH": str(REPO)})
        assert process.stdout.readline().strip() == "ready"
        return process

    timing = start("b")
    began = time.monotonic()
    assert timing.stdout.readline().strip() == "done"
    write_time = time.monotonic() - began
    timing.wait()
    rng = random.Random(7)
    budget = time.monotonic() + 45
    leftovers_seen = 0
    for i in range(ITERATIONS):
        if time.monotonic() > budget:
            break
        process = start("ab"[i % 2])
        if i % 2:
            time.sleep(rng.uniform(0, write_time * 1.1))
        else:
            # Aim inside a write whatever the machine's load: kill once a temporary file of this run shows.
            wait_for_temporary(out, process, deadline=time.monotonic() + 10)
            time.sleep(rng.uniform(0, 0.002))
        process.kill()
        process.wait()
        process.stdout.close()
        leftovers_seen += len(assert_whole(out, variants, set()))
    assert leftovers_seen > 0, "no kill landed inside a write; the test is not testing anything"
    final = start("a")
    assert final.stdout.readline().strip() == "done"
    final.wait()
    final.stdout.close()
    assert assert_whole(out, variants, set()) == []
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == variants[0]


def test_stale_temporary_files_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / ".Dockerfile.abcd1234.tmp"
    live = tmp_path / ".docker-compose.yml.zz_9y8x7.tmp"
    foreign = [tmp_path / ".Dockerfile.mine.tmp", tmp_path / ".Cargo.toml.abcd1234.tmp", tmp_path / "Dockerfile.abcd1234.tmp"]
    for path in (stale, live, *foreign):
        path.write_text("partial")
    link = tmp_path / ".dockerignore.abcd1234.tmp"
    os.symlink(tmp_path / "elsewhere", link)
    # Another process holds the live file's lock, as a run does while it writes.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)", str(live)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert temporary_files(tmp_path, OUTPUTS) == sorted([stale, live])
        removed = remove_stale_temporaries(tmp_path, OUTPUTS)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert removed == [stale]
    assert not stale.exists()
    assert live.exists() and all(p.exists() for p in foreign) and os.path.lexists(link)
    # Once its writer is gone the file is stale too.
    assert remove_stale_temporaries(tmp_path, OUTPUTS) == [live]


def test_a_failed_run_removes_nothing(tmp_path):
    """Cleaning happens only when a run really writes: a refused run leaves the directory as it was."""
    crate = make_crate(tmp_path / "crate")
    (crate / "Dockerfile").write_text("FROM mine\n")
    stale = crate / ".Dockerfile.abcd1234.tmp"
    stale.write_text("partial")
    result = run_scaffold("init", str(crate), "--no-input")
    assert result.returncode == 1
    assert stale.exists()
    forced = run_scaffold("init", str(crate), "--no-input", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not stale.exists()


def test_lock_is_held_while_a_temporary_file_exists(tmp_path, monkeypatch):
    """atomic_write flocks its temporary file before writing a byte (what makes the cleanup safe)."""
    from generator import write

    seen = []
    real_replace = os.replace

    def checking_replace(source, destination):
        fd = os.open(source, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        seen.append(Path(source).name)
        return real_replace(source, destination)

    monkeypatch.setattr(write.os, "replace", checking_replace)
    write.atomic_write(tmp_path / "Dockerfile", "FROM scratch\n")
    assert len(seen) == 1 and TEMPORARY.match(seen[0])
    assert (tmp_path / "Dockerfile").read_text() == "FROM scratch\n"
