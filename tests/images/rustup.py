"""The host's rustup and toolchain, laid out the way the official rust image has them.

The official ``rust:<v>-slim-bookworm`` image runs ``rustup-init --profile minimal
--default-toolchain <v>``: rustup in ``$CARGO_HOME/bin`` with every tool a proxy to it, one
toolchain named ``<v>-<host>`` holding only the minimal profile's components, and rustup's own
bookkeeping under ``$RUSTUP_HOME``. Nothing can be downloaded here, so this module rebuilds that
state from the host's rustup: the toolchain files (minus the components the minimal profile
leaves out, minus ``share/doc``), and the metadata rustup reads to decide that a toolchain is
installed and which components it has (``settings.toml``, ``update-hashes/``, the toolchain's
``lib/rustlib/components`` and ``multirust-config.toml``; the channel manifest and
``rust-installer-version`` come with the toolchain files).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

RUSTUP_HOME = "/usr/local/rustup"
CARGO_HOME = "/usr/local/cargo"
# Nothing listens on the discard port inside a container's own network namespace: a toolchain the
# image lacks fails in about a second with rustup's "could not download file ... Connection refused".
CLOSED_DIST_SERVER = "http://127.0.0.1:9"
PROFILE = "minimal"


class NoRustup(RuntimeError):
    """The host's Rust toolchain is not managed by rustup."""


@dataclass(frozen=True)
class HostRustup:
    binary: Path  # ~/.cargo/bin/rustup
    proxies: tuple[str, ...]  # the tools rustup installed as proxies next to it
    home: Path  # ~/.rustup
    toolchain_dir: Path  # ~/.rustup/toolchains/<host toolchain>
    version: str  # 1.95.0
    host: str  # x86_64-unknown-linux-gnu

    @property
    def official_name(self) -> str:
        """The toolchain's name in the official image: the exact release, not a channel."""
        return f"{self.version}-{self.host}"

    @property
    def rustlib(self) -> Path:
        return self.toolchain_dir / "lib" / "rustlib"


def find_host_rustup(sysroot: Path, version: str, host: str) -> HostRustup:
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    binary = cargo_home / "bin" / "rustup"
    if not binary.is_file():
        raise NoRustup(f"no rustup at {binary} (install Rust with rustup)")
    proxies = tuple(
        sorted(
            p.name
            for p in binary.parent.iterdir()
            if p.name != "rustup" and p.is_file() and os.path.samefile(p, binary)
        )
    )
    toolchain_dir = sysroot.resolve()
    home = toolchain_dir.parent.parent
    if toolchain_dir.parent.name != "toolchains" or not (home / "settings.toml").exists():
        raise NoRustup(f"the host toolchain {sysroot} is not one of rustup's toolchains")
    return HostRustup(binary, proxies, home, toolchain_dir, version, host)


def minimal_components(rustup: HostRustup) -> tuple[list[str], list[str]]:
    """(kept, dropped) installed components, as ``pkg-target`` names, for the minimal profile."""
    manifest = tomllib.loads((rustup.rustlib / "multirust-channel-manifest.toml").read_text())
    minimal = set(manifest["profiles"][PROFILE])
    installed = (rustup.rustlib / "components").read_text().split()
    kept, dropped = [], []
    for comp in installed:
        pkg = comp.removesuffix(f"-{rustup.host}")
        (kept if pkg in minimal else dropped).append(comp)
    return kept, dropped


def excluded_paths(rustup: HostRustup) -> list[str]:
    """Toolchain paths (relative to it) the official image does not have: docs, non-minimal components."""
    out = ["share/doc"]
    for comp in minimal_components(rustup)[1]:
        listing = rustup.rustlib / f"manifest-{comp}"
        out.append(f"lib/rustlib/manifest-{comp}")
        for line in listing.read_text().splitlines():
            kind, _, path = line.partition(":")
            if kind in ("file", "dir") and not path.startswith("share/doc/"):
                out.append(path)
    return out


def _multirust_config(rustup: HostRustup, kept: list[str]) -> str:
    """multirust-config.toml with only the kept components (same fields as rustup writes)."""
    config = tomllib.loads((rustup.rustlib / "multirust-config.toml").read_text())
    lines = [f'config_version = "{config["config_version"]}"', ""]
    for entry in config["components"]:
        if f'{entry["pkg"]}-{entry["target"]}' not in kept:
            continue
        lines += [
            "[[components]]",
            f'pkg = "{entry["pkg"]}"',
            f'target = "{entry["target"]}"',
            f'is_extension = {str(entry.get("is_extension", False)).lower()}',
            "",
        ]
    return "\n".join(lines)


def settings_toml(default_toolchain: str) -> str:
    return f'version = "12"\ndefault_toolchain = "{default_toolchain}"\nprofile = "{PROFILE}"\n\n[overrides]\n'


def stage_metadata(rustup: HostRustup, ca_bundle: Path, out: Path) -> str:
    """Write the small build context of the rustup layer into ``out``; returns its content hash."""
    (out / "update-hashes").mkdir(parents=True)
    shutil.copy2(rustup.binary, out / "rustup")
    shutil.copy2(ca_bundle, out / "ca-certificates.crt")
    (out / "settings.toml").write_text(settings_toml(rustup.official_name))
    host_hash = rustup.home / "update-hashes" / rustup.toolchain_dir.name
    if host_hash.exists():
        # The hash of the channel manifest the toolchain came from; the official image has one too.
        shutil.copy2(host_hash, out / "update-hashes" / rustup.official_name)
    kept = minimal_components(rustup)[0]
    (out / "components").write_text("".join(f"{c}\n" for c in kept))
    (out / "multirust-config.toml").write_text(_multirust_config(rustup, kept))
    (out / "proxies").write_text("".join(f"{p}\n" for p in rustup.proxies))
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(out).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def toolchain_dockerfile(base: str, rustup: HostRustup, packages: tuple[str, ...], label: str) -> str:
    """The toolchain files, from the host toolchain folder as context (see excluded_paths)."""
    tdir = f"{RUSTUP_HOME}/toolchains/{rustup.official_name}"
    # The official image makes RUSTUP_HOME writable for everyone; doing that in a later layer would
    # copy the whole toolchain again, so the files get their mode in a stage of their own.
    return f"""\
FROM {base} AS files
COPY . /toolchain/
RUN chmod -R a+w /toolchain

FROM {base}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends {" ".join(packages)} \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=files /toolchain/ {tdir}/
LABEL {label}
"""


def faithful_dockerfile(toolchain_image: str, rustup: HostRustup, label: str) -> str:
    """rustup, its proxies and its metadata, from the context stage_metadata wrote."""
    rustlib = f"{RUSTUP_HOME}/toolchains/{rustup.official_name}/lib/rustlib"
    return f"""\
FROM {toolchain_image}
ENV RUSTUP_HOME={RUSTUP_HOME} \\
    CARGO_HOME={CARGO_HOME} \\
    PATH={CARGO_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    RUST_VERSION={rustup.version} \\
    RUSTUP_DIST_SERVER={CLOSED_DIST_SERVER} \\
    RUSTUP_UPDATE_ROOT={CLOSED_DIST_SERVER}/rustup
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY rustup {CARGO_HOME}/bin/rustup
COPY settings.toml {RUSTUP_HOME}/settings.toml
COPY update-hashes/ {RUSTUP_HOME}/update-hashes/
COPY components multirust-config.toml {rustlib}/
COPY proxies /tmp/proxies
RUN while read -r p; do ln -s rustup "$CARGO_HOME/bin/$p"; done < /tmp/proxies \\
 && rm /tmp/proxies \\
 && chmod a+w "$RUSTUP_HOME" "$RUSTUP_HOME/toolchains" \\
 && chmod -R a+w "$CARGO_HOME" "$RUSTUP_HOME/settings.toml" "$RUSTUP_HOME/update-hashes" "{rustlib}/components" \\
    "{rustlib}/multirust-config.toml" \\
 && rustup --version && rustup show && cargo --version && rustc --version
LABEL {label}
CMD ["bash"]
"""


def channels_dockerfile(base: str, rustup: HostRustup, label: str) -> str:
    """NOT like the official image: the one toolchain also answers to `stable` and `X.Y`."""
    names = [f"stable-{rustup.host}", f"{'.'.join(rustup.version.split('.')[:2])}-{rustup.host}"]
    links = " \\\n && ".join(
        f'ln -s {rustup.official_name} "$RUSTUP_HOME/toolchains/{n}" '
        f'&& {{ [ ! -e "$RUSTUP_HOME/update-hashes/{rustup.official_name}" ] '
        f'|| cp "$RUSTUP_HOME/update-hashes/{rustup.official_name}" "$RUSTUP_HOME/update-hashes/{n}"; }}'
        for n in names
    )
    return f"""\
FROM {base}
RUN {links} \\
 && rustup toolchain list
LABEL {label}
"""
