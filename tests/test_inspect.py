"""Project-level facts: kind, the default binary, and `scaffold inspect --json` on the sample crates."""

import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from generator.choices import choose_binary
from generator.errors import ScaffoldError, UsageError
from generator.inspect import inspect_project, require_application

TESTS = Path(__file__).resolve().parent
MANIFESTS = TESTS / "manifests"
SAMPLES = TESTS.parent / "sample-crates"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if (p / "Cargo.toml").is_file())


def scaffold(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("scaffold")
    command = [exe] if exe else [sys.executable, "-m", "generator.main"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


# ---- default binary ----------------------------------------------------------

def test_single_binary_is_the_default():
    facts = inspect_project(SAMPLES / "hello-bin")
    assert facts.kind == "application"
    assert facts.default_binary.name == "hello-bin"


def test_default_run_chooses_among_several():
    facts = inspect_project(MANIFESTS / "default-run")
    assert {b.name for b in facts.binaries} == {"alpha", "beta"}
    assert facts.default_binary.name == "beta"
    assert any("picked binary `beta`" in w and "default-run" in w for w in facts.warnings), facts.warnings


def test_bins_needing_features_off_by_default_are_not_candidates():
    facts = inspect_project(MANIFESTS / "bin-same-name")
    assert facts.default_binary.name == "samename"  # `tool` needs the non-default `extra`


def test_server_like_name_is_picked_with_a_warning():
    facts = inspect_project(MANIFESTS / "server-pick")
    assert facts.default_binary.name == "my-server"
    assert any("my-server" in w and "--bin" in w for w in facts.warnings)


def test_many_binaries_workspace_picks_the_server_its_signals_name():
    """10 binaries: a server, CLIs, tools, benchmarks (one named `bench-server`), test helpers (`mock-server`), xtask."""
    facts = inspect_project(MANIFESTS / "many-bins")
    assert 6 <= len(facts.binaries) <= 12
    assert (facts.default_binary.package, facts.default_binary.name) == ("kvs-server", "kvs-server")
    assert any("picked binary `kvs-server`" in w and ".github/workflows/release.yml builds it" in w for w in facts.warnings)


def test_many_binaries_without_build_files_fall_back_to_the_server_name(tmp_path):
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    shutil.rmtree(tmp_path / "p" / ".github")
    facts = inspect_project(tmp_path / "p")
    assert facts.default_binary.name == "kvs-server"  # bench-server and mock-server are set aside
    assert any("picked binary `kvs-server`" in w and "server" in w for w in facts.warnings), facts.warnings


@pytest.mark.parametrize("name", ["kvs-bench", "bench-server", "mock-server", "fixture-gen", "xtask"])
def test_benchmarks_examples_and_test_helpers_are_never_the_default(tmp_path, name):
    """Even when the project's own build file names one, among other binaries it is not chosen."""
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    (tmp_path / "p" / ".github" / "workflows" / "release.yml").write_text(f"run: cargo build --bin {name}\n")
    facts = inspect_project(tmp_path / "p")
    assert facts.default_binary.name == "kvs-server"


def test_project_statements_that_disagree_choose_nothing(tmp_path):
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    (tmp_path / "p" / "Dockerfile").write_text("FROM rust:1.95\nRUN cargo build --release --bin kvs-admin\n")
    facts = inspect_project(tmp_path / "p")
    assert facts.default_binary is None
    disagree = [w for w in facts.warnings if "names different binaries" in w]
    assert disagree and "kvs-admin" in disagree[0] and "kvs-server" in disagree[0], facts.warnings
    with pytest.raises(UsageError, match=r"pick one with --bin: .*kvs-server \(package kvs-server\)"):
        choose_binary(facts, None, None)


def test_names_cargo_would_refuse_stay_on_one_line_in_the_choices(tmp_path):
    """A package named with a line break (hand-written TOML; Cargo refuses it) is quoted in the messages."""
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    facts = inspect_project(tmp_path / "p")
    odd = dataclasses.replace(facts, binaries=tuple(dataclasses.replace(b, package="a\nb") for b in facts.binaries),
                              default_binary=None)
    for package, name in ((None, None), (None, "nope"), ("x\ny", None)):
        with pytest.raises(UsageError) as raised:
            choose_binary(odd, package, name)
        assert "\n" not in str(raised.value) and "'a\\nb'" in str(raised.value), str(raised.value)


def test_only_commands_that_build_count(tmp_path):
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    workflow = tmp_path / "p" / ".github" / "workflows" / "release.yml"
    workflow.write_text(workflow.read_text() + "      - run: cargo test -p kvs-cli\n      - run: cargo clippy --bin kvs-admin\n")
    (tmp_path / "p" / "Containerfile").write_text("RUN cargo build --release \\\n    --bin kvs-server\n")
    facts = inspect_project(tmp_path / "p")
    assert facts.default_binary.name == "kvs-server", facts.warnings


def test_a_generated_dockerfile_is_not_a_signal(tmp_path):
    shutil.copytree(MANIFESTS / "many-bins", tmp_path / "p")
    (tmp_path / "p" / "Dockerfile").write_text("# Generated by scaffold 0.1.0\nRUN cargo build --bin kvs-admin\n")
    assert inspect_project(tmp_path / "p").default_binary.name == "kvs-server"


def test_ambiguous_binaries_have_no_default():
    facts = inspect_project(MANIFESTS / "ambiguous")
    assert facts.kind == "application"
    assert facts.default_binary is None
    assert {b.name for b in facts.binaries} == {"alpha", "beta"}


def test_without_a_chosen_binary_packages_are_what_every_candidate_needs():
    facts = inspect_project(MANIFESTS / "ambiguous-packages")
    assert facts.default_binary is None
    unchosen = facts.system_packages(None)
    assert unchosen.build == ("protobuf-compiler",)  # both need protoc; only alpha needs libpq
    assert unchosen.runtime == ()
    assert any("pass --bin" in note for note in unchosen.warnings)
    alpha = facts.system_packages(facts.binary("alpha"))
    assert alpha.build == ("pkg-config", "libpq-dev", "protobuf-compiler")
    assert alpha.runtime == ("libpq5",)


def test_sample_workspace_prefers_default_members():
    facts = inspect_project(SAMPLES / "workspace")
    default_members = tomllib.loads((SAMPLES / "workspace" / "Cargo.toml").read_text())["workspace"]["default-members"]
    assert default_members == ["crates/api"]
    assert facts.default_binary.package == "ws-api"
    assert {b.name for b in facts.binaries} == {"ws-api", "ws-worker", "ws-migrate"}


# ---- kind ----------------------------------------------------------------------

def test_library_only_project():
    facts = inspect_project(SAMPLES / "lib-only")
    assert facts.kind == "library"
    assert facts.binaries == ()
    assert facts.default_binary is None
    with pytest.raises(ScaffoldError, match="library-only"):
        require_application(facts)


def test_foreign_build_target_is_unsupported():
    facts = inspect_project(MANIFESTS / "foreign-target")
    assert facts.kind == "unsupported"
    assert "wasm32-unknown-unknown" in facts.unsupported_reason
    with pytest.raises(ScaffoldError, match="wasm32"):
        require_application(facts)


def test_native_build_target_is_supported(tmp_path):
    shutil.copytree(MANIFESTS / "foreign-target", tmp_path / "p")
    (tmp_path / "p" / ".cargo" / "config.toml").write_text('[build]\ntarget = "x86_64-unknown-linux-gnu"\n')
    assert inspect_project(tmp_path / "p").kind == "application"


# ---- scaffold inspect --json -----------------------------------------------------

REPORT_KEYS = {
    "kind", "workspace_root", "binaries", "default_binary", "toolchain", "rust_version",
    "lockfile", "build_packages", "runtime_packages", "warnings",
    # added: why the default, the features, the release init builds with, why each package
    "default_binary_reason", "features", "init_rust_version", "init_rust_version_reason", "package_reasons",
}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_inspect_json_on_sample_crates(name):
    result = scaffold("inspect", str(SAMPLES / name), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert Path(report["workspace_root"]) == (SAMPLES / name).resolve()
    assert report["lockfile"] == (SAMPLES / name / "Cargo.lock").is_file()
    for binary in report["binaries"]:
        assert set(binary) == {"package", "name", "manifest", "required_features", "builds_by_default"}
        assert (SAMPLES / name / binary["manifest"]).is_file()
    if report["toolchain"] is not None:
        assert set(report["toolchain"]) == {"channel", "file", "components", "targets", "profile"}
    for key in ("build_packages", "runtime_packages", "warnings"):
        assert isinstance(report[key], list)


def test_inspect_json_values():
    reports = {name: json.loads(scaffold("inspect", str(SAMPLES / name), "--json").stdout) for name in SAMPLE_NAMES}
    assert reports["lib-only"]["kind"] == "library"
    assert reports["lib-only"]["default_binary"] is None
    assert reports["lib-only"]["toolchain"] == {
        "channel": None, "file": "rust-toolchain.toml", "components": ["rustfmt"], "targets": [], "profile": None,
    }
    assert reports["raft-node"]["default_binary"] == {"package": "raft-node", "name": "raft-node"}
    # Two binaries in one package: `default-run` picks the server over its client, without a warning.
    assert reports["kv-node"]["default_binary"] == {"package": "kv-node", "name": "kv-node"}
    assert {b["name"] for b in reports["kv-node"]["binaries"]} == {"kv-node", "kv-cli"}
    assert reports["kv-node"]["warnings"] == [
        "picked binary `kv-node` (package kv-node) because its package sets `default-run` to it; choose another with --bin"
    ]
    assert reports["hello-bin"]["binaries"] == [
        {"package": "hello-bin", "name": "hello-bin", "manifest": "Cargo.toml", "required_features": [], "builds_by_default": True}
    ]
    assert reports["workspace"]["default_binary"] == {"package": "ws-api", "name": "ws-api"}
    assert reports["workspace"]["rust_version"] == "1.80"
    assert {"pkg-config", "libssl-dev"} <= set(reports["openssl-app"]["build_packages"])
    assert "libssl3" in reports["openssl-app"]["runtime_packages"]
    for name in ("raft-node", "kv-node", "hello-bin"):
        assert reports[name]["build_packages"] == [] and reports[name]["runtime_packages"] == []


def test_inspect_json_says_why_and_what_init_will_use():
    workspace = json.loads(scaffold("inspect", str(SAMPLES / "workspace"), "--json").stdout)
    assert workspace["default_binary_reason"] == "the workspace's default-members build it"
    assert workspace["init_rust_version"] == "1.95" and "1.80 is older" in workspace["init_rust_version_reason"]
    gated = json.loads(scaffold("inspect", str(MANIFESTS / "required-features"), "--json").stdout)
    assert gated["features"] == {"gated": {"known": ["base", "extra", "logging"], "default": ["base"]}}
    assert gated["default_binary"] is None and "--bin" in gated["default_binary_reason"]
    openssl = json.loads(scaffold("inspect", str(SAMPLES / "openssl-app"), "--json").stdout)
    assert openssl["package_reasons"]["libssl-dev"] == "openssl-sys" and openssl["package_reasons"]["libssl3"] == "openssl-sys"


def text_report(path) -> str:
    result = scaffold("inspect", str(path))
    assert result.returncode == 0, result.stderr
    assert "{" not in result.stdout and '"' not in result.stdout  # a report, not JSON fragments
    return result.stdout


def test_inspect_text_report_reads_as_a_report():
    text = text_report(SAMPLES / "kv-node").splitlines()
    assert "  * kv-node (package kv-node, Cargo.toml)" in text and "    kv-cli (package kv-node, Cargo.toml)" in text
    assert "default:    kv-node: its package sets `default-run` to it" in text
    assert any(line.startswith("rust:       init builds with Rust 1.95 (") for line in text)
    openssl = text_report(SAMPLES / "openssl-app").splitlines()
    assert "  libssl-dev: needed by openssl-sys" in openssl and "  libssl3: needed by openssl-sys" in openssl
    pq = text_report(MANIFESTS / "pq").splitlines()
    assert "  libpq5: needed by pq-sys, through diesel" in pq


def test_inspect_text_report_says_when_bin_is_needed_and_which_features_exist():
    text = text_report(MANIFESTS / "required-features").splitlines()
    assert "    full (package gated, Cargo.toml, needs --features extra)" in text
    assert "features:   gated: base, extra, logging (default: base)" in text
    assert any(line.startswith("default:    none:") and "--bin" in line for line in text)
    assert any(line.startswith("next:") and "--bin NAME" in line for line in text)
    pinned = text_report(SAMPLES / "raft-node")
    assert "rust:       init builds with Rust 1.95" in pinned


def test_inspect_errors_are_one_line(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = \n')
    result = scaffold("inspect", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") == 0
    assert f"{tmp_path / 'Cargo.toml'}:3" in result.stderr
    assert "Traceback" not in result.stderr


# ---- performance sanity (prints; no timed assertion) ---------------------------

def _big_workspace(root: Path, members: int) -> None:
    root.mkdir()
    (root / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["crates/*"]\nresolver = "2"\n\n[workspace.package]\nversion = "0.1.0"\nedition = "2021"\n'
        '\n[workspace.dependencies]\nserde = "1"\n'
    )
    lock = ['version = 4\n', '[[package]]\nname = "serde"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n']
    for i in range(members):
        crate = root / "crates" / f"m{i:03}"
        (crate / "src").mkdir(parents=True)
        dep = f'm{i - 1:03} = {{ path = "../m{i - 1:03}" }}\n' if i else ""
        (crate / "Cargo.toml").write_text(
            f'[package]\nname = "m{i:03}"\nversion.workspace = true\nedition.workspace = true\n\n'
            f'[dependencies]\nserde.workspace = true\n{dep}'
        )
        (crate / "src" / ("main.rs" if i == members - 1 else "lib.rs")).write_text("")
        deps = '"serde"' + (f', "m{i - 1:03}"' if i else "")
        lock.append(f'[[package]]\nname = "m{i:03}"\nversion = "0.1.0"\ndependencies = [{deps}]\n')
    (root / "Cargo.lock").write_text("\n".join(lock))


def test_performance_of_a_100_member_workspace(tmp_path):
    root = tmp_path / "big"
    _big_workspace(root, 100)
    start = time.perf_counter()
    facts = inspect_project(root)
    facts.system_packages(facts.default_binary)
    elapsed = time.perf_counter() - start
    assert len(facts.workspace.members) == 100
    assert facts.default_binary.name == "m099"
    runs = []
    for _ in range(int(os.environ.get("SCAFFOLD_PERF_RUNS", "5"))):
        start = time.perf_counter()
        assert scaffold("inspect", str(root), "--json").returncode == 0
        runs.append(time.perf_counter() - start)
    print(f"\ninspect_project on 100 members: {elapsed:.3f} s; `scaffold inspect --json` median of {len(runs)}: "
          f"{statistics.median(runs):.3f} s (runs: {', '.join(f'{r:.3f}' for r in runs)})")


# ---- corpus of real projects (outside the repository) --------------------------

def _corpus_dir() -> Path | None:
    """SCAFFOLD_CORPUS: a folder of real projects' manifests (empty sources) with an expected.json."""
    candidate = os.environ.get("SCAFFOLD_CORPUS")
    return Path(candidate) if candidate and (Path(candidate) / "expected.json").is_file() else None


CORPUS = _corpus_dir()
CORPUS_ENTRIES = json.loads((CORPUS / "expected.json").read_text()) if CORPUS else []


def need_corpus() -> Path:
    """The corpus folder; a skip without one, a failure where SCAFFOLD_REQUIRE_CORPUS=1 (CI) asks for it."""
    if CORPUS is not None:
        return CORPUS
    setting = os.environ.get("SCAFFOLD_CORPUS")
    why = f"SCAFFOLD_CORPUS={setting} has no expected.json" if setting else "SCAFFOLD_CORPUS is not set"
    if os.environ.get("SCAFFOLD_REQUIRE_CORPUS") == "1":
        pytest.fail(f"corpus check required (SCAFFOLD_REQUIRE_CORPUS=1) but {why}", pytrace=False)
    pytest.skip(f"no corpus: {why} (a folder of real projects' manifests with expected.json)")


def corpus_differences(entry: dict) -> list[str]:
    """What inspect gets wrong about one corpus project, in words; empty when it matches."""
    project = need_corpus() / entry["dir"]
    if not project.is_dir():
        return [f"{project} is missing"]
    facts = inspect_project(project)
    default = facts.default_binary
    found: list[str] = []

    behaviour = entry["behaviour"]
    if behaviour == "refuse" and facts.kind != "library":
        found.append(f"kind {facts.kind}, expected library")
    if behaviour == "ask" and default is not None:
        found.append(f"default binary {default.name}, expected none (ask)")
    if behaviour == "generate":
        if default is None or default.name not in entry["bins"]:
            found.append(f"default binary {default and default.name}, expected one of {entry['bins']}")
        elif entry.get("package") and default.package != entry["package"].split()[0]:
            found.append(f"package {default.package}, expected {entry['package']}")

    toolchain = entry["toolchain"]
    if toolchain is None:
        if facts.toolchain is not None:
            found.append(f"toolchain {facts.toolchain}, expected none")
    elif facts.toolchain is None:
        found.append(f"no toolchain found, expected {toolchain}")
    elif "without channel" in toolchain:
        if facts.toolchain.channel is not None or not toolchain.startswith(facts.toolchain.file):
            found.append(f"toolchain {facts.toolchain}, expected {toolchain}")
    else:
        channel, file = toolchain.split()[0], toolchain.split("(")[1].split(",")[0].rstrip(")")
        if (facts.toolchain.channel, facts.toolchain.file) != (channel, file):
            found.append(f"toolchain {facts.toolchain}, expected {toolchain}")

    if facts.rust_version(default) != entry["msrv"]:
        found.append(f"MSRV {facts.rust_version(default)}, expected {entry['msrv']}")
    if (facts.lock is not None) != (entry["lock"] == "present"):
        found.append(f"lock {'present' if facts.lock else 'missing'}, expected {entry['lock']}")

    packages = facts.system_packages(default)
    for expected, got, stage in ((entry["build_pkgs"], packages.build, "build"), (entry["runtime_pkgs"], packages.runtime, "runtime")):
        missing = [p for p in expected if p not in got]
        if missing:
            found.append(f"{stage} packages lack {missing} (got {list(got)}; warnings: {list(packages.warnings)})")
    return found


@pytest.mark.parametrize("entry", CORPUS_ENTRIES or [None], ids=lambda e: e["dir"] if e else "none")
def test_corpus_entry(entry):
    need_corpus()
    differences = corpus_differences(entry)
    assert not differences, f"{entry['slug']} ({entry['label']}): " + "; ".join(differences)


def test_corpus_sccache_does_not_get_system_openssl(monkeypatch, tmp_path):
    facts = inspect_project(need_corpus() / "mozilla__sccache")
    assert "libssl-dev" not in facts.system_packages(facts.default_binary).build
    monkeypatch.setenv("PATH", str(tmp_path))  # the lock walk, without cargo: unsure of openssl-sys, and says so
    walked = facts.system_packages(facts.default_binary)
    assert "libssl-dev" not in walked.build
    assert any("openssl-sys" in w for w in walked.warnings)
