"""Where the cluster runs: the output targets a template set's files belong to.

One plan, several outputs: each [[files]] entry of a template set names its `target` (default
compose), and a run renders only the files of the targets chosen with `--target`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import UsageError

# name -> what it writes, for --help and the message that lists them
TARGETS = {
    "compose": "docker-compose.yml for one host (docker compose up)",
    "kubernetes": "k8s/ manifests with a kustomization.yaml (kubectl apply -k k8s), Kubernetes 1.28 or newer",
    "swarm": "stack.yml for a Docker Swarm (docker stack deploy -c stack.yml)",
}
NAMES = tuple(TARGETS)
DEFAULT = ("compose",)
FILE_TARGETS = ("compose", "swarm")  # mount each node's --node-file copies from cluster/<service>/ (Kubernetes: a ConfigMap)


def check_target(name: str) -> None:
    if name not in TARGETS:
        raise UsageError(f"--target {name!r}: not a target; choose from {', '.join(NAMES)} (several comma-separated)")


def check_targets(names: Sequence[str]) -> None:
    for name in names:
        check_target(name)
    if not names:
        raise UsageError(f"--target: choose at least one of {', '.join(NAMES)}")
    if len(set(names)) != len(names):
        raise UsageError(f"--target {','.join(names)}: a target is given twice; keep one")


def help_text() -> str:
    return "Where the cluster runs (comma-separated, several allowed): " + "; ".join(f"{k}: {v}" for k, v in TARGETS.items()) + "."
