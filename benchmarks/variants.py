"""The Dockerfile variants the benchmark compares, and the sample crates it builds them for.

Each baseline is written from its approach's public documentation; the scaffold
variants are whatever ``scaffold init`` writes for a strategy and runtime.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUST_IMAGE = "rust:1.95-slim-bookworm"
DEBIAN_IMAGE = "debian:bookworm-slim"
TAG_REPO = "scaffold-bench"
CHEF_VERSION = "0.1.78"


@dataclass(frozen=True)
class Crate:
    name: str  # directory under sample-crates/, also the package and binary name
    build_packages: tuple[str, ...]  # apt packages the build needs (what scaffold infers from the lock)
    runtime_packages: tuple[str, ...]
    added_dependency: str  # a line for [dependencies]; the crate is already vendored in the image
    added_dependency_note: str
    sources: tuple[str, ...] = ("src",)  # what docker init's template bind-mounts besides the manifest and lock


CRATES = {
    "raft-node": Crate(
        "raft-node", (), (), 'cfg-if = "1"',
        "cfg-if 1 (vendored for openssl-app's lock; raft-node itself has no dependencies)",
    ),
    "openssl-app": Crate(
        "openssl-app", ("pkg-config", "libssl-dev"), ("libssl3", "ca-certificates"), 'shlex = "2"',
        "shlex 2 (already in the lock as a build dependency of cc, now also a normal dependency)",
    ),
}


def apt(packages: tuple[str, ...]) -> str:
    if not packages:
        return ""
    return (
        "RUN apt-get update \\\n"
        f" && apt-get install -y --no-install-recommends {' '.join(packages)} \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"
    )


def tutorial_single(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {RUST_IMAGE}\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /usr/src/app\n"
        "COPY . .\n"
        "RUN cargo build --release\n"
        f'CMD ["./target/release/{c.name}"]\n'
    )
    return df, None, f"/usr/src/app/target/release/{c.name}"


def tutorial_dummy(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {RUST_IMAGE} AS builder\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /usr/src/app\n"
        "COPY Cargo.toml Cargo.lock ./\n"
        "# Build the dependencies with a dummy main.rs, so this layer is cached.\n"
        "RUN mkdir src && echo 'fn main() {}' > src/main.rs && cargo build --release\n"
        "COPY src ./src\n"
        "RUN cargo build --release\n\n"
        f"FROM {DEBIAN_IMAGE}\n"
        f"{apt(c.runtime_packages)}"
        f"COPY --from=builder /usr/src/app/target/release/{c.name} /usr/local/bin/{c.name}\n"
        f'CMD ["{c.name}"]\n'
    )
    return df, None, f"/usr/local/bin/{c.name}"


DOCKER_INIT_IGNORE = """\
**/.DS_Store
**/.classpath
**/.dockerignore
**/.env
**/.git
**/.gitignore
**/.project
**/.settings
**/.toolstarget
**/.vs
**/.vscode
**/*.*proj.user
**/*.dbmdl
**/*.jfm
**/charts
**/docker-compose*
**/compose*
**/Dockerfile*
**/node_modules
**/npm-debug.log
**/secrets.dev.yaml
**/values.dev.yaml
/bin
/target
LICENSE
README.md
"""


def docker_init(c: Crate, token: str) -> tuple[str, str | None, str]:
    # docker init writes no explicit cache ids (the target path is the id, shared by every
    # project on the machine); ids are added here so that each cold build starts empty.
    binds = "".join(f"--mount=type=bind,source={s},target={s} \\\n    " for s in c.sources)
    df = (
        "ARG RUST_VERSION=1.95\n"
        f"ARG APP_NAME={c.name}\n\n"
        "FROM rust:${RUST_VERSION}-slim-bookworm AS build\n"
        "ARG APP_NAME\n"
        "WORKDIR /app\n"
        f"{apt(c.build_packages)}"
        f"RUN {binds}--mount=type=bind,source=Cargo.toml,target=Cargo.toml \\\n"
        "    --mount=type=bind,source=Cargo.lock,target=Cargo.lock \\\n"
        f"    --mount=type=cache,id={token}-target,target=/app/target/ \\\n"
        f"    --mount=type=cache,id={token}-git,target=/usr/local/cargo/git/db \\\n"
        f"    --mount=type=cache,id={token}-registry,target=/usr/local/cargo/registry/ \\\n"
        "    set -e \\\n"
        " && cargo build --locked --release \\\n"
        " && cp ./target/release/$APP_NAME /bin/server\n\n"
        f"FROM {DEBIAN_IMAGE} AS final\n"
        f"{apt(c.runtime_packages)}"
        "ARG UID=10001\n"
        "# docker init uses adduser; the minimal Debian image has useradd.\n"
        'RUN useradd --no-create-home --home-dir /nonexistent --shell /sbin/nologin --uid "${UID}" appuser\n'
        "USER appuser\n"
        "COPY --from=build /bin/server /bin/\n"
        "EXPOSE 8080\n"
        'CMD ["/bin/server"]\n'
    )
    return df, DOCKER_INIT_IGNORE, "/bin/server"


def cargo_chef(c: Crate, token: str) -> tuple[str, str | None, str]:
    df = (
        f"FROM {TAG_REPO}/cargo-chef:{CHEF_VERSION} AS chef\n"
        f"{apt(c.build_packages)}"
        "WORKDIR /app\n\n"
        "FROM chef AS planner\n"
        "COPY . .\n"
        "RUN cargo chef prepare --recipe-path recipe.json\n\n"
        "FROM chef AS builder\n"
        "COPY --from=planner /app/recipe.json recipe.json\n"
        "# Build dependencies - this is the caching Docker layer!\n"
        "RUN cargo chef cook --release --locked --recipe-path recipe.json\n"
        "COPY . .\n"
        f"RUN cargo build --release --locked --bin {c.name}\n\n"
        f"FROM {DEBIAN_IMAGE} AS runtime\n"
        f"{apt(c.runtime_packages)}"
        "WORKDIR /app\n"
        f"COPY --from=builder /app/target/release/{c.name} /usr/local/bin\n"
        f'ENTRYPOINT ["/usr/local/bin/{c.name}"]\n'
    )
    return df, "target\n.git\n", f"/usr/local/bin/{c.name}"


def scaffold_variant(runtime: str, strategy: str):
    def make(c: Crate, token: str, project: Path) -> tuple[str, str | None, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "generator.main", "init", str(project), "--no-input", "--force",
             "--runtime", runtime, "--strategy", strategy],
            cwd=REPO, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scaffold init failed: {proc.stderr.strip()}")
        df = (project / "Dockerfile").read_text()
        # A fresh cache-mount id per repetition, so each cold build starts with empty mounts.
        df = re.sub(r"(--mount=type=cache,id=)", rf"\g<1>{token}-", df)
        return df, (project / ".dockerignore").read_text(), f"/usr/local/bin/{c.name}"
    return make


BASELINES = {
    "tutorial-single": tutorial_single,
    "tutorial-dummy": tutorial_dummy,
    "docker-init": docker_init,
    "cargo-chef": cargo_chef,
}
SCAFFOLD = {
    f"scaffold-{strategy}-{runtime}": (runtime, strategy)
    for strategy in ("skeleton", "cache-mount")
    for runtime in ("debian-slim", "distroless")
}
ALL_VARIANTS = [*BASELINES, *SCAFFOLD]
QUICK_VARIANTS = ["tutorial-single", "docker-init", "cargo-chef", "scaffold-skeleton-debian-slim",
                  "scaffold-cache-mount-debian-slim"]
RUNTIME_OF = {v: ("distroless" if v.endswith("distroless") else "debian-slim") for v in ALL_VARIANTS}
