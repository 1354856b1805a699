"""``debian:bookworm-slim``: debootstrap's minbase rootfs, cached, imported with ``docker import``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.images.aptsources import APT_DOCKER_CLEAN, DPKG_EXCLUDES, SUITE, image_sources_file
from tests.images.common import (
    DEBIAN_TAG,
    LABEL,
    LABEL_KIND,
    RECIPE_VERSION,
    BuildFailed,
    MissingTool,
    Plan,
    Result,
    cache_dir,
    docker,
    image_size,
    log,
    sha,
    up_to_date,
)


def missing_tools() -> list[str]:
    """Return the apt packages to install before images can be made."""
    missing = []
    if not shutil.which("debootstrap") and not Path("/usr/sbin/debootstrap").exists():
        missing.append("debootstrap")
    if not Path("/usr/share/keyrings/debian-archive-keyring.gpg").exists():
        missing.append("debian-archive-keyring")
    return missing


def check_tools() -> None:
    missing = missing_tools()
    if missing:
        raise MissingTool(
            "cannot make the Debian base image: missing "
            + ", ".join(missing)
            + f" (apt-get install -y {' '.join(missing)})"
        )
    if os.geteuid() != 0:
        raise MissingTool("debootstrap needs root to build the Debian rootfs")


def debian_recipe(plan: Plan) -> str:
    return sha(
        RECIPE_VERSION,
        "debian",
        SUITE,
        "minbase",
        plan.mirror,
        image_sources_file(plan.mirror, plan.security),
        DPKG_EXCLUDES,
        APT_DOCKER_CLEAN,
    )


def rootfs_tarball(plan: Plan) -> Path:
    """debootstrap once per mirror and recipe; cached between runs."""
    key = debian_recipe(plan)
    tar = cache_dir() / f"debian-{SUITE}-minbase-{key}.tar"
    if tar.exists() and not plan.force:
        log(f"using cached rootfs {tar}")
        return tar
    check_tools()
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    rootfs = work / "rootfs"
    try:
        log(f"debootstrap --variant=minbase {SUITE} from {plan.mirror} (takes about half a minute)")
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", SUITE, str(rootfs), plan.mirror],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-4000:]
            logf = rootfs / "debootstrap" / "debootstrap.log"
            if logf.exists():
                tail += "\n--- debootstrap.log ---\n" + logf.read_text(errors="replace")[-4000:]
            raise BuildFailed(f"debootstrap failed ({proc.returncode}):\n{tail}")
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(image_sources_file(plan.mirror, plan.security))
        (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(DPKG_EXCLUDES)
        (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_DOCKER_CLEAN)
        for pattern in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for p in (rootfs / pattern).glob("*"):
                if p.is_file():
                    p.unlink()
        for p in (rootfs / "var/cache/apt").glob("*.bin"):
            p.unlink()
        tmp_tar = work / "rootfs.tar"
        subprocess.run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tmp_tar), "."],
            check=True,
        )
        os.replace(tmp_tar, tar)
        for old in cache_dir().glob(f"debian-{SUITE}-minbase-*.tar"):
            if old != tar:
                old.unlink(missing_ok=True)
        return tar
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_debian(plan: Plan) -> Result:
    recipe = debian_recipe(plan)
    tags = [DEBIAN_TAG]
    t0 = time.monotonic()
    if not plan.force and up_to_date(tags, recipe):
        return Result("debian", tags, False, time.monotonic() - t0, image_size(DEBIAN_TAG))
    tar = rootfs_tarball(plan)
    with open(tar, "rb") as f:
        proc = docker(
            "import",
            "-c", f"LABEL {LABEL}={recipe}",
            "-c", f"LABEL {LABEL_KIND}=debian-minbase",
            "-c", 'CMD ["bash"]',
            "-",
            DEBIAN_TAG,
            stdin=f,
        )
    del proc
    return Result("debian", tags, True, time.monotonic() - t0, image_size(DEBIAN_TAG), f"mirror {plan.mirror}")
