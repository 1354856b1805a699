"""Health probes: which kind a node gets by default, and the command each kind runs in each runtime image.

A probe connects to the container's own address, never 127.0.0.1: an app that listens on loopback
only cannot be reached through its published port, and must not be reported healthy. The default is
an HTTP check only when the binary surely compiles an HTTP server; otherwise a TCP connect, which
fits every server whatever it speaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from . import features, runtimes, syspackages
from .errors import UsageError
from .features import Request, Resolution
from .inspect import Binary, ProjectFacts
from .lockfile import Lock

# Each kind of healthcheck, with the line the wizard shows beside it.
KIND_HELP = MappingProxyType({
    "http": "an HTTP request to the container's own address (any status line, or a 2xx with a health path)",
    "tcp": "a TCP connect to the HTTP port on the container's own address",
    "exec": "a command run in the container (the binary with arguments, or any command of the image)",
    "none": "no healthcheck",
})
KINDS = tuple(KIND_HELP)

# Crates whose presence means the program serves HTTP/1. Feature-gated ones count only when a
# package of the build asks for a serving feature directly (the lock does not record features).
SERVER_CRATES = (
    "axum", "actix-web", "warp", "rocket", "poem", "tide", "salvo", "ntex", "gotham", "thruster", "trillium",
    "viz", "tiny_http", "rouille", "dropshot", "ohkami", "xitca-web", "astra", "axum-server", "may_minihttp",
)
FEATURE_GATED = {
    "hyper": frozenset({"server", "full"}),
    "hyper-util": frozenset({"server", "server-auto", "full"}),
}
# Crates that embed an HTTP server crate for something a probe of the app's port would not meet:
# gRPC (HTTP/2 only) or a metrics endpoint on a port of its own.
NOT_THROUGH = frozenset({"tonic", "tonic-web", "console-subscriber", "prometheus_exporter", "metrics-exporter-prometheus"})



def _shell(runtime: runtimes.Runtime) -> str | None:
    """What an image can run a probe with: bash (with /dev/tcp and `hostname -I`), busybox sh, or nothing."""
    if "bash" in runtime.programs:
        return "bash"
    return "busybox" if runtime.has_shell else None


SHELLS = {runtime.name: _shell(runtime) for runtime in runtimes.RUNTIMES}


@dataclass(frozen=True)
class ProbeChoice:
    """The health check kind chosen from the project, and why."""

    kind: str
    reason: str  # said to the user: "http: the binary depends on axum"


def default_probe(facts: ProjectFacts, binary: Binary, extra_features: tuple[str, ...], runtime: str) -> ProbeChoice:
    """The healthcheck a node gets when the user chose none, and why."""
    if SHELLS[runtime] is None:
        return ProbeChoice("none", f"none: the {runtime} image has no shell to run a probe with (use --healthcheck exec)")
    members = facts.workspace.members
    wanted = frozenset({"default", *binary.required_features, *extra_features})
    active = features.resolve(members, {binary.package: wanted}, all_features=False)
    everything = None
    if facts.lock is not None:
        everything = features.resolve(members, {p.name: frozenset({"default"}) for p in members}, all_features=True)
    found = http_server(active, facts.lock, everything)
    if found is None:
        return ProbeChoice("tcp", "tcp: no HTTP server crate in the binary's dependencies")
    crate, via = found
    what = f"{crate} with its server feature" if crate in FEATURE_GATED else crate
    through = f" (through {via})" if via != crate else ""
    return ProbeChoice("http", f"http: the binary depends on {what}{through}")


def http_server(active: Resolution, lock: Lock | None, everything: Resolution | None) -> tuple[str, str] | None:
    """(server crate, the dependency of ours it comes through) that the build surely compiles, or None.

    Direct dependencies count as asked for; through the lock, only out of crates whose features are the
    ones the lock was resolved with (syspackages' rule for system libraries), and never out of NOT_THROUGH.
    """
    for crate in sorted(active.requests):
        if _serves(crate, active.requests[crate]):
            return crate, crate
    if lock is None or everything is None:
        return None
    uncertain = {c for c, request in everything.requests.items() if active.requests.get(c) != request}
    reached = _reach(lock, syspackages.starts(lock, active), uncertain | NOT_THROUGH)
    server = next((c for c in SERVER_CRATES if c in reached), None)
    return (server, reached[server]) if server else None


def _reach(lock: Lock, starts: list[tuple[str, str]], stop: set[str]) -> dict[str, str]:
    """Crate name -> the start it is reached through. A crate in `stop` is reached (an edge to it is
    sure) but not walked out of (its own edges depend on features that may differ)."""
    reached: dict[str, str] = {}
    stack = [(key, via) for key, via in starts if via not in NOT_THROUGH]
    seen = {key for key, _ in stack}
    while stack:
        key, via = stack.pop()
        package = lock.packages[key]
        reached.setdefault(package.name, via)
        if package.name in stop:
            continue
        for dep in package.dependencies:
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, via))
    return reached


def _serves(crate: str, request: Request) -> bool:
    if crate in FEATURE_GATED:
        return bool(request.features & FEATURE_GATED[crate])
    return crate in SERVER_CRATES


# --- the commands ----------------------------------------------------------------------------------

# The container's own (first non-loopback) address: `hostname -I` reads the interfaces, not /etc/hosts.
_BASH_SELF = 'a=$(hostname -I) && a=${a%% *} && [ -n "$a" ]'
_BUSYBOX_SELF = 'a=$(hostname -i) && a=${a%% *} && [ -n "$a" ]'


def check_probe(kind: str, runtime: str) -> None:
    """Refuse a probe the runtime image cannot run."""
    if kind not in KINDS:
        raise UsageError(f"--healthcheck {kind!r}: choose one of {', '.join(KINDS)}")
    if kind in ("http", "tcp") and SHELLS[runtime] is None:
        raise UsageError(
            f"--healthcheck {kind}: the {runtime} image has no shell to run the probe; "
            "use --healthcheck exec with a command of the image (--health-exec), or --healthcheck none"
        )


def probe_command(
    kind: str,
    runtime: str,
    *,
    port: int,
    path: str | None = None,
    binary_path: str = "",
    health_command: tuple[str, ...] = (),
    health_exec: tuple[str, ...] = (),
) -> tuple[str, ...] | None:
    """The exec-form command of a probe (HEALTHCHECK CMD and compose `test: [CMD, ...]`), None for none.

    http without a path accepts any HTTP status line (the app answers HTTP, whatever its routes);
    with one, a 2xx. exec runs `health_exec` (any command in the image) when given, else the binary
    with `health_command`, as before it existed. Text reaches shells as arguments, never as code.
    """
    check_probe(kind, runtime)
    if kind == "none":
        return None
    if kind == "exec":
        return health_exec if health_exec else (binary_path, *health_command)
    shell = SHELLS[runtime]
    if kind == "tcp":
        if shell == "bash":
            return ("bash", "-c", f'{_BASH_SELF} && exec 3<>"/dev/tcp/$a/{port}"')
        return ("sh", "-c", f'{_BUSYBOX_SELF} && nc -z -w 2 "$a" {port}')
    if shell == "bash":
        accept = '[[ $v == HTTP/* && $s == 2[0-9][0-9]* ]]' if path else '[[ $v == HTTP/* ]]'
        script = (
            f'{_BASH_SELF} && exec 3<>"/dev/tcp/$a/{port}" && '
            'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" "$a" >&3 && '
            f"read -r -t 2 v s _ <&3 && {accept}"
        )
        return ("bash", "-c", script, "probe", path or "/")
    if path:  # busybox wget fails on anything but 2xx
        return ("sh", "-c", f'{_BUSYBOX_SELF} && wget -q -T 2 -O /dev/null "http://$a:{port}$1"', "probe", path)
    return ("sh", "-c", f'{_BUSYBOX_SELF} && wget -S -q -T 2 -O /dev/null "http://$a:{port}/" 2>&1 | grep -q "^ *HTTP/"')


def check_health_exec(command: tuple[str, ...]) -> None:
    """A command of the image: a program, then its arguments; nothing a compose/Dockerfile list cannot hold."""
    if not command or not command[0].strip():
        raise UsageError("--health-exec: give the command to run, such as --health-exec /usr/local/bin/app --health-exec ping")
    for argument in command:
        if "\x00" in argument or "\n" in argument:
            raise UsageError(f"--health-exec {argument[:40]!r}: an argument cannot hold a NUL or a newline")
