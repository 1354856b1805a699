"""Property tests over the run-contract answers: any ids, env templates, arguments, ports and secrets give
a one-line UsageError or files whose every user text comes out literally (Compose v2, BuildKit, hadolint)."""

from __future__ import annotations

import functools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import validators
from generator.answers import Answers
from generator.errors import UsageError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.render import render

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"

fast = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
slow = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def raft_node():
    return inspect_project(SAMPLES / "raft-node")


# Any text without Jinja's delimiters (those make it a template, not text); control characters included.
user_text = st.one_of(
    st.sampled_from(["$HOME", "${X}", "a: b", "#c", "q\"'\\", "multi\nline", "nul\x00", "tab\there", "é€😀", " spaced "]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="{}%#"), max_size=30),
)
key = st.from_regex(r"\AAPP_[A-Z0-9_]{1,8}\Z")


@st.composite
def contracts(draw):
    text, arg = draw(user_text), draw(user_text)
    nodes = draw(st.integers(1, 5))
    return Answers(
        nodes=nodes,
        id_base=draw(st.sampled_from([0, 1, 100, 1_000_000])),
        default_env=draw(st.booleans()),
        node_env=(f"APP_SHARED={text}", f"APP_OWN={text}-{{{{ node.id }}}}"),
        node_env_from_host=tuple(draw(st.lists(key, max_size=2, unique=True))),
        node_args=(arg, "{{ node.service }}", '{{ "" if node.index else "--first" }}'),
        ports=tuple(draw(st.lists(st.sampled_from(["client=6379", "admin=7000", "peer=8080"]), max_size=2, unique=True))),
        healthcheck=draw(st.sampled_from([None, "http", "tcp", "exec"])),
    ), text, arg


def plan_or_refusal(choice: Answers):
    try:
        return make_plan(raft_node(), choice)
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return None


def expected_refusal(text: str, arg: str, choice: Answers) -> bool:
    return any(ch in text for ch in "\x00\n\r") or "\x00" in arg or "peer=8080" in choice.ports


@fast
@given(contracts())
def test_contract_text_reaches_every_node_literally(drawn):
    choice, text, arg = drawn
    plan = plan_or_refusal(choice)
    assert (plan is None) == expected_refusal(text, arg, choice)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    assert validators.buildkit_findings(files["Dockerfile"]) == []
    assert validators.key_values(files["Dockerfile"], "ENV").get("APP_SHARED", text) == "".join(
        ch if ch.isprintable() else " " for ch in text
    )
    services = validators.compose_yaml(files["docker-compose.yml"])["services"]
    assert len(services) == choice.nodes
    for index, service in enumerate(services.values()):
        env = service["environment"]
        assert validators.compose_literal(env["APP_SHARED"]) == text
        assert validators.compose_literal(env["APP_OWN"]) == f"{text}-{choice.id_base + index}"
        assert all(env[k] == "${" + k + "}" for k in choice.node_env_from_host)  # compose fills it in; never written
        assert ("NODE_ID" in env) == choice.default_env and ("PEERS" in env) == (choice.default_env and choice.nodes > 1)
        expected_args = [a for a in (arg, f"raft-node-{index}", "" if index else "--first") if a]
        assert [validators.compose_literal(a) for a in service.get("command", [])] == expected_args


@slow
@given(contracts())
def test_contract_files_pass_hadolint_and_compose_v2(drawn):
    choice, _, _ = drawn
    plan = plan_or_refusal(choice)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    assert validators.hadolint(files["Dockerfile"]) == []
    assert validators.compose_config(files["docker-compose.yml"], files["Dockerfile"]) == []
