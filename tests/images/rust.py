"""The rust images: the faithful ``rust:<X.Y>-slim-bookworm`` tags and the channel-pinning variant.

See ``rustup.py`` for what goes into the toolchain layers; this module decides the
tags, the recipe hashes, and whether crates come from the registry or are vendored.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.images import rustup
from tests.images.common import (
    DEBIAN_TAG,
    HOST_CA_BUNDLE,
    RECIPE_VERSION,
    RUST_CHANNELS_REPO,
    RUST_FAITHFUL_REPO,
    RUST_TOOLCHAIN_REPO,
    BuildFailed,
    MissingTool,
    Plan,
    Result,
    Toolchain,
    build,
    docker,
    image_label,
    image_size,
    label,
    log,
    sha,
    up_to_date,
)
from tests.images.debian import debian_recipe
from tests.images.vendor import VENDOR_DIR_IN_IMAGE, vendored_crates

# What the official rust:*-slim-bookworm image keeps installed on top of
# debian:bookworm-slim (it also installs wget for rustup, then purges it).
RUST_SLIM_PACKAGES = ("ca-certificates", "gcc", "libc6-dev")

REGISTRY_NOTE = "crates from the registry (faithful: rustup, minimal profile, nothing vendored)"
VENDOR_NOTE = "crates VENDORED: containers found no route to the registry (unlike the official image)"


def _host_rustup(tc: Toolchain) -> rustup.HostRustup:
    try:
        return rustup.find_host_rustup(tc.sysroot, tc.version, tc.host)
    except rustup.NoRustup as e:
        raise MissingTool(str(e)) from None


def make_faithful(plan: Plan) -> tuple[str, str]:
    """The rustup-managed toolchain image, before any crates decision: (tag, recipe)."""
    tc = plan.toolchain
    ru = _host_rustup(tc)
    ignore = tuple(rustup.excluded_paths(ru))
    files_df = rustup.toolchain_dockerfile(DEBIAN_TAG, ru, RUST_SLIM_PACKAGES, "")
    files_recipe = sha(RECIPE_VERSION, "rust-toolchain", debian_recipe(plan), tc.verbose, files_df, *ignore)
    files_tag = f"{RUST_TOOLCHAIN_REPO}:{tc.version}"
    if plan.force or not up_to_date([files_tag], files_recipe):
        log(f"rust toolchain {ru.official_name} from {ru.toolchain_dir} (minimal profile, no docs)")
        df = rustup.toolchain_dockerfile(DEBIAN_TAG, ru, RUST_SLIM_PACKAGES, label(files_recipe, "rust-toolchain-files"))
        build(ru.toolchain_dir, df, [files_tag], "rust-toolchain", ignore)
    tag = f"{RUST_FAITHFUL_REPO}:{tc.version}"
    with tempfile.TemporaryDirectory(prefix="scaffold-rustup-") as meta:
        meta_hash = rustup.stage_metadata(ru, HOST_CA_BUNDLE, Path(meta))
        recipe = sha(files_recipe, meta_hash, rustup.faithful_dockerfile(files_tag, ru, ""))
        if plan.force or not up_to_date([tag], recipe):
            log(f"rustup {ru.binary} and its metadata on top")
            df = rustup.faithful_dockerfile(files_tag, ru, label(recipe, "rust-faithful"))
            build(Path(meta), df, [tag], "rust-faithful")
    return tag, recipe


def make_rust(plan: Plan) -> Result:
    """The official tags: the faithful image, plus vendored crates only where the registry is out of reach."""
    t0 = time.monotonic()
    tags = plan.toolchain.tags
    faithful, faithful_recipe = make_faithful(plan)
    registry_recipe = sha(faithful_recipe, "registry")
    current = {image_label(t) for t in tags}

    def result(built: bool, note: str) -> Result:
        return Result("rust", tags, built, time.monotonic() - t0, image_size(tags[0]), note)

    if not plan.force and plan.crates_mode != "vendor" and current == {registry_recipe}:
        return result(False, REGISTRY_NOTE)
    mode = plan.crates_mode
    if mode == "auto":
        mode = "registry" if registry_reachable(faithful) else "vendor"
        log(f"containers {'reach' if mode == 'registry' else 'do NOT reach'} the crates registry")
    if mode == "registry":
        df = f"FROM {faithful}\nLABEL {label(registry_recipe, 'rust', 'registry')}\n"
        with tempfile.TemporaryDirectory() as empty:
            build(Path(empty), df, tags, "rust")
        return result(True, REGISTRY_NOTE)
    vendor = vendored_crates(plan)
    if vendor is None:
        raise BuildFailed("no route to the crates registry and no Cargo.lock to vendor crates from")
    vendor_recipe = sha(faithful_recipe, "vendor", vendor[1])
    if not plan.force and current == {vendor_recipe}:
        return result(False, VENDOR_NOTE)
    df = (
        f"FROM {faithful}\n"
        f"COPY crates/ {VENDOR_DIR_IN_IMAGE}/\n"
        "COPY config.toml /usr/local/cargo/config.toml\n"
        f"LABEL {label(vendor_recipe, 'rust', 'vendored')}\n"
    )
    build(vendor[0], df, tags, "rust")
    return result(True, VENDOR_NOTE + f"; {len(list((vendor[0] / 'crates').iterdir()))} crates")


def make_rust_channels(plan: Plan) -> Result:
    """The non-faithful variant for channel pins, on top of whatever the official tags hold."""
    t0 = time.monotonic()
    ru = _host_rustup(plan.toolchain)
    base = plan.toolchain.tags[-1]
    recipe = sha(RECIPE_VERSION, "channels", image_label(base) or "", rustup.channels_dockerfile(base, ru, ""))
    tags = [f"{RUST_CHANNELS_REPO}:{plan.toolchain.short}"]
    note = "NOT FAITHFUL: the host toolchain also registered as `stable` and `" + plan.toolchain.short + "`"
    if not plan.force and up_to_date(tags, recipe):
        return Result("rust channels", tags, False, time.monotonic() - t0, image_size(tags[0]), note)
    with tempfile.TemporaryDirectory() as empty:
        build(Path(empty), rustup.channels_dockerfile(base, ru, label(recipe, "rust-channels-not-faithful")), tags,
              "rust-channels")
    return Result("rust channels", tags, True, time.monotonic() - t0, image_size(tags[0]), note)


def registry_reachable(image: str) -> bool:
    """Can a container of ``image`` (default bridge) resolve a dependency from the crates registry?"""
    script = (
        "set -e; cd /tmp; cargo new -q probe; cd probe; "
        "printf 'cfg-if = \"1\"\\n' >> Cargo.toml; "
        "CARGO_NET_RETRY=0 timeout 90 cargo generate-lockfile"
    )
    proc = docker("run", "--rm", image, "sh", "-c", script, check=False)
    if proc.returncode != 0:
        log("registry probe: " + " | ".join(proc.stderr.decode(errors="replace").strip().splitlines()[-3:]))
    return proc.returncode == 0
