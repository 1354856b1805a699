"""Property tests over the answer space for the raft-node sample.

Any answers either give a UsageError, or a Dockerfile BuildKit parses and a compose file with the
right structure. The tools that run as subprocesses (hadolint, Compose v2) see a smaller sample.
SCAFFOLD_FUZZ=1 runs many more examples.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validators
from generator import runtimes
from generator.answers import Answers
from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.render import render

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"
FUZZ = os.environ.get("SCAFFOLD_FUZZ") == "1"

fast = settings(max_examples=1000 if FUZZ else 30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
slow = settings(max_examples=100 if FUZZ else 6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def raft_node():
    return inspect_project(SAMPLES / "raft-node")


ports = st.one_of(st.integers(1024, 65535), st.sampled_from([1, 80, 8080, 9000, 65535]), st.integers(-5, 70000))
# Any text a shell could pass, control characters included; lone surrogates cannot be written to a file.
rust_log = st.one_of(
    st.sampled_from(["info", "debug,raft=trace", "${HOME}", "$X", "a: b", "&x", "*y", "!z", 'q"\\', "multi\nline"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
)
answers = st.builds(
    Answers,
    runtime=st.sampled_from(runtimes.NAMES),
    strategy=st.sampled_from(["skeleton", "cache-mount"]),
    optimize=st.sampled_from(["strip", "speed", "size", "as-is"]),
    nodes=st.integers(1, 9),
    http_port=ports,
    raft_port=ports,
    host_port=st.one_of(st.none(), ports),
    healthcheck=st.sampled_from([None, "http", "tcp", "exec", "none"]),
    publish_raft=st.booleans(),
    rust_log=rust_log,
)


def plan_or_refusal(choice: Answers):
    try:
        return make_plan(raft_node(), choice)
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return None


def check_structure(choice: Answers, compose_text: str) -> None:
    compose = validators.compose_yaml(compose_text)
    names = [f"raft-node-{i}" for i in range(choice.nodes)]
    assert list(compose["services"]) == names
    assert list(compose["networks"]) == (["cluster"] if choice.nodes > 1 else ["app"])
    assert list(compose["volumes"]) == [f"{n}-data" for n in names]
    published = []
    for i, (name, service) in enumerate(compose["services"].items()):
        env = service["environment"]
        assert env["NODE_ID"] == str(i)
        if choice.nodes > 1:
            assert env["PEERS"] == ",".join(f"{other}:{choice.raft_port}" for other in names if other != name)
            assert env["RAFT_PORT"] == str(choice.raft_port)
        else:
            assert "PEERS" not in env and "RAFT_PORT" not in env
        assert validators.compose_literal(env["RUST_LOG"]) == choice.rust_log
        assert env["HTTP_PORT"] == str(choice.http_port)
        expected_ports = [f"127.0.0.1:{choice.first_host_port + i}:{choice.http_port}"]
        if choice.publish_raft and choice.nodes > 1:
            expected_ports.append(f"127.0.0.1:{choice.raft_port + i}:{choice.raft_port}")
        assert service["ports"] == expected_ports
        published += [int(p.split(":")[1]) for p in service["ports"]]
        assert service["volumes"] == [f"{name}-data:/data"]
    assert len(published) == len(set(published)) and max(published) <= 65535
    has_check = "healthcheck" in compose["services"][names[0]]
    assert has_check == (
        choice.healthcheck in ("http", "tcp", "exec") or (choice.healthcheck is None and runtimes.get(choice.runtime).has_shell)
    )


@fast
@given(answers)
def test_any_answers_give_a_usage_error_or_valid_files(choice):
    plan = plan_or_refusal(choice)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    assert validators.buildkit_findings(files["Dockerfile"]) == []
    check_structure(choice, files["docker-compose.yml"])


@slow
@given(answers)
def test_any_answers_pass_hadolint_and_compose_v2(choice):
    plan = plan_or_refusal(choice)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    assert validators.hadolint(files["Dockerfile"]) == []
    assert validators.compose_config(files["docker-compose.yml"], files["Dockerfile"]) == []
    resolved = validators.compose_resolved(files["docker-compose.yml"])
    for service in resolved["services"].values():
        assert service["environment"]["RUST_LOG"] == choice.rust_log.replace("$", "$$")
