"""Build the base images the generated Dockerfiles name, locally, without a registry.

The engine used by the test suite has no registry to pull from, so every
``FROM`` line of a generated Dockerfile must resolve from the local image
store. This module makes those images from things the machine does have:

``debian:bookworm-slim``
    ``debootstrap --variant=minbase bookworm`` from the same Debian mirror the
    host's apt uses, imported with ``docker import``. The rootfs tarball is
    cached under ``${XDG_CACHE_HOME:-~/.cache}/scaffold-test-images/``.

``rust:<X.Y>-slim-bookworm`` and ``rust:<X.Y.Z>-slim-bookworm``
    Faithful to the official slim image where a build can tell: the Debian image
    plus exactly the packages it keeps (``ca-certificates gcc libc6-dev``),
    rustup (the host's binary) with every tool a proxy to it,
    ``RUSTUP_HOME=/usr/local/rustup``, ``CARGO_HOME=/usr/local/cargo``, and the
    host toolchain installed as ``<X.Y.Z>-<host>`` with profile minimal (see
    ``rustup.py``). Deliberately nothing more (no ``pkg-config``, no
    ``libssl-dev``) so that a generated Dockerfile that forgets a build package
    fails here too. Three differences: the host's CA bundle is trusted (a
    TLS-intercepting proxy sits between containers and the registry), and
    ``RUSTUP_DIST_SERVER``/``RUSTUP_UPDATE_ROOT`` point at a closed port, so
    a toolchain file naming a toolchain the image lacks fails in a second
    instead of downloading; and, only where containers find no route to the
    crates registry (probed; ``SCAFFOLD_TEST_CRATES=auto|registry|vendor``),
    the sample crates' dependencies vendored with a ``$CARGO_HOME/config.toml``
    that replaces crates.io with them. The image's label
    ``org.scaffold.test-image.crates`` says which (``registry``/``vendored``).

``scaffold-test/rust-channels:<X.Y>``
    NOT faithful: the rust image with the same toolchain also registered as
    ``stable`` and ``<X.Y>``, for building projects that pin a channel.

``gcr.io/distroless/cc-debian12:nonroot``
    A stand-in for Google's distroless ``cc`` image, not the real one: the
    files of libc6, libgcc-s1, libstdc++6, libssl3, ca-certificates, tzdata
    and netbase, ``/etc/passwd`` and ``/etc/group`` with root, nobody and
    nonroot (65532), no shell, ``USER 65532:65532``.

musl-based images (alpine, scratch builds of a musl binary) are not made:
the host toolchain has no musl target.

Every image carries the label ``org.scaffold.test-image=<recipe hash>``. An
image whose tags all carry the current recipe hash is left alone, so running
this twice is cheap.

Usage::

    python -m tests.images.baseimages            # make what is missing
    python -m tests.images.baseimages --force    # rebuild everything
    python -m tests.images.baseimages --probe-network
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.images import rustup
from tests.images.aptsources import APT_DOCKER_CLEAN, DPKG_EXCLUDES, SUITE, debian_mirrors, image_sources_file

RECIPE_VERSION = "4"
LABEL = "org.scaffold.test-image"
LABEL_KIND = "org.scaffold.test-image.kind"

DEBIAN_TAG = "debian:bookworm-slim"
DISTROLESS_TAG = "gcr.io/distroless/cc-debian12:nonroot"
RUST_TOOLCHAIN_REPO = "scaffold-test/rust-toolchain-files"
RUST_FAITHFUL_REPO = "scaffold-test/rust-faithful"
RUST_CHANNELS_REPO = "scaffold-test/rust-channels"
LABEL_CRATES = "org.scaffold.test-image.crates"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CRATES_MODES = ("auto", "registry", "vendor")


# What the official rust:*-slim-bookworm image keeps installed on top of
# debian:bookworm-slim (it also installs wget for rustup, then purges it).
RUST_SLIM_PACKAGES = ("ca-certificates", "gcc", "libc6-dev")

DISTROLESS_PACKAGES = (
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libssl3",
    "ca-certificates",
    "tzdata",
    "netbase",
)

VENDOR_DIR_IN_IMAGE = "/usr/local/share/scaffold-test/vendored-crates"

REPO_ROOT = Path(__file__).resolve().parents[2]


class MissingTool(RuntimeError):
    """A host tool needed to make the images is not installed."""


class BuildFailed(RuntimeError):
    """An image could not be made."""


def log(msg: str) -> None:
    print(f"[base-images] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Host facts


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    d = Path(base) / "scaffold-test-images"
    d.mkdir(parents=True, exist_ok=True)
    return d


def docker_cli() -> str:
    """Debian's docker 20.10 client has BuildKit built in; prefer it."""
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    found = shutil.which("docker")
    if not found:
        raise MissingTool("no docker client found (apt-get install docker.io)")
    return found


def docker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKER_BUILDKIT"] = "1"
    env.setdefault("BUILDKIT_PROGRESS", "plain")
    return env


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


@dataclass(frozen=True)
class Toolchain:
    sysroot: Path
    version: str  # X.Y.Z
    host: str
    verbose: str  # rustc -vV + cargo -V, identifies the build

    @property
    def short(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def tags(self) -> list[str]:
        return [f"rust:{self.short}-slim-bookworm", f"rust:{self.version}-slim-bookworm"]


def host_toolchain() -> Toolchain:
    if not shutil.which("rustc"):
        raise MissingTool("no rustc on PATH (install a Rust toolchain with rustup)")
    vv = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    sysroot = Path(
        subprocess.run(["rustc", "--print", "sysroot"], check=True, capture_output=True, text=True).stdout.strip()
    )
    fields = dict(line.split(": ", 1) for line in vv.splitlines() if ": " in line)
    cargo = sysroot / "bin" / "cargo"
    if not cargo.exists():
        raise MissingTool(f"no cargo in the toolchain at {sysroot}")
    cargo_v = subprocess.run([str(cargo), "-V"], check=True, capture_output=True, text=True).stdout
    return Toolchain(sysroot, fields["release"], fields["host"], vv + cargo_v)


# --------------------------------------------------------------------------
# Engine helpers


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def _docker(*args: str, check: bool = True, capture: bool = True, input: bytes | None = None, stdin=None):
    proc = subprocess.run(
        [docker_cli(), *args],
        env=docker_env(),
        capture_output=capture,
        input=input,
        stdin=stdin,
    )
    if check and proc.returncode != 0:
        out = (proc.stdout or b"").decode(errors="replace") + (proc.stderr or b"").decode(errors="replace")
        raise BuildFailed(f"docker {' '.join(args[:3])} ... failed ({proc.returncode}):\n{out[-6000:]}")
    return proc


def image_label(tag: str) -> str | None:
    proc = _docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag, check=False)
    if proc.returncode != 0:
        return None
    labels = json.loads(proc.stdout.decode() or "null") or {}
    return labels.get(LABEL)


def image_size(tag: str) -> int:
    proc = _docker("image", "inspect", "--format", "{{.Size}}", tag, check=False)
    return int(proc.stdout.decode().strip() or 0) if proc.returncode == 0 else 0


def up_to_date(tags: list[str], recipe: str) -> bool:
    return all(image_label(t) == recipe for t in tags)


def build(context: Path, dockerfile: str, tags: list[str], name: str, ignore: tuple[str, ...] = ()) -> None:
    """docker build with a Dockerfile (and the context's ignore list) kept outside the context."""
    with tempfile.TemporaryDirectory(prefix="scaffold-img-") as tmp:
        df = Path(tmp) / f"{name}.Dockerfile"
        df.write_text(dockerfile)
        # BuildKit reads <Dockerfile>.dockerignore before the context's own.
        (Path(tmp) / f"{name}.Dockerfile.dockerignore").write_text("".join(f"{p}\n" for p in ignore))
        args = ["build", "--progress=plain", "-f", str(df)]
        for t in tags:
            args += ["-t", t]
        proc = _docker(*args, str(context), check=False)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        raise BuildFailed(f"building {name} failed:\n{out[-8000:]}")


# --------------------------------------------------------------------------
# Recipes


@dataclass
class Result:
    name: str
    tags: list[str]
    built: bool
    seconds: float
    size: int
    note: str = ""


@dataclass
class Plan:
    toolchain: Toolchain
    mirror: str
    security: str
    crates_mode: str = "auto"
    vendor_manifests: list[Path] = field(default_factory=list)
    force: bool = False
    results: list[Result] = field(default_factory=list)


def debian_recipe(plan: Plan) -> str:
    return _sha(
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
        proc = _docker(
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
    key = _sha(RECIPE_VERSION, plan.toolchain.version, *(lk.read_bytes() for lk in locks))
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


REGISTRY_NOTE = "crates from the registry (faithful: rustup, minimal profile, nothing vendored)"
VENDOR_NOTE = "crates VENDORED: containers found no route to the registry (unlike the official image)"


def _host_rustup(tc: Toolchain) -> rustup.HostRustup:
    try:
        return rustup.find_host_rustup(tc.sysroot, tc.version, tc.host)
    except rustup.NoRustup as e:
        raise MissingTool(str(e)) from None


def _label(recipe: str, kind: str, crates: str = "") -> str:
    return f"{LABEL}={recipe} {LABEL_KIND}={kind}" + (f" {LABEL_CRATES}={crates}" if crates else "")


def make_faithful(plan: Plan) -> tuple[str, str]:
    """The rustup-managed toolchain image, before any crates decision: (tag, recipe)."""
    tc = plan.toolchain
    ru = _host_rustup(tc)
    ignore = tuple(rustup.excluded_paths(ru))
    files_df = rustup.toolchain_dockerfile(DEBIAN_TAG, ru, RUST_SLIM_PACKAGES, "")
    files_recipe = _sha(RECIPE_VERSION, "rust-toolchain", debian_recipe(plan), tc.verbose, files_df, *ignore)
    files_tag = f"{RUST_TOOLCHAIN_REPO}:{tc.version}"
    if plan.force or not up_to_date([files_tag], files_recipe):
        log(f"rust toolchain {ru.official_name} from {ru.toolchain_dir} (minimal profile, no docs)")
        df = rustup.toolchain_dockerfile(DEBIAN_TAG, ru, RUST_SLIM_PACKAGES, _label(files_recipe, "rust-toolchain-files"))
        build(ru.toolchain_dir, df, [files_tag], "rust-toolchain", ignore)
    tag = f"{RUST_FAITHFUL_REPO}:{tc.version}"
    with tempfile.TemporaryDirectory(prefix="scaffold-rustup-") as meta:
        meta_hash = rustup.stage_metadata(ru, HOST_CA_BUNDLE, Path(meta))
        recipe = _sha(files_recipe, meta_hash, rustup.faithful_dockerfile(files_tag, ru, ""))
        if plan.force or not up_to_date([tag], recipe):
            log(f"rustup {ru.binary} and its metadata on top")
            df = rustup.faithful_dockerfile(files_tag, ru, _label(recipe, "rust-faithful"))
            build(Path(meta), df, [tag], "rust-faithful")
    return tag, recipe


def make_rust(plan: Plan) -> Result:
    """The official tags: the faithful image, plus vendored crates only where the registry is out of reach."""
    t0 = time.monotonic()
    tags = plan.toolchain.tags
    faithful, faithful_recipe = make_faithful(plan)
    registry_recipe = _sha(faithful_recipe, "registry")
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
        df = f"FROM {faithful}\nLABEL {_label(registry_recipe, 'rust', 'registry')}\n"
        with tempfile.TemporaryDirectory() as empty:
            build(Path(empty), df, tags, "rust")
        return result(True, REGISTRY_NOTE)
    vendor = vendored_crates(plan)
    if vendor is None:
        raise BuildFailed("no route to the crates registry and no Cargo.lock to vendor crates from")
    vendor_recipe = _sha(faithful_recipe, "vendor", vendor[1])
    if not plan.force and current == {vendor_recipe}:
        return result(False, VENDOR_NOTE)
    df = (
        f"FROM {faithful}\n"
        f"COPY crates/ {VENDOR_DIR_IN_IMAGE}/\n"
        "COPY config.toml /usr/local/cargo/config.toml\n"
        f"LABEL {_label(vendor_recipe, 'rust', 'vendored')}\n"
    )
    build(vendor[0], df, tags, "rust")
    return result(True, VENDOR_NOTE + f"; {len(list((vendor[0] / 'crates').iterdir()))} crates")


def make_rust_channels(plan: Plan) -> Result:
    """The non-faithful variant for channel pins, on top of whatever the official tags hold."""
    t0 = time.monotonic()
    ru = _host_rustup(plan.toolchain)
    base = plan.toolchain.tags[-1]
    recipe = _sha(RECIPE_VERSION, "channels", image_label(base) or "", rustup.channels_dockerfile(base, ru, ""))
    tags = [f"{RUST_CHANNELS_REPO}:{plan.toolchain.short}"]
    note = "NOT FAITHFUL: the host toolchain also registered as `stable` and `" + plan.toolchain.short + "`"
    if not plan.force and up_to_date(tags, recipe):
        return Result("rust channels", tags, False, time.monotonic() - t0, image_size(tags[0]), note)
    with tempfile.TemporaryDirectory() as empty:
        build(Path(empty), rustup.channels_dockerfile(base, ru, _label(recipe, "rust-channels-not-faithful")), tags,
              "rust-channels")
    return Result("rust channels", tags, True, time.monotonic() - t0, image_size(tags[0]), note)

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
GROUP = """\
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
"""


def distroless_dockerfile(recipe: str) -> str:
    pkgs = " ".join(DISTROLESS_PACKAGES)
    passwd = PASSWD.replace("\n", "\\n")
    group = GROUP.replace("\n", "\\n")
    return f"""\
FROM {DEBIAN_TAG} AS collect
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates \\
 && mkdir -p /debs /out && cd /debs \\
 && apt-get download {pkgs} \\
 && for d in /debs/*.deb; do dpkg -x "$d" /out; done \\
 && rm -rf /out/usr/share/doc /out/usr/share/man /out/usr/share/lintian /out/usr/share/info \\
 && mkdir -p /out/etc/ssl/certs /out/home/nonroot /out/tmp /out/var/lib/dpkg/status.d \\
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \\
 && cp /etc/os-release /out/etc/os-release \\
 && cp -a /etc/ld.so.conf /etc/ld.so.conf.d /out/etc/ \\
 && printf 'passwd: files\\ngroup: files\\nhosts: files dns\\n' > /out/etc/nsswitch.conf \\
 && printf '{passwd}' > /out/etc/passwd \\
 && printf '{group}' > /out/etc/group \\
 && for d in /debs/*.deb; do dpkg-deb -f "$d" > "/out/var/lib/dpkg/status.d/$(dpkg-deb -f "$d" Package)"; done \\
 && ldconfig -r /out \\
 && chown 65532:65532 /out/home/nonroot && chmod 1777 /out/tmp \\
 && rm -rf /var/lib/apt/lists/*

FROM scratch
COPY --from=collect /out/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
LABEL {LABEL}={recipe} {LABEL_KIND}=distroless-cc-stand-in
"""


def make_distroless(plan: Plan) -> Result:
    recipe = _sha(RECIPE_VERSION, "distroless", debian_recipe(plan), distroless_dockerfile(""))
    tags = [DISTROLESS_TAG]
    t0 = time.monotonic()
    if not plan.force and up_to_date(tags, recipe):
        return Result("distroless stand-in", tags, False, time.monotonic() - t0, image_size(DISTROLESS_TAG))
    with tempfile.TemporaryDirectory() as empty:
        build(Path(empty), distroless_dockerfile(recipe), tags, "distroless")
    return Result(
        "distroless stand-in", tags, True, time.monotonic() - t0, image_size(DISTROLESS_TAG),
        "STAND-IN for the real distroless image (no shell, uid 65532)",
    )


# --------------------------------------------------------------------------
# Entry points


def make_plan(force: bool = False, vendor_manifests: list[Path] | None = None) -> Plan:
    mirror, security = debian_mirrors()
    mode = os.environ.get("SCAFFOLD_TEST_CRATES", "auto")
    if mode not in CRATES_MODES:
        raise ValueError(f"SCAFFOLD_TEST_CRATES must be one of {', '.join(CRATES_MODES)}, not {mode!r}")
    return Plan(host_toolchain(), mirror, security, mode, list(vendor_manifests or []), force)


def ensure_all(force: bool = False, vendor_manifests: list[Path] | None = None, quiet: bool = False) -> list[Result]:
    """Make every base image that is missing or out of date. Returns per-image results."""
    plan = make_plan(force, vendor_manifests)
    for step in (make_debian, make_rust, make_rust_channels, make_distroless):
        r = step(plan)
        plan.results.append(r)
        if not quiet:
            log(format_result(r))
    return plan.results


def format_result(r: Result) -> str:
    state = "built" if r.built else "up to date"
    extra = f" - {r.note}" if r.note else ""
    return f"{r.name:<20} {state:<10} {r.seconds:6.1f}s {r.size / 1e6:7.0f} MB  {', '.join(r.tags)}{extra}"


def registry_reachable(image: str) -> bool:
    """Can a container of ``image`` (default bridge) resolve a dependency from the crates registry?"""
    script = (
        "set -e; cd /tmp; cargo new -q probe; cd probe; "
        "printf 'cfg-if = \"1\"\\n' >> Cargo.toml; "
        "CARGO_NET_RETRY=0 timeout 90 cargo generate-lockfile"
    )
    proc = _docker("run", "--rm", image, "sh", "-c", script, check=False)
    if proc.returncode != 0:
        log("registry probe: " + " | ".join(proc.stderr.decode(errors="replace").strip().splitlines()[-3:]))
    return proc.returncode == 0


def probe_network() -> dict[str, bool]:
    """Can a container (default bridge) reach the Debian mirror and the crates registry?"""
    proc = _docker("run", "--rm", DEBIAN_TAG, "sh", "-c", "timeout 90 apt-get update", check=False)
    faithful = f"{RUST_FAITHFUL_REPO}:{host_toolchain().version}"
    return {"debian-mirror": proc.returncode == 0, "crates-registry": registry_reachable(faithful)}

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date (the rootfs too)")
    ap.add_argument("--vendor-manifest", action="append", type=Path, default=[],
                    help="Cargo.toml whose locked crates the rust image carries (default: sample-crates/*)")
    ap.add_argument("--probe-network", action="store_true",
                    help="report whether containers reach the Debian mirror and the crates registry")
    ns = ap.parse_args(argv)
    try:
        t0 = time.monotonic()
        ensure_all(ns.force, ns.vendor_manifest)
        log(f"all base images ready in {time.monotonic() - t0:.1f}s")
        if ns.probe_network:
            log(f"container network: {json.dumps(probe_network())}")
    except MissingTool as e:
        log(f"ERROR: {e}")
        return 2
    except BuildFailed as e:
        log(f"ERROR: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
