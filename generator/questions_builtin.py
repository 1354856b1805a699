"""The built-in questions, in the order the wizard asks them: the question table every answer source reads.

Each entry is a Question (questions.py): its flag, default, help, checks and the special cases it owns
(what the inspector suggests, whether a choice works with earlier answers, the note a default carries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from types import MappingProxyType

from . import answers as rules
from . import clusternames, contract, deploytargets, nodefiles, ports, probes, runtimes, rustrelease
from .answers import Answers, CustomValue
from .choices import BASELINE_RUST, default_rust_version
from .features import known_features
from .inspect import ProjectFacts
from .questions import Check, Question, SoFar

# --- the built-in questions, in the order the wizard asks them ----------------------------------


def _each(rule: Callable[[str], None]) -> Check:
    def check(values: CustomValue, _so_far: SoFar) -> None:
        assert isinstance(values, tuple), values
        for value in values:
            rule(value)

    return check


def _int(value: CustomValue) -> int:
    assert isinstance(value, int), value  # typed by its question before any rule sees it
    return value


def _str(value: CustomValue) -> str:
    assert isinstance(value, str), value
    return value


def _earlier(so_far: SoFar, name: str, fallback: int) -> int:
    """An earlier int answer, or its fallback while it is unset."""
    value = so_far.get(name)
    return value if isinstance(value, int) and value else fallback


def _http_port(so_far: SoFar) -> int:
    return _earlier(so_far, "http_port", Answers.http_port)


def _check_raft_port(port: CustomValue, so_far: SoFar) -> None:
    rules.check_port("--raft-port", _int(port))
    rules.check_distinct_ports(_http_port(so_far), _int(port))


def _check_host_port(port: CustomValue, so_far: SoFar) -> None:
    rules.check_port("--host-port", _int(port))
    rules.check_host_ports(_int(port), _earlier(so_far, "nodes", Answers.nodes))


def _check_publish_raft(publish: CustomValue, so_far: SoFar) -> None:
    if publish:
        host = _earlier(so_far, "host_port", _http_port(so_far))
        rules.check_raft_host_ports(_earlier(so_far, "raft_port", Answers.raft_port), host, _earlier(so_far, "nodes", Answers.nodes))


def _check_healthcheck(kind: CustomValue, so_far: SoFar) -> None:
    probes.check_probe(_str(kind), _runtime(so_far))


def _healthcheck_works(kind: str, so_far: SoFar) -> bool:
    return kind not in ("http", "tcp") or probes.SHELLS[_runtime(so_far)] is not None


def _runtime(so_far: SoFar) -> str:
    runtime = _text(so_far.get("runtime"))
    return runtime if runtime in rules.RUNTIMES else Answers.runtime


def _default_probe(facts: ProjectFacts, so_far: SoFar) -> probes.ProbeChoice | None:
    binary = facts.binary(_text(so_far.get("bin")) or "", _text(so_far.get("package")))
    if binary is None:
        return None
    features = so_far.get("features")
    return probes.default_probe(facts, binary, features if isinstance(features, tuple) else (), _runtime(so_far))


def _inspected_healthcheck(facts: ProjectFacts, so_far: SoFar) -> str | None:
    choice = _default_probe(facts, so_far)
    return choice.kind if choice else None


def _healthcheck_note(facts: ProjectFacts, so_far: SoFar) -> str | None:
    choice = _default_probe(facts, so_far)
    return f"healthcheck {choice.reason}; choose another with --healthcheck" if choice else None


def _check_ports(values: CustomValue, so_far: SoFar) -> None:
    assert isinstance(values, tuple), values
    nodes = _earlier(so_far, "nodes", Answers.nodes)
    ports.check_ports(
        [ports.parse_port(text) for text in values],
        http_port=_http_port(so_far),
        raft_port=_earlier(so_far, "raft_port", Answers.raft_port),
        first_host_port=_earlier(so_far, "host_port", _http_port(so_far)),
        nodes=nodes,
        publish_raft=bool(so_far.get("publish_raft")) and nodes > 1,
    )


def _check_node_env(values: CustomValue, so_far: SoFar) -> None:
    assert isinstance(values, tuple), values
    contract.env_templates(values, _earlier(so_far, "nodes", Answers.nodes), so_far.get("default_env") is not False)


def _check_node_file(given: str) -> None:
    nodefiles.parse(given)


def _check_template(flag: str, source: str) -> None:
    contract.check_syntax(flag, source)


def _check_health_exec(values: CustomValue, _so_far: SoFar) -> None:
    assert isinstance(values, tuple), values
    if values:
        probes.check_health_exec(values)


def _declared_features(facts: ProjectFacts, so_far: SoFar) -> tuple[str, ...]:
    """What `--features` may name for the chosen binary's package (its `default` aside: it is on already)."""
    package = facts.workspace.package(_text(so_far.get("package")) or "")
    return known_features(package) if package else ()


def _customised(so_far: SoFar) -> bool:
    """The wizard's gate: the contract questions are asked when the app does not read the built-in variables."""
    return so_far.get("default_env") is False


def _exec(so_far: SoFar) -> bool:
    return so_far.get("healthcheck") == "exec"


def _inspected_rust_version(facts: ProjectFacts, so_far: SoFar) -> str | None:
    binary = facts.binary(_text(so_far.get("bin")) or "", _text(so_far.get("package")))
    return default_rust_version(facts, binary) if binary is not None else None


def _text(value: CustomValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _clustered(so_far: SoFar) -> bool:
    return _earlier(so_far, "nodes", Answers.nodes) > 1


_D = Answers()  # the dataclass defaults are the template defaults of the built-in questions

BUILTIN: tuple[Question, ...] = (
    Question("package", "str", "Package that holds the binary (workspaces).", flag="--package", default_text="inferred", picks_binary=True),
    Question("bin", "str", "Binary to build and run.", flag="--bin", default_text="the primary binary", picks_binary=True),
    Question(
        "features",
        "list",
        "Cargo features to enable (comma-separated).",
        _D.features,
        check=_each(rules.check_feature),
        flag="--features",
        offered=_declared_features,
    ),
    Question(
        "runtime", "choice", runtimes.help_text(), _D.runtime, choices=rules.RUNTIMES, flag="--runtime", choice_help=runtimes.choice_help()
    ),
    Question(
        "strategy",
        "choice",
        "Dependency caching: a target cache mount, or a skeleton dependency layer (for CI caches).",
        _D.strategy,
        choices=rules.STRATEGIES,
        flag="--strategy",
        choice_help=rules.STRATEGY_HELP,
    ),
    Question(
        "nodes",
        "int",
        "Cluster size in docker-compose.yml.",
        _D.nodes,
        minimum=1,
        maximum=rules.MAX_NODES,
        check=lambda v, _: rules.check_nodes(_int(v)),
        flag="--nodes",
    ),
    Question(
        "default_env",
        "bool",
        "Does the app read NODE_ID, PEERS, HTTP_PORT, RAFT_PORT and DATA_DIR? "
        "(no: drop them, and give its own ids, environment, arguments and ports)",
        _D.default_env,
        flag="--default-env",
        negative_flag="--no-default-env",
        choice_help=MappingProxyType({
            "yes": "each node is told NODE_ID, PEERS, HTTP_PORT, RAFT_PORT and DATA_DIR",
            "no": "customise: the app's own ids, environment variables, arguments and ports",
        }),
    ),
    Question(
        "id_base",
        "int",
        "First node id: the nodes are told ids ID_BASE .. ID_BASE+nodes-1 (names keep the index).",
        _D.id_base,
        minimum=0,
        maximum=contract.MAX_ID_BASE,
        check=lambda v, _: contract.check_id_base(_int(v)),
        when=_customised,
        flag="--id-base",
    ),
    Question(
        "http_port",
        "int",
        "HTTP port the application listens on.",
        _D.http_port,
        minimum=1,
        maximum=65535,
        check=lambda v, _: rules.check_port("--http-port", _int(v)),
        flag="--http-port",
    ),
    Question(
        "raft_port",
        "int",
        "Port the nodes talk to each other on.",
        _D.raft_port,
        minimum=1,
        maximum=65535,
        check=_check_raft_port,
        when=_clustered,
        flag="--raft-port",
    ),
    Question(
        "host_port",
        "int",
        "First published host port; node i gets HOST_PORT+i.",
        _http_port,
        minimum=1,
        maximum=65535,
        check=_check_host_port,
        flag="--host-port",
        default_text="--http-port",
    ),
    Question(
        "publish_address",
        "str",
        "Host address ports are published on (0.0.0.0 for every interface).",
        _D.publish_address,
        pattern=rules.ADDRESS,
        check=lambda v, _: rules.check_address(_str(v)),
        flag="--publish-address",
    ),
    Question(
        "publish_raft",
        "bool",
        "Also publish the Raft ports on the host?",
        _D.publish_raft,
        check=_check_publish_raft,
        when=_clustered,
        flag="--publish-raft",
        negative_flag="--no-publish-raft",
    ),
    Question(
        "ports",
        "list",
        "Named client ports besides HTTP, NAME=PORT (repeatable); node i publishes PORT+i.",
        _D.ports,
        check=_check_ports,
        when=_customised,
        flag="--port",
    ),
    Question(
        "node_env",
        "list",
        "KEY=TEMPLATE: an environment variable rendered per node, such as APP_ID={{ node.id }} (repeatable; in --data a JSON array).",
        _D.node_env,
        separator=None,
        check=_check_node_env,
        when=_customised,
        flag="--node-env",
    ),
    Question(
        "node_env_from_host",
        "list",
        "An environment variable compose passes from the host (a secret), never written (repeatable).",
        _D.node_env_from_host,
        check=_each(lambda key: contract.check_env_key("--node-env-from-host", key)),
        when=_customised,
        flag="--node-env-from-host",
    ),
    Question(
        "node_args",
        "list",
        "TEMPLATE: one argument of each node's command, rendered per node (repeatable; in --data a JSON array).",
        _D.node_args,
        separator=None,
        when=_customised,
        flag="--node-arg",
    ),
    Question(
        "node_files",
        "list",
        "TEMPLATE_PATH:CONTAINER_PATH: a template file of the project rendered per node into cluster/<service>/ and "
        "mounted read-only at CONTAINER_PATH in that node (repeatable; in --data a JSON array).",
        _D.node_files,
        separator=None,
        check=_each(_check_node_file),
        when=_customised,
        flag="--node-file",
    ),
    Question(
        "bootstrap_command",
        "str",
        "TEMPLATE: a command run once, in a one-shot service, after every node is healthy (must be idempotent: "
        "every `docker compose up` runs it again).",
        check=lambda v, _: _check_template("--bootstrap-command", _str(v)),
        when=_customised,
        flag="--bootstrap-command",
    ),
    Question(
        "bootstrap_image",
        "str",
        "Image the bootstrap command runs in.",
        pattern=rules.IMAGE,
        check=lambda v, _: rules.check_image("--bootstrap-image", _str(v)),
        when=lambda so_far: bool(so_far.get("bootstrap_command")),
        flag="--bootstrap-image",
        default_text="the app's image",
    ),
    Question(
        "extra_bins",
        "list",
        "More binaries of the same package to build in the same cargo run and install next to the main one (comma-separated).",
        _D.extra_bins,
        when=_customised,
        flag="--extra-bin",
    ),
    Question(
        "rust_version",
        "str",
        "Rust release for the build image, or a channel installed on the baseline image.",
        pattern=rustrelease.RUST_VERSION.pattern,
        check=lambda v, _: rules.check_rust_version(_str(v)),
        flag="--rust-version",
        inspected=_inspected_rust_version,
        default_text=f"the toolchain pin, else the newest of MSRV and {BASELINE_RUST}",
    ),
    Question(
        "optimize",
        "choice",
        "Release profile tuning.",
        _D.optimize,
        choices=rules.OPTIMIZATIONS,
        flag="--optimize",
        choice_help=rules.OPTIMIZATION_HELP,
    ),
    Question(
        "healthcheck",
        "choice",
        "Container healthcheck, sent to the container's own address: http, tcp (a connect), exec (a command in the image) or none.",
        choices=rules.HEALTHCHECKS,
        choice_help=probes.KIND_HELP,
        check=_check_healthcheck,
        flag="--healthcheck",
        choice_works=_healthcheck_works,
        inspected=_inspected_healthcheck,
        inspected_note=_healthcheck_note,
        default_text="http if the binary compiles an HTTP server crate, else tcp (none without a shell)",
    ),
    Question(
        "health_path",
        "str",
        "Path the http healthcheck requests, wanting a 2xx (unset: any HTTP reply to / is healthy).",
        pattern=rules.HTTP_PATH,
        check=lambda v, _: rules.check_health_path(_str(v)),
        when=lambda so_far: so_far.get("healthcheck") == "http",
        flag="--health-path",
    ),
    Question(
        "health_command",
        "list",
        "Arguments the exec healthcheck passes to the binary (space-separated).",
        _D.health_command,
        separator=" ",
        check=_each(rules.check_health_argument),
        when=_exec,
        flag="--health-command",
    ),
    Question(
        "health_exec",
        "list",
        "Command of the image the exec healthcheck runs instead of the binary (space-separated, repeatable).",
        _D.health_exec,
        separator=" ",
        check=_check_health_exec,
        when=_exec,
        flag="--health-exec",
    ),
    Question(
        "data_dir",
        "str",
        "Directory each node keeps its data in (a volume per node).",
        _D.data_dir,
        pattern=rules.DATA_DIR,
        check=lambda v, _: rules.check_data_dir(_str(v)),
        flag="--data-dir",
    ),
    Question(
        "read_only",
        "bool",
        "Read-only root filesystem (the app writes only to its data volume and /tmp)?",
        _D.read_only,
        flag="--read-only",
        negative_flag="--writable-root",
    ),
    Question(
        "rust_log", "str", "RUST_LOG for the nodes.", _D.rust_log, check=lambda v, _: rules.check_rust_log(_str(v)), flag="--rust-log"
    ),
    Question(
        "build_packages",
        "list",
        "Extra system packages for the build stage (comma-separated).",
        _D.build_packages,
        check=_each(lambda p: rules.check_package_name("--build-package", p)),
        flag="--build-package",
    ),
    Question(
        "runtime_packages",
        "list",
        "Extra system packages for the runtime image (comma-separated).",
        _D.runtime_packages,
        check=_each(lambda p: rules.check_package_name("--runtime-package", p)),
        flag="--runtime-package",
    ),
)


def _targeted(*names: str) -> Callable[[SoFar], bool]:
    def condition(so_far: SoFar) -> bool:
        chosen = so_far.get("targets")
        return isinstance(chosen, tuple) and any(name in chosen for name in names)

    return condition


def _check_targets(values: CustomValue, _so_far: SoFar) -> None:
    assert isinstance(values, tuple), values
    deploytargets.check_targets(values)


def _optional(rule: Callable[[str], None]) -> Check:
    return lambda v, _: rule(_str(v))


# Where the cluster runs, and what only the Kubernetes and Swarm outputs read.
TARGET_QUESTIONS = (
    Question("targets", "list", deploytargets.help_text(), _D.targets, check=_check_targets, flag="--target"),
    Question(
        "image",
        "str",
        "Image reference the cluster pulls, such as ghcr.io/me/app:1.0 (push the built image there).",
        check=_optional(clusternames.check_image),
        when=_targeted("kubernetes", "swarm"),
        flag="--image",
        default_text="the local tag <name>:latest",
    ),
    Question(
        "pull_secret",
        "str",
        "Kubernetes Secret the pods pull the image with (imagePullSecrets).",
        check=_optional(clusternames.check_pull_secret),
        when=_targeted("kubernetes"),
        flag="--pull-secret",
    ),
    Question(
        "namespace",
        "str",
        "Kubernetes namespace the kustomization puts everything in.",
        check=_optional(clusternames.check_namespace),
        when=_targeted("kubernetes"),
        flag="--namespace",
        default_text="kubectl's current one",
    ),
    Question(
        "service_type", "choice", "Type of the Kubernetes client Service.", _D.service_type, choices=rules.SERVICE_TYPES,
        when=_targeted("kubernetes"), flag="--service-type",
    ),
    Question(
        "storage_size",
        "str",
        "Size of each pod's data volume claim (Kubernetes quantity).",
        _D.storage_size,
        check=_optional(clusternames.check_storage_size),
        when=_targeted("kubernetes"),
        flag="--storage-size",
    ),
    Question(
        "anti_affinity",
        "choice",
        "Pods on distinct machines: preferred (scheduled anyway when machines run out) or required.",
        _D.anti_affinity,
        choices=rules.ANTI_AFFINITY,
        when=_targeted("kubernetes"),
        flag="--anti-affinity",
    ),
    Question(
        "ready_path",
        "str",
        "Kubernetes readiness: GET this path on the HTTP port (unset: the healthcheck).",
        pattern=rules.HTTP_PATH,
        check=lambda v, _: rules.check_health_path(_str(v), "--ready-path"),
        when=_targeted("kubernetes"),
        flag="--ready-path",
    ),
    Question(
        "ready_command",
        "list",
        "Kubernetes readiness: run this command of the image (space-separated; unset: the healthcheck).",
        _D.ready_command,
        separator=" ",
        check=_each(rules.check_ready_argument),
        when=_targeted("kubernetes"),
        flag="--ready-command",
    ),
    Question(
        "swarm_publish",
        "bool",
        "Publish the Swarm stack's client ports on every node's interfaces (mode: host)?",
        _D.swarm_publish,
        when=_targeted("swarm"),
        flag="--swarm-publish",
        negative_flag="--no-swarm-publish",
    ),
)
BUILTIN = BUILTIN + TARGET_QUESTIONS
BUILTIN_NAMES = frozenset(q.name for q in BUILTIN)
assert BUILTIN_NAMES == {f.name for f in fields(Answers)} - {"custom"}, "every Answers field is a question"
