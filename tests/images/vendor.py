"""The fallback where containers cannot reach the crates registry: the sample crates' dependencies, vendored on the host."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.images.common import RECIPE_VERSION, REPO_ROOT, BuildFailed, Plan, cache_dir, log, sha

VENDOR_DIR_IN_IMAGE = "/usr/local/share/scaffold-test/vendored-crates"


def vendor_lockfiles(plan: Plan) -> list[Path]:
    """Cargo.lock files whose crates must be available offline in the image."""
    manifests = list(plan.vendor_manifests)
    if not manifests:
        root = REPO_ROOT / "sample-crates"
        if root.is_dir():
            for lock in sorted(root.glob("**/Cargo.lock")):
                if "target" in lock.relative_to(root).parts:
                    continue
                manifests.append(lock.with_name("Cargo.toml"))
    return [m.with_name("Cargo.lock") for m in manifests if m.with_name("Cargo.lock").exists()]


def vendored_crates(plan: Plan) -> tuple[Path, str] | None:
    """`cargo vendor` (on the host, which reaches the registry) into the cache."""
    locks = vendor_lockfiles(plan)
    if not locks:
        return None
    key = sha(RECIPE_VERSION, plan.toolchain.version, *(lk.read_bytes() for lk in locks))
    out = cache_dir() / f"vendor-{key}"
    if (out / ".complete").exists():
        return out, key
    if out.exists():
        shutil.rmtree(out)
    cargo = str(plan.toolchain.sysroot / "bin" / "cargo")
    args = [cargo, "vendor", "--locked", "--versioned-dirs", "--manifest-path", str(locks[0].with_name("Cargo.toml"))]
    for lk in locks[1:]:
        args += ["--sync", str(lk.with_name("Cargo.toml"))]
    args.append(str(out / "crates"))
    log(f"cargo vendor for {len(locks)} lockfile(s)")
    proc = subprocess.run(args, capture_output=True, text=True, cwd=cache_dir())
    if proc.returncode != 0:
        raise BuildFailed(f"cargo vendor failed:\n{proc.stderr[-4000:]}")
    (out / "crates").mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(
        "# Containers on this machine found no route to crates.io; builds use\n"
        "# these crates, vendored on the host, instead. Not in the official image.\n"
        "[source.crates-io]\n"
        'replace-with = "scaffold-test-vendored"\n\n'
        "[source.scaffold-test-vendored]\n"
        f'directory = "{VENDOR_DIR_IN_IMAGE}"\n'
    )
    (out / ".complete").write_text("")
    for old in cache_dir().glob("vendor-*"):
        if old != out:
            shutil.rmtree(old, ignore_errors=True)
    return out, key
