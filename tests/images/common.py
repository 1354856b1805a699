"""What every base-image recipe shares: tags, labels, host facts and the engine calls.

Kept apart from the recipes so that each of them (debian, rust, distroless) reads
on its own; nothing here decides what goes into an image.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

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


def sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


def docker(*args: str, check: bool = True, capture: bool = True, input: bytes | None = None, stdin=None):
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
    proc = docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag, check=False)
    if proc.returncode != 0:
        return None
    labels = json.loads(proc.stdout.decode() or "null") or {}
    return labels.get(LABEL)


def image_size(tag: str) -> int:
    proc = docker("image", "inspect", "--format", "{{.Size}}", tag, check=False)
    return int(proc.stdout.decode().strip() or 0) if proc.returncode == 0 else 0


def up_to_date(tags: list[str], recipe: str) -> bool:
    return all(image_label(t) == recipe for t in tags)


def label(recipe: str, kind: str, crates: str = "") -> str:
    return f"{LABEL}={recipe} {LABEL_KIND}={kind}" + (f" {LABEL_CRATES}={crates}" if crates else "")


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
        proc = docker(*args, str(context), check=False)
    if proc.returncode != 0:
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        raise BuildFailed(f"building {name} failed:\n{out[-8000:]}")


# --------------------------------------------------------------------------
# What one run plans and reports


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
