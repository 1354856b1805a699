"""The toolchain part of the plan: which Rust toolchain cargo runs in the build, and how it is there.

rustup chooses the toolchain from RUSTUP_TOOLCHAIN first, then a rust-toolchain file, then its
default (the image's own release). A toolchain the image lacks is downloaded by the first cargo
command, which in the build step re-runs on every source edit. So the plan settles every form
before the sources are copied:

- no file, or a file whose numeric pin the image's release satisfies (`1.95` on an image holding
  1.95.0), or a file pinning only components: the image's own toolchain, named through RUSTUP_TOOLCHAIN.
  rustup treats `1.95` and `1.95.0` as different toolchain names, and components listed in the
  file (clippy, rustfmt) would be installed by the first cargo command: both would download.
- any other pin (a channel, a dated nightly, another release): a layer that copies the toolchain
  file alone and runs `rustup toolchain install`, which reads its channel, components, targets and
  profile; it depends on nothing else, so BuildKit reuses it until the file changes.
- `--rust-version` naming a channel: the image of the release we would otherwise pick, plus a layer
  installing that channel, made the one cargo runs with RUSTUP_TOOLCHAIN (over any file). Installing
  the active toolchain (no name given) keeps one already there as it is instead of updating it.

The official images of Rust 1.85 and later ship rustup 1.28 or later (the 1.85.0 images were rebuilt
with rustup 1.28.0, 1.85.1 came with 1.28.1); older releases' images keep rustup 1.27 or earlier and
are not rebuilt. Only rustup 1.28 installs the active toolchain on `rustup toolchain install` with no
name; before it, that command wants a name, and `rustup show active-toolchain` installed the active
toolchain (the file's components, targets and profile included) as a side effect, which 1.28 dropped.
So the layer's command depends on the image's release.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import rustrelease
from .toolchain import Toolchain


@dataclass(frozen=True)
class ToolchainPlan:
    """The Rust toolchain the builder runs cargo on, and how it gets there."""

    image_toolchain: bool  # ENV RUSTUP_TOOLCHAIN names the image's own release over the file's equal pin
    file: str | None  # the toolchain file a layer copies alone and installs from
    channel: str | None  # a --rust-version channel a layer installs (minimal profile), then RUSTUP_TOOLCHAIN
    runs: str  # what cargo runs, for people: "1.95 (the image's)", "nightly-2026-01-30 from rust-toolchain.toml"
    install: tuple[str, ...] = ()  # the layer's command (argv) that installs `file`'s toolchain or `channel`


# The first release whose official images carry rustup 1.28 (see the module docstring).
FIRST_WITH_RUSTUP_1_28 = "1.85"


def _install(release: str, channel: str | None) -> tuple[str, ...]:
    """The command that installs the active toolchain (the file's, or `channel`) with the rustup of rust:`release`."""
    new_rustup = rustrelease.key(release) >= rustrelease.key(FIRST_WITH_RUSTUP_1_28)
    if channel is None:
        return ("rustup", "toolchain", "install", "--no-self-update") if new_rustup else ("rustup", "show", "active-toolchain")
    return ("rustup", "toolchain", "install", "--no-self-update", "--profile", "minimal", *(() if new_rustup else (channel,)))


def cargo_runs(file: Toolchain | None, release: str, channel: str | None) -> tuple[str, str | None]:
    """(the Rust release cargo runs, the channel it runs instead or None) on an image of `release`, as
    make_toolchain settles it: a --rust-version channel, else the file's pin unless the image meets it."""
    if channel is not None or file is None or file.channel is None:
        return release, channel
    if file.version is not None:
        return (release if rustrelease.satisfies(release, file.version) else file.version), None
    return release, file.channel


def make_toolchain(file: Toolchain | None, release: str, channel: str | None) -> tuple[ToolchainPlan, list[str]]:
    """The plan for an image of `release`, the project's toolchain `file` and a --rust-version `channel`; with warnings."""
    if channel is not None:
        notes = [f"--rust-version {channel}: the build installs {channel} on the rust:{release} image; "
                 "the project's rust-version (MSRV) is not checked against a channel"]
        if file is not None and file.channel not in (None, channel):
            notes.append(f"--rust-version {channel} overrides {file.file}'s `{file.channel}` in the build")
        return ToolchainPlan(False, None, channel, f"{channel} (installed on the image)", _install(release, channel)), notes
    if file is None:
        return ToolchainPlan(False, None, None, f"{release} (the image's)"), []
    pin = file.channel
    if pin is None or (file.version is not None and rustrelease.satisfies(release, file.version)):
        return ToolchainPlan(True, None, None, f"{release} (the image's, which {file.file} names)"), []
    if file.version is not None:
        notes = [f"{file.file} pins Rust {pin} but the build image is rust:{release}: the build installs {pin} in a "
                 "toolchain layer of its own (downloaded when that file changes, not on source edits)"]
    else:
        notes = [f"{file.file} pins `{pin}`: the build installs it on the rust:{release} image in a toolchain layer "
                 "of its own (downloaded when that file changes, not on source edits)"]
    return ToolchainPlan(False, file.file, None, f"{pin} from {file.file}", _install(release, None)), notes
