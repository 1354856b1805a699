"""rust-toolchain files, the MSRV, and Cargo configuration that changes the linker."""

import shutil
import tomllib
from pathlib import Path

import pytest

from generator.answers import Answers, check_rust_version
from generator.choices import BASELINE_RUST
from generator.errors import ScaffoldError, UsageError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.plan_toolchain import FIRST_WITH_RUSTUP_1_28, ToolchainPlan, make_toolchain
from generator.render import render
from generator.toolchain import read_cargo_config, read_toolchain

TESTS = Path(__file__).resolve().parent
SAMPLES = TESTS.parent / "sample-crates"
MANIFESTS = TESTS / "manifests"


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


def test_a_release_with_the_host_triple_is_that_release(tmp_path):
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.95-x86_64-unknown-linux-gnu"\n')
    assert read_toolchain(tmp_path).version == "1.95"
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.95-aarch64-unknown-linux-gnu"\n')
    assert read_toolchain(tmp_path).version is None


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


def test_toml_file_components_targets_and_profile_are_read():
    toolchain = read_toolchain(MANIFESTS / "toolchain-channel")
    assert toolchain.channel == "nightly-2026-01-30" and toolchain.version is None
    assert (toolchain.components, toolchain.targets, toolchain.profile) == (("rustfmt",), ("wasm32-unknown-unknown",), "minimal")


def test_components_that_are_not_a_list_are_refused(tmp_path):
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "stable"\ncomponents = "clippy"\n')
    with pytest.raises(ScaffoldError, match=r"rust-toolchain.toml: `toolchain.components` must be a list"):
        read_toolchain(tmp_path)


def _plan(root: Path, **answers):
    return make_plan(inspect_project(root, ask_cargo=False), Answers(**answers))


def _dockerfile(plan) -> str:
    return next(f.content for f in render(plan) if f.name == "Dockerfile")


def test_two_part_pin_runs_the_image_toolchain_without_a_download():
    """`1.95` and the image's `1.95.0` are different rustup toolchains: the build must name the image's."""
    plan = _plan(MANIFESTS / "toolchain-two-part")
    assert plan.image.rust_version == "1.95"
    assert plan.image.toolchain == ToolchainPlan(True, None, None, plan.image.toolchain.runs)
    dockerfile = _dockerfile(plan)
    toolchain_stage = dockerfile.split("FROM toolchain AS")[0]
    assert "ENV RUSTUP_TOOLCHAIN=${RUST_VERSION}\n" in toolchain_stage
    assert "rustup toolchain install" not in dockerfile
    assert not [w for w in plan.warnings if "toolchain" in w], plan.warnings


def test_an_exact_pin_of_another_patch_release_is_not_met_by_a_minor_tag(tmp_path):
    shutil.copytree(MANIFESTS / "toolchain-two-part", tmp_path / "p")
    (tmp_path / "p" / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.95.0"\n')
    plan = _plan(tmp_path / "p", rust_version="1.95")
    assert plan.image.toolchain.file == "rust-toolchain.toml" and not plan.image.toolchain.image_toolchain
    assert _plan(tmp_path / "p").image.toolchain.image_toolchain  # the default image is 1.95.0 itself


def test_channel_pin_gets_a_toolchain_layer_before_the_sources():
    plan = _plan(MANIFESTS / "toolchain-channel")
    assert plan.image.toolchain.file == "rust-toolchain.toml"
    assert any("pins `nightly-2026-01-30`" in w and "toolchain layer" in w for w in plan.warnings), plan.warnings
    for strategy in ("cache-mount", "skeleton"):
        dockerfile = _dockerfile(_plan(MANIFESTS / "toolchain-channel", strategy=strategy))
        lines = dockerfile.splitlines()
        install = lines.index("RUN rustup toolchain install --no-self-update")
        assert lines[install - 1] == "COPY rust-toolchain.toml ./"
        first_copy = lines.index("COPY . .")
        assert install < first_copy, "the toolchain layer must not depend on the sources"
        assert "RUSTUP_TOOLCHAIN" not in dockerfile  # rustup follows the file, components and targets included


@pytest.mark.parametrize("channel", ["stable", "beta", "nightly", "nightly-2026-01-30"])
def test_rust_version_channel_is_the_baseline_image_plus_a_layer(channel):
    plan = _plan(SAMPLES / "hello-bin", rust_version=channel)
    assert plan.image.rust_version == BASELINE_RUST
    assert plan.image.toolchain.channel == channel
    assert any(f"--rust-version {channel}" in w and "MSRV" in w and "not checked" in w for w in plan.warnings)
    lines = _dockerfile(plan).splitlines()
    install = lines.index("RUN rustup toolchain install --no-self-update --profile minimal")
    assert lines[install - 1] == f"ENV RUSTUP_TOOLCHAIN={channel}"
    assert install < lines.index("COPY . .")


def test_images_before_rustup_1_28_install_the_file_toolchain_through_rustup_show(tmp_path):
    """rust:1.84 and older ship rustup 1.27, whose `rustup toolchain install` wants a name: the layer
    asks `rustup show active-toolchain`, which installs the file's toolchain there."""
    shutil.copytree(MANIFESTS / "toolchain-channel", tmp_path / "p")
    old, new = (_dockerfile(_plan(tmp_path / "p", rust_version=v)).splitlines() for v in ("1.84", FIRST_WITH_RUSTUP_1_28))
    assert "RUN rustup show active-toolchain" in old and "RUN rustup toolchain install --no-self-update" not in old
    assert "RUN rustup toolchain install --no-self-update" in new and "RUN rustup show active-toolchain" not in new
    assert old.index("RUN rustup show active-toolchain") == old.index("COPY rust-toolchain.toml ./") + 1


def test_a_channel_on_an_image_before_rustup_1_28_is_installed_by_name():
    plan = _plan(SAMPLES / "hello-bin", rust_version="nightly")
    old = make_toolchain(None, "1.84.1", "nightly")[0]
    assert old.install == ("rustup", "toolchain", "install", "--no-self-update", "--profile", "minimal", "nightly")
    assert plan.image.toolchain.install == old.install[:-1]  # rustup 1.28 installs the active one, RUSTUP_TOOLCHAIN's


@pytest.mark.parametrize("bad", ["latest", "nightly-2026-1-30", "stable-x86_64-unknown-linux-gnu", "1.95-nightly"])
def test_rust_version_that_is_neither_a_release_nor_a_channel_is_refused(bad):
    with pytest.raises(UsageError, match=r"--rust-version .*expected a release such as 1\.95 or 1\.95\.0, or a channel"):
        check_rust_version(bad)


def test_a_numeric_pin_other_than_the_image_installs_it_in_the_layer():
    plan = _plan(MANIFESTS / "toolchain-two-part", rust_version="1.96")
    assert plan.image.toolchain.file == "rust-toolchain.toml"
    assert any("pins Rust 1.95 but the build image is rust:1.96" in w for w in plan.warnings), plan.warnings


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
