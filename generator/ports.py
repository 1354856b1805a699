"""Named client ports (`--port NAME=N`): a server's ports besides HTTP, each published per node as N + index."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import UsageError

PORT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # reaches templates as `node.ports.NAME`
RESERVED_PORT_NAMES = frozenset({"http", "raft"})


@dataclass(frozen=True)
class NamedPort:
    """A client port besides HTTP (`--port NAME=N`), published per node as N + index on the host."""

    name: str
    port: int

    def host_port(self, index: int) -> int:
        return self.port + index


def parse_port(text: str) -> NamedPort:
    """`NAME=N` (`--port client=6379`)."""
    name, equals, number = text.partition("=")
    if not equals or not PORT_NAME.match(name) or name in RESERVED_PORT_NAMES:
        raise UsageError(
            f"--port {text!r}: expected NAME=PORT with NAME in lowercase letters, digits and _ "
            "(not http or raft, which have their own flags), such as client=6379"
        )
    try:
        port = int(number)
    except ValueError:
        raise UsageError(f"--port {text!r}: {number!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {text!r}: a port is a number from 1 to 65535")
    return NamedPort(name, port)


def check_ports(
    ports: Sequence[NamedPort], *, http_port: int, raft_port: int, first_host_port: int, nodes: int, publish_raft: bool
) -> None:
    """Container ports distinct; published host ranges (port .. port+nodes-1 each) inside 65535 and apart."""
    taken = {http_port: "--http-port", raft_port: "--raft-port"}
    ranges = [("--host-port", first_host_port)] + ([("--raft-port", raft_port)] if publish_raft else [])
    names: set[str] = set()
    for port in ports:
        flag = f"--port {port.name}={port.port}"
        if port.name in names:
            raise UsageError(f"{flag}: the name {port.name} is given twice; keep one")
        if port.port in taken:
            raise UsageError(f"{flag}: port {port.port} is also {taken[port.port]}; give each port its own number")
        if port.host_port(nodes - 1) > 65535:
            raise UsageError(f"{flag} with --nodes {nodes} needs host ports up to {port.host_port(nodes - 1)}, past 65535")
        names.add(port.name)
        taken[port.port] = flag
        ranges.append((flag, port.port))
    for i, (flag, start) in enumerate(ranges):
        for other, other_start in ranges[:i]:  # the later flag is named first: it is the one to move
            if start < other_start + nodes and other_start < start + nodes:
                raise UsageError(
                    f"{flag}: host ports {start}-{start + nodes - 1} overlap those of {other} "
                    f"({other_start}-{other_start + nodes - 1}); move one of them"
                )
