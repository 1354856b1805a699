"""A cheap subset of the system-package table, built for real (the full run: tools/syspackages_check.py).

Each probe crate really uses its -sys crate. On the rust stand-in (gcc and a minimal perl only, as
the official slim image) it must build with exactly the packages scaffold installs for it, fail
without them, and link only libraries of the runtime packages scaffold installs. A rule about what the
binary reads when it runs (the CA bundle) is checked by running it in the runtime image without the package.
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


def test_ca_bundle_rule_is_what_the_binary_reads_when_it_runs(docker, rust_image, crates_mode, tmp_path):
    """rustls-native-certs needs nothing to build; run in the runtime image it finds CA certificates only
    with the ca-certificates package scaffold installs."""
    if crates_mode != "registry":
        pytest.skip("the probes' crates come from the registry, which containers do not reach here")
    probe = next(p for p in syscheck.PROBES if p.crate == "rustls-native-certs")
    root = syscheck.write_probe(probe, tmp_path / "probe")
    build, runtime = syscheck.scaffold_packages(root)
    assert probe.runs_without in runtime, runtime

    def run(context, dockerfile, tag):
        result = docker.build(context, dockerfile, tag, extra=("--no-cache",))
        return result.returncode, result.output

    with_it = syscheck.build(root, build, docker.tag("sys-run"), run, run_with=runtime)
    assert with_it.ok, with_it.detail
    lacking = tuple(p for p in runtime if p != probe.runs_without)
    without = syscheck.build(root, build, docker.tag("sys-run-none"), run, run_with=lacking)
    assert not without.ok, f"the probe found CA certificates without {probe.runs_without}: {without.detail}"
