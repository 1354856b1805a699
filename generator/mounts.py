"""The one table of paths a node's container lays over its image: the data volume, the tmpfs /tmp, the
binary's folder (not a mount, but a mount over it would hide the binary) and the node files. Two that overlap collide."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import UsageError

NODE_FILE = "--node-file"


@dataclass(frozen=True)
class Mount:
    """A path something is mounted at in the container, and which answer put it there."""

    path: str  # absolute, in the container
    what: str  # said in a collision: "the data volume"
    flag: str  # the answer that put it there, which the user can change


def mount_table(data_dir: str, read_only: bool, binary_path: str) -> tuple[Mount, ...]:
    """Every path of a node's container that must stay apart from the others."""
    table = [Mount(data_dir, "the data volume", "--data-dir")]
    if read_only:
        table.append(Mount("/tmp", "the tmpfs of the read-only root", "--writable-root"))
    table.append(Mount(str(PurePosixPath(binary_path).parent), "the binary's folder", "--bin"))
    return tuple(table)


def check_mounts(table: tuple[Mount, ...]) -> None:
    """UsageError when a mount is, holds or lies inside an earlier one, naming the flag to change: the earlier
    one's (the data directory comes first: it is the one the user picks), except a node file's, which is placed
    last and is the one to move."""
    for i, mount in enumerate(table):
        path = PurePosixPath(mount.path)
        for other in table[:i]:
            other_path = PurePosixPath(other.path)
            if path == other_path or path.is_relative_to(other_path) or other_path.is_relative_to(path):
                blame, rest = (mount, other) if mount.flag == NODE_FILE else (other, mount)
                raise UsageError(
                    f"{blame.flag} {blame.path}: {blame.what} and {rest.what} ({rest.path}) overlap in the container; "
                    f"choose another {blame.flag}"
                )
