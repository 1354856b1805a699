"""Property tests over node files and the bootstrap: any user text in a node-file template or a bootstrap
word comes out literally (in the node's file, in the one-shot's entrypoint), or is a one-line UsageError."""

from __future__ import annotations

import functools
import shlex
import shutil
import tempfile
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
TEMPLATE = "node.conf.j2"

fast = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
slow = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])

user_text = st.one_of(
    st.sampled_from(["$HOME", "${X}", "a: b", "#c", "q\"'\\", "multi\nline", "nul\x00", "tab\there", "é€😀", " spaced "]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="{}%#"), max_size=30),
)


@functools.cache
def project() -> Path:
    """A private copy of raft-node, whose template file each example rewrites."""
    root = Path(tempfile.mkdtemp(prefix="scaffold-nodefile-")) / "raft-node"
    shutil.copytree(SAMPLES / "raft-node", root, ignore=shutil.ignore_patterns("target"))
    return root


@st.composite
def choices(draw):
    # Jinja writes every line break of a template as \n: a carriage return is not text it keeps.
    text, word = draw(user_text.filter(lambda t: "\r" not in t)), draw(user_text)
    nodes = draw(st.integers(1, 5))
    answers = Answers(
        nodes=nodes,
        id_base=draw(st.sampled_from([0, 1, 7])),
        healthcheck="tcp",
        node_files=(f"{TEMPLATE}:/etc/app/node.conf",),
        bootstrap_command=f"{shlex.quote(word)} {{{{ cluster.size }}}} {{{{ cluster.nodes[0].raft_address }}}}",
    )
    return answers, text, word


def plan_or_refusal(answers: Answers, text: str):
    (project() / TEMPLATE).write_text(f"{text}\nid={{{{ node.id }}}}\n", encoding="utf-8", newline="")
    try:
        return make_plan(inspect_project(project()), answers)
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return None


@fast
@given(choices())
def test_node_file_text_and_bootstrap_words_come_out_literally(drawn):
    answers, text, word = drawn
    plan = plan_or_refusal(answers, text)
    assert (plan is None) == ("\x00" in text or "\x00" in word or "\r" in word)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    for node in plan.cluster.nodes:
        assert files[f"cluster/{node.service}/node.conf"] == f"{text}\nid={answers.id_base + node.index}\n"
    services = validators.compose_yaml(files["docker-compose.yml"])["services"]
    entrypoint = [validators.compose_literal(w) for w in services["raft-node-bootstrap"]["entrypoint"]]
    assert entrypoint == [word, str(answers.nodes), "raft-node-0:9000"]


@slow
@given(choices())
def test_node_files_and_the_bootstrap_pass_compose_v2(drawn):
    answers, text, _ = drawn
    plan = plan_or_refusal(answers, text)
    if plan is None:
        return
    files = {f.name: f.content for f in render(plan)}
    assert validators.compose_config(files["docker-compose.yml"], files["Dockerfile"]) == []
    assert validators.hadolint(files["Dockerfile"]) == []
