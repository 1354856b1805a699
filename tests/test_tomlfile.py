"""Reading Cargo's TOML files: errors are one line and name the file (and line when known)."""

from pathlib import Path

import pytest

from generator import tomlfile
from generator.errors import ScaffoldError
from generator.lockfile import read_lock
from generator.workspace import load_workspace

SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"


def error_for(path: Path) -> str:
    with pytest.raises(ScaffoldError) as error:
        tomlfile.load_toml(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_invalid_toml_names_file_and_line(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_text('[package]\nname = "x"\nversion = "0.1.0\nedition = "2021"\n')
    assert f"{path}:3:" in error_for(path)


def test_duplicate_key_names_its_line(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_text('[package]\nname = "x"\n\n\nname = "y"\n')
    assert f"{path}:5:" in error_for(path)


def test_empty_file(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_text("  \n\n")
    assert "empty" in error_for(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_bytes(bytes(range(256)) * 4)
    error_for(path)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_bytes(b'[package]\nname = "caf\xe9"\n')
    message = error_for(path)
    assert f"{path}:2:" in message and "UTF-8" in message


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "Cargo.toml"
    path.write_bytes('\ufeff[package]\nname = "bom"\n'.encode())
    assert tomlfile.load_toml(path)["package"]["name"] == "bom"


def test_huge_file(tmp_path):
    path = tmp_path / "Cargo.lock"
    with path.open("wb") as f:
        f.truncate(tomlfile.MAX_TOML_BYTES + 1)
    assert "too large" in error_for(path)


def test_missing_file(tmp_path):
    assert "cannot read" in error_for(tmp_path / "Cargo.toml")


def test_scaffolds_own_files_are_read_by_the_same_reader(tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text('nodes = 3\nrust_log = "info"\nnodes = 4\n')
    with pytest.raises(ScaffoldError) as error:
        tomlfile.load_toml(path, tomlfile.ANSWERS_FILE)
    assert str(error.value).startswith(f"{path}:3: invalid TOML in the answers file")
    assert "so that scaffold can read it" in str(error.value)


def test_only_scaffolds_own_files_may_be_empty(tmp_path):
    path = tmp_path / "defaults.toml"
    path.write_text("\n  \n")
    assert tomlfile.load_toml(path, tomlfile.USER_DEFAULTS) == {}
    assert "empty" in error_for(path)  # as a Cargo file


def test_error_through_load_workspace(tmp_path):
    (tmp_path / "Cargo.toml").write_text("[package\n")
    with pytest.raises(ScaffoldError, match=r"Cargo.toml:1: invalid TOML"):
        load_workspace(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        '[workspace]\nmembers = ["a"]\n',  # a manifest, not a lock
        "version = 4\n",
        "package = 3\n",
        '[[package]]\nversion = "1.0.0"\n',
    ],
)
def test_cargo_lock_that_is_not_a_lock(tmp_path, text):
    path = tmp_path / "Cargo.lock"
    path.write_text(text)
    with pytest.raises(ScaffoldError, match="not a Cargo.lock"):
        read_lock(path)


def test_lock_with_a_dangling_dependency(tmp_path):
    path = tmp_path / "Cargo.lock"
    path.write_text('version = 4\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = ["ghost 1.0.0"]\n')
    with pytest.raises(ScaffoldError, match="ghost"):
        read_lock(path)


def test_lock_dependency_that_needs_a_version(tmp_path):
    path = tmp_path / "Cargo.lock"
    path.write_text(
        'version = 4\n[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = ["dup"]\n'
        '[[package]]\nname = "dup"\nversion = "1.0.0"\n[[package]]\nname = "dup"\nversion = "2.0.0"\n'
    )
    with pytest.raises(ScaffoldError, match="dup"):
        read_lock(path)


def test_real_lock_graph():
    lock = read_lock(SAMPLES / "openssl-app" / "Cargo.lock")
    (app,) = lock.named("openssl-app")
    assert app.local
    (openssl,) = lock.named("openssl")
    assert not openssl.local
    assert any(lock.packages[d].name == "openssl-sys" for d in openssl.dependencies)
