"""Files the build reads (include_bytes!, sqlx::migrate!, rerun-if-changed) stay in the build context.

Each manifest under tests/manifests shows one way a build reads a file; the re-includes are checked
with the matcher `scaffold check` uses, against the patterns the built-in template writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_scaffold
from generator import buildinputs
from generator.buildinputs import reincludes, scan_build_inputs
from generator.check import check_files
from generator.ignorepatterns import ignored, patterns_of
from generator.inspect import inspect_project
from generator.plan_context import ignore_groups
from generator.workspace import load_workspace

TESTS = Path(__file__).resolve().parent
MANIFESTS = TESTS / "manifests"
# The patterns the generated .dockerignore holds (without its re-includes), as plain lines.
BUILTIN_OUTPUTS = ("Dockerfile", ".dockerignore", "docker-compose.yml")
TEMPLATE_IGNORE = "".join(f"{p}\n" for g in ignore_groups(BUILTIN_OUTPUTS) for p in g.patterns)
GENERATED = patterns_of(TEMPLATE_IGNORE)


def scan(folder: Path):
    workspace = load_workspace(folder)
    return workspace.root, scan_build_inputs(workspace.root, workspace.members)


def found(inputs) -> dict[str, tuple[str, str, bool]]:
    return {i.path: (i.how, i.found_at, i.folder) for i in inputs.inputs}


def with_lines(patterns, lines):
    return patterns + patterns_of("\n".join(lines))


def test_an_included_pem_is_found_and_re_included_after_the_secret_patterns():
    root, inputs = scan(MANIFESTS / "include-pem")
    assert found(inputs) == {
        ".env.example": ("include_str!", "src/main.rs:4", False),
        "certs/test.pem": ("include_bytes!", "src/tls.rs:3", False),
        "certs/test.key": ("include_str!", "src/tls.rs:4", False),  # concat!(env!("CARGO_MANIFEST_DIR"), ...)
        "src/banner.txt": ("include_str!", "src/tls.rs:5", False),
    }
    assert ignored("certs/test.pem", GENERATED) and ignored(".env.example", GENERATED)  # the failure before
    result = reincludes(root, inputs, GENERATED)
    assert result.lines == ("!.env.example", "!certs/test.pem", "!certs/test.key")
    assert result.warnings[1] == (
        "certs/test.pem is compiled into the binary (include_bytes! at src/tls.rs:3): re-included in .dockerignore; "
        "it ends up in the image"
    )
    after = with_lines(GENERATED, result.lines)
    assert not any(ignored(path, after) for path in found(inputs))
    # Exactly those paths: other secrets stay out.
    assert all(ignored(p, after) for p in ("certs/other.pem", "certs/test.pem.bak.key", ".env", "src/.env.local"))


def test_migrations_are_found_and_only_sqlx_migration_files_are_re_included():
    root, inputs = scan(MANIFESTS / "sqlx-migrate")
    assert found(inputs) == {
        "migrations": ("sqlx::migrate!", "src/main.rs:2", True),  # no argument: the package's `migrations`
        "seeds": ("sqlx::migrate!", "src/main.rs:3", True),
    }
    assert reincludes(root, inputs, GENERATED).lines == ()  # the generated patterns keep .sql files
    dumps_excluded = with_lines(GENERATED, ["**/*.sql"])  # a hand-written rule against database dumps
    result = reincludes(root, inputs, dumps_excluded)
    assert result.lines == ("!migrations/20260101000000_init.sql", "!seeds/20260101000001_seed.sql")
    after = with_lines(dumps_excluded, result.lines)
    assert not ignored("migrations/20260101000000_init.sql", after)
    assert ignored("migrations/.env.example", after)  # next to the migrations, but sqlx never reads it
    assert ignored("dump.sql", after)


def test_build_script_inputs_are_found_in_both_spellings_and_formatted_paths_are_skipped():
    root, inputs = scan(MANIFESTS / "rerun-if-changed")
    assert found(inputs) == {
        "proto/node.proto": ("rerun-if-changed", "build.rs:2", False),
        ".env.build": ("rerun-if-changed", "build.rs:3", False),  # cargo::rerun-if-changed
    }
    result = reincludes(root, inputs, GENERATED)
    assert result.lines == ("!.env.build",)
    assert result.warnings == (
        ".env.build is read by the build script (rerun-if-changed at build.rs:3): re-included in .dockerignore; "
        "it is sent to the build",
    )
    assert not ignored(".env.build", with_lines(GENERATED, result.lines))


def test_a_workspace_member_resolves_macros_from_its_file_and_manifest_dir(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/app"]\n')
    app = tmp_path / "crates" / "app"
    (app / "src" / "bin").mkdir(parents=True)
    (app / "tests").mkdir()
    (app / "Cargo.toml").write_text('[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n')
    (app / "src" / "bin" / "server.rs").write_text(
        "const KEY: &[u8] = include_bytes!(\n    \"../../keys/server.key\"\n);\n"
        'const CA: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/ca.pem",));\n'
        'const RAW: &str = include_str!(r#"raw "name".txt"#);\n'
        'const OUT: &str = include_str!(concat!(env!("OUT_DIR"), "/gen.rs"));\n'
        'const FAR: &str = include_str!("../../../../../outside.txt");\nfn main() {}\n'
    )
    (app / "tests" / "it.rs").write_text('const T: &str = include_str!("fixture.pem");\n')  # not in `cargo build`
    root, inputs = scan(app)
    assert found(inputs) == {
        "crates/app/keys/server.key": ("include_bytes!", "crates/app/src/bin/server.rs:1", False),
        "crates/app/ca.pem": ("include_str!", "crates/app/src/bin/server.rs:4", False),
        'crates/app/src/bin/raw "name".txt': ("include_str!", "crates/app/src/bin/server.rs:5", False),
    }
    assert len(inputs.warnings) == 1 and "outside.txt" in inputs.warnings[0] and "outside the build context" in inputs.warnings[0]


@pytest.mark.parametrize("name", ["cert[1].pem", "#notes.pem", "!bang.pem", "star*.pem", " lead.pem"])
def test_a_re_include_matches_a_file_whose_name_looks_like_pattern_syntax(tmp_path, name):
    root = tmp_path
    (root / "src").mkdir()
    (root / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "0.1.0"\n')
    (root / "src" / "main.rs").write_text(f'const C: &[u8] = include_bytes!("../{name}");\nfn main() {{}}\n')
    _, inputs = scan(root)
    result = reincludes(root, inputs, GENERATED)
    assert len(result.lines) == 1
    assert not ignored(name, with_lines(GENERATED, result.lines))
    assert ignored("other.pem", with_lines(GENERATED, result.lines))


def test_the_scan_stops_at_its_caps_and_says_so(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "0.1.0"\n')
    for name in ("a", "b", "main"):
        (tmp_path / "src" / f"{name}.rs").write_text(f'const X: &str = include_str!("{name}.pem");\n')
    monkeypatch.setattr(buildinputs, "MAX_FILES", 2)
    _, inputs = scan(tmp_path)
    assert len(inputs.inputs) == 2
    assert any("scanned only 2 Rust files" in w for w in inputs.warnings)


def test_scaffold_check_reports_an_ignore_file_that_excludes_what_the_build_reads(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(MANIFESTS / "include-pem", project)
    (project / ".dockerignore").write_text(TEMPLATE_IGNORE)
    findings = [f for f in check_files(project) if f.rule == "SC202"]
    assert [f.severity for f in findings] == ["error", "error", "error"]
    assert ".env.example" in findings[0].message and "include_str! at src/main.rs:4" in findings[0].message
    assert "certs/test.pem" in findings[1].message and "include_bytes! at src/tls.rs:3" in findings[1].message
    assert "certs/test.key" in findings[2].message and "src/tls.rs:4" in findings[2].message
    fixed = reincludes(project, scan(project)[1], patterns_of(TEMPLATE_IGNORE)).lines
    (project / ".dockerignore").write_text(TEMPLATE_IGNORE + "\n".join(fixed) + "\n")
    assert [f for f in check_files(project) if f.rule == "SC202"] == []


def test_scaffold_check_of_a_folder_without_a_cargo_project_skips_the_rule(tmp_path):
    (tmp_path / ".dockerignore").write_text(TEMPLATE_IGNORE)
    assert [f for f in check_files(tmp_path) if f.rule == "SC202"] == []


def test_an_uninitialised_submodule_is_a_warning_until_it_is_checked_out(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(MANIFESTS / "submodule-uninit", project)
    (project / ".git").mkdir()  # the repository's top: .gitmodules is not looked for above it
    missing = buildinputs.submodule_warnings(project)
    assert len(missing) == 1  # the `src` entry is checked out
    assert "vendor/rocksdb" in missing[0] and "(.gitmodules:2)" in missing[0] and "missing" in missing[0]
    assert "git submodule update --init" in missing[0]
    (project / "vendor" / "rocksdb").mkdir(parents=True)  # what a clone without --recursive leaves
    empty = buildinputs.submodule_warnings(project)
    assert len(empty) == 1 and "empty" in empty[0]
    (project / "vendor" / "rocksdb" / ".git").write_text("gitdir: ../../.git/modules/rocksdb\n")
    assert buildinputs.submodule_warnings(project) == ()


def test_private_git_and_registry_dependencies_are_said_to_be_out_of_scope():
    workspace = load_workspace(MANIFESTS / "private-deps")
    warnings = buildinputs.private_dependency_warnings(workspace.root, workspace.members)
    named = [w.split("`")[1] for w in warnings]
    assert named == ["auth", "metrics", "billing", "tokened", "ledger"]  # not public-fork, not serde from crates-io
    assert all("out of scope" in w and "--ssh" in w and "--secret" in w for w in warnings)
    assert "over ssh" in warnings[0] and "over ssh" in warnings[1] and "git.corp.example" in warnings[2]
    assert not any("s3cr3t" in w for w in warnings)  # a token in a URL is never repeated


def test_projects_without_such_reads_need_no_re_include():
    for name in ("pq", "protoc", "server-pick"):
        root, inputs = scan(MANIFESTS / name)
        assert reincludes(root, inputs, GENERATED).lines == ()
        assert (
            buildinputs.submodule_warnings(root) == () and buildinputs.private_dependency_warnings(root, load_workspace(root).members) == ()
        )


def test_only_the_members_the_chosen_package_compiles_count(tmp_path):
    """A member reached by path is compiled with the server; one reached only as a dev-dependency is not."""
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["server", "tls", "bench"]\n')
    crates = {
        "server": '[dependencies]\ntls = { path = "../tls" }\n[dev-dependencies]\nbench = { path = "../bench" }\n',
        "tls": "",
        "bench": "",
    }
    for name, deps in crates.items():
        (tmp_path / name / "src").mkdir(parents=True)
        (tmp_path / name / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\n{deps}')
        (tmp_path / name / "src" / "lib.rs").write_text(f'pub const D: &[u8] = include_bytes!("{name}.pem");\n')
    workspace = load_workspace(tmp_path)
    members = buildinputs.compiled_members(workspace, "server")
    assert members == {"server", "tls"}
    inputs = scan_build_inputs(workspace.root, workspace.members)
    assert {i.path for i in inputs.only(members).inputs} == {"server/src/server.pem", "tls/src/tls.pem"}
    assert {i.package for i in inputs.inputs} == {"server", "tls", "bench"}


def test_the_generated_dockerignore_puts_back_the_included_pem_after_the_secret_patterns(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(MANIFESTS / "include-pem", project)
    result = run_scaffold("init", str(project), "--no-input")
    assert result.returncode == 0, result.stderr
    assert "certs/test.pem is compiled into the binary (include_bytes! at src/tls.rs:3)" in result.stderr
    lines = (project / ".dockerignore").read_text().splitlines()
    assert lines[-3:] == ["!.env.example", "!certs/test.pem", "!certs/test.key"]
    assert lines.index("**/*.pem") < lines.index("!certs/test.pem")
    patterns = patterns_of("\n".join(lines))
    assert not any(ignored(p, patterns) for p in (".env.example", "certs/test.pem", "certs/test.key", "src/banner.txt"))
    assert all(ignored(p, patterns) for p in ("certs/other.pem", ".env", "Dockerfile", ".scaffold/answers.toml"))
    assert [f for f in check_files(project) if f.rule == "SC202"] == []


def test_a_file_only_another_binary_reads_is_not_put_back(tmp_path):
    """The re-includes follow the chosen binary: a member it does not compile reads nothing of its build."""
    sources = {"server": "fn main() {}\n", "tool": 'const K: &str = include_str!("../k.pem");\nfn main() {}\n'}
    for member, source in sources.items():
        (tmp_path / member / "src").mkdir(parents=True)
        (tmp_path / member / "src" / "main.rs").write_text(source)
        manifest = f'[package]\nname = "{member}"\nversion = "0.1.0"\nedition = "2021"\n'
        (tmp_path / member / "Cargo.toml").write_text(manifest)
    (tmp_path / "tool" / "k.pem").write_text("secret\n")
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["server", "tool"]\nresolver = "2"\n')
    for binary, expected in (("server", []), ("tool", ["!tool/k.pem"])):
        result = run_scaffold("init", str(tmp_path), "--no-input", "--bin", binary, "--force")
        assert result.returncode == 0, result.stderr
        lines = (tmp_path / ".dockerignore").read_text().splitlines()
        assert [line for line in lines if line.startswith("!")] == expected


def test_inspect_reports_submodules_and_private_dependencies(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(MANIFESTS / "submodule-uninit", project)
    (project / ".git").mkdir()
    warnings = inspect_project(project, ask_cargo=False).warnings
    submodules = [w for w in warnings if w.startswith("git submodule vendor/rocksdb")]
    assert submodules == list(buildinputs.submodule_warnings(project))
    private = inspect_project(MANIFESTS / "private-deps", ask_cargo=False).warnings
    assert sum("out of scope for now" in w for w in private) == 5
    pem = MANIFESTS / "include-pem"
    assert inspect_project(pem, ask_cargo=False).build_inputs == scan(pem)[1]
