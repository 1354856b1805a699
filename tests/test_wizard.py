"""The wizard: questionary prompts driven through prompt_toolkit pipes, and `scaffold init` in a pseudo-terminal."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from conftest import REPO, run_scaffold
from generator.answersfile import Layer, resolve
from generator.inspect import inspect_project
from generator.prompt import Wizard
from generator.questions_builtin import BUILTIN

QUESTIONS = {q.name: q for q in BUILTIN}
DOWN, ENTER, CLEAR, CTRL_C = "\x1b[B", "\r", "\x15", "\x03"  # CLEAR: Ctrl-U empties the line before the cursor


def ask(keys: str, name: str, default, so_far=None):
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        return Wizard(input=pipe, output=DummyOutput()).ask(QUESTIONS[name], default, so_far or {})


# --- single prompts through a pipe -----------------------------------------------------------------


def test_enter_takes_the_default():
    assert ask(ENTER, "nodes", 3) == 3
    assert ask(ENTER, "runtime", "alpine") == "alpine"
    assert ask(ENTER, "features", ("a", "b")) == ("a", "b")
    assert ask(ENTER, "health_command", ("health", "--quick"), {"healthcheck": "exec"}) == ("health", "--quick")


def test_typed_answers_are_typed():
    assert ask(CLEAR + "5" + ENTER, "nodes", 3) == 5
    assert ask(CLEAR + "tls, metrics" + ENTER, "features", ()) == ("tls", "metrics")
    assert ask(DOWN + DOWN + ENTER, "runtime", "debian-slim") == "alpine"
    assert ask("y", "publish_raft", False, {"nodes": 3}) is True


@pytest.mark.parametrize(
    "name, bad, good, expected, so_far",
    [
        ("nodes", "0", "7", 7, {}),
        ("nodes", "many", "3", 3, {}),
        ("http_port", "70000", "8081", 8081, {}),
        ("raft_port", "8080", "9001", 9001, {"http_port": 8080}),  # must differ from the HTTP port
        ("host_port", "65534", "30000", 30000, {"nodes": 3}),  # node ports must stay under 65536
        ("rust_version", "latest", "1.96", "1.96", {}),
    ],
)
def test_a_bad_answer_is_refused_while_typing(name, bad, good, expected, so_far):
    """Enter on a bad answer keeps the prompt open; the answer that follows is the one returned."""
    assert ask(CLEAR + bad + ENTER + CLEAR + good + ENTER, name, QUESTIONS[name].default_for(so_far), so_far) == expected


def test_healthcheck_offers_only_what_the_runtime_can_run():
    # distroless has no HTTP client: the choices are exec and none, so one step down from exec is none.
    assert ask(DOWN + ENTER, "healthcheck", "exec", {"runtime": "distroless"}) == "none"
    assert QUESTIONS["healthcheck"].choices_for({"runtime": "distroless"}) == ("exec", "none")


def test_ctrl_c_at_a_prompt_raises_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt):
        ask(CTRL_C, "nodes", 3)


def test_the_binary_question_lists_the_inspected_binaries():
    facts = inspect_project(REPO / "sample-crates" / "workspace")
    with create_pipe_input() as pipe:
        pipe.send_text(DOWN + ENTER)
        wizard = Wizard(input=pipe, output=DummyOutput())
        chosen = wizard.ask_binary(facts.binaries, facts.binaries[0])
    assert chosen == facts.binaries[1]


def test_resolve_asks_only_what_applies_and_was_not_given():
    facts = inspect_project(REPO / "sample-crates" / "raft-node")
    asked = []

    def answer(question, default, so_far):
        asked.append(question.name)
        return default

    flags = Layer("flags", {"nodes": 1, "runtime": "distroless"})
    resolution = resolve(BUILTIN, [flags], facts, ask=answer, ask_binary=lambda binaries, default: default)
    assert "nodes" not in asked and "runtime" not in asked  # given as flags
    assert "raft_port" not in asked and "publish_raft" not in asked  # one node: no peers
    assert "health_path" not in asked and "health_command" not in asked  # distroless: healthcheck none
    assert resolution.answers.healthcheck == "none"
    assert "default_env" in asked and not {"id_base", "ports", "node_env", "node_args"} & set(asked)  # behind the gate
    customising = []
    resolve(BUILTIN, [Layer("flags", {"default_env": False})], facts, ask=lambda q, d, s: customising.append(q.name) or d,
            ask_binary=lambda binaries, default: default)
    assert {"id_base", "ports", "node_env", "node_env_from_host", "node_args"} <= set(customising)
    assert {"features", "strategy", "http_port", "rust_version", "optimize", "healthcheck", "data_dir", "read_only"} <= set(asked)


# --- the real wizard in a pseudo-terminal ------------------------------------------------------------

# Prompt text -> keys. Answers nodes 5, alpine, skeleton, published Raft ports; Enter elsewhere.
WIZARD_KEYS = {
    "Cargo features": ENTER,
    "Runtime image": DOWN + DOWN + ENTER,
    "Dependency caching": DOWN + ENTER,
    "Cluster size": CLEAR + "5" + ENTER,
    "Does the app read NODE_ID": ENTER,
    "HTTP port the application": ENTER,
    "Port the nodes talk": ENTER,
    "First published host port": ENTER,
    "Host address ports": ENTER,
    "Also publish the Raft ports": "y",
    "Rust release": ENTER,
    "Release profile": ENTER,
    "Container healthcheck": ENTER,
    "Path the http healthcheck": ENTER,
    "Arguments the exec healthcheck": ENTER,
    "Directory each node": ENTER,
    "Read-only root filesystem": ENTER,
    "RUST_LOG for the nodes": CLEAR + "debug" + ENTER,
    "Extra system packages for the build": ENTER,
    "Extra system packages for the runtime": ENTER,
}
EQUIVALENT_FLAGS = ("--nodes", "5", "--runtime", "alpine", "--strategy", "skeleton", "--publish-raft", "--rust-log", "debug")


def spawn_init(*args: str) -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PYTHONPATH": str(REPO)}
    return pexpect.spawn(
        sys.executable, ["-m", "generator.main", "init", *args], env=env, cwd=str(REPO), encoding="utf-8", timeout=20, dimensions=(40, 200)
    )


def run_wizard(*args: str, keys: dict[str, str] = WIZARD_KEYS) -> tuple[int, list[str], str]:
    """Answer every prompt that appears; return the exit status, the prompts in the order asked and the output."""
    child = spawn_init(*args)
    child.logfile_read = output = io.StringIO()
    prompts = list(keys)
    asked = []
    while True:
        index = child.expect([*prompts, pexpect.EOF])
        if index == len(prompts):
            break
        # Each prompt once: prompt_toolkit redraws a prompt's line on every key, so its text comes back.
        prompt = prompts.pop(index)
        asked.append(prompt)
        child.send(keys[prompt])
    child.close()
    return child.exitstatus, asked, output.getvalue()


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_wizard_answers_and_the_same_flags_write_identical_files(sample, tmp_path):
    crate = sample("raft-node")
    out = tmp_path / "out"  # both write there in turn: the files name their way back to the project
    out.mkdir()
    status, asked, _ = run_wizard(str(crate), "--output-dir", str(out))
    assert status == 0
    assert asked[:4] == ["Cargo features", "Runtime image", "Dependency caching", "Cluster size"]
    assert "Arguments the exec healthcheck" not in asked  # the healthcheck is http
    written = files(out)
    flags = run_scaffold("init", str(crate), "--no-input", "--force", *EQUIVALENT_FLAGS, "--output-dir", str(out))
    assert flags.returncode == 0, flags.stderr
    assert written == files(out)  # byte for byte, the answers file included
    assert b"alpine:3.22" in written["Dockerfile"] and written["docker-compose.yml"].count(b"NODE_ID") == 5
    assert b'rust_log = "debug"' in written[".scaffold/answers.toml"]


def test_flags_given_are_not_asked_and_questions_that_do_not_apply_are_skipped(sample):
    crate = sample("raft-node")
    status, asked, _ = run_wizard(str(crate), "--nodes", "1", "--runtime", "distroless", "--rust-log", "warn")
    assert status == 0
    for skipped in (
        "Cluster size",
        "Runtime image",
        "RUST_LOG for the nodes",
        "Port the nodes talk",
        "Also publish the Raft ports",
        "Path the http healthcheck",
    ):
        assert skipped not in asked
    compose = (crate / "docker-compose.yml").read_text()
    assert compose.count("NODE_ID") == 1 and 'RUST_LOG: "warn"' in compose


def test_ctrl_c_exits_130_and_writes_nothing(sample):
    crate = sample("raft-node")
    before = files(crate)
    keys = {"Cargo features": ENTER, "Runtime image": ENTER, "Dependency caching": ENTER, "Cluster size": CTRL_C}
    status, asked, output = run_wizard(str(crate), keys=keys)
    assert asked == list(keys)
    assert status == 130
    assert "nothing was written" in output
    assert files(crate) == before
