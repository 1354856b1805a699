"""A cheap subset of the system-package table, built for real (the full run: tools/syspackages_check.py).

Each probe crate really uses its -sys crate. On the rust stand-in (gcc and a minimal perl only, as
the official slim image) it must build with exactly the packages scaffold installs for it, fail
without them, and link only libraries of the runtime packages scaffold installs.
"""

from __future__ import annotations

import pytest

from tools import syspackages_check as syscheck

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("crate", ["libsqlite3-sys", "openssl-sys"])
def test_table_entry_is_what_the_build_needs(docker, rust_image, crates_mode, tmp_path, crate):
    if crates_mode != "registry":
        pytest.skip("the probes' crates come from the registry, which containers do not reach here")
    probe = next(p for p in syscheck.PROBES if p.crate == crate)
    root = syscheck.write_probe(probe, tmp_path / "probe")
    build, runtime = syscheck.scaffold_packages(root)
    assert build, f"scaffold installs no build package for {crate}"

    def run(context, dockerfile, tag):
        result = docker.build(context, dockerfile, tag, extra=("--no-cache",))
        return result.returncode, result.output

    with_packages = syscheck.build(root, build, docker.tag("sys"), run)
    assert with_packages.ok, with_packages.detail
    assert with_packages.linked and set(with_packages.linked) <= set(runtime), (with_packages.linked, runtime)
    without = syscheck.build(root, (), docker.tag("sys-none"), run)
    assert not without.ok, f"{crate} built without {' '.join(build)}: the table asks for more than it needs"
