"""The wizard: questionary prompts driven through prompt_toolkit pipes, and `scaffold init` in a pseudo-terminal."""

from __future__ import annotations

import io
import os
import re
import shlex
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from conftest import DEMO_MANIFEST, REPO, make_crate, run_scaffold
from generator import runtimes
from generator.answers import OPTIMIZATION_HELP, STRATEGY_HELP
from generator.answersfile import Layer, last_answers_path, resolve
from generator.choices import BASELINE_RUST
from generator.inspect import inspect_project
from generator.probes import KIND_HELP
from generator.prompt import Wizard
from generator.questions_builtin import BUILTIN
from generator.wizard import banner
from tests.samples import copy_sample

QUESTIONS = {q.name: q for q in BUILTIN}
DOWN, UP, ENTER, CLEAR, CTRL_C = "\x1b[B", "\x1b[A", "\r", "\x15", "\x03"  # CLEAR: Ctrl-U empties the line before the cursor


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
    "Where the cluster runs": ENTER,
    "Write these files?": ENTER,
}
EQUIVALENT_FLAGS = ("--nodes", "5", "--runtime", "alpine", "--strategy", "skeleton", "--publish-raft", "--rust-log", "debug")


def spawn_init(*args: str) -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "PYTHONPATH": str(REPO)}
    return pexpect.spawn(
        sys.executable, ["-m", "generator.main", "init", *args], env=env, cwd=str(REPO), encoding="utf-8", timeout=20, dimensions=(40, 200)
    )


def _pattern(prompt: str) -> re.Pattern[str]:
    """A prompt's text; "A ... B" is B after A (a question asked again after its error, not a redraw of the first)."""
    return re.compile(".*?".join(re.escape(part) for part in prompt.split(" ... ")), re.DOTALL)


def run_wizard(*args: str, keys: dict[str, str] = WIZARD_KEYS) -> tuple[int, list[str], str]:
    """Answer every prompt that appears; return the exit status, the prompts in the order asked and the output."""
    child = spawn_init(*args)
    child.logfile_read = output = io.StringIO()
    prompts = list(keys)
    asked = []
    while True:
        index = child.expect([*(_pattern(p) for p in prompts), pexpect.EOF])
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
    assert asked[:3] == ["Runtime image", "Dependency caching", "Cluster size"]  # no features declared: none asked
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
    keys = {"Runtime image": ENTER, "Dependency caching": ENTER, "Cluster size": CTRL_C}
    status, asked, output = run_wizard(str(crate), keys=keys)
    assert asked == list(keys)
    assert status == 130
    assert "nothing was written" in output
    assert files(crate) == before
    assert "your answers are kept in" in output  # outside the project (the user state folder)


# --- before the first question: the banner, the command line, the files already there -------------

ALL_ENTER = {**{prompt: ENTER for prompt in WIZARD_KEYS}, "Cargo features": ENTER}


def keys_with(changes: dict[str, str]) -> dict[str, str]:
    """Enter at every prompt, except these (prompt text -> keys)."""
    return {**ALL_ENTER, **changes}


def test_the_banner_says_what_was_detected_before_the_first_question(sample):
    status, asked, output = run_wizard(str(sample("raft-node")), keys=ALL_ENTER)
    assert status == 0
    banner = output[: output.index("Runtime image")]
    assert "raft-node (package raft-node)  (default: the only binary)" in banner
    assert f"Rust      {BASELINE_RUST} (" in banner and "features  none declared" in banner
    assert "packages  build: none; runtime: none" in banner


@pytest.mark.parametrize(
    "flags, problem",
    [
        (("--data-dir", "/tmp"), "--data-dir /tmp: the data volume and the tmpfs"),  # the mount table
        (("--runtime", "distroless", "--runtime-package", "libpq5"), "--runtime distroless cannot provide libpq5"),
        (("--http-port", "9000"), "--http-port and --raft-port are both 9000"),
    ],
)
def test_a_bad_command_line_is_refused_before_the_first_question(sample, flags, problem):
    crate = sample("raft-node")
    status, asked, output = run_wizard(str(crate), *flags, keys=ALL_ENTER)
    assert (status, asked) == (2, [])
    assert problem in output
    assert not (crate / "Dockerfile").exists()


def test_a_file_there_is_settled_before_the_questions_and_skip_keeps_it(sample):
    crate = sample("raft-node")
    (crate / "Dockerfile").write_text("FROM scratch\n")
    status, asked, _ = run_wizard(str(crate), keys=keys_with({"Dockerfile exists with other content": DOWN + ENTER}))
    assert status == 0
    assert asked[:2] == ["Dockerfile exists with other content", "Runtime image"]
    assert (crate / "Dockerfile").read_text() == "FROM scratch\n"
    assert "NODE_ID" in (crate / "docker-compose.yml").read_text()


def test_a_file_there_can_be_diffed_then_overwritten(sample):
    crate = sample("raft-node")
    (crate / "Dockerfile").write_text("FROM scratch\n")
    again = "+++ b/Dockerfile ... Dockerfile exists with other content"  # asked again after the diff
    keys = keys_with({"Dockerfile exists with other content": DOWN + DOWN + ENTER, again: ENTER})
    status, asked, output = run_wizard(str(crate), keys=keys)
    assert status == 0
    assert "-FROM scratch" in output and asked.index(again) < asked.index("Runtime image")
    assert "FROM scratch" not in (crate / "Dockerfile").read_text()


def test_force_is_consent_for_every_file_there(sample):
    crate = sample("raft-node")
    (crate / "Dockerfile").write_text("FROM scratch\n")
    status, asked, _ = run_wizard(str(crate), "--force", keys=keys_with({"Dockerfile exists with other content": DOWN + ENTER}))
    assert status == 0 and "Dockerfile exists with other content" not in asked
    assert "FROM scratch" not in (crate / "Dockerfile").read_text()


# --- at each question: descriptions, checklists, rules spanning answers, warnings ------------------


def test_each_choice_shows_its_description_from_its_table(sample):
    status, _, output = run_wizard(str(sample("raft-node")), keys=ALL_ENTER)
    assert status == 0
    for table in (runtimes.choice_help(), STRATEGY_HELP, OPTIMIZATION_HELP, QUESTIONS["default_env"].choice_help):
        for choice, text in table.items():
            assert re.search(rf"{re.escape(choice)} +{re.escape(text)}", output), (choice, text)
    shown = QUESTIONS["healthcheck"].choices_for({"runtime": "debian-slim"})
    assert all(KIND_HELP[kind] in output for kind in shown)


def test_features_are_a_checklist_of_the_declared_ones(tmp_path):
    manifest = DEMO_MANIFEST + "\n[features]\ndefault = []\nmetrics = []\ntls = []\n"
    crate = make_crate(tmp_path / "demo", manifest)
    status, asked, output = run_wizard(str(crate), "-q", keys=keys_with({"Cargo features": " " + ENTER}))
    assert status == 0 and asked[0] == "Cargo features"
    assert "features  metrics, tls" in output[: output.index("Cargo features")]
    assert 'features = ["metrics"]' in (crate / ".scaffold" / "answers.toml").read_text()
    assert "start:" not in output  # -q: no end summary


def test_features_checklist_through_a_pipe():
    with create_pipe_input() as pipe:
        pipe.send_text(" " + DOWN + " " + ENTER)
        assert Wizard(input=pipe, output=DummyOutput()).ask(QUESTIONS["features"], (), {}, ("metrics", "tls")) == ("metrics", "tls")
    with create_pipe_input() as pipe:
        pipe.send_text(ENTER)
        assert Wizard(input=pipe, output=DummyOutput()).ask(QUESTIONS["features"], ("tls",), {}, ("metrics", "tls")) == ("tls",)


def test_the_gate_is_a_choice_of_two_through_a_pipe():
    assert ask(ENTER, "default_env", True) is True
    assert ask(DOWN + ENTER, "default_env", True) is False


def test_the_existing_file_choice_through_a_pipe(capsys):
    with create_pipe_input() as pipe:
        pipe.send_text(DOWN + DOWN + ENTER + ENTER)
        assert Wizard(input=pipe, output=DummyOutput()).existing_file("Dockerfile", "-FROM scratch\n") == "overwrite"
    assert "-FROM scratch" in capsys.readouterr().out
    with create_pipe_input() as pipe:
        pipe.send_text(DOWN + ENTER)
        assert Wizard(input=pipe, output=DummyOutput()).existing_file("Dockerfile", "") == "skip"


def test_a_rule_spanning_answers_is_reported_at_the_question_that_breaks_it(sample):
    crate = sample("raft-node")
    keys = keys_with({"Runtime image": DOWN + ENTER, "cannot provide libpq5 ... Runtime image": UP + ENTER})
    status, asked, output = run_wizard(str(crate), "--runtime-package", "libpq5", keys=keys)
    assert status == 0
    assert asked[:3] == ["Runtime image", "cannot provide libpq5 ... Runtime image", "Dependency caching"]
    assert "debian:bookworm-slim" in (crate / "Dockerfile").read_text()


def test_a_mount_collision_is_reported_at_the_data_directory(sample):
    crate = sample("raft-node")
    again = "the tmpfs of the read-only root ... Directory each node"  # asked again after the error
    keys = keys_with({"Directory each node": CLEAR + "/tmp" + ENTER, again: CLEAR + "/srv/data" + ENTER})
    status, asked, _ = run_wizard(str(crate), keys=keys)
    assert status == 0
    where = asked.index("Directory each node")
    assert asked[where + 1 : where + 3] == [again, "Read-only root filesystem"]
    assert "/srv/data" in (crate / "docker-compose.yml").read_text()


def test_a_warning_comes_at_its_question_before_writing(sample):
    crate = sample("raft-node")
    status, _, output = run_wizard(str(crate), keys=keys_with({"Cluster size": CLEAR + "4" + ENTER}))
    assert status == 0
    warned = output.index("4 nodes tolerate no more failures than 3")
    assert output.rindex("Cluster size") < warned < output.index("Does the app read NODE_ID")
    assert output.count("4 nodes tolerate") == 1  # not said again after writing


def test_the_contract_questions_come_behind_the_gate_and_node_0_is_shown_before_writing(sample):
    crate = sample("raft-node")
    keys = keys_with(
        {
            "Does the app read NODE_ID": DOWN + ENTER,
            "First node id": CLEAR + "1" + ENTER,
            "Named client ports": ENTER,
            "KEY=TEMPLATE": "APP_ID={{ node.id }}" + ENTER,
            "An environment variable compose passes": ENTER,
            "TEMPLATE: one argument": "--id={{ node.id }}" + ENTER,
            "TEMPLATE_PATH:CONTAINER_PATH": ENTER,
            "TEMPLATE: a command run once": ENTER,
            "More binaries of the same package": ENTER,
        }
    )
    status, asked, output = run_wizard(str(crate), keys=keys)
    assert status == 0
    gate = asked.index("Does the app read NODE_ID")
    assert asked[gate + 1] == "First node id" and "TEMPLATE: one argument" in asked
    before = output[output.index("about to write:") : output.rindex("Write these files?")]
    assert "raft-node-0 (id 1) is told:" in before and "APP_ID=1" in before and "command: --id=1" in before
    assert "NODE_ID=" not in before


# --- when nothing is written: the answers are kept outside the project -------------------------------


def resume_command(output: str) -> list[str]:
    line = output[output.index("resume with: ") :].splitlines()[0]
    return shlex.split(line.removeprefix("resume with: ").strip())


def test_declining_keeps_the_answers_and_the_printed_command_resumes(sample, tmp_path, user_state):
    crate = sample("raft-node")
    status, _, output = run_wizard(str(crate), keys=keys_with({"Cluster size": CLEAR + "5" + ENTER, "Write these files?": "n"}))
    assert status == 1 and "nothing was written" in output
    assert not (crate / "Dockerfile").exists() and not (crate / ".scaffold").exists()
    kept = user_state / "scaffold" / "last-answers.toml"
    assert "nodes = 5" in kept.read_text()
    command = resume_command(output)
    assert command[:2] == ["scaffold", "init"] and command[-2:] == ["--answers", str(kept)]
    status, _, _ = run_wizard(*command[2:], keys=ALL_ENTER)  # Enter everywhere takes the kept answers
    assert status == 0
    by_flags = copy_sample("raft-node", tmp_path / "flags")  # the same project, so the same paths in the files
    flags = run_scaffold("init", str(by_flags), "--no-input", "--nodes", "5")
    assert flags.returncode == 0, flags.stderr
    assert files(crate / ".scaffold") == files(by_flags / ".scaffold")
    assert all((crate / name).read_bytes() == (by_flags / name).read_bytes() for name in ("Dockerfile", "docker-compose.yml"))


def test_a_later_check_that_fails_keeps_the_answers(sample, user_state):
    crate = sample("raft-node")
    # With one node the Raft port is not asked, but it must still differ from the HTTP port.
    status, _, output = run_wizard(str(crate), "--nodes", "1", keys=keys_with({"HTTP port the application": CLEAR + "9000" + ENTER}))
    assert status == 2
    assert "--http-port and --raft-port are both 9000" in output and "your answers are kept in" in output
    assert "http_port = 9000" in (user_state / "scaffold" / "last-answers.toml").read_text()
    assert not (crate / "Dockerfile").exists()


# --- the README's example session is a real run --------------------------------------------------

README_KEYS = keys_with(
    {
        "Cluster size": CLEAR + "4" + ENTER,
        "Directory each node": CLEAR + "/tmp" + ENTER,
        "the tmpfs of the read-only root ... Directory each node": CLEAR + "/data" + ENTER,
    }
)


def test_the_readme_example_session_is_what_the_wizard_prints(sample):
    """Every line the README shows (prompts aside: the terminal redraws them) comes out of this run, in order."""
    text = (REPO / "README.md").read_text()
    session = text[text.index("$ cd ~/raft-node && scaffold init\n") :].split("\n", 1)[1]
    shown = session[: session.index("$ $EDITOR Dockerfile")].splitlines()
    crate = sample("raft-node")
    status, _, output = run_wizard(str(crate), keys=README_KEYS)
    assert status == 0
    printed = [line.rstrip() for line in re.split(r"[\r\n]+", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output))]
    at = 0
    for line in (line.replace("/home/me/raft-node", str(crate)) for line in shown):
        if line.startswith("? ") or not line:
            continue
        assert line in printed[at:], f"README line not printed (in this order): {line!r}"
        at = printed.index(line, at) + 1


# --- the banner's reasons, without a terminal -------------------------------------------------------


@pytest.mark.parametrize(
    "name, reason",
    [("workspace", "the workspace's default-members build it"), ("kv-node", "its package sets `default-run` to it"),
     ("hello-bin", "the only binary")],
)
def test_the_banner_says_why_the_default_binary_is_the_default(name, reason):
    facts = inspect_project(REPO / "sample-crates" / name)
    default = facts.default_binary
    assert f"  binary    {default.name} (package {default.package})  (default: {reason})" in banner(facts)
    assert sum("(default: " in line for line in banner(facts)) == 1


def test_the_banner_lists_the_system_packages_the_inspector_found():
    facts = inspect_project(REPO / "sample-crates" / "openssl-app")
    packages = facts.system_packages(facts.default_binary)
    assert packages.build and packages.runtime
    assert f"  packages  build: {' '.join(packages.build)}; runtime: {' '.join(packages.runtime)}" in banner(facts)


def test_the_banner_says_where_the_rust_release_comes_from(tmp_path):
    crate = make_crate(tmp_path / "pinned")
    (crate / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.96.0"\n')
    assert "  Rust      1.96.0 (pinned by rust-toolchain.toml)" in banner(inspect_project(crate))
    newer = make_crate(tmp_path / "msrv", DEMO_MANIFEST.replace('edition = "2021"', 'edition = "2021"\nrust-version = "1.99"'))
    assert "  Rust      1.99 (the rust-version (MSRV) 1.99)" in banner(inspect_project(newer))


def test_the_kept_answers_go_to_the_user_state_folder_never_a_relative_one(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert last_answers_path() == tmp_path / "state" / "scaffold" / "last-answers.toml"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert last_answers_path() == tmp_path / "home" / ".local" / "state" / "scaffold" / "last-answers.toml"


def test_a_dry_run_asks_no_file_question_and_no_confirm_and_writes_nothing(sample):
    crate = sample("raft-node")
    (crate / "Dockerfile").write_text("FROM scratch\n")
    status, asked, output = run_wizard(str(crate), "--dry-run", keys=ALL_ENTER)
    assert status == 0
    assert "Dockerfile exists with other content" not in asked and "Write these files?" not in asked
    assert "-FROM scratch" in output and (crate / "Dockerfile").read_text() == "FROM scratch\n"
    assert not (crate / "docker-compose.yml").exists()
