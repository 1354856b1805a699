"""Bad input through the real command line: one clear line, the right exit status, nothing touched.

Every failing case checks the same contract: exit 1 for a problem with the project or the files
(2 for a flag value that cannot work), exactly one `error:` line on stderr that names the file or
flag, no traceback, and the project and output directories byte-for-byte as they were (symlinks
included). Values a user controls that end up in the files (Cargo.toml metadata as OCI labels,
--rust-log in the compose file) must come out parseable and literal.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import DEMO_MANIFEST, make_crate, run_scaffold
from generator.tomlfile import MAX_TOML_BYTES
from validators import buildkit_parse, compose_config, compose_literal, compose_yaml, key_values

MANIFEST = DEMO_MANIFEST


def snapshot(directory: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under directory, symlinks as their target (never followed: some cases hold loops)."""
    if not os.path.lexists(directory):
        return {}
    if not directory.is_dir() or directory.is_symlink():
        return {".": ("file", directory.read_bytes())}
    entries: dict[str, tuple[str, bytes]] = {}
    for current, dirs, files in os.walk(directory, followlinks=False):
        for name in dirs + files:
            path = Path(current, name)
            key = str(path.relative_to(directory))
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                entries[key] = ("dir", b"")
            else:
                entries[key] = ("file", path.read_bytes())
    return entries


def assert_clean_failure(result, code: int, *needles: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}: {result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


# --- broken Cargo.toml / Cargo.lock / rust-toolchain.toml ----------------------------------------

BROKEN_CONTENT: dict[str, bytes | None] = {
    "invalid-toml": b'[package\nname = "demo"\n',
    "empty": b"",
    "whitespace-only": b"  \n\t\n",
    "binary-garbage": bytes(range(256)) * 16,
    "utf8-control-garbage": b"\x00\x01\x02[[[\x7f]]]\x03 = = =\n",
    "not-utf8": 'description = "caf\u00e9"\n'.encode("latin-1"),
    "utf16": '[package]\nname = "demo"\n'.encode("utf-16"),
    "deeply-nested": b"a = " + b"[" * 20000 + b"]" * 20000 + b"\n",
    "huge": None,  # sparse file one byte past the limit
}


@pytest.mark.parametrize("content", list(BROKEN_CONTENT), ids=list(BROKEN_CONTENT))
@pytest.mark.parametrize("file_name", ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"])
def test_broken_project_file(tmp_path, file_name, content):
    crate = make_crate(tmp_path / "crate")
    path = crate / file_name
    if BROKEN_CONTENT[content] is None:
        with path.open("wb") as handle:
            handle.truncate(MAX_TOML_BYTES + 1)
    else:
        path.write_bytes(BROKEN_CONTENT[content])
    before = snapshot(crate)
    result = run_scaffold("init", str(crate), "--no-input")
    line = assert_clean_failure(result, 1, file_name)
    assert len(line) < 400, line
    assert snapshot(crate) == before


@pytest.mark.parametrize("file_name", ["Cargo.lock", "rust-toolchain.toml", "rust-toolchain", ".cargo/config.toml"])
def test_project_file_that_is_a_directory_or_a_symlink_loop(tmp_path, file_name):
    for kind in ("directory", "loop"):
        crate = make_crate(tmp_path / kind)
        path = crate / file_name
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        if kind == "directory":
            path.mkdir()
        else:
            os.symlink(path.name, path)
        before = snapshot(crate)
        result = run_scaffold("init", str(crate), "--no-input")
        assert_clean_failure(result, 1, file_name)
        assert snapshot(crate) == before


def test_legacy_toolchain_file_past_the_size_limit(tmp_path):
    crate = make_crate(tmp_path / "crate")
    (crate / "rust-toolchain").write_bytes(b"1" * (MAX_TOML_BYTES + 10))
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "rust-toolchain", "too large")


def test_legacy_toolchain_file_that_names_no_toolchain(tmp_path):
    crate = make_crate(tmp_path / "crate")
    (crate / "rust-toolchain").write_text("stable; rm -rf /\n")
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "rust-toolchain", "not a toolchain name")


# --- project layouts ------------------------------------------------------------------------------


def _workspace(root: Path, members: str, extra: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "Cargo.toml").write_text(f"[workspace]\nmembers = {members}\n{extra}")
    return root


def _member(root: Path, name: str) -> None:
    make_crate(root / name, MANIFEST.replace('"demo"', f'"{name}"'))


def layout_glob_matches_nothing(tmp: Path) -> Path:
    return _workspace(tmp / "ws", '["crates/*"]')


def layout_member_outside(tmp: Path) -> Path:
    _member(tmp, "elsewhere")
    return _workspace(tmp / "ws", '["../elsewhere"]')


def layout_member_glob_outside(tmp: Path) -> Path:
    _member(tmp, "elsewhere")
    return _workspace(tmp / "ws", '["../*"]')


def layout_member_symlinked_outside(tmp: Path) -> Path:
    _member(tmp, "elsewhere")
    ws = _workspace(tmp / "ws", '["linked"]')
    os.symlink(tmp / "elsewhere", ws / "linked")
    return ws


def layout_member_symlinked_to_parent(tmp: Path) -> Path:
    ws = _workspace(tmp / "ws", '["crates/*"]')
    (ws / "crates").mkdir()
    os.symlink("..", ws / "crates" / "up")
    return ws


def layout_member_symlink_loop(tmp: Path) -> Path:
    ws = _workspace(tmp / "ws", '["loop"]')
    os.symlink("loop", ws / "loop")
    return ws


def layout_member_glob_over_symlink_loop(tmp: Path) -> Path:
    ws = _workspace(tmp / "ws", '["crates/*"]')
    (ws / "crates").mkdir()
    os.symlink("b", ws / "crates" / "a")
    os.symlink("a", ws / "crates" / "b")
    return ws


def layout_members_not_a_list(tmp: Path) -> Path:
    return _workspace(tmp / "ws", '"crates/*"')


def layout_bin_path_missing(tmp: Path) -> Path:
    return make_crate(tmp / "crate", MANIFEST + '\n[[bin]]\nname = "server"\npath = "src/bin/server.rs"\n')


def layout_bin_path_not_a_string(tmp: Path) -> Path:
    return make_crate(tmp / "crate", MANIFEST + '\n[[bin]]\nname = "server"\npath = 5\n')


def layout_bin_is_a_symlink_to_itself(tmp: Path) -> Path:
    crate = make_crate(tmp / "crate")
    (crate / "src" / "bin").mkdir()
    os.symlink("x.rs", crate / "src" / "bin" / "x.rs")
    return crate


def layout_explicit_bin_through_symlink_loop(tmp: Path) -> Path:
    crate = make_crate(tmp / "crate", MANIFEST + '\n[[bin]]\nname = "x"\npath = "src/x.rs"\n')
    os.symlink("x.rs", crate / "src" / "x.rs")
    return crate


def layout_path_dependency_symlink_loop(tmp: Path) -> Path:
    crate = make_crate(tmp / "crate", MANIFEST + '\n[dependencies]\nhelper = { path = "helper" }\n')
    os.symlink("helper", crate / "helper")
    return crate


def layout_workspace_pointer_to_nowhere(tmp: Path) -> Path:
    return make_crate(tmp / "crate", MANIFEST.replace('edition = "2021"', 'edition = "2021"\nworkspace = "../nowhere"'))


def layout_cargo_toml_symlink_loop(tmp: Path) -> Path:
    crate = tmp / "crate"
    crate.mkdir()
    os.symlink("Cargo.toml", crate / "Cargo.toml")
    return crate


def layout_features_not_lists(tmp: Path) -> Path:
    return make_crate(tmp / "crate", MANIFEST + '\n[features]\ndefault = "tls"\n')


def layout_rust_version_garbage(tmp: Path) -> Path:
    return make_crate(tmp / "crate", MANIFEST + 'rust-version = "' + "9" * 5000 + '"\n')


def layout_cargo_config_target_not_a_table(tmp: Path) -> Path:
    crate = make_crate(tmp / "crate")
    (crate / ".cargo").mkdir()
    (crate / ".cargo" / "config.toml").write_text('target = "x86_64-unknown-linux-gnu"\n[build]\ntarget = "wasm32-unknown-unknown"\n')
    return crate


LAYOUTS: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "glob-matches-nothing": (layout_glob_matches_nothing, ("no member packages", "crates/*")),
    "member-outside": (layout_member_outside, ("outside",)),
    "member-glob-outside": (layout_member_glob_outside, ("outside",)),
    "member-symlinked-outside": (layout_member_symlinked_outside, ("outside",)),
    "member-symlinked-to-parent": (layout_member_symlinked_to_parent, ("no member packages",)),
    "member-symlink-loop": (layout_member_symlink_loop, ("symlink loop",)),
    "member-glob-over-symlink-loop": (layout_member_glob_over_symlink_loop, ("no member packages",)),
    "members-not-a-list": (layout_members_not_a_list, ("members", "list")),
    "bin-path-missing": (layout_bin_path_missing, ("src/bin/server.rs", "does not exist")),
    "bin-path-not-a-string": (layout_bin_path_not_a_string, ("server", "path")),
    "bin-symlink-to-itself": (layout_bin_is_a_symlink_to_itself, ("x.rs", "leads nowhere")),
    "explicit-bin-symlink-loop": (layout_explicit_bin_through_symlink_loop, ("src/x.rs",)),
    "path-dependency-symlink-loop": (layout_path_dependency_symlink_loop, ("helper", "symlink loop")),
    "workspace-pointer-to-nowhere": (layout_workspace_pointer_to_nowhere, ("nowhere",)),
    "cargo-toml-symlink-loop": (layout_cargo_toml_symlink_loop, ("Cargo.toml",)),
    "features-not-lists": (layout_features_not_lists, ("feature `default`", "list")),
    "rust-version-garbage": (layout_rust_version_garbage, ("rust-version",)),
    "cargo-config-target-not-a-table": (layout_cargo_config_target_not_a_table, ("wasm32",)),
}


@pytest.mark.parametrize("case", list(LAYOUTS), ids=list(LAYOUTS))
def test_bad_layout(tmp_path, case):
    build, needles = LAYOUTS[case]
    project = build(tmp_path)
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(project), "--no-input")
    assert_clean_failure(result, 1, *needles)
    assert snapshot(tmp_path) == before


def test_a_glob_that_matches_nothing_next_to_real_members_is_a_warning(tmp_path):
    ws = _workspace(tmp_path / "ws", '["app", "plugins/*"]')
    _member(ws, "app")
    result = run_scaffold("init", str(ws), "--no-input", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "warning: workspace member pattern `plugins/*`" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_project_directory(tmp_path):
    result = run_scaffold("init", str(tmp_path / "nope"), "--no-input")
    assert_clean_failure(result, 1, "nope", "no such directory")
    assert list(tmp_path.iterdir()) == []


def test_project_path_that_is_a_file(tmp_path):
    crate = make_crate(tmp_path / "crate")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate / "Cargo.toml"), "--no-input")
    assert_clean_failure(result, 1, "Cargo.toml", "not a directory")
    assert snapshot(tmp_path) == before


def test_project_path_that_is_a_symlink_loop(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(tmp_path / "loop"), "--no-input")
    assert_clean_failure(result, 1, "loop")
    assert snapshot(tmp_path) == before


def test_unreadable_manifest(tmp_path):
    """/proc/self/mem fails every read at offset 0 (EIO), for root too, unlike chmod 000."""
    crate = make_crate(tmp_path / "crate")
    (crate / "Cargo.toml").unlink()
    os.symlink("/proc/self/mem", crate / "Cargo.toml")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, "Cargo.toml", "cannot read")
    assert snapshot(tmp_path) == before


@contextlib.contextmanager
def read_only_directory(path: Path):
    """A directory nobody can write to: a read-only tmpfs for root (who ignores modes), else mode 555."""
    path.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], check=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)


def test_read_only_output_directory(tmp_path):
    crate = make_crate(tmp_path / "crate")
    with read_only_directory(tmp_path / "out") as out:
        result = run_scaffold("init", str(crate), "--no-input", "--output-dir", str(out))
        assert_clean_failure(result, 1, "out")
        assert list(out.iterdir()) == []


def test_output_dir_that_is_a_file(tmp_path):
    crate = make_crate(tmp_path / "crate")
    out = tmp_path / "out"
    out.write_text("not a folder\n")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input", "--output-dir", str(out))
    assert_clean_failure(result, 1, str(out), "not a directory")
    assert snapshot(tmp_path) == before


def test_unknown_feature_names_the_known_ones(tmp_path):
    crate = make_crate(tmp_path / "crate", MANIFEST + '\n[features]\ndefault = []\nmetrics = []\ntls = ["metrics"]\n')
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input", "--features", "metrics,tsl")
    line = assert_clean_failure(result, 2, "--features tsl", "metrics, tls")
    assert "default" not in line.split("has:")[1]
    assert snapshot(tmp_path) == before
    assert run_scaffold("init", str(crate), "--no-input", "--features", "tls").returncode == 0


@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore", "docker-compose.yml"])
def test_an_existing_different_file_without_force(tmp_path, name):
    crate = make_crate(tmp_path / "crate")
    (crate / name).write_text("# mine\n")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input")
    assert_clean_failure(result, 1, name, "--force")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["Dockerfile", "docker-compose.yml"])
def test_an_existing_output_that_is_a_directory_or_symlink(tmp_path, name):
    for kind in ("directory", "symlink"):
        crate = make_crate(tmp_path / kind)
        if kind == "directory":
            (crate / name).mkdir()
        else:
            os.symlink("/etc/hostname", crate / name)
        before = snapshot(crate)
        result = run_scaffold("init", str(crate), "--no-input", "--force")
        assert_clean_failure(result, 1, name, "not a regular file")
        assert snapshot(crate) == before


# --- flag values ------------------------------------------------------------------------------------

FLAG_CASES = {
    "nodes-0": (["--nodes", "0"], "--nodes"),
    "nodes-negative": (["--nodes", "-1"], "--nodes"),
    "nodes-1000": (["--nodes", "1000"], "--nodes"),
    "http-port-0": (["--http-port", "0"], "--http-port"),
    "http-port-70000": (["--http-port", "70000"], "--http-port"),
    "raft-port-70000": (["--raft-port", "70000"], "--raft-port"),
    "host-port-0": (["--host-port", "0"], "--host-port"),
    "host-port-range-past-65535": (["--host-port", "65534", "--nodes", "5"], "--host-port"),
    "http-equals-raft": (["--http-port", "9000", "--raft-port", "9000"], "--http-port"),
    "published-ranges-collide": (["--publish-raft", "--host-port", "9001", "--raft-port", "9000"], "overlap"),
    "publish-address-garbage": (["--publish-address", "0.0.0.0:80"], "--publish-address"),
    "runtime-unknown": (["--runtime", "ubuntu"], "--runtime"),
    # Answers of a valid form that the generated stack cannot honour.
    "feature-unknown": (["--features", "nosuchfeature"], "has no features"),
    "feature-of-no-dependency": (["--features", "serde/derive"], "serde is not a dependency"),
    "publish-address-octet-past-255": (["--publish-address", "300.1.1.1"], "--publish-address"),
    "publish-address-multicast": (["--publish-address", "224.0.0.1"], "multicast"),
    "rust-version-before-bookworm-images": (["--rust-version", "1.60"], "rust:1.60-slim-bookworm"),
    "rust-version-2": (["--rust-version", "2.0"], "no image"),
    "rust-version-before-alpine-images": (["--runtime", "alpine", "--rust-version", "1.30"], "rust:1.30-alpine"),
}


@pytest.mark.parametrize("case", list(FLAG_CASES), ids=list(FLAG_CASES))
def test_flag_values_that_cannot_work(tmp_path, case):
    flags, needle = FLAG_CASES[case]
    crate = make_crate(tmp_path / "crate")
    before = snapshot(tmp_path)
    result = run_scaffold("init", str(crate), "--no-input", *flags)
    assert_clean_failure(result, 2, needle)
    assert snapshot(tmp_path) == before


# --- values that reach the generated files ------------------------------------------------------------

TRICKY = {
    "double-quotes": 'say "hi" to "everyone"',
    "single-quotes": "it's 'quoted'",
    "newlines": "line one\nline two\r\nline three",
    "dollar-braces": "costs ${HOME} and $USER and $$",
    "backslashes": "C:\\path\\to\\ and \\\" and \\$",
    "yaml-specials": "key: value # not a comment, - [a, b] {c: d} & * ! | > % @ `",
    "yaml-document": "---\n... ? :",
    "unicode": "caf\u00e9 \u2028 \u00a0 \U0001F600",
    "trailing-backslash": "ends with \\",
}


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    return "".join(out) + '"'


@pytest.mark.parametrize("case", list(TRICKY), ids=list(TRICKY))
def test_metadata_reaches_oci_labels_literally(tmp_path, case):
    value = TRICKY[case]
    extra = "".join(f"{key} = {_toml_string(value)}\n" for key in ("description", "license", "repository"))
    crate = make_crate(tmp_path / "crate", MANIFEST + extra)
    result = run_scaffold("init", str(crate), "--no-input")
    assert result.returncode == 0, result.stderr
    text = (crate / "Dockerfile").read_text()
    buildkit_parse(text)  # raises on a parse error
    labels = key_values(text, "LABEL")  # also asserts that no value would expand a variable
    # Cargo metadata is one line in an image label: runs of whitespace (newlines too) become one space.
    expected = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    for key in ("description", "licenses", "source"):
        assert " ".join(labels[f"org.opencontainers.image.{key}"].split()) == expected


@pytest.mark.parametrize("case", list(TRICKY), ids=list(TRICKY))
def test_rust_log_reaches_compose_literally(tmp_path, case):
    value = TRICKY[case]
    crate = make_crate(tmp_path / "crate")
    result = run_scaffold("init", str(crate), "--no-input", "--rust-log", value)
    assert result.returncode == 0, result.stderr
    compose_text = (crate / "docker-compose.yml").read_text()
    services = compose_yaml(compose_text)["services"]
    for service in services.values():
        assert compose_literal(service["environment"]["RUST_LOG"]) == value
    assert compose_config(compose_text, (crate / "Dockerfile").read_text()) == []
