"""Cargo target discovery: inferred and explicit bins, lib, build scripts, as Cargo resolves them."""

from pathlib import Path

import pytest

from generator.errors import ScaffoldError
from generator.inspect import inspect_project
from generator.workspace import load_workspace

MANIFESTS = Path(__file__).parent / "manifests"


def targets(case: str, kind: str) -> dict[str, str]:
    (package,) = load_workspace(MANIFESTS / case).members
    return {t.name: t.path for t in package.targets if t.kind == kind}


def test_inferred_main_bin_files_and_bin_dirs():
    assert targets("bins-inferred", "bin") == {
        "multi": "src/main.rs",
        "agent": "src/bin/agent/main.rs",
        "server": "src/bin/server.rs",
        "tool": "src/bin/tool.rs",
    }
    assert targets("bins-inferred", "lib") == {"multi": "src/lib.rs"}
    assert targets("bins-inferred", "build-script") == {"build-script-build": "build.rs"}


def test_explicit_bin_with_the_same_path_hides_the_inferred_one():
    bins = targets("bin-renamed", "bin")
    assert bins == {"x-server": "src/bin/server.rs", "renamed": "src/main.rs", "cli": "src/bin/cli.rs"}
    assert "server" not in bins


def test_explicit_bin_with_the_same_name_takes_the_inferred_path_and_its_settings():
    (package,) = load_workspace(MANIFESTS / "bin-same-name").members
    tools = [t for t in package.binaries if t.name == "tool"]
    assert len(tools) == 1
    assert tools[0].path == "src/bin/tool.rs"
    assert tools[0].required_features == ("extra",)
    assert {t.name for t in package.binaries} == {"tool", "samename"}


def test_autobins_false_keeps_only_declared_bins():
    assert targets("autobins-off", "bin") == {"only": "src/only.rs"}


def test_2015_edition_with_a_bin_section_infers_nothing():
    assert targets("edition2015", "bin") == {"legacy": "src/legacy.rs"}


def test_2018_edition_with_a_bin_section_still_infers():
    assert targets("edition2018", "bin") == {"legacy": "src/legacy.rs", "newer": "src/main.rs", "other": "src/bin/other.rs"}


def test_lib_path_and_name_and_build_false():
    assert targets("lib-path", "lib") == {"corelib": "src/core.rs"}
    assert targets("lib-path", "build-script") == {}  # build.rs exists, `build = false` wins
    assert targets("lib-path", "bin") == {}


def test_build_script_at_a_custom_path():
    assert targets("build-custom", "build-script") == {"build-script-build": "tools/gen.rs"}


def test_missing_build_script_is_an_error_naming_the_manifest():
    with pytest.raises(ScaffoldError) as error:
        load_workspace(MANIFESTS / "build-missing")
    assert str(MANIFESTS / "build-missing" / "Cargo.toml") in str(error.value)
    assert "tools/gone.rs" in str(error.value)


def test_bin_path_that_does_not_exist_is_an_error_naming_the_manifest():
    with pytest.raises(ScaffoldError) as error:
        inspect_project(MANIFESTS / "bin-missing")
    message = str(error.value)
    assert str(MANIFESTS / "bin-missing" / "Cargo.toml") in message
    assert "src/bin/ghost.rs" in message
    assert "\n" not in message


def test_required_features_and_builds_by_default():
    facts = inspect_project(MANIFESTS / "required-features")
    by_name = {b.name: b for b in facts.binaries}
    assert by_name["full"].required_features == ("extra",)
    assert by_name["full"].builds_by_default is False
    assert by_name["lite"].builds_by_default is True
    # `logging` is switched on through default -> base -> logging.
    assert by_name["logged"].builds_by_default is True


def test_bin_entry_without_a_name_is_an_error(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n\n[[bin]]\npath = "src/main.rs"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.rs").write_text("")
    with pytest.raises(ScaffoldError, match="has no name"):
        load_workspace(tmp_path)
