"""Plan decisions, checked on the BuildPlan itself (not on rendered text)."""

from __future__ import annotations

import fnmatch
import functools
import os
import shlex
from pathlib import Path

import pytest

from generator import probes, runtimes
from generator.answers import Answers
from generator.choices import BASELINE_RUST
from generator.errors import ScaffoldError, UsageError
from generator.inspect import ProjectFacts, inspect_project
from generator.plan import BuildPlan, make_plan
from generator.plan_cluster import PublishedPort

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"
RUNTIMES = runtimes.NAMES


@functools.cache
def facts(name: str) -> ProjectFacts:
    return inspect_project(SAMPLES / name)


def plan(name: str = "raft-node", **answers) -> BuildPlan:
    return make_plan(facts(name), Answers(**answers))


def write_crate(directory: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    """A small crate on disk: its Cargo.toml and the given files (a src/main.rs by default)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Cargo.toml").write_text(manifest)
    for relative, text in (files if files is not None else {"src/main.rs": "fn main() {}\n"}).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def manifest(name: str = "demo", extra: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{extra}\n[workspace]\n'


# --- cargo invocations ----------------------------------------------------------------------------


def test_cargo_args_are_locked_and_select_package_and_bin():
    assert plan().image.build.cargo_args == ("--release", "--locked", "-p", "raft-node", "--bin", "raft-node")


def test_cargo_args_drop_locked_without_a_lock(tmp_path):
    crate = write_crate(tmp_path / "demo", manifest())
    result = make_plan(inspect_project(crate), Answers())
    args = result.image.build.cargo_args
    assert "--locked" not in args
    assert args[args.index("-p") + 1] == "demo" and args[args.index("--bin") + 1] == "demo"


def test_cargo_args_pick_the_workspace_member_and_its_binary():
    args = plan("workspace", bin="ws-migrate").image.build.cargo_args
    assert args == ("--release", "--locked", "-p", "ws-worker", "--bin", "ws-migrate")


def test_required_features_of_the_binary_are_enabled_with_the_users(tmp_path):
    crate = write_crate(
        tmp_path / "demo",
        manifest(
            extra='[features]\nserver = []\nmetrics = []\n\n[[bin]]\nname = "demo"\npath = "src/main.rs"\nrequired-features = ["server"]\n'
        ),
    )
    result = make_plan(inspect_project(crate), Answers(features=("metrics",)))
    args = result.image.build.cargo_args
    assert args[args.index("--features") + 1] == "metrics,server"


@pytest.mark.parametrize("strategy", ["skeleton", "cache-mount"])
def test_every_cargo_invocation_gets_the_same_arguments(strategy):
    """The dependency layer is only reused when both builds ask Cargo for the same thing."""
    from generator.render import render

    result = plan(strategy=strategy)
    dockerfile = next(f.content for f in render(result) if f.name == "Dockerfile")
    builds = [
        line.split("cargo build", 1)[1].split("\\")[0].strip()
        for line in dockerfile.splitlines()
        if "cargo build" in line and not line.startswith("#")
    ]
    assert [shlex.split(b) for b in builds] == [list(result.image.build.cargo_args)] * (2 if strategy == "skeleton" else 1)


# --- images, users, toolchain ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "runtime, builder, image, user, managers",
    [
        ("debian-slim", "rust:${RUST_VERSION}-slim-bookworm", "debian:bookworm-slim", 10001, ("apt", "apt")),
        ("distroless", "rust:${RUST_VERSION}-slim-bookworm", "gcr.io/distroless/cc-debian12:nonroot", 65532, ("apt", "none")),
        ("alpine", "rust:${RUST_VERSION}-alpine", "alpine:3.22", 10001, ("apk", "apk")),
        ("scratch", "rust:${RUST_VERSION}-alpine", "scratch", 10001, ("apk", "none")),
    ],
)
def test_images_and_user_per_runtime(runtime, builder, image, user, managers):
    i = plan(runtime=runtime, healthcheck="exec").image
    assert (i.builder_image, i.base_image, i.user.uid, i.user.gid) == (builder, image, user, user)
    assert (i.build_packages.manager, i.runtime_packages.manager) == managers


def test_musl_builds_get_musl_dev():
    assert "musl-dev" in plan(runtime="alpine").image.build_packages.names
    assert "musl-dev" not in plan(runtime="debian-slim").image.build_packages.names


def test_rust_version_defaults_to_the_baseline_when_msrv_is_older():
    assert facts("workspace").rust_version(facts("workspace").default_binary) == "1.80"
    assert plan("workspace").image.rust_version == BASELINE_RUST


def test_rust_version_follows_an_msrv_newer_than_the_baseline(tmp_path):
    crate = write_crate(tmp_path / "demo", manifest(extra='rust-version = "1.99"'))
    assert make_plan(inspect_project(crate), Answers()).image.rust_version == "1.99"


def test_a_toolchain_pin_beats_msrv_and_baseline(tmp_path):
    crate = write_crate(
        tmp_path / "demo",
        manifest(extra='rust-version = "1.99"'),
        {"src/main.rs": "fn main() {}\n", "rust-toolchain.toml": '[toolchain]\nchannel = "1.97.0"\n'},
    )
    assert make_plan(inspect_project(crate), Answers()).image.rust_version == "1.97.0"


def test_a_channel_pin_builds_on_the_baseline_image_with_its_own_layer(tmp_path):
    crate = write_crate(
        tmp_path / "demo", manifest(), {"src/main.rs": "fn main() {}\n", "rust-toolchain": "stable\n"}
    )
    result = make_plan(inspect_project(crate), Answers())
    assert result.image.rust_version == BASELINE_RUST
    assert result.image.toolchain.file == "rust-toolchain"
    assert any("pins `stable`" in w and "toolchain layer" in w for w in result.warnings)


def test_rust_version_answer_wins_and_older_than_msrv_is_refused():
    assert plan("workspace", rust_version="1.96").image.rust_version == "1.96"
    with pytest.raises(UsageError, match=r"--rust-version 1\.79 is older than the project's rust-version 1\.80"):
        plan("workspace", rust_version="1.79")


# --- release profile and system packages ----------------------------------------------------------


@pytest.mark.parametrize(
    "optimize, env",
    [
        ("as-is", {}),
        ("strip", {"CARGO_PROFILE_RELEASE_STRIP": "symbols"}),
        (
            "speed",
            {"CARGO_PROFILE_RELEASE_LTO": "fat", "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "1", "CARGO_PROFILE_RELEASE_STRIP": "symbols"},
        ),
        (
            "size",
            {
                "CARGO_PROFILE_RELEASE_OPT_LEVEL": "z",
                "CARGO_PROFILE_RELEASE_LTO": "fat",
                "CARGO_PROFILE_RELEASE_CODEGEN_UNITS": "1",
                "CARGO_PROFILE_RELEASE_STRIP": "symbols",
            },
        ),
    ],
)
def test_profile_environment_per_optimize(optimize, env):
    assert dict(plan(optimize=optimize).image.build.env) == env


def test_system_packages_for_debian():
    i = plan("openssl-app").image
    assert set(i.build_packages.names) == {"pkg-config", "libssl-dev"}
    assert i.runtime_packages.names == ("libssl3", "ca-certificates")


@pytest.mark.parametrize("runtime", ["alpine", "scratch"])
def test_system_packages_get_alpine_names(runtime):
    if runtime == "scratch":
        with pytest.raises(UsageError, match=r"--runtime scratch cannot provide libssl3 \("):
            plan("openssl-app", runtime=runtime, healthcheck="none")
        i = plan("raft-node", runtime=runtime, healthcheck="none", build_packages=("libpq-dev", "protobuf-compiler")).image
        assert i.build_packages.names == ("musl-dev", "libpq-dev", "protobuf-dev")
        return
    i = plan("openssl-app", runtime=runtime).image
    assert set(i.build_packages.names) == {"musl-dev", "pkgconf", "openssl-dev"}
    assert i.runtime_packages.names == ("libssl3", "ca-certificates")
    assert plan("raft-node", runtime=runtime, runtime_packages=("libpq5",)).image.runtime_packages.names == ("libpq",)


def test_distroless_provides_libssl_but_not_libpq():
    assert plan("openssl-app", runtime="distroless").image.runtime_packages.names == ()
    with pytest.raises(UsageError, match="--runtime distroless cannot provide libpq5 .*use --runtime debian-slim or alpine"):
        plan(runtime="distroless", runtime_packages=("libpq5",))


def test_scratch_copies_the_ca_bundle_only_when_asked():
    assert plan(runtime="scratch", healthcheck="none", runtime_packages=("ca-certificates",)).image.ca_bundle
    assert not plan(runtime="scratch", healthcheck="none").image.ca_bundle


# --- healthcheck ----------------------------------------------------------------------------------


def test_the_default_probe_is_tcp_for_a_server_without_an_http_crate():
    """raft-node serves HTTP by hand (std only): nothing says for sure it speaks HTTP, so a TCP connect."""
    hc = plan().image.healthcheck
    assert hc.kind == "tcp"
    assert hc.command == probes.probe_command("tcp", "debian-slim", port=8080)
    assert "127.0.0.1" not in " ".join(hc.command)  # the container's own address, never loopback


def test_an_http_crate_makes_the_default_http(tmp_path):
    crate = write_crate(tmp_path / "web", manifest(extra='\n[dependencies]\naxum = "0.7"\n'))
    hc = make_plan(inspect_project(crate), Answers()).image.healthcheck
    assert hc.kind == "http" and hc.command[-2:] == ("probe", "/")  # no path: any HTTP status line


@pytest.mark.parametrize("runtime, shell", [("debian-slim", "bash"), ("alpine", "sh")])
def test_http_probe_with_a_path_wants_it(runtime, shell):
    hc = plan(runtime=runtime, healthcheck="http", http_port=8181, health_path="/ready").image.healthcheck
    assert hc.command[0] == shell and hc.command[-2:] == ("probe", "/ready") and "8181" in hc.command[2]


@pytest.mark.parametrize("runtime", tuple(r.name for r in runtimes.RUNTIMES if not r.has_shell))
def test_no_healthcheck_by_default_without_a_shell(runtime):
    assert plan(runtime=runtime).image.healthcheck is None


@pytest.mark.parametrize("kind", ["http", "tcp"])
@pytest.mark.parametrize("runtime", tuple(r.name for r in runtimes.RUNTIMES if not r.has_shell))
def test_shell_probes_are_refused_without_a_shell(runtime, kind):
    with pytest.raises(UsageError, match=f"--healthcheck {kind}: the {runtime} image has no shell"):
        plan(runtime=runtime, healthcheck=kind)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_healthcheck_runs_the_binary_or_the_given_command(runtime):
    hc = plan(runtime=runtime, healthcheck="exec").image.healthcheck
    assert hc.command == ("/usr/local/bin/raft-node", "healthcheck")
    other = plan(runtime=runtime, healthcheck="exec", health_exec=("/usr/bin/redis-cli", "ping")).image.healthcheck
    assert other.kind == "exec" and other.command == ("/usr/bin/redis-cli", "ping")
    assert plan(runtime=runtime, healthcheck="none").image.healthcheck is None


# --- compose --------------------------------------------------------------------------------------


def test_compose_nodes_ids_peers_ports_and_volumes():
    c = plan(nodes=5).cluster
    services = [n.service for n in c.nodes]
    assert services == [f"raft-node-{i}" for i in range(5)]
    for i, node in enumerate(c.nodes):
        env = dict(node.env)
        assert node.index == i and node.id == env["NODE_ID"] == str(i)
        assert env["PEERS"].split(",") == [f"{s}:9000" for s in services if s != node.service]
        assert node.ports == (PublishedPort("127.0.0.1", 8080 + i, 8080),)
        assert node.volume == f"raft-node-{i}-data"
        assert node.command == ()  # the image's entrypoint, with no arguments
    assert len({n.volume for n in c.nodes}) == 5
    assert c.network == "cluster" and c.image == "raft-node:latest"


def test_raft_ports_published_only_when_asked():
    node = plan(nodes=3, publish_raft=True, host_port=18080, publish_address="0.0.0.0").cluster.nodes[2]
    assert node.ports == (PublishedPort("0.0.0.0", 18082, 8080), PublishedPort("0.0.0.0", 9002, 9000))


def test_one_node_is_told_no_cluster_variables():
    result = plan(nodes=1)
    (node,) = result.cluster.nodes
    env = dict((*result.cluster.env, *node.env))
    assert env == {"NODE_ID": "0", "HTTP_PORT": "8080", "DATA_DIR": "/data", "RUST_LOG": "info"} and node.id == "0"
    assert [p.name for p in result.image.ports] == ["http"]  # no Raft port to EXPOSE
    assert result.cluster.network != "cluster"


def test_even_cluster_size_warns():
    assert any("odd size" in w for w in plan(nodes=4).warnings)
    assert not any("odd size" in w for w in plan(nodes=3).warnings)


@pytest.mark.parametrize(
    "answers, message",
    [
        ({"nodes": 0}, "--nodes 0: a cluster needs 1 to 99 nodes"),
        ({"nodes": 100}, "--nodes 100"),
        ({"http_port": 0}, "--http-port 0: a port is a number from 1 to 65535"),
        ({"raft_port": 70000}, "--raft-port 70000"),
        ({"http_port": 9000, "raft_port": 9000}, "both 9000"),
        ({"host_port": 65534, "nodes": 3}, "needs host ports up to 65536, past 65535"),
        ({"raft_port": 65534, "nodes": 3, "publish_raft": True}, "past 65535"),
        ({"host_port": 9000, "publish_raft": True}, "overlap"),
    ],
)
def test_impossible_cluster_answers_are_refused(answers, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        plan(**answers)


def test_the_last_host_port_may_be_65535():
    assert plan(host_port=65533, nodes=3).cluster.nodes[-1].ports == (PublishedPort("127.0.0.1", 65535, 8080),)


def test_shared_environment():
    env = dict(plan(rust_log="debug,raft=trace", data_dir="/var/lib/raft").cluster.env)
    assert env == {"HTTP_PORT": "8080", "RAFT_PORT": "9000", "DATA_DIR": "/var/lib/raft", "RUST_LOG": "debug,raft=trace"}


def test_names_cargo_would_refuse_never_reach_the_files(tmp_path):
    crate = write_crate(tmp_path / "demo", manifest(extra='\n[[bin]]\nname = "x; rm -rf /"\npath = "src/main.rs"\n'))
    with pytest.raises(ScaffoldError, match="binary name 'x; rm -rf /' is not a name Cargo accepts"):
        make_plan(inspect_project(crate), Answers())


# --- the skeleton's stubs -------------------------------------------------------------------------


def kept_by_skeleton(root: Path, keep: tuple[str, ...]) -> set[str]:
    """The .rs files the skeleton's `find . -type f ! ( ... -o -path P ... ) -delete` leaves.

    `find -path` matches the whole path (`./crates/api/src/main.rs`) with fnmatch rules in which
    `*` also matches `/`: exactly fnmatch.fnmatchcase.
    """
    kept = set()
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = "./" + (Path(directory) / name).relative_to(root).as_posix()
            if name.endswith(".rs") and any(fnmatch.fnmatchcase(path, pattern) for pattern in keep):
                kept.add(path)
    return kept


def target_roots(project: ProjectFacts) -> set[str]:
    root = project.root.resolve()
    return {
        "./" + (package.root / target.path).resolve().relative_to(root).as_posix()
        for package in project.workspace.members
        for target in package.targets
        if target.kind in ("lib", "bin", "build-script") or target.explicit
    }


def test_skeleton_keeps_every_target_root_of_the_workspace_and_no_module(tmp_path):
    import shutil

    workspace = tmp_path / "workspace"
    shutil.copytree(SAMPLES / "workspace", workspace, ignore=shutil.ignore_patterns("target"))
    modules = {
        "crates/api/src/routes.rs": "pub fn routes() {}\n",
        "crates/api/src/routes/health.rs": "pub fn health() {}\n",
        "crates/core/src/build.rs": "pub fn build() {}\n",  # a module that happens to be called build
        "crates/worker/src/bin/ws-migrate/steps.rs": "pub fn steps() {}\n",
        "crates/worker/src/jobs/mod.rs": "pub fn jobs() {}\n",
    }
    for relative, text in modules.items():
        (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
        (workspace / relative).write_text(text)
    project = inspect_project(workspace)
    keep = make_plan(project, Answers(strategy="skeleton")).image.build.stub_keep
    kept = kept_by_skeleton(workspace, keep)
    roots = target_roots(project)
    assert roots == {
        "./crates/api/src/main.rs",
        "./crates/core/src/lib.rs",
        "./crates/core/build.rs",
        "./crates/worker/src/main.rs",
        "./crates/worker/src/bin/ws-migrate.rs",
    }
    assert roots <= kept, f"target roots the skeleton deletes: {sorted(roots - kept)}"
    assert not kept & {f"./{m}" for m in modules}, f"module files kept: {sorted(kept - roots)}"


def test_skeleton_keeps_explicit_targets_in_unusual_places(tmp_path):
    crate = write_crate(
        tmp_path / "demo",
        manifest(
            extra='build = "tools/gen.rs"\n\n[lib]\npath = "lib/root.rs"\n\n'
            '[[bin]]\nname = "demo"\npath = "app/start.rs"\n\n[[test]]\nname = "it"\npath = "checks/it.rs"\n'
        ),
        {
            "tools/gen.rs": "fn main() {}\n",
            "lib/root.rs": "mod inner;\n",
            "lib/inner.rs": "\n",
            "app/start.rs": "fn main() {}\n",
            "checks/it.rs": "\n",
        },
    )
    d = make_plan(inspect_project(crate), Answers()).image.build
    kept = kept_by_skeleton(crate, d.stub_keep)
    assert kept == {"./tools/gen.rs", "./lib/root.rs", "./app/start.rs", "./checks/it.rs"}
    assert d.stub_libs == ("./lib/root.rs",)


def test_a_target_outside_the_build_context_is_a_clear_error(tmp_path):
    write_crate(tmp_path / "shared", "", {"main.rs": "fn main() {}\n"})
    crate = write_crate(tmp_path / "demo", manifest(extra='\n[[bin]]\nname = "demo"\npath = "../shared/main.rs"\n'), {})
    with pytest.raises(ScaffoldError, match="outside"):
        make_plan(inspect_project(crate), Answers())
