"""Locked releases a newer Rust no longer compiles: said by inspect and init, before a build fails."""

from __future__ import annotations

import pytest

from generator.answers import Answers
from generator.inspect import inspect_project
from generator.inspect_report import report_data
from generator.lockcompat import BREAKAGES, lock_warnings
from generator.lockfile import Lock, LockedPackage
from generator.plan import make_plan
from tests.conftest import make_crate

TIME = next(b for b in BREAKAGES if b.crate == "time")


def lock(*packages: tuple[str, str], local: bool = False) -> Lock:
    return Lock({f"{n} {v}": LockedPackage(n, v, local, ()) for n, v in [("app", "0.1.0"), *packages]})


@pytest.mark.parametrize("version", [TIME.broken_from, "0.3.29", "0.3.34"])
def test_an_affected_time_is_named_with_the_fix(version):
    [warning] = lock_warnings(lock(("time", version)), "1.95", None)
    assert f"time {version}" in warning and "Rust 1.95" in warning
    assert f"`cargo update -p time` ({TIME.fixed_in} or later)" in warning


@pytest.mark.parametrize("version", ["0.3.17", TIME.fixed_in, "0.3.41", "0.2.27"])
def test_releases_outside_the_range_are_quiet(version):
    assert lock_warnings(lock(("time", version)), "1.95", None) == []


def test_an_older_rust_compiles_it():
    assert lock_warnings(lock(("time", "0.3.29")), "1.79", None) == []
    assert lock_warnings(lock(("time", "0.3.29")), TIME.rust, None) != []


def test_an_undated_channel_is_the_newest_rust_and_a_dated_one_is_not_judged():
    assert "the build with stable fails" in lock_warnings(lock(("time", "0.3.29")), "1.70", "stable")[0]
    assert lock_warnings(lock(("time", "0.3.29")), "1.95", "nightly-2024-01-01") == []


def test_a_path_package_of_that_name_and_no_lock_are_quiet():
    assert lock_warnings(lock(("time", "0.3.29"), local=True), "1.95", None) == []
    assert lock_warnings(None, "1.95", None) == []


def _with_time(root, version: str):
    crate = make_crate(root)
    lock_text = (crate / "Cargo.lock").read_text()
    (crate / "Cargo.lock").write_text(
        lock_text + f'\n[[package]]\nname = "time"\nversion = "{version}"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
    )
    return inspect_project(crate, ask_cargo=False)


def test_inspect_and_init_say_it(tmp_path):
    facts = _with_time(tmp_path / "old", "0.3.29")
    assert any("time 0.3.29" in w for w in report_data(facts)["warnings"])
    assert any("time 0.3.29" in w for w in make_plan(facts, Answers()).warnings)
    assert not any("time 0.3.29" in w for w in make_plan(facts, Answers(rust_version="1.79")).warnings)
    fixed = _with_time(tmp_path / "new", TIME.fixed_in)
    assert not any("does not compile" in w for w in (*report_data(fixed)["warnings"], *make_plan(fixed, Answers()).warnings))


def test_the_rust_judged_is_the_one_cargo_runs():
    """A toolchain file's pin the image does not meet is what the build compiles with, not the image's release."""
    from generator.plan_toolchain import cargo_runs
    from generator.toolchain import Toolchain

    old_pin = Toolchain("1.79", "rust-toolchain.toml")
    assert cargo_runs(old_pin, "1.95", None) == ("1.79", None)
    assert lock_warnings(lock(("time", "0.3.29")), *cargo_runs(old_pin, "1.95", None)) == []
    assert cargo_runs(Toolchain("1.95", "rust-toolchain.toml"), "1.95", None) == ("1.95", None)
    assert cargo_runs(Toolchain("stable", "rust-toolchain.toml"), "1.95", None) == ("1.95", "stable")
    assert cargo_runs(Toolchain("stable", "rust-toolchain.toml"), "1.95", "nightly") == ("1.95", "nightly")
