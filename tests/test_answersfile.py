"""Answers: precedence of every layer, --data typing, the answers file, user defaults and the JSON Schema."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib

import jsonschema
import pytest

from conftest import REPO, run_scaffold
from generator.answersfile import Layer, answers_toml, resolve, toml_value, user_defaults_path
from generator.inspect import inspect_project
from generator.questions_builtin import BUILTIN
from generator.templateset import load_template_set

RAFT = REPO / "sample-crates" / "raft-node"


def stored(crate) -> dict:
    return tomllib.loads((crate / ".scaffold" / "answers.toml").read_text())


def node_count(crate) -> int:
    return (crate / "docker-compose.yml").read_text().count("NODE_ID")


@pytest.fixture
def user_defaults(tmp_path, monkeypatch):
    """user_defaults("nodes = 7") -> the user's defaults file holds that."""
    path = tmp_path / "config" / "defaults.toml"
    path.parent.mkdir()
    path.touch()
    monkeypatch.setenv("SCAFFOLD_CONFIG", str(path))
    return lambda text: path.write_text(text)


@pytest.fixture
def answers_file(tmp_path):
    def write(text: str):
        path = tmp_path / "replay.toml"
        path.write_text(text)
        return path

    return write


# --- precedence: flags > --data > answers file > user defaults > inspected facts > template defaults ---


@pytest.mark.parametrize(
    "layers, expected",
    [
        ({}, 3),  # the template default
        ({"user": 7}, 7),
        ({"user": 7, "file": 5}, 5),
        ({"user": 7, "file": 5, "data": 9}, 9),
        ({"user": 7, "file": 5, "data": 9, "flag": 11}, 11),
        ({"flag": 11, "user": 7}, 11),
        ({"data": 9, "user": 7}, 9),
    ],
)
def test_each_layer_beats_the_ones_below(sample, user_defaults, answers_file, layers, expected):
    crate = sample("raft-node")
    args = ["init", str(crate), "--no-input"]
    if "user" in layers:
        user_defaults(f"nodes = {layers['user']}\n")
    if "file" in layers:
        args += ["--answers", str(answers_file(f"nodes = {layers['file']}\n"))]
    if "data" in layers:
        args += ["--data", f"nodes={layers['data']}"]
    if "flag" in layers:
        args += ["--nodes", str(layers["flag"])]
    result = run_scaffold(*args)
    assert result.returncode == 0, result.stderr
    assert node_count(crate) == expected
    assert stored(crate)["nodes"] == expected


def test_user_defaults_beat_inspected_facts(sample, user_defaults):
    crate = sample("raft-node")
    user_defaults('rust_version = "1.99"\n')
    result = run_scaffold("init", str(crate), "--no-input")
    assert result.returncode == 0, result.stderr
    assert "ARG RUST_VERSION=1.99" in (crate / "Dockerfile").read_text()


def test_inspected_facts_beat_template_defaults():
    facts = inspect_project(RAFT)
    questions = tuple(dataclasses.replace(q, default="1.0") if q.name == "rust_version" else q for q in BUILTIN)
    resolution = resolve(questions, [], facts)
    assert resolution.answers.rust_version == "1.95" and resolution.sources["rust_version"] == "inspected"
    assert resolution.answers.bin == "raft-node" and resolution.sources["bin"] == "inspected"
    assert resolution.sources["nodes"] == "default"


def test_a_default_follows_an_earlier_answer():
    facts = inspect_project(RAFT)
    assert resolve(BUILTIN, [Layer("flags", {"runtime": "distroless"})], facts).answers.healthcheck == "none"
    assert resolve(BUILTIN, [Layer("flags", {"http_port": 8500})], facts).answers.host_port == 8500


def test_user_defaults_location(tmp_path, monkeypatch):
    monkeypatch.delenv("SCAFFOLD_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert user_defaults_path() == tmp_path / "xdg" / "scaffold" / "defaults.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_defaults_path() == tmp_path / "home" / ".config" / "scaffold" / "defaults.toml"
    monkeypatch.setenv("SCAFFOLD_CONFIG", str(tmp_path / "mine.toml"))
    assert user_defaults_path() == tmp_path / "mine.toml"


def test_user_defaults_under_xdg_config_home_are_read(sample, tmp_path, monkeypatch):
    crate = sample("raft-node")
    monkeypatch.delenv("SCAFFOLD_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "scaffold").mkdir(parents=True)
    (tmp_path / "xdg" / "scaffold" / "defaults.toml").write_text('runtime = "alpine"\n')
    result = run_scaffold("init", str(crate), "--no-input")
    assert result.returncode == 0, result.stderr
    assert "FROM alpine:3.22" in (crate / "Dockerfile").read_text()


# --- --data -------------------------------------------------------------------------------------------


def test_data_values_are_typed_by_their_question(sample):
    crate = sample("raft-node")
    result = run_scaffold(
        "init", str(crate), "--no-input", "--data", "nodes=5", "--data", "publish_raft=yes", "--data", "build_packages=cmake, make",
        "--data", "health_command=healthcheck --quick", "--data", "healthcheck=exec",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = stored(crate)
    assert answers["nodes"] == 5 and answers["publish_raft"] is True
    assert answers["build_packages"] == ["cmake", "make"]
    assert answers["health_command"] == ["healthcheck", "--quick"]


@pytest.mark.parametrize(
    "pair, needles",
    [
        ("colour=blue", ["colour", "nodes", "http_port", "runtime"]),  # the known keys are listed
        ("nodes", ["KEY=VALUE"]),
        ("nodes=many", ["nodes", "whole number"]),
        ("publish_raft=maybe", ["true or false"]),
        ("runtime=windows", ["--runtime", "debian-slim"]),
    ],
)
def test_bad_data_is_a_usage_error(sample, pair, needles):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--data", pair)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr
    assert not (crate / "Dockerfile").exists()


# --- the answers file ---------------------------------------------------------------------------------


def test_the_answers_file_replays_into_identical_files(sample, tmp_path):
    crate = sample("raft-node")
    out = tmp_path / "out"  # the files name their way back to the project: replay into the same place
    made = run_scaffold("init", str(crate), "--no-input", "--nodes", "5", "--runtime", "alpine", "--output-dir", str(out))
    assert made.returncode == 0, made.stderr
    names = ("Dockerfile", "Dockerfile.dockerignore", "docker-compose.yml", ".scaffold/answers.toml")
    first = {name: (out / name).read_bytes() for name in names}
    answers = tmp_path / "answers.toml"
    answers.write_bytes(first[".scaffold/answers.toml"])
    shutil.rmtree(out)
    replay = run_scaffold("init", str(crate), "--no-input", "--answers", str(answers), "--output-dir", str(out))
    assert replay.returncode == 0, replay.stderr
    assert {name: (out / name).read_bytes() for name in names} == first


def test_rerunning_with_the_same_answers_changes_nothing(sample):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input", "--nodes", "5").returncode == 0
    state = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in crate.rglob("*") if p.is_file()}
    again = run_scaffold("init", str(crate), "--no-input", "--answers", str(crate / ".scaffold/answers.toml"))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("identical") == 4 and "new" not in again.stdout and "changed" not in again.stdout
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in crate.rglob("*") if p.is_file()} == state


def test_the_answers_file_records_template_and_versions(sample):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    answers = stored(crate)
    assert answers["_template"] == "builtin" and answers["_template_version"] == load_template_set().version == "2.2"
    assert answers["_scaffold_version"]
    assert answers["bin"] == "raft-node" and answers["rust_version"] == "1.95"  # resolved, inspected ones included
    assert (crate / ".scaffold/generated/Dockerfile").read_text() == (crate / "Dockerfile").read_text()
    assert ".scaffold" in (crate / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize(
    "content, code, needle",
    [
        ('nodes = "five"\n', 2, "expected an integer"),
        ("nodes = [\n", 1, "replay.toml:2"),
        ("x = 1\nnodes = = 3\n", 1, "replay.toml:2"),
        ("nodes = 0\n", 2, "--nodes 0"),
    ],
)
def test_a_bad_answers_file_names_itself(sample, answers_file, content, code, needle):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--answers", str(answers_file(content)))
    assert result.returncode == code, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_an_unknown_key_in_the_answers_file_is_a_warning(sample, answers_file):
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--answers", str(answers_file("colour = 1\nnodes = 5\n")))
    assert result.returncode == 0, result.stderr
    assert "colour" in result.stderr and node_count(crate) == 5


@pytest.mark.parametrize("value", ["plain", 'quo"te', "back\\slash", "new\nline", "tab\tand\x01control", "ünïcode 😀", "", "$HOME"])
def test_toml_writer_round_trips(value):
    assert tomllib.loads(f"key = {toml_value(value)}\n")["key"] == value
    assert tomllib.loads(f"key = {toml_value((value, 'x'))}\n")["key"] == [value, "x"]


def test_toml_writer_writes_every_type():
    text = answers_toml({"n": 3, "b": False, "s": "x", "l": ()}, "builtin", "1.0")
    assert tomllib.loads(text) == {"_scaffold_version": tomllib.loads(text)["_scaffold_version"], "_template": "builtin",
                                   "_template_version": "1.0", "n": 3, "b": False, "s": "x", "l": []}  # fmt: skip


# --- the JSON Schema ----------------------------------------------------------------------------------


def schema(*args: str) -> dict:
    result = run_scaffold("schema", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_schema_validates_written_answers_files(sample):
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    validator = jsonschema.Draft202012Validator(document)
    for flags in ([], ["--nodes", "5", "--runtime", "alpine", "--publish-raft", "--build-package", "libfoo"], ["--healthcheck", "exec"]):
        crate = sample("raft-node")
        assert run_scaffold("init", str(crate), "--no-input", *flags).returncode == 0
        validator.validate(stored(crate))  # additionalProperties is false: every key written is in the schema
        shutil.rmtree(crate)


@pytest.mark.parametrize(
    "change",
    [{"nodes": 0}, {"http_port": 70000}, {"runtime": "windows"}, {"rust_version": "latest"}, {"colour": "blue"}, {"features": "a"}],
)
def test_the_schema_refuses_what_scaffold_refuses(sample, change):
    crate = sample("raft-node")
    assert run_scaffold("init", str(crate), "--no-input").returncode == 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**stored(crate), **change}, schema(), cls=jsonschema.Draft202012Validator)


def test_unknown_keys_in_the_user_defaults_give_one_warning_naming_the_known_ones(sample, user_defaults):
    crate = sample("raft-node")
    user_defaults('nodes = 5\nregistry = "ghcr.io/x"\nnodez = 3\n')
    result = run_scaffold("init", str(crate), "--no-input", "-q")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:") and "registry" in line]
    assert len(warnings) == 1 and "nodez" in warnings[0] and "http_port" in warnings[0]
    assert node_count(crate) == 5  # the known key still applies


def test_a_scaffold_config_naming_a_missing_file_is_an_error(sample, tmp_path, monkeypatch):
    crate = sample("raft-node")
    monkeypatch.setenv("SCAFFOLD_CONFIG", str(tmp_path / "typo.toml"))
    result = run_scaffold("init", str(crate), "--no-input")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "typo.toml" in result.stderr and "SCAFFOLD_CONFIG" in result.stderr
    assert not (crate / "Dockerfile").exists()
