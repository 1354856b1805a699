"""The command line as a user meets it: exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_scaffold
from generator.flags import FLAG_QUESTIONS

OUTPUTS = ("Dockerfile", ".dockerignore", "docker-compose.yml")


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def assert_clean_failure(result, code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_init_writes_the_three_files_then_reports_them_identical(sample):
    crate = sample("raft-node")
    first = run_scaffold("init", str(crate), "--no-input")
    assert first.returncode == 0, first.stderr
    for name in (*OUTPUTS, ".scaffold/answers.toml"):
        assert (crate / name).is_file()
        assert f"new  {crate / name}" in first.stdout
    written = snapshot(crate)
    again = run_scaffold("init", str(crate), "--no-input")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("identical") == 4  # the three files and the answers file
    assert snapshot(crate) == written


def test_a_changed_file_is_a_conflict_unless_forced(sample):
    crate = sample("raft-node")
    (crate / "Dockerfile").write_text("FROM my-own-image\n")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "Dockerfile", "--force")
    assert snapshot(crate) == before
    forced = run_scaffold("init", str(crate), "--no-input", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "changed" in forced.stdout
    assert "my-own-image" not in (crate / "Dockerfile").read_text()


def test_dry_run_prints_diffs_and_writes_nothing(sample):
    crate = sample("raft-node")
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "+++ b/Dockerfile" in result.stdout and "+++ b/docker-compose.yml" in result.stdout
    assert snapshot(crate) == before


def test_output_dir_receives_the_files(sample, tmp_path):
    crate = sample("hello-bin")
    out = tmp_path / "out"
    out.mkdir()
    result = run_scaffold("init", str(crate), "--no-input", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    # The ignore file sits beside the Dockerfile, where BuildKit reads it for that Dockerfile.
    expected = ("Dockerfile.dockerignore" if name == ".dockerignore" else name for name in OUTPUTS)
    assert sorted(p.name for p in out.iterdir()) == sorted((*expected, ".scaffold"))
    assert not (crate / "Dockerfile").exists() and not (crate / ".dockerignore").exists()


def test_without_a_terminal_it_asks_for_no_input(sample):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate))
    assert_clean_failure(result, 1, "--no-input", "--answers")
    assert not (crate / "Dockerfile").exists()


@pytest.mark.parametrize(
    "content, needle",
    [
        ('[package]\nname = "x"\nversion = [\n', "Cargo.toml:"),
        ("", "empty"),
        ("\x00\x01\x02\xff\xfe garbage", "not UTF-8"),
    ],
)
def test_a_broken_manifest_is_one_line_and_writes_nothing(tmp_path, content, needle):
    crate = tmp_path / "broken"
    crate.mkdir()
    (crate / "Cargo.toml").write_bytes(content.encode("latin-1"))
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, needle)
    assert snapshot(crate) == before


def test_a_broken_lock_names_the_file_and_line(sample):
    crate = sample("hello-bin")
    (crate / "Cargo.lock").write_text("version = 4\n[[package]\nname = 1\n")
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "Cargo.lock:2")
    assert not (crate / "Dockerfile").exists()


def test_missing_project_dir(tmp_path):
    result = run_scaffold("init", str(tmp_path / "nowhere"), "--no-input")
    assert_clean_failure(result, 1, "nowhere")


def test_a_folder_without_cargo_toml(tmp_path):
    result = run_scaffold("init", str(tmp_path), "--no-input")
    assert_clean_failure(result, 1, "no Cargo.toml")


def test_library_only_is_refused(sample):
    crate = sample("lib-only")
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "library-only")
    assert not (crate / "Dockerfile").exists()


def test_an_ambiguous_binary_lists_the_choices(tmp_path):
    crate = tmp_path / "two"
    (crate / "src" / "bin").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "two"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "bin" / "alpha.rs").write_text("fn main() {}\n")
    (crate / "src" / "bin" / "beta.rs").write_text("fn main() {}\n")
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 2, "--bin", "alpha", "beta")
    chosen = run_scaffold("init", str(crate), "--no-input", "--bin", "beta")
    assert chosen.returncode == 0, chosen.stderr
    assert "--bin beta" in (crate / "Dockerfile").read_text()


@pytest.mark.parametrize(
    "flags, code, needle",
    [
        (["--nodes", "0"], 2, "--nodes 0"),
        (["--nodes", "-1"], 2, "--nodes -1"),
        (["--nodes", "1000"], 2, "--nodes 1000"),
        (["--http-port", "0"], 2, "--http-port 0"),
        (["--http-port", "70000"], 2, "--http-port 70000"),
        (["--http-port", "9000", "--raft-port", "9000"], 2, "9000"),
        (["--host-port", "65534", "--nodes", "3"], 2, "65535"),
        (["--bin", "nope"], 2, "--bin nope"),
        (["--package", "nope"], 2, "--package nope"),
        (["--runtime", "windows"], 2, "--runtime"),
        (["--rust-version", "latest"], 2, "--rust-version"),
        (["--health-path", "/x'; rm -rf /"], 2, "--health-path"),
        (["--health-path", "/%s"], 2, "--health-path"),
        (["--publish-address", "localhost\nx"], 2, "--publish-address"),
        (["--features", "a b"], 2, "--features"),
        (["--data-dir", "relative"], 2, "--data-dir"),
    ],
)
def test_bad_answers_are_usage_errors(sample, flags, code, needle):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", *flags)
    assert_clean_failure(result, code, needle)
    assert not (crate / "Dockerfile").exists()


def test_even_cluster_size_warns(sample):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--nodes", "4")
    assert result.returncode == 0, result.stderr
    assert "warning: 4 nodes" in result.stderr


def test_version():
    result = run_scaffold("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("scaffold ")


def test_a_rust_log_no_environment_can_hold_is_refused(sample):
    crate = sample("raft-node")
    invalid_utf8 = b"info\xff".decode("utf-8", "surrogateescape")
    result = run_scaffold("init", str(crate), "--no-input", "--rust-log", invalid_utf8)
    assert_clean_failure(result, 2, "--rust-log")
    assert not (crate / "Dockerfile").exists()


def test_a_rust_version_other_than_the_toolchain_pin_warns(sample):
    crate = sample("raft-node")
    (crate / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.95"\n')
    result = run_scaffold("init", str(crate), "--no-input", "--rust-version", "1.96")
    assert result.returncode == 0, result.stderr
    assert "pins Rust 1.95 but the build image is rust:1.96" in result.stderr
    dockerfile = (crate / "Dockerfile").read_text()
    assert "ARG RUST_VERSION=1.96" in dockerfile
    assert "COPY rust-toolchain.toml ./\nRUN rustup toolchain install --no-self-update\n" in dockerfile


def test_check_passes_generated_files_and_reports_a_hand_written_one(sample, tmp_path):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    clean = run_scaffold("check", str(crate))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.strip().endswith("no problems found")

    hand_written = tmp_path / "hand-written"
    hand_written.mkdir()
    (hand_written / "Dockerfile").write_text("FROM rust:latest\nCOPY . .\nRUN cargo build --release\nCMD ./target/release/app\n")
    bad = run_scaffold("check", str(hand_written))
    assert bad.returncode == 1
    for rule in ("SC200", "SC101", "SC104", "SC102", "hadolint:DL3045"):  # hadolint's DL3025 is SC102 here
        assert f"[{rule}]" in bad.stdout
    assert "Dockerfile:4:" in bad.stdout


def test_check_without_container_files_is_one_line(tmp_path):
    result = run_scaffold("check", str(tmp_path))
    assert_clean_failure(result, 1, "no Dockerfile")


def test_writable_root_is_an_answer_and_check_reports_it(sample):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--writable-root")
    assert result.returncode == 0, result.stderr
    compose = (crate / "docker-compose.yml").read_text()
    assert "read_only" not in compose and "tmpfs" not in compose
    assert "read_only = false" in (crate / ".scaffold/answers.toml").read_text()
    checked = run_scaffold("check", str(crate))  # init waived the rule the user's choice breaks, with the reason
    assert checked.returncode == 0 and "SC304 x3" in checked.stdout and "--writable-root" in checked.stdout
    compose_file = crate / "docker-compose.yml"
    compose_file.write_text("".join(line for line in compose.splitlines(True) if "scaffold-check:" not in line))
    assert "[SC304]" in run_scaffold("check", str(crate)).stdout


# --- the answer flags come from the question table ---------------------------------------------


def _options(command_name: str) -> dict[str, object]:
    import typer.main

    from generator.main import app

    group = typer.main.get_command(app)
    command = group.commands[command_name]  # type: ignore[attr-defined]
    return {opt: param for param in command.params for opt in param.opts}


@pytest.mark.parametrize("command", ["init", "update", "plan"])
def test_every_answer_flag_agrees_with_its_question(command):
    from generator.questions_builtin import BUILTIN

    options = _options(command)
    for question in (q for q in BUILTIN if q.flag):
        option = options.get(question.flag)
        assert option is not None, f"{command} has no {question.flag} for question {question.name}"
        assert option.help.startswith(question.help), question.name
        assert list(option.secondary_opts) == ([question.negative_flag] if question.negative_flag else []), question.name
        default = None if callable(question.default) else question.default
        expected = list(default) if isinstance(default, tuple) else default
        assert option.default == (expected or None if isinstance(default, tuple) else expected), question.name
        if question.default_text:
            assert option.show_default == question.default_text, question.name
        if question.type == "choice":  # a choice type: help and completion list the choices
            assert list(option.type.choices) == list(question.choices), question.name
        else:
            expected_type = {"int": "IntParamType", "bool": "BoolParamType"}.get(question.type, "StringParamType")
            assert type(option.type).__name__ == expected_type, question.name
        assert option.multiple == (question.type == "list"), question.name


@pytest.mark.parametrize("command", ["init", "update", "plan"])
def test_help_shows_every_default(command):
    from generator.questions_builtin import BUILTIN

    wide = {**os.environ, "COLUMNS": "400"}
    result = subprocess.run(
        [sys.executable, "-m", "generator.main", command, "--help"], capture_output=True, text=True, env=wide, timeout=60
    )
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    for question in (q for q in BUILTIN if q.flag):
        if question.default_text:
            assert f"[default: ({question.default_text})]" in flat, question.flag
    for shown in ("[default: 8080]", "[default: no-publish-raft]", "[default: read-only]", "[default: healthcheck]"):
        assert shown in flat, shown


def test_update_takes_the_answer_flags(sample):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    result = run_scaffold("update", str(crate), "--nodes", "5", "--runtime", "alpine", "--no-publish-raft")
    assert result.returncode == 0, result.stderr
    assert (crate / "docker-compose.yml").read_text().count("NODE_ID") == 5
    assert "alpine:3.22" in (crate / "Dockerfile").read_text()
    answers = (crate / ".scaffold" / "answers.toml").read_text()
    assert "nodes = 5" in answers and 'runtime = "alpine"' in answers


def test_a_flag_beats_data_on_update(sample):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    result = run_scaffold("update", str(crate), "--data", "nodes=7", "--nodes", "1")
    assert result.returncode == 0, result.stderr
    assert (crate / "docker-compose.yml").read_text().count("NODE_ID") == 1


# --- the command line itself: -h, choices, flags, completion ----------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI under the name `scaffold`, in a wide terminal so help lines are not wrapped."""
    code = "import sys; from generator.main import app; sys.argv[0] = 'scaffold'; app(prog_name='scaffold')"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "250", "TERM": "dumb", **(env or {})}, cwd=REPO,
    )


CHOICE_FLAGS = [q for q in FLAG_QUESTIONS if q.type == "choice"]


@pytest.mark.parametrize("command", [[], ["init"], ["update"], ["plan"], ["check"], ["inspect"], ["templates", "export"]])
def test_dash_h_is_help(command):
    short, long = cli(*command, "-h"), cli(*command, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout and "Usage" in short.stdout


def test_every_choice_is_a_choice_type_that_help_and_completion_list():
    assert {q.flag for q in CHOICE_FLAGS} >= {"--runtime", "--strategy", "--optimize", "--healthcheck"}
    help_text = cli("init", "-h").stdout
    for question in CHOICE_FLAGS:
        assert "|".join(question.choices) in help_text, question.flag
        words = f"scaffold init {question.flag} "
        completed = cli(env={"_SCAFFOLD_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "3"})
        assert completed.stdout.split() == list(question.choices), (question.flag, completed.stdout, completed.stderr)


def test_a_value_that_is_not_a_choice_is_one_line_naming_the_choices(sample):
    crate = sample("raft-node")
    result = cli("init", str(crate), "--no-input", "--strategy", "fast")
    assert_clean_failure(result, 2, "--strategy", "cache-mount", "skeleton")
    assert not (crate / "Dockerfile").exists()


def test_an_unknown_option_is_one_line():
    assert_clean_failure(cli("init", "--nodez", "3"), 2, "--nodez", "-h")


@pytest.mark.parametrize("command", [[], ["init"], ["update"], ["plan"], ["check"], ["inspect"], ["templates"], ["templates", "export"]])
def test_plain_flags_show_no_value_placeholder(command):
    help_text = cli(*command, "-h").stdout
    assert "--help" in help_text and "<bool>" not in help_text
    if command == ["init"]:  # the flags the question table makes, too
        for flag in (q.flag for q in FLAG_QUESTIONS if q.type == "bool"):
            assert flag in help_text


def test_shell_completion_is_offered():
    shown = cli("--show-completion", "bash")
    assert shown.returncode == 0 and "_SCAFFOLD_COMPLETE" in shown.stdout
    assert "--install-completion" in cli("-h").stdout


# --- what a command loads: each loads only what it runs ---------------------------------------------

# Loaded by other commands only: the validators (`check`), the wizard and its prompts, the Kubernetes and
# Swarm planners (their targets), the merge (`update`).
_CHECKS = ("generator.check", "generator.check_tools", "generator.check_rules", "generator.check_waivers", "yaml")
_WIZARD = ("generator.wizard", "generator.prompt", "questionary", "prompt_toolkit")
_OTHER_TARGETS = ("generator.plan_kubernetes", "generator.plan_kubernetes_setup", "generator.podtemplate", "generator.plan_swarm")


def loaded_modules(*args: str, tmp_path: Path) -> set[str]:
    """The modules a run of the command line has loaded when it exits."""
    listing = tmp_path / "modules.txt"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(listing)!r}, 'w').write('\\n'.join(sys.modules)))\n"
        "from generator.main import app\n"
        "sys.argv[0] = 'scaffold'\n"
        "app(prog_name='scaffold')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return set(listing.read_text().split("\n"))


def test_init_without_questions_loads_neither_the_wizard_nor_the_checks_nor_other_targets(sample, tmp_path):
    crate = sample("raft-node")
    for run in ("first", "again"):  # the cold run, then the warm one
        loaded = loaded_modules("init", str(crate), "--no-input", "--quiet", tmp_path=tmp_path)
        assert "generator.render" in loaded, run  # it did render
        unexpected = {*_CHECKS, *_WIZARD, *_OTHER_TARGETS, "generator.update", "generator.summary", "generator.preflight"} & loaded
        assert not unexpected, run
    # The first run wrote docker-compose.yml, a config file the loopback check reads; from then on nothing it
    # reads is new, and its findings come from the cache: the scanner does not load.
    assert "generator.loopback_scan" not in loaded_modules("init", str(crate), "--no-input", "--quiet", tmp_path=tmp_path)


@pytest.mark.parametrize(
    "target, planner, other", [("kubernetes", "plan_kubernetes", "plan_swarm"), ("swarm", "plan_swarm", "plan_kubernetes")]
)
def test_a_target_loads_its_own_planner(target, planner, other, sample, tmp_path):
    crate = sample("raft-node")
    loaded = loaded_modules("plan", str(crate), "--target", target, "--nodes", "1", tmp_path=tmp_path)
    assert f"generator.{planner}" in loaded and f"generator.{other}" not in loaded


@pytest.mark.parametrize("command", [["--help"], ["init", "--help"], ["inspect", "--help"]])
def test_help_loads_no_pipeline(command, tmp_path):
    loaded = loaded_modules(*command, tmp_path=tmp_path)
    heavy = {*_CHECKS, *_WIZARD, *_OTHER_TARGETS, "generator.pipeline", "generator.plan", "generator.render", "generator.update"}
    assert not heavy & loaded


def test_inspect_loads_no_planner_or_renderer(sample, tmp_path):
    loaded = loaded_modules("inspect", str(sample("raft-node")), tmp_path=tmp_path)
    assert not {*_CHECKS, *_WIZARD, "generator.plan", "generator.render", "generator.update"} & loaded


def test_the_program_collects_garbage_after_loading_and_an_importer_keeps_its_collector_as_it_was():
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('collecting', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "{setup}from generator.main import app\n"
        "{run}"
    )
    runs = {
        "program": probe.format(setup="sys.argv[0] = 'scaffold'\n", run="app(['--version'])\n"),
        "importer": probe.format(setup="", run=""),
    }
    seen = {}
    for name, code in runs.items():
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
        seen[name] = result.stderr.strip().splitlines()[-1]
    assert seen == {"program": "collecting True True", "importer": "collecting True False"}
