"""The cluster bootstrap (`--bootstrap-command TEMPLATE`): a one-shot service that runs once every node is healthy,
for servers that form their cluster after start (initialise the first node, add the others through its API).

The command is rendered once for the cluster (no `node` variable: it is nobody's own) and split into words
like a shell would, without a shell. Compose runs one-shots again on every `up`, so the command must be
idempotent; `docker compose up --wait` exits 1 when a one-shot that nothing depends on exits 0
(docker/compose#10596), so plain `up -d` is the way to start such a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import contract
from .contract import ClusterView
from .errors import UsageError


@dataclass(frozen=True)
class Bootstrap:
    """The one-shot run once every node is healthy (`--bootstrap-command`)."""

    service: str  # `<name>-bootstrap`
    image: str  # the app's image, or --bootstrap-image
    own_image: bool  # the app's image (built by the first node's service: never pulled)
    command: tuple[str, ...]  # the whole argv, replacing the image's entrypoint
    after: tuple[str, ...]  # node services that must be healthy first


def make_bootstrap(
    template: str | None, image: str | None, app_image: str, name: str, cluster: ClusterView, healthcheck: bool
) -> Bootstrap | None:
    if template is None:
        if image is not None:
            raise UsageError(f"--bootstrap-image {image}: there is no --bootstrap-command to run in it; give one or drop the image")
        return None
    if not healthcheck:
        raise UsageError(
            "--bootstrap-command runs once every node is healthy, but --healthcheck none gives the nodes no health; "
            "choose tcp, http or exec"
        )
    command = contract.render_command("--bootstrap-command", template, cluster)
    return Bootstrap(f"{name}-bootstrap", image or app_image, image is None, command, tuple(n.service for n in cluster.nodes))
