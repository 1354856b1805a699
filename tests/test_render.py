"""Rendered files against the real tools: BuildKit's parser, hadolint, Compose v2, the compose-spec schema.

Also: refused combinations, user values that must come out literally, and golden files
(SCAFFOLD_UPDATE_GOLDEN=1 rewrites them).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import validators
from generator import runtimes
from generator.answers import Answers
from generator.errors import ScaffoldError, UsageError
from generator.inspect import ProjectFacts, inspect_project
from generator.plan import BuildPlan, make_plan
from generator.render import render
from generator.templateset import load_template_set, template_dir

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"
GOLDEN = Path(__file__).resolve().parent / "golden"

RUNTIMES = runtimes.NAMES
STRATEGIES = ("skeleton", "cache-mount")
OPTIMIZATIONS = ("strip", "speed", "size", "as-is")
HEALTHCHECKS = (None, "http", "tcp", "exec")  # None is none where the image has no shell
# Every sample with a binary, and the workspace's second package.
BINARIES = (("raft-node", {}), ("hello-bin", {}), ("openssl-app", {}), ("workspace", {}), ("workspace", {"bin": "ws-migrate"}))


@functools.cache
def facts(name: str) -> ProjectFacts:
    return inspect_project(SAMPLES / name)


def files_of(plan: BuildPlan, templates: Path | None = None) -> dict[str, str]:
    return {f.name: f.content for f in render(plan, load_template_set(templates) if templates else None)}


def rendered(name: str = "raft-node", **answers) -> dict[str, str]:
    return files_of(make_plan(facts(name), Answers(**answers)))


def refusal(crate: str, answers: Answers) -> str | None:
    """Why the plan refuses this combination, or None when it is valid."""
    if not runtimes.get(answers.runtime).has_shell and answers.healthcheck in ("http", "tcp"):
        return "has no shell to run the probe"
    if crate == "openssl-app" and answers.runtime == "scratch":
        return "cannot provide libssl3"
    return None


@functools.cache
def matrix() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Every sample binary x runtime x strategy x optimize x healthcheck: (rendered files by case, refusals)."""
    outputs, refused = {}, {}
    for (crate, extra), runtime, strategy, optimize, healthcheck in itertools.product(
        BINARIES, RUNTIMES, STRATEGIES, OPTIMIZATIONS, HEALTHCHECKS
    ):
        case = f"{crate}{'/' + extra['bin'] if extra else ''} {runtime} {strategy} {optimize} healthcheck={healthcheck}"
        answers = Answers(runtime=runtime, strategy=strategy, optimize=optimize, healthcheck=healthcheck, **extra)
        expected = refusal(crate, answers)
        try:
            plan = make_plan(facts(crate), answers)
        except UsageError as exc:
            refused[case] = str(exc)
            assert expected and expected in str(exc), f"{case}: unexpected refusal: {exc}"
            continue
        assert expected is None, f"{case}: should be refused ({expected})"
        outputs[case] = files_of(plan)
    return outputs, refused


# --- the Dockerfile -------------------------------------------------------------------------------


def test_the_matrix_covers_every_valid_combination():
    outputs, refused = matrix()
    assert len(outputs) + len(refused) == len(BINARIES) * 4 * 2 * 4 * 4
    assert len(outputs) > 400


def test_every_dockerfile_parses_with_buildkit():
    for case, files in matrix()[0].items():
        assert validators.buildkit_findings(files["Dockerfile"]) == [], case


def test_hadolint_finds_nothing_in_any_dockerfile():
    dockerfiles = {case: files["Dockerfile"] for case, files in matrix()[0].items()}
    report = validators.hadolint_many(dockerfiles)
    assert {case: findings for case, findings in report.items() if findings} == {}


def test_hadolint_helper_reports_findings():
    """Proof that the empty reports above mean something."""
    assert any(f.startswith("DL3006") for f in validators.hadolint("FROM debian\nCMD bash\n"))


def test_no_heredoc_and_no_syntax_directive():
    """The engine's built-in frontend has no heredocs, and `# syntax=` would pull an image."""
    for case, files in matrix()[0].items():
        text = files["Dockerfile"]
        assert "<<" not in text, case
        assert not any(line.replace(" ", "").lower().startswith("#syntax=") for line in text.splitlines()), case
        assert not any(command.heredocs for command in validators.buildkit_parse(text)), case


def test_every_hadolint_ignore_in_the_templates_says_why():
    for template in template_dir().glob("*.j2"):
        lines = template.read_text().splitlines()
        for number, line in enumerate(lines):
            if "hadolint ignore" in line:
                above = lines[number - 1].strip() if number else ""
                assert above.startswith("#") and "hadolint" not in above and len(above) > 10, f"{template.name}:{number + 1}"


def test_runtime_stage_per_runtime():
    for case, files in matrix()[0].items():
        commands = validators.buildkit_parse(files["Dockerfile"])
        froms = [c.value[0] for c in commands if c.cmd.upper() == "FROM"]
        runtime = runtimes.get(case.split()[1])
        assert froms[-1] == runtime.image, case
        (user,) = [c.value[0] for c in commands if c.cmd.upper() == "USER"]
        assert user == f"{runtime.uid}:{runtime.uid}" and runtime.uid >= 1000, case
        (entrypoint,) = [c for c in commands if c.cmd.upper() == "ENTRYPOINT"]
        assert entrypoint.json and entrypoint.value[0].startswith("/usr/local/bin/"), case


# --- the compose file -----------------------------------------------------------------------------


def unique_compose_files() -> dict[str, str]:
    """The compose file only depends on the binary and the healthcheck: validate each distinct one once."""
    unique: dict[str, str] = {}
    for case, files in matrix()[0].items():
        unique.setdefault(files["docker-compose.yml"], case)
    return {case: text for text, case in unique.items()}


def test_compose_v2_accepts_every_compose_file():
    for case, text in unique_compose_files().items():
        assert validators.compose_config(text) == [], case


def test_compose_files_match_the_compose_spec_schema():
    assert validators.compose_schema_many(list(unique_compose_files().values())) == []


@pytest.mark.parametrize(
    "break_it, said",
    [
        (lambda t: t.replace("networks:\n  cluster: {}\n", ""), "undefined network"),
        (lambda t: t.replace("  raft-node-2-data: {}\n", ""), "undefined volume"),
        (lambda t: t.replace('"127.0.0.1:8082:8080"', '"127.0.0.1:99999:8080"'), "hostPort"),
        (lambda t: t.replace("    read_only: true\n", "").replace("  read_only: true\n", "  read_onyl: true\n"), "read_onyl"),
        (lambda t: t.replace("<<: *node", "<<: *nodes", 1), "nodes"),
    ],
    ids=["network", "volume", "port", "unknown-key", "anchor"],
)
def test_compose_config_really_rejects_a_broken_file(break_it, said):
    good = rendered()["docker-compose.yml"]
    broken = break_it(good)
    assert broken != good
    findings = validators.compose_config(broken)
    assert findings and said in findings[0], findings


def test_schema_check_really_rejects_a_broken_file():
    broken = rendered()["docker-compose.yml"].replace("  init: true\n", "  init: true\n  bogus_key: 1\n")
    assert validators.compose_schema(broken)


def test_compose_structure():
    compose = validators.compose_yaml(rendered(nodes=3, publish_raft=True, host_port=18080)["docker-compose.yml"])
    services = compose["services"]
    assert list(services) == ["raft-node-0", "raft-node-1", "raft-node-2"]
    assert list(compose["networks"]) == ["cluster"]
    assert list(compose["volumes"]) == [f"raft-node-{i}-data" for i in range(3)]
    for i, service in enumerate(services.values()):
        env = service["environment"]
        assert env["NODE_ID"] == str(i)
        assert env["PEERS"] == ",".join(f"raft-node-{j}:9000" for j in range(3) if j != i)
        assert service["ports"] == [f"127.0.0.1:{18080 + i}:8080", f"127.0.0.1:{9000 + i}:9000"]
        assert service["volumes"] == [f"raft-node-{i}-data:/data"]
        assert service["networks"] == ["cluster"]
        assert service["pull_policy"] == "never"  # built from `build:`, never pulled, never rebuilt by a plain `up`
        # Every node builds the same image (compose watch rebuilds only services with a build) and watches the sources.
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"} and service["image"] == "raft-node:latest"
        watched = {rule["path"] for rule in service["develop"]["watch"] if rule["action"] == "rebuild"}
        assert watched == {"Cargo.toml", "Cargo.lock", "src"}
    assert "version" not in compose and not any("container_name" in s for s in services.values())


def test_one_node_compose_is_valid():
    text = rendered(nodes=1)["docker-compose.yml"]
    assert validators.compose_config(text) == []
    (service,) = validators.compose_resolved(text)["services"].values()
    assert "PEERS" not in service["environment"] and "RAFT_PORT" not in service["environment"]
    assert service["environment"]["NODE_ID"] == "0"
    assert "cluster" not in text.lower()
    files = rendered(nodes=1)
    (expose,) = [c for c in validators.buildkit_parse(files["Dockerfile"]) if c.cmd.upper() == "EXPOSE"]
    assert list(expose.value) == ["8080"]


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crate, answers, message",
    [
        ("raft-node", {"runtime": "distroless", "runtime_packages": ("libpq5",)}, "--runtime distroless cannot provide libpq5"),
        ("openssl-app", {"runtime": "scratch"}, "--runtime scratch cannot provide libssl3"),
        ("raft-node", {"runtime": "scratch", "healthcheck": "http"}, "--healthcheck http: the scratch image has no shell"),
        ("raft-node", {"runtime": "distroless", "healthcheck": "http"}, "--healthcheck http: the distroless image has no shell"),
        ("workspace", {"rust_version": "1.70"}, "--rust-version 1.70 is older than the project's rust-version 1.80"),
        ("workspace", {"bin": "nope"}, "--bin nope: no such binary; choose one of"),
        ("raft-node", {"runtime": "windows"}, "--runtime 'windows': choose one of"),
    ],
)
def test_refused_combinations_say_why(crate, answers, message):
    with pytest.raises(UsageError) as error:
        make_plan(facts(crate), Answers(**answers))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --- user values come out literally ---------------------------------------------------------------

TRICKY = [
    'say "hi"',
    "it's",
    "cost: $5 and ${HOME} and $$",
    "back\\slash\\",
    "a: b # not a comment",
    "&anchor",
    "*alias",
    "!tag value",
    "- dash",
    "{flow: map}",
    "[1, 2]",
    "null",
    "yes",
    "0x1F",
    "  padded  ",
    "emoji \N{SNOWMAN} and \N{LATIN SMALL LETTER E WITH ACUTE}",
    "line\u2028separator and nel\x85",
    "astral \U0001F600 beyond the BMP",
]


def crate_with_metadata(tmp_path: Path, description: str, license: str, repository: str) -> Path:
    crate = tmp_path / "meta"
    (crate / "src").mkdir(parents=True)
    (crate / "src" / "main.rs").write_text("fn main() {}\n")
    # A JSON string is a TOML basic string, once DEL (raw in JSON, not allowed raw in TOML) is escaped.
    toml = lambda value: json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")  # noqa: E731
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "meta"\nversion = "0.1.0"\nedition = "2021"\n'
        f"description = {toml(description)}\nlicense = {toml(license)}\nrepository = {toml(repository)}\n\n[workspace]\n"
    )
    return crate


@pytest.mark.parametrize("value", TRICKY + ['multi\nline "and" $X\n\tend'])
def test_package_metadata_reaches_labels_literally(tmp_path, value):
    crate = crate_with_metadata(tmp_path, value, f"MIT OR {value}", f"https://example.com/?q={value}")
    plan = make_plan(inspect_project(crate), Answers())
    dockerfile = files_of(plan)["Dockerfile"]
    labels = validators.key_values(dockerfile, "LABEL")  # also asserts nothing would be expanded
    # Cargo metadata is read with its whitespace collapsed (a LABEL value is one line).
    collapse = lambda text: " ".join(text.split())  # noqa: E731
    assert labels["org.opencontainers.image.description"] == collapse(value)
    assert labels["org.opencontainers.image.licenses"] == collapse(f"MIT OR {value}")
    assert labels["org.opencontainers.image.source"] == collapse(f"https://example.com/?q={value}")
    assert validators.hadolint(dockerfile) == []


def test_unprintable_metadata_becomes_a_space_in_labels(tmp_path):
    crate = crate_with_metadata(tmp_path, "bell\x07and\x7fdel", "MIT", "https://example.com")
    labels = validators.key_values(files_of(make_plan(inspect_project(crate), Answers()))["Dockerfile"], "LABEL")
    assert labels["org.opencontainers.image.description"] == "bell and del"


@pytest.mark.parametrize("value", TRICKY + ["multi\nline", "tab\there", "del\x7f"])
def test_rust_log_reaches_compose_literally(value):
    text = rendered(rust_log=value)["docker-compose.yml"]
    for service in validators.compose_yaml(text)["services"].values():
        assert validators.compose_literal(service["environment"]["RUST_LOG"]) == value
    # What Compose itself makes of it, after merge keys and `$` interpolation (it writes `$` as `$$`).
    resolved = validators.compose_resolved(text)
    for service in resolved["services"].values():
        assert service["environment"]["RUST_LOG"] == value.replace("$", "$$")
    assert validators.compose_schema(text) == []


def test_http_health_path_reaches_both_files_literally():
    path = "/ready?probe=1&full=yes"
    for runtime in (r.name for r in runtimes.RUNTIMES if r.has_shell):
        files = rendered(runtime=runtime, healthcheck="http", health_path=path)
        (check,) = [c for c in validators.buildkit_parse(files["Dockerfile"]) if c.cmd.upper() == "HEALTHCHECK"]
        command = list(check.value[1:])
        assert command[-2:] == ["probe", path] and path not in command[2]  # an argument, never part of the script
        resolved = validators.compose_resolved(files["docker-compose.yml"])
        for service in resolved["services"].values():
            assert service["healthcheck"]["test"] == ["CMD", *(word.replace("$", "$$") for word in command)]  # as compose writes it


# --- the skeleton, run for real on the host -------------------------------------------------------


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_the_skeleton_loads_and_builds_with_cargo(tmp_path):
    """Run the skeleton stage's RUN on a copy of the workspace, then the dependency build on what is left."""
    workspace = tmp_path / "app"
    shutil.copytree(SAMPLES / "workspace", workspace, ignore=shutil.ignore_patterns("target"))
    (workspace / "crates/api/src/routes.rs").write_text("pub fn routes() {}\n")
    plan = make_plan(inspect_project(workspace), Answers(strategy="skeleton"))
    commands = validators.buildkit_parse(files_of(plan)["Dockerfile"])
    stage = [c.value[-1] for c in commands if c.cmd.upper() == "FROM"].index("skeleton")
    start = [i for i, c in enumerate(commands) if c.cmd.upper() == "FROM"][stage]
    (run,) = [c for c in commands[start:] if c.cmd.upper() == "RUN"][:1]
    script = run.value[0].replace("/tmp/stub.rs", str(tmp_path / "stub.rs"))
    subprocess.run(["sh", "-c", script], cwd=workspace, check=True, timeout=60)
    left = sorted(p.relative_to(workspace).as_posix() for p in workspace.rglob("*") if p.is_file())
    assert left == [
        "Cargo.lock",
        "Cargo.toml",
        "crates/api/Cargo.toml",
        "crates/api/src/main.rs",
        "crates/core/Cargo.toml",
        "crates/core/build.rs",
        "crates/core/src/lib.rs",
        "crates/worker/Cargo.toml",
        "crates/worker/src/bin/ws-migrate.rs",
        "crates/worker/src/main.rs",
    ]
    assert (workspace / "crates/core/src/lib.rs").read_text() == ""
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target"), "CARGO_NET_OFFLINE": "true"}
    build = subprocess.run(
        ["cargo", "build", *plan.image.build.cargo_args], cwd=workspace, env=env, capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stderr


# --- golden files ---------------------------------------------------------------------------------

GOLDEN_CONTRACT = {
    "id_base": 1, "default_env": False, "ports": ("client=6379",), "node_env_from_host": ("APP_TOKEN",),
    "node_env": ("APP_ID={{ node.id }}", 'APP_PEERS={{ node.peers | map(attribute="raft_address") | join(",") }}', "APP_COST=$5"),
    "node_args": ("--listen", "0.0.0.0:{{ http_port }}", '{{ "--init" if node.index == 0 else "--join" }}',
                  '{{ "" if node.index == 0 else cluster.nodes[0].raft_address }}'),
    "healthcheck": "http", "health_path": "/status",
}
GOLDEN_CASES = {
    "raft-node": ("raft-node", {}),
    "workspace-skeleton": ("workspace", {"strategy": "skeleton"}),
    "workspace-cache-mount": ("workspace", {"strategy": "cache-mount"}),
    # A contract unlike the built-in one: 1-based ids under other names, arguments, a second port, a secret.
    "raft-node-contract": ("raft-node", GOLDEN_CONTRACT),
    "raft-node-single": ("raft-node", {"nodes": 1}),
    # Every target from one plan: compose, k8s/ and stack.yml, the peer list naming every node.
    "raft-node-targets": ("raft-node", {
        "targets": ("compose", "kubernetes", "swarm"), "image": "registry.example/raft-node:1.0", "pull_secret": "registry",
        "namespace": "raft", "node_env": ('PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}',),
    }),
    "raft-node-targets-contract": ("raft-node", {
        **{k: v for k, v in GOLDEN_CONTRACT.items() if k != "node_args"}, "targets": ("kubernetes", "swarm"),
        "node_env": ("APP_ID={{ node.id }}", 'APP_PEERS={{ cluster.nodes | map(attribute="raft_address") | join(",") }}', "APP_COST=$5"),
        "node_args": ("--listen", "0.0.0.0:{{ http_port }}", "--name={{ node.service }}"), "anti_affinity": "required",
        "service_type": "LoadBalancer", "ready_path": "/ready", "swarm_publish": True,
    }),
    # kv-node's contract: a config file per node (its peers map), its client binary, a bootstrap one-shot.
    "kv-node-cluster": ("kv-node", {
        "id_base": 1, "default_env": False, "http_port": 7000, "raft_port": 7100, "healthcheck": "tcp",
        "node_files": ("deploy/join.toml.j2:/etc/kv/node.toml",), "node_args": ("--config", "/etc/kv/node.toml"),
        "extra_bins": ("kv-cli",),
        "bootstrap_command": "kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}JOIN "
                             "{% for n in cluster.nodes %}{{ n.id }}={{ n.raft_address }} {% endfor %}",
    }),
    # The same on Kubernetes (a ConfigMap key per pod, a Job) and Swarm (hash-named configs, a one-shot service),
    # with the peers map in each node's file.
    "kv-node-targets": ("kv-node", {
        "id_base": 1, "default_env": False, "http_port": 7000, "raft_port": 7100, "healthcheck": "tcp",
        "targets": ("kubernetes", "swarm"), "image": "registry.example/kv-node:1.0",
        "node_files": ("deploy/node.toml.j2:/etc/kv/node.toml",), "node_args": ("--config", "/etc/kv/node.toml"),
        "bootstrap_command": "kv-cli {% for n in cluster.nodes %}--addr {{ n.http_address }} {% endfor %}ROLE",
    }),
}


def golden_differences(case: str, files: dict[str, str]) -> list[str]:
    """Names of the files that differ from tests/golden/<case>/ (or rewrite them when asked to)."""
    directory = GOLDEN / case
    if os.environ.get("SCAFFOLD_UPDATE_GOLDEN") == "1":
        for name, content in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(content)
    stored = {p.relative_to(directory).as_posix(): p.read_text() for p in directory.rglob("*") if p.is_file()} if directory.is_dir() else {}
    return sorted(name for name in files.keys() | stored.keys() if files.get(name) != stored.get(name))


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_output_matches_the_golden_files(case):
    crate, answers = GOLDEN_CASES[case]
    differences = golden_differences(case, rendered(crate, **answers))
    assert differences == [], f"rendered output differs from tests/golden/{case}/; if intended, rerun with SCAFFOLD_UPDATE_GOLDEN=1"


@pytest.mark.skipif(os.environ.get("SCAFFOLD_UPDATE_GOLDEN") == "1", reason="golden files are being rewritten")
@pytest.mark.parametrize("template", sorted(p.name for p in template_dir().glob("*.j2")))
def test_a_template_change_breaks_the_golden_test(tmp_path, template):
    changed = tmp_path / "templates"
    shutil.copytree(template_dir(), changed)
    with (changed / template).open("a") as handle:
        handle.write("# an edit\n")
    broken = []
    for case in ("raft-node-targets", "kv-node-targets"):  # every target; kv-node's adds the node files and the bootstrap
        crate, answers = GOLDEN_CASES[case]
        broken += golden_differences(case, files_of(make_plan(facts(crate), Answers(**answers)), changed))
    assert broken != []


# --- template sets written for the plan before it was organised by concept -------------------------


@pytest.mark.parametrize("old", ["{{ plan.dockerfile.binary }}\n", "{% set c = plan.compose %}{{ c.nodes | length }}\n"])
def test_a_set_reading_the_old_plan_names_is_told_to_re_export(tmp_path, old):
    old_set = tmp_path / "old-set"
    shutil.copytree(template_dir(), old_set)
    (old_set / "Dockerfile.j2").write_text("# line one\n" + old)
    with pytest.raises(ScaffoldError) as caught:
        files_of(make_plan(facts("raft-node"), Answers()), old_set)
    message = str(caught.value)
    assert message.startswith(f"{old_set / 'Dockerfile.j2'}:2: ")
    assert "the plan changed in scaffold" in message and "re-export with `scaffold templates export DIR`" in message


def test_another_undefined_plan_name_keeps_jinjas_message(tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(template_dir(), edited)
    (edited / "Dockerfile.j2").write_text("{{ plan.image.nonexistent }}\n")
    with pytest.raises(ScaffoldError, match="has no attribute 'nonexistent'") as caught:
        files_of(make_plan(facts("raft-node"), Answers()), edited)
    assert "plan changed" not in str(caught.value)


def test_the_binary_is_installed_run_and_probed_at_one_path():
    for runtime in runtimes.NAMES:
        files = rendered(runtime=runtime, healthcheck="exec")
        commands = validators.buildkit_parse(files["Dockerfile"])
        (entrypoint,) = [c.value[0] for c in commands if c.cmd.upper() == "ENTRYPOINT"]
        (health,) = [c.value[1] for c in commands if c.cmd.upper() == "HEALTHCHECK"]
        assert f"/out{entrypoint} " in files["Dockerfile"] and health == entrypoint, runtime
