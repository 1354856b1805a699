"""Template sets: the built-in manifest, export, a custom set adding a file and a question, clear errors."""

from __future__ import annotations

import json
import tomllib

import jsonschema
import pytest

from conftest import run_scaffold
from generator.errors import ScaffoldError
from generator.templateset import export_builtin, load_template_set, template_dir

MAKEFILE_QUESTIONS = """
[[files]]
path = "Makefile"
template = "Makefile.j2"

[[files]]
path = "deploy/cluster.txt"
template = "cluster.txt.j2"

[[questions]]
name = "registry"
type = "str"
help = "Registry the image is pushed to."
default = "ghcr.io/example"
validation = { regex = "[a-z0-9./-]+" }

[[questions]]
name = "replicas_note"
type = "bool"
help = "Mention the cluster size?"
default = true
when = "nodes > 1"
"""
MAKEFILE = "push:\n\tdocker push {{ custom.registry }}/{{ plan.binary }}:latest\n"
CLUSTER = "{% if custom.replicas_note %}{{ plan.cluster.nodes | length }} nodes\n{% endif %}"


@pytest.fixture
def custom_set(tmp_path):
    """An exported copy of the built-in set with a Makefile, a nested file and two questions."""
    folder = tmp_path / "my-templates"
    export_builtin(folder)
    with (folder / "template.toml").open("a") as manifest:
        manifest.write(MAKEFILE_QUESTIONS)
    (folder / "Makefile.j2").write_text(MAKEFILE)
    (folder / "cluster.txt.j2").write_text(CLUSTER)
    return folder


# The built-in set's outputs and the templates that make them.
OUTPUTS = {
    "Dockerfile": "Dockerfile.j2",
    ".dockerignore": "dockerignore.j2",
    "docker-compose.yml": "docker-compose.yml.j2",
    "k8s/kustomization.yaml": "k8s-kustomization.yaml.j2",
    "k8s/statefulset.yaml": "k8s-statefulset.yaml.j2",
    "k8s/services.yaml": "k8s-services.yaml.j2",
    "k8s/policies.yaml": "k8s-policies.yaml.j2",
    "k8s/files.yaml": "k8s-files.yaml.j2",
    "k8s/bootstrap.yaml": "k8s-bootstrap.yaml.j2",
    "stack.yml": "stack.yml.j2",
}


def test_the_builtin_manifest_lists_the_builtin_outputs():
    builtin = load_template_set()
    assert {f.path: f.template for f in builtin.files} == OUTPUTS
    assert builtin.identity == "builtin" and builtin.extra_questions == ()


def test_the_builtin_outputs_are_not_in_the_build_context():
    assert [f.context for f in load_template_set().files] == [False] * len(OUTPUTS)


def test_outputs_the_build_does_not_read_are_left_out_of_the_context(sample, custom_set):
    """The Makefile says `context = false`; deploy/cluster.txt says nothing, so the build may read it."""
    manifest = custom_set / "template.toml"
    text = manifest.read_text().replace('template = "Makefile.j2"\n', 'template = "Makefile.j2"\ncontext = false\n')
    manifest.write_text(text)
    crate = sample("raft-node")
    result = run_scaffold("init", str(crate), "--no-input", "--template", str(custom_set))
    assert result.returncode == 0, result.stderr
    ignore = (crate / ".dockerignore").read_text().splitlines()
    container = ignore[ignore.index("# Container files: editing them should not invalidate the build cache") + 1 :]
    assert container == [*OUTPUTS, "Makefile", ".scaffold"]
    assert "deploy/cluster.txt" not in ignore


def test_export_writes_the_builtin_set_and_refuses_a_non_empty_folder(tmp_path):
    folder = tmp_path / "copy"
    written = export_builtin(folder)
    assert sorted(p.name for p in written) == sorted(["template.toml", *OUTPUTS.values()])
    for path in written:
        assert path.read_bytes() == (template_dir() / path.name).read_bytes()
    result = run_scaffold("templates", "export", str(folder))
    assert result.returncode == 1 and "not an empty folder" in result.stderr


def written(folder):
    """Every file a set wrote into folder, by relative path (the answers under .scaffold/ name the set, so they differ)."""
    paths = (p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder): p.read_bytes() for p in paths if ".scaffold" not in p.relative_to(folder).parts}


def test_an_exported_set_renders_what_the_builtin_one_does(sample, tmp_path):
    folder = tmp_path / "copy"
    export_builtin(folder)
    crate = sample("raft-node")
    custom = tmp_path / "b"  # both sets write there in turn: the files name their way back to the project
    every = ("--target", "compose,kubernetes,swarm", "--node-env", 'PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}')
    assert run_scaffold("init", str(crate), "--no-input", *every, "--output-dir", str(custom)).returncode == 0
    builtin = written(custom)
    made = run_scaffold("init", str(crate), "--no-input", *every, "--force", "--template", str(folder), "--output-dir", str(custom))
    assert made.returncode == 0, made.stderr
    assert written(custom) == builtin
    # Recorded relative to the answers file (custom/.scaffold/), so the two can move together.
    assert tomllib.loads((custom / ".scaffold/answers.toml").read_text())["_template"] == "../../copy"


def test_a_custom_set_adds_a_file_and_questions(sample, custom_set):
    crate = sample("raft-node")
    answers = ("--data", "registry=quay.io/me", "--nodes", "5")
    result = run_scaffold("init", str(crate), "--no-input", "--template", str(custom_set), *answers)
    assert result.returncode == 0, result.stderr
    assert (crate / "Makefile").read_text() == "push:\n\tdocker push quay.io/me/raft-node:latest\n"
    assert (crate / "deploy/cluster.txt").read_text() == "5 nodes\n"
    answers = tomllib.loads((crate / ".scaffold/answers.toml").read_text())
    assert answers["registry"] == "quay.io/me" and answers["replicas_note"] is True
    schema = json.loads(run_scaffold("schema", "--template", str(custom_set)).stdout)
    assert schema["properties"]["registry"]["default"] == "ghcr.io/example"
    jsonschema.validate(answers, schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**answers, "registry": "UPPER CASE"}, schema, cls=jsonschema.Draft202012Validator)


def test_a_custom_question_is_validated(sample, custom_set):
    crate = sample("raft-node")
    bad = ("--data", "registry=Not A Registry")
    result = run_scaffold("init", str(crate), "--no-input", "--template", str(custom_set), *bad)
    assert result.returncode == 2 and "registry" in result.stderr
    assert not (crate / "Dockerfile").exists()


def test_when_conditions(custom_set):
    question = {q.name: q for q in load_template_set(custom_set).extra_questions}["replicas_note"]
    assert question.when({"nodes": 3}) and not question.when({"nodes": 1})


@pytest.mark.parametrize(
    "template, needle",
    [
        ("line one\n{{ plan.binary }\n", "Makefile.j2:2: template syntax error"),
        ("line one\nline two\n{{ custom.nothing }}\n", "Makefile.j2:3: template uses an undefined value"),
        ("{{ plan.no_such_field }}\n", "Makefile.j2:1: template uses an undefined value"),
        ("{% for x in plan.binary %}\n{% endfor %}\n{% include 'missing.j2' %}\n", "missing.j2"),
    ],
)
def test_template_errors_name_file_and_line(sample, custom_set, template, needle):
    crate = sample("raft-node")
    (custom_set / "Makefile.j2").write_text(template)
    result = run_scaffold("init", str(crate), "--no-input", "--template", str(custom_set))
    assert result.returncode == 1
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert not (crate / "Dockerfile").exists()


def test_an_error_in_an_included_template_names_that_template(sample, custom_set):
    (custom_set / "part.j2").write_text("fine\n{{ custom.nope }}\n")
    (custom_set / "Makefile.j2").write_text("{% include 'part.j2' %}\n")
    result = run_scaffold("init", str(sample("raft-node")), "--no-input", "--template", str(custom_set))
    assert result.returncode == 1 and "part.j2:2:" in result.stderr


TEMPLATE = '[template]\nname = "x"\nversion = "1"\n'
FILES = '[[files]]\npath = "a"\ntemplate = "a.j2"\n'
QUESTION = TEMPLATE + FILES + '[[questions]]\nname = "q"\n'


@pytest.mark.parametrize(
    "manifest, needle",
    [
        (None, "no template.toml"),
        ('[template]\nname = "x"\nversion = "1"\n', "[[files]]"),
        ('[template]\nname = "x"\n[[files]]\npath = "a"\ntemplate = "a.j2"\n', "`version`"),
        (TEMPLATE + '[[files]]\npath = "a"\ntemplate = "missing.j2"\n', "missing.j2 does not exist"),
        (TEMPLATE + '[[files]]\npath = "../a"\ntemplate = "a.j2"\n', "relative path"),
        (TEMPLATE + '[[files]]\npath = ".scaffold/a"\ntemplate = "a.j2"\n', ".scaffold"),
        (TEMPLATE + 'extra = 1\n' + FILES, "unknown key 'extra'"),
        (TEMPLATE + FILES + 'context = "no"\n', "`context` is true"),
        (TEMPLATE + FILES + 'target = "nomad"\n', "`target` is one of compose, kubernetes, swarm"),
        (TEMPLATE + FILES + 'target = []\n', "`target` is one of compose, kubernetes, swarm"),
        (TEMPLATE + FILES + '[[questions]]\nname = "nodes"\n', "already taken"),
        (QUESTION + 'type = "float"\n', "type 'float'"),
        (QUESTION + 'type = "choice"\n', "choices"),
        (QUESTION + 'when = "colour > 1"\n', "colour is not a question"),
        (QUESTION + 'type = "int"\ndefault = "3"\n', "expected an integer"),
        (QUESTION + 'type = "int"\ndefault = 0\nvalidation = { min = 1 }\n', "at least 1"),
        ('[template]\nname = "x"\nversion = [\n', "template.toml:4"),  # the end of the file
    ],
)  # fmt: skip
def test_manifest_errors_are_clear(tmp_path, manifest, needle):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.j2").write_text("a\n")
    if manifest is not None:
        (folder / "template.toml").write_text(manifest)
    with pytest.raises(ScaffoldError, match=None) as error:
        load_template_set(folder)
    assert needle in str(error.value)


def test_a_file_without_a_target_is_written_for_every_target_and_one_with_targets_only_for_them(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.j2").write_text("a\n")
    (folder / "template.toml").write_text(TEMPLATE + FILES + '[[files]]\npath = "b"\ntemplate = "a.j2"\ntarget = ["swarm", "kubernetes"]\n')
    every, some = load_template_set(folder).files
    assert every.rendered_for(("compose",)) and every.rendered_for(("swarm",))
    assert some.targets == ("swarm", "kubernetes") and not some.rendered_for(("compose",)) and some.rendered_for(("compose", "swarm"))
