"""`cfg(...)` target expressions evaluated for a Linux (glibc) build."""

import pytest

from generator.cfg import applies_to_linux


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("cfg(unix)", True),
        ("cfg(windows)", False),
        ("cfg(not(windows))", True),
        ("cfg(not(unix))", False),
        ('cfg(target_os = "linux")', True),
        ('cfg(target_os = "macos")', False),
        ('cfg(target_os="windows")', False),
        ('cfg(target_family = "unix")', True),
        ('cfg(target_family = "wasm")', False),
        ('cfg(target_env = "gnu")', True),
        ('cfg(target_env = "msvc")', False),
        ('cfg(target_env = "musl")', False),
        ('cfg(any(target_os = "macos", target_os = "linux"))', True),
        ('cfg(any(target_os = "macos", windows))', False),
        ('cfg(all(unix, not(target_os = "macos")))', True),
        ('cfg(all(unix, target_os = "macos"))', False),
        ('cfg(all(target_os = "linux", target_env = "gnu"))', True),
        ('cfg(not(any(windows, target_os = "ios")))', True),
        ("cfg(any())", False),
        ("cfg(all())", True),
        # Unknown predicates count as true: installing too much beats missing a library.
        ('cfg(target_arch = "aarch64")', True),
        ("cfg(tokio_unstable)", True),
        ("x86_64-unknown-linux-gnu", True),
        ("aarch64-unknown-linux-gnu", True),
        ("x86_64-pc-windows-msvc", False),
        ("x86_64-apple-darwin", False),
    ],
)
def test_linux_facts(spec, expected):
    assert applies_to_linux(spec) is expected


def test_malformed_expressions_do_not_crash():
    for spec in ("cfg(", "cfg()", "cfg(all(unix", 'cfg(target_os = )'):
        assert isinstance(applies_to_linux(spec), bool)
