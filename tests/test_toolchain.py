"""rust-toolchain files, the MSRV, and Cargo configuration that changes the linker."""

import tomllib
from pathlib import Path

import pytest

from generator.errors import ScaffoldError
from generator.inspect import inspect_project
from generator.toolchain import read_cargo_config, read_toolchain

TESTS = Path(__file__).resolve().parent
SAMPLES = TESTS.parent / "sample-crates"


def test_toml_file_with_channel(tmp_path):
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.80.1"\ncomponents = ["clippy"]\n')
    toolchain = read_toolchain(tmp_path)
    assert (toolchain.channel, toolchain.file, toolchain.version) == ("1.80.1", "rust-toolchain.toml", "1.80.1")


def test_toml_file_without_channel_is_the_lib_only_sample():
    data = tomllib.loads((SAMPLES / "lib-only" / "rust-toolchain.toml").read_text())
    assert "channel" not in data["toolchain"]
    toolchain = read_toolchain(SAMPLES / "lib-only")
    assert toolchain.channel is None
    assert toolchain.version is None
    assert toolchain.file == "rust-toolchain.toml"


def test_named_channel_is_not_a_version(tmp_path):
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "nightly-2024-05-01"\n')
    assert read_toolchain(tmp_path).version is None


def test_legacy_one_line_file(tmp_path):
    (tmp_path / "rust-toolchain").write_text("1.79.0\n")
    toolchain = read_toolchain(tmp_path)
    assert (toolchain.channel, toolchain.file, toolchain.version) == ("1.79.0", "rust-toolchain", "1.79.0")


def test_legacy_file_holding_toml(tmp_path):
    (tmp_path / "rust-toolchain").write_text('[toolchain]\nchannel = "1.78"\n')
    assert read_toolchain(tmp_path).channel == "1.78"


def test_legacy_file_holding_toml_after_a_comment(tmp_path):
    (tmp_path / "rust-toolchain").write_text('# pinned for CI\n[toolchain]\nchannel = "1.77.2"\n')
    assert read_toolchain(tmp_path).channel == "1.77.2"


def test_no_toolchain_file(tmp_path):
    assert read_toolchain(tmp_path) is None


def test_named_channel_warns_in_facts(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "n"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text("")
    (tmp_path / "rust-toolchain").write_text("nightly\n")
    facts = inspect_project(tmp_path)
    assert facts.toolchain.channel == "nightly"
    assert any("nightly" in w for w in facts.warnings)


def test_msrv_inherited_from_the_workspace():
    facts = inspect_project(SAMPLES / "workspace")
    api = facts.workspace.package("ws-api")
    assert api.rust_version == "1.80"
    assert facts.rust_version(facts.default_binary) == "1.80"


def test_msrv_of_the_binary_package_wins_over_the_highest(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a", "b"]\n[workspace.package]\nrust-version = "1.70"\n')
    for name, msrv in (("a", "rust-version.workspace = true"), ("b", 'rust-version = "1.85"')):
        (tmp_path / name / "src").mkdir(parents=True)
        (tmp_path / name / "Cargo.toml").write_text(f'[package]\nname = "{name}"\nversion = "0.1.0"\n{msrv}\n')
        (tmp_path / name / "src" / "main.rs").write_text("")
    facts = inspect_project(tmp_path)
    assert facts.rust_version(facts.binary("a")) == "1.70"
    assert facts.rust_version(None) == "1.85"


def test_cargo_config_string_rustflags(tmp_path):
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text('[build]\nrustflags = "-C link-arg=-fuse-ld=mold"\n')
    assert read_cargo_config(tmp_path).linker_packages == ("mold",)


def test_cargo_config_cfg_target_linker(tmp_path):
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config.toml").write_text(
        "[target.'cfg(target_os = \"linux\")']\nlinker = \"/usr/bin/clang\"\n"
        "[target.'cfg(windows)']\nlinker = \"lld-link\"\nrustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n"
    )
    assert read_cargo_config(tmp_path).linker_packages == ("clang",)


def test_cargo_config_without_extension_wins(tmp_path):
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo" / "config").write_text('[build]\ntarget = "wasm32-wasip1"\n')
    (tmp_path / ".cargo" / "config.toml").write_text('[build]\njobs = 4\n')
    config = read_cargo_config(tmp_path)
    assert (config.file, config.build_target) == (".cargo/config", "wasm32-wasip1")


def test_toolchain_file_not_utf8(tmp_path):
    (tmp_path / "rust-toolchain").write_bytes(b"\xff\xfe1.80\n")
    with pytest.raises(ScaffoldError, match="not UTF-8"):
        read_toolchain(tmp_path)
