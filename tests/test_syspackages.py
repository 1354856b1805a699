"""System packages found through the Cargo.lock graph, walked from the features a build enables.

This is the fallback used where cargo cannot answer (tests/test_cargoresolve.py has cargo's answers),
so these tests run with cargo off PATH: the walk must stand on its own and say that it is the fallback.
"""

from dataclasses import replace
from pathlib import Path

import pytest

from generator.inspect import inspect_project
from generator.syspackages import TABLE, Requirement
from tools.syspackages_check import REPORT, disagreements, read_report, report_lines

TESTS = Path(__file__).resolve().parent
MANIFESTS = TESTS / "manifests"
SAMPLES = TESTS.parent / "sample-crates"
FALLBACK = "cargo could not resolve this build (cargo is not on PATH); system packages come from a walk of Cargo.lock"


@pytest.fixture(autouse=True)
def without_cargo(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def packages(case: Path, extra_features: tuple[str, ...] = ()):
    facts = inspect_project(case)
    found = facts.system_packages(facts.default_binary, extra_features)
    assert any(w.startswith(FALLBACK) for w in found.warnings)
    return found


def test_the_fallback_says_so_and_asking_cargo_can_be_turned_off():
    facts = inspect_project(SAMPLES / "openssl-app", ask_cargo=False)
    assert facts.system_packages(facts.default_binary).warnings == ()


def test_openssl_through_a_non_optional_dependency():
    lock = (SAMPLES / "openssl-app" / "Cargo.lock").read_text()
    assert 'name = "openssl-sys"' in lock
    found = packages(SAMPLES / "openssl-app")
    assert {"pkg-config", "libssl-dev"} <= set(found.build)
    assert "libssl3" in found.runtime
    assert found.warnings[1:] == ()


def test_openssl_only_behind_a_feature_the_build_does_not_enable():
    found = packages(MANIFESTS / "trap")
    assert "libssl-dev" not in found.build
    assert "libssl3" not in found.runtime
    assert any("openssl-sys" in w and "not installed" in w for w in found.warnings)


def test_openssl_when_the_feature_is_enabled():
    found = packages(MANIFESTS / "trap", ("native-tls",))
    assert {"pkg-config", "libssl-dev"} <= set(found.build)
    assert "libssl3" in found.runtime
    assert not any("openssl-sys" in w for w in found.warnings)


def test_difference_only_in_a_vendoring_feature_keeps_the_system_library():
    found = packages(MANIFESTS / "vendoring-only")
    assert {"pkg-config", "libssl-dev"} <= set(found.build)
    assert "libssl3" in found.runtime
    # openssl-src comes only with the vendoring feature, which this build does not enable.
    assert "perl" not in found.build
    assert any("openssl-src" in w for w in found.warnings)


def test_vendored_backend_feature_is_not_only_vendoring():
    found = packages(MANIFESTS / "vendoring-backend")
    assert "libssl-dev" not in found.build
    assert any("openssl-sys" in w for w in found.warnings)


def test_vendoring_feature_enabled_means_no_system_openssl():
    found = packages(MANIFESTS / "vendoring-only", ("vendored-openssl",))
    assert "libssl-dev" not in found.build
    assert {"make", "perl"} <= set(found.build)


def test_pq_sys():
    found = packages(MANIFESTS / "pq")
    assert {"pkg-config", "libpq-dev"} <= set(found.build)
    assert found.runtime == ("libpq5",)


def test_prost_build_needs_protoc():
    found = packages(MANIFESTS / "protoc")
    assert found.build == ("protobuf-compiler",)
    assert found.runtime == ()


def test_prost_build_with_vendored_protoc():
    found = packages(MANIFESTS / "protoc-vendored")
    assert "protobuf-compiler" not in found.build


def test_bindgen_needs_libclang():
    found = packages(MANIFESTS / "bindgen")
    assert "libclang-dev" in found.build


def test_cmake_only_through_aws_lc_sys_is_not_needed():
    assert "cmake" not in packages(MANIFESTS / "aws-lc").build


def test_cmake_through_another_crate_is_needed():
    assert "cmake" in packages(MANIFESTS / "cmake-direct").build


def test_linker_from_cargo_config():
    found = packages(MANIFESTS / "linker")
    assert set(found.build) == {"clang", "lld"}  # mold is configured for Windows only


def test_no_lock_uses_direct_dependencies_only():
    facts = inspect_project(MANIFESTS / "no-lock")
    assert facts.lock is None
    assert any("no Cargo.lock" in w for w in facts.warnings)
    found = facts.system_packages(facts.default_binary)
    assert "libssl-dev" in found.build  # openssl-sys is a direct dependency
    assert "libpq-dev" not in found.build  # pq-sys is for Windows only
    assert any("direct dependencies only" in w for w in found.warnings)


@pytest.mark.parametrize("case", ["trap", "pq", "protoc", "bindgen", "aws-lc"])
def test_lock_cases_carry_no_missing_lock_warning(case):
    facts = inspect_project(MANIFESTS / case)
    assert not any("no Cargo.lock" in w for w in facts.warnings)



def test_every_checked_table_entry_is_what_the_report_built():
    """A `checked` entry's packages come from docs/syspackages-report.md (tools/syspackages_check.py)."""
    assert disagreements(TABLE, read_report(REPORT)) == []


@pytest.mark.parametrize("broken", [
    Requirement(),  # the report shows the build fails without packages
    Requirement(("pkg-config", "libsqlite3-dev", "cmake")),  # more than the build was checked with
    Requirement(("pkg-config", "libsqlite3-dev"), ("libsqlite3-0", "libfoo1")),  # a library the binary does not link
])
def test_the_report_check_rejects_an_entry_the_report_does_not_support(broken):
    table = {"libsqlite3-sys": broken}
    problems = disagreements(table, read_report(REPORT))
    assert len(problems) == 1 and problems[0].startswith("libsqlite3-sys:"), problems


def test_the_report_check_rejects_a_checked_entry_with_no_build():
    problems = disagreements({"no-such-sys": Requirement(("make",))}, read_report(REPORT))
    assert problems == ["no-such-sys: marked checked, but the report has no build of it"]


def test_vendoring_asked_only_on_another_platform_keeps_the_system_library():
    """simple-http-server 0.8.1: `openssl` vendored for cfg(windows) only, openssl-sys reached through another
    crate as well (native-tls here, tokio-openssl there); Linux links libssl."""
    lock = (MANIFESTS / "vendoring-other-target" / "Cargo.lock").read_text()
    assert 'name = "openssl-src"' in lock  # the lock's edge, from the Windows dependency
    found = packages(MANIFESTS / "vendoring-other-target")
    assert {"pkg-config", "libssl-dev"} <= set(found.build)
    assert "libssl3" in found.runtime
    assert "perl" not in found.build


@pytest.mark.parametrize("broken", [
    Requirement(),  # the binary finds no CA certificates without ca-certificates
    Requirement(runtime=("ca-certificates", "libfoo1")),  # no run had libfoo1
])
def test_the_report_check_rejects_a_runtime_entry_the_runs_do_not_support(broken):
    problems = disagreements({"rustls-native-certs": broken}, read_report(REPORT))
    assert problems and all(p.startswith("rustls-native-certs:") for p in problems), problems


def test_the_report_check_rejects_a_runtime_package_the_binary_runs_without():
    """A run without the package that succeeds means the table asks for more than the binary reads."""
    report = read_report(REPORT)
    runtime, outcomes = report["rustls-native-certs"]
    report["rustls-native-certs"] = (runtime, [replace(o, ok=True) for o in outcomes])
    problems = disagreements({"rustls-native-certs": TABLE["rustls-native-certs"]}, report)
    assert len(problems) == 1 and "runs with nothing" in problems[0], problems


def test_the_report_reads_back_what_it_wrote(tmp_path):
    report = read_report(REPORT)
    assert any(o.run_with is not None for _, outcomes in report.values() for o in outcomes)
    copy = tmp_path / "report.md"
    copy.write_text("\n".join(report_lines(report)) + "\n")
    assert read_report(copy) == report
