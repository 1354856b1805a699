"""Workspace discovery: members, globs, exclusions, inheritance and finding the root from a member."""

from pathlib import Path

import pytest

from generator.errors import ScaffoldError
from generator.inspect import inspect_project
from generator.workspace import load_workspace

MANIFESTS = Path(__file__).parent / "manifests"
WS = MANIFESTS / "ws-globs"
SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"


@pytest.fixture(scope="module")
def ws():
    return load_workspace(WS)


def test_members_from_globs_paths_and_path_dependencies(ws):
    names = [p.name for p in ws.members]
    assert sorted(names) == ["local", "shared", "svc-cli", "svc-server", "svc-worker"]
    assert len(names) == len(set(names)), "duplicated member entries must be read once"
    assert ws.root == WS.resolve()


def test_excluded_nested_and_unreferenced_directories_are_left_out(ws):
    names = {p.name for p in ws.members}
    assert "skipped" not in names  # exclude = ["crates/skip"]
    assert "nested-ws" not in names  # its own [workspace]
    assert "unused" not in names  # neither a member nor a path dependency


def test_warnings_for_nested_workspace_and_empty_glob(ws):
    assert any("crates/nested" in w and "[workspace]" in w for w in ws.warnings)
    assert any("plugins/*" in w and "matches no directory" in w for w in ws.warnings)


def test_default_members(ws):
    assert ws.default_members == ("svc-server",)


def test_inheritance_of_package_fields_and_dependencies(ws):
    server = ws.package("svc-server")
    assert server.version == "1.2.3"
    assert server.rust_version == "1.80"
    assert server.edition == "2021"
    assert server.license == "MIT"
    deps = {d.key: d for d in server.dependencies}
    assert set(deps["serde"].features) == {"derive", "rc"}
    # A workspace path dependency is relative to the workspace root, not to the member.
    assert deps["local"].path == (WS / "libs" / "local").resolve()
    assert deps["shared"].path == (WS / "libs" / "shared").resolve()
    # A member's own value is not overridden.
    assert ws.package("svc-worker").rust_version == "1.82"


def test_path_at_a_member_finds_the_root_and_selects_the_member():
    ws = load_workspace(WS / "crates" / "worker")
    assert ws.root == WS.resolve()
    assert ws.selected is not None and ws.selected.name == "svc-worker"
    facts = inspect_project(WS / "crates" / "worker")
    assert [b.name for b in facts.binaries] == ["svc-worker"]
    assert facts.default_binary.name == "svc-worker"
    assert facts.root == WS.resolve()


def test_path_at_the_root_selects_nothing(ws):
    assert ws.selected is None


def test_path_at_a_member_of_the_sample_workspace():
    facts = inspect_project(SAMPLES / "workspace" / "crates" / "worker")
    assert facts.root == (SAMPLES / "workspace").resolve()
    assert {b.name for b in facts.binaries} == {"ws-worker", "ws-migrate"}
    assert facts.default_binary.name == "ws-worker"  # default-run = "ws-worker"


def test_root_package_path_dependencies_are_members():
    ws = load_workspace(MANIFESTS / "ws-root-pathdep")
    assert [p.name for p in ws.members] == ["rootapp", "dbhelper"]
    # Through the member, its registry dependencies count for the build.
    packages = inspect_project(MANIFESTS / "ws-root-pathdep").system_packages(None)
    assert "libpq-dev" in packages.build


def test_member_outside_the_root_is_an_error(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "Cargo.toml").write_text('[package]\nname = "e"\nversion = "0.1.0"\n')
    root = tmp_path / "ws"
    root.mkdir()
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["../elsewhere"]\n')
    with pytest.raises(ScaffoldError, match="outside"):
        load_workspace(root)


def test_explicit_member_without_manifest_is_an_error(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["missing"]\n')
    with pytest.raises(ScaffoldError, match="missing"):
        load_workspace(tmp_path)


def test_workspace_without_members_is_an_error(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = []\n')
    with pytest.raises(ScaffoldError, match="no member packages"):
        load_workspace(tmp_path)


def test_inheriting_a_field_the_workspace_lacks_is_an_error(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Cargo.toml").write_text('[package]\nname = "a"\nversion.workspace = true\n')
    with pytest.raises(ScaffoldError, match="version.workspace = true"):
        load_workspace(tmp_path)


def test_root_path_with_glob_characters(tmp_path):
    root = tmp_path / "proj[1]"
    (root / "crates" / "one" / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/*"]\n')
    (root / "crates" / "one" / "Cargo.toml").write_text('[package]\nname = "one"\nversion = "0.1.0"\n')
    (root / "crates" / "one" / "src" / "main.rs").write_text("")
    assert [p.name for p in load_workspace(root).members] == ["one"]


def test_default_members_preferred_for_the_default_binary():
    facts = inspect_project(MANIFESTS / "ws-default-members")
    assert {b.name for b in facts.binaries} == {"pkg-a", "pkg-b"}
    assert facts.default_binary.name == "pkg-b"
