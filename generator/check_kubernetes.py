"""Checks for Kubernetes manifests: the API schemas (kubernetes-validate, strict) and rules SC400-SC410.

The schemas catch unknown fields and wrong types but not enum values (`Parallell` passes), nor what
a Raft cluster needs across objects: a PodDisruptionBudget that keeps quorum, a liveness probe that
does not wait for a leader, a headless Service for the peers' DNS names, selectors that select, one
id per pod. Objects are resolved against every manifest in the file's folder (a `k8s/` folder is
usually one object kind per file); findings are reported on the file checked. A StatefulSet that a
PodDisruptionBudget guards is taken to be a quorum group.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import check_tools
from .check_rules import Finding, finding, tool_finding
from .errors import ScaffoldError

SCHEMA_VERSIONS = ("1.29", "newest")  # the oldest supported here, and the newest the package ships
_MANIFEST = re.compile(r"^apiVersion:.*?^kind:|^kind:.*?^apiVersion:", re.MULTILINE | re.DOTALL)
_NO_SCHEMA = ("kustomize.config.k8s.io/",)  # kustomization.yaml: kubernetes-validate has no schema for it
_TEMPLATE = {
    "StatefulSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
_WORKLOADS = tuple(k for k in _TEMPLATE if k not in ("Job", "CronJob"))  # apps/v1: selector required
# Enum fields the schemas leave as plain strings: (kind or "*" for every pod template, path) -> allowed values.
_CONTAINER = "spec.containers.*"
_ENUMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("StatefulSet", "spec.podManagementPolicy", ("OrderedReady", "Parallel")),
    ("StatefulSet", "spec.updateStrategy.type", ("RollingUpdate", "OnDelete")),
    ("StatefulSet", "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", ("Retain", "Delete")),
    ("StatefulSet", "spec.persistentVolumeClaimRetentionPolicy.whenScaled", ("Retain", "Delete")),
    ("Service", "spec.type", ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    ("Service", "spec.ports.*.protocol", ("TCP", "UDP", "SCTP")),
    ("PodDisruptionBudget", "spec.unhealthyPodEvictionPolicy", ("IfHealthyBudget", "AlwaysAllow")),
    ("*", "spec.restartPolicy", ("Always", "OnFailure", "Never")),
    ("*", f"{_CONTAINER}.imagePullPolicy", ("Always", "IfNotPresent", "Never")),
    ("*", f"{_CONTAINER}.ports.*.protocol", ("TCP", "UDP", "SCTP")),
)
_ID_NAME = re.compile(r"(^|_)(NODE_?|RAFT_?|SERVER_?)?ID$", re.IGNORECASE)


@dataclass(frozen=True)
class _Object:
    file: str
    node: Any  # the document's yaml node, for line numbers
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind"))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", "?"))

    @property
    def namespace(self) -> str | None:
        return (self.body.get("metadata") or {}).get("namespace")

    def line(self, *path: str | int) -> int:
        """The 1-based line of `path` in the document (as deep as it exists), else of the document."""
        node, line = self.node, self.node.start_mark.line + 1
        for step in path:
            if node.id == "mapping":
                key, node = next(((k, v) for k, v in node.value if k.value == step), (None, None))
            elif node.id == "sequence" and isinstance(step, int) and step < len(node.value):
                key = node = node.value[step]
            else:
                key = None
            if key is None:
                break
            line = key.start_mark.line + 1  # a key's own line, not its value's
        return line

    def template(self) -> tuple[tuple[str, ...], dict[str, Any]] | None:
        """Where the pod template is and the template itself (a Pod is its own template)."""
        if self.kind == "Pod":
            return (), self.body
        where = _TEMPLATE.get(self.kind)
        template = _get(self.body, where) if where else None
        return (where, template) if where and isinstance(template, dict) else None


def is_manifest(path: Path) -> bool:
    """A YAML file under a `k8s/` folder, or one with top-level `apiVersion:` and `kind:` keys."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    if path.parent.name == "k8s":
        return True
    try:
        return bool(_MANIFEST.search(check_tools.read_text(path)))
    except ScaffoldError:  # unreadable: not a manifest found in a folder
        return False


def check_kubernetes(path: Path) -> list[Finding]:
    file = str(path)
    objects, findings = _load(path, check_tools.read_text(path))
    if objects is None:
        return findings
    context = list(objects)
    for sibling in sorted(path.parent.iterdir()):
        if sibling != path and sibling.is_file() and is_manifest(sibling):
            try:
                loaded, _ = _load(sibling, check_tools.read_text(sibling))
            except ScaffoldError:  # its own check reports it
                continue
            context += loaded or []
    findings += _schema(file, objects)
    for obj in objects:
        findings += [
            finding(code, file, line, what=f"{obj.kind} {obj.name}", **fields)
            for code, line, fields in _rules(obj, context)
        ]
    return findings


def _load(path: Path, text: str) -> tuple[list[_Object] | None, list[Finding]]:
    """The file's objects (None when it does not parse) and the findings about its structure."""
    file = str(path)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        bodies = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        return None, [check_tools.invalid_yaml("SC400", file, exc)]
    objects: list[_Object] = []
    findings = [
        finding("SC409", file, line, key=key)
        for node in nodes
        if node is not None
        for key, line in _duplicate_keys(node)
    ]
    for node, body in zip(nodes, bodies, strict=True):
        if body is None:
            continue
        if not isinstance(body, dict) or not body.get("apiVersion") or not body.get("kind"):
            findings.append(
                finding("SC400", file, node.start_mark.line + 1, reason="a document without apiVersion and kind")
            )
            continue
        objects.append(_Object(file, node, body))
    return objects, findings


def _duplicate_keys(node: Any) -> Iterator[tuple[str, int]]:
    if node.id == "mapping":
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield str(key.value), key.start_mark.line + 1
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif node.id == "sequence":
        for item in node.value:
            yield from _duplicate_keys(item)


def _schema(file: str, objects: list[_Object]) -> list[Finding]:
    """kubernetes-validate, strict, against each version; a problem found in both versions is shown once."""
    try:
        from kubernetes_validate import utils
    except ImportError:
        return [
            finding(
                "SC001",
                file,
                tool="kubernetes-validate",
                install=check_tools.INSTALL,
                skipped="the API schemas were not checked",
            )
        ]
    versions = [utils.latest_version() if v == "newest" else v for v in SCHEMA_VERSIONS]
    problems: dict[tuple[int, str, str], list[str]] = {}
    for obj in objects:
        if str(obj.body["apiVersion"]).startswith(_NO_SCHEMA):
            continue
        for version in versions:
            try:
                utils.validate(obj.body, version, strict=True)
            except utils.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path) or "(top level)"
                problems.setdefault(
                    (obj.line(*exc.path), "strict", f"{obj.kind} {obj.name}: {where}: {exc.message}"), []
                ).append(version)
            except utils.SchemaNotFoundError as exc:
                problems.setdefault((obj.line(), "no-schema", exc.message), []).append(version)
            except Exception as exc:  # noqa: BLE001 - the validator's own failure is SC002, not a traceback
                return [finding("SC002", file, tool="kubernetes-validate", reason=str(exc))]
    return [
        tool_finding(
            "kubernetes-validate",
            code,
            file,
            line,
            "error" if code == "strict" else "warning",
            f"{message} (Kubernetes {', '.join(v.removesuffix('.0') for v in found)})",
        )
        for (line, code, message), found in problems.items()
    ]


def _get(body: Any, path: tuple[str, ...] | list[str]) -> Any:
    for step in path:
        body = body.get(step) if isinstance(body, dict) else None
    return body


def _values(body: Any, path: list[str], at: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Each value at a dotted path whose `*` steps run over a list."""
    if not path:
        yield at, body
    elif path[0] == "*":
        for i, item in enumerate(body if isinstance(body, list) else []):
            yield from _values(item, path[1:], (*at, i))
    elif isinstance(body, dict) and path[0] in body:
        yield from _values(body[path[0]], path[1:], (*at, path[0]))


def _rules(obj: _Object, context: list[_Object]) -> Iterator[tuple[str, int, dict[str, object]]]:
    template = obj.template()
    for kind, dotted, allowed in _ENUMS:
        base: tuple[str, ...] | None = () if kind == obj.kind else template[0] if kind == "*" and template else None
        if base is None:
            continue
        for at, value in _values(obj.body, [*base, *dotted.split(".")]):
            if value not in allowed:
                field = ".".join(str(s) for s in at)
                yield "SC401", obj.line(*at), {"field": field, "value": value, "allowed": " or ".join(allowed)}
    if template:
        yield from _probe_rules(obj, *template)
        yield from _selector_rules(obj, template[1])
    if obj.kind == "StatefulSet":
        yield from _statefulset_rules(obj, context)
    if obj.kind == "PodDisruptionBudget":
        yield from _pdb_rules(obj, context)
    if obj.kind == "Service" and isinstance(_get(obj.body, ("spec", "selector")), dict):
        if not _selected(obj, {"matchLabels": obj.body["spec"]["selector"]}, context):
            yield "SC408", obj.line("spec", "selector"), {"selector": json.dumps(obj.body["spec"]["selector"])}


def _containers(
    where: tuple[str, ...], template: dict[str, Any]
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for i, container in enumerate(_get(template, ("spec", "containers")) or []):
        if isinstance(container, dict):
            yield (*where, "spec", "containers", i), container


def _probe_rules(
    obj: _Object, where: tuple[str, ...], template: dict[str, Any]
) -> Iterator[tuple[str, int, dict[str, object]]]:
    for at, container in _containers(where, template):
        liveness, readiness = container.get("livenessProbe"), container.get("readinessProbe")
        if not isinstance(liveness, dict):
            continue
        handler = {k: v for k, v in liveness.items() if k in ("httpGet", "exec", "grpc", "tcpSocket")}
        ready = {k: v for k, v in (readiness or {}).items() if k in handler} if isinstance(readiness, dict) else {}
        name = container.get("name", "?")
        # The same connect for both is fine: a TCP connect proves the process listens and asks nothing of the cluster.
        if handler and handler == ready and set(handler) != {"tcpSocket"}:
            yield "SC404", obj.line(*at, "livenessProbe"), {"container": name, "problem": "is the readiness probe"}
        elif "leader" in str(handler).lower():
            yield "SC404", obj.line(*at, "livenessProbe"), {"container": name, "problem": "asks about the leader"}


def _selector_rules(obj: _Object, template: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, object]]]:
    selector = _get(obj.body, ("spec", "selector"))
    labels = _get(template, ("metadata", "labels")) or {}
    if obj.kind in _WORKLOADS and isinstance(selector, dict) and not _matches(selector, labels):
        yield "SC407", obj.line("spec", "selector"), {"selector": json.dumps(selector), "labels": json.dumps(labels)}


def _matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod template's labels."""
    if not isinstance(labels, dict):
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not ok:
            return False
    return True


def _selected(obj: _Object, selector: dict[str, Any], context: list[_Object]) -> list[_Object]:
    """The workloads in the same namespace whose pod template the selector selects."""
    chosen = []
    for other in context:
        template = other.template()
        if (
            template
            and other.namespace == obj.namespace
            and _matches(selector, _get(template[1], ("metadata", "labels")) or {})
        ):
            chosen.append(other)
    return chosen


def _replicas(obj: _Object) -> int:
    replicas = _get(obj.body, ("spec", "replicas"))
    return replicas if isinstance(replicas, int) else 1


def _statefulset_rules(obj: _Object, context: list[_Object]) -> Iterator[tuple[str, int, dict[str, object]]]:
    spec, replicas = obj.body.get("spec") or {}, _replicas(obj)
    template = obj.template()
    policy = spec.get("podManagementPolicy", "OrderedReady")
    probed = template and any("readinessProbe" in c for _, c in _containers(*template))
    if policy == "OrderedReady" and replicas > 1 and probed:
        yield "SC402", obj.line("spec", "podManagementPolicy"), {"replicas": replicas}
    name = spec.get("serviceName")
    services = [o for o in context if o.kind == "Service" and o.name == name and o.namespace == obj.namespace]
    if not name:
        yield (
            "SC405",
            obj.line("spec"),
            {"problem": "has no serviceName, so its pods have no DNS names for their peers"},
        )
    elif not services:
        yield (
            "SC405",
            obj.line("spec", "serviceName"),
            {"problem": f"serviceName {name} names no Service in these files"},
        )
    elif _get(services[0].body, ("spec", "clusterIP")) != "None":
        yield (
            "SC405",
            obj.line("spec", "serviceName"),
            {"problem": f"serviceName {name} is not headless; set clusterIP: None"},
        )
    elif _get(services[0].body, ("spec", "publishNotReadyAddresses")) is not True:
        yield "SC406", obj.line("spec", "serviceName"), {"service": name}
    if replicas > 1 and template:
        for at, container in _containers(*template):
            for i, env in enumerate(container.get("env") or []):
                if (
                    isinstance(env, dict)
                    and _ID_NAME.search(str(env.get("name")))
                    and "value" in env
                    and "$(" not in str(env["value"])
                ):
                    yield "SC410", obj.line(*at, "env", i), {"variable": env.get("name"), "replicas": replicas}


def _pdb_rules(obj: _Object, context: list[_Object]) -> Iterator[tuple[str, int, dict[str, object]]]:
    spec = obj.body.get("spec") or {}
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return
    chosen = _selected(obj, selector, context)
    if not chosen:
        yield "SC408", obj.line("spec", "selector"), {"selector": json.dumps(selector)}
    for sts in (o for o in chosen if o.kind == "StatefulSet"):
        n = _replicas(sts)
        quorum = n // 2 + 1
        if "maxUnavailable" in spec:
            key, down = "maxUnavailable", _scaled(spec["maxUnavailable"], n)
        elif "minAvailable" in spec:
            key, kept = "minAvailable", _scaled(spec["minAvailable"], n)
            down = None if kept is None else n - kept
        else:
            continue
        if down is not None and down > n - quorum:
            yield (
                "SC403",
                obj.line("spec", key),
                {"down": down, "replicas": n, "sts": sts.name, "quorum": quorum, "most": n - quorum},
            )


def _scaled(value: Any, replicas: int) -> int | None:
    """An int-or-percent of `replicas`, rounded up as the disruption controller does."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+)%", str(value))
    return math.ceil(int(match.group(1)) * replicas / 100) if match else None
