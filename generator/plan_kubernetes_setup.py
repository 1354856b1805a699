"""The Kubernetes side of per-node files and the bootstrap: a ConfigMap with a key per pod and file, and a Job.

One pod template serves every pod, so each pod's own copy of a `--node-file` is a key `<pod>.<file>` of one
ConfigMap, mounted with `subPathExpr: $(POD_NAME).<file>`. The files are rendered with the pods' view of the
cluster (`node.service` is `<pod>.<headless>`). A subPath mount never sees a ConfigMap update, so the pod
template carries the files' hash: a change rolls the pods. The bootstrap is a Job, which runs once per
object (Kubernetes has no depends_on: the command must retry until the pods answer).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from . import contract, nodefiles
from .contract import ClusterView
from .errors import UsageError
from .nodefiles import NodeFileSource
from .podtemplate import Part

MAX_CONFIG_MAP = 1 << 20  # bytes of data one ConfigMap may hold
BACKOFF_LIMIT = 10  # the Job's retries (the kubelet backs off 10 s, 20 s, ... up to 6 min between them)
_KEY_UNSAFE = re.compile(r"[^-._a-zA-Z0-9]")


@dataclass(frozen=True)
class FileMount:
    container_path: str
    key: str  # the ConfigMap key after `<pod>.`: subPathExpr `$(POD_NAME).<key>`


@dataclass(frozen=True)
class PodFile:
    key: str  # `<pod>.<FileMount.key>`
    content: str


@dataclass(frozen=True)
class PodFiles:
    config_map: str  # `<app>-files`
    mounts: tuple[FileMount, ...]
    data: tuple[PodFile, ...]  # pod by pod, file by file
    sha256: str  # of every key and content: the pod template's annotation


@dataclass(frozen=True)
class BootstrapJob:
    name: str  # `<app>-bootstrap`
    image: str  # the app's image, or --bootstrap-image
    command: tuple[tuple[Part, ...], ...]  # the whole argv (literal words), replacing the image's entrypoint
    backoff_limit: int


def pod_files(app: str, sources: tuple[NodeFileSource, ...], view: ClusterView, pods: tuple[str, ...]) -> PodFiles | None:
    if not sources:
        return None
    mounts, taken = [], set()
    for position, source in enumerate(sources):
        key = _KEY_UNSAFE.sub("_", source.name)[:180]
        key = key if key not in taken and key not in (".", "..") else f"{key}-{position}"
        taken.add(key)
        mounts.append(FileMount(source.container_path, key))
    rendered = nodefiles.render(sources, view)
    data = tuple(
        PodFile(f"{pod}.{mount.key}", file.content)
        for pod, files in zip(pods, rendered, strict=True)
        for mount, file in zip(mounts, files, strict=True)
    )
    size = sum(len(f.key) + len(f.content.encode()) for f in data)
    if size > MAX_CONFIG_MAP:
        raise UsageError(
            f"--target kubernetes: the --node-file copies of {len(pods)} pod(s) come to {size} bytes, more than the "
            f"{MAX_CONFIG_MAP} one ConfigMap holds; make the files smaller or drop kubernetes from --target"
        )
    digest = hashlib.sha256("".join(f"{f.key}\0{f.content}\0" for f in data).encode()).hexdigest()
    return PodFiles(f"{app}-files", tuple(mounts), data, digest)


def bootstrap_job(app: str, template: str | None, image: str | None, app_image: str, view: ClusterView) -> BootstrapJob | None:
    """The command rendered with the pods' DNS names (`cluster.nodes[].http_address` is `<pod>.<headless>:PORT`)."""
    if template is None:
        return None
    command = contract.render_command("--bootstrap-command", template, view)
    return BootstrapJob(f"{app}-bootstrap", image or app_image, tuple((Part(word),) for word in command), BACKOFF_LIMIT)
