"""The built-in questions, in the order the wizard asks them: the question table every answer source reads.

Each entry is a Question (questions.py): its flag, default, help, checks and the special cases it owns
(what the inspector suggests, whether a choice works with earlier answers, the note a default carries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

from . import answers as rules
from . import contract, ports, probes, runtimes, rustrelease
from .answers import Answers, CustomValue
from .choices import BASELINE_RUST, default_rust_version
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


def _check_health_exec(values: CustomValue, _so_far: SoFar) -> None:
    assert isinstance(values, tuple), values
    if values:
        probes.check_health_exec(values)


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

BUILTIN = (
    Question("package", "str", "Package that holds the binary (workspaces).", flag="--package", default_text="inferred", picks_binary=True),
    Question("bin", "str", "Binary to build and run.", flag="--bin", default_text="the primary binary", picks_binary=True),
    Question(
        "features", "list", "Cargo features to enable (comma-separated).", _D.features, check=_each(rules.check_feature), flag="--features"
    ),
    Question("runtime", "choice", runtimes.help_text(), _D.runtime, choices=rules.RUNTIMES, flag="--runtime"),
    Question(
        "strategy",
        "choice",
        "Dependency caching: a target cache mount, or a skeleton dependency layer (for CI caches).",
        _D.strategy,
        choices=rules.STRATEGIES,
        flag="--strategy",
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
        pattern=rules.ADDRESS.pattern,
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
        "rust_version",
        "str",
        "Rust release for the build image, or a channel installed on the baseline image.",
        pattern=rustrelease.RUST_VERSION.pattern,
        check=lambda v, _: rules.check_rust_version(_str(v)),
        flag="--rust-version",
        inspected=_inspected_rust_version,
        default_text=f"the toolchain pin, else the newest of MSRV and {BASELINE_RUST}",
    ),
    Question("optimize", "choice", "Release profile tuning.", _D.optimize, choices=rules.OPTIMIZATIONS, flag="--optimize"),
    Question(
        "healthcheck",
        "choice",
        "Container healthcheck, sent to the container's own address: http, tcp (a connect), exec (a command in the image) or none.",
        choices=rules.HEALTHCHECKS,
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
        pattern=rules.HTTP_PATH.pattern,
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
        pattern=rules.DATA_DIR.pattern,
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
BUILTIN_NAMES = frozenset(q.name for q in BUILTIN)
assert BUILTIN_NAMES == {f.name for f in fields(Answers)} - {"custom"}, "every Answers field is a question"
