"""Stage 2: facts + answers -> one resolved build plan. Every decision lives here; templates only lay it out."""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass

from . import __version__, runtimes
from .answers import Answers, default_healthcheck, no_healthcheck_warning, validate
from .errors import ScaffoldError, UsageError
from .inspect import Binary, ProjectFacts, require_application, version_key

# The Rust release the templates are known to build with; older MSRVs still get this one.
BASELINE_RUST = "1.95"

_PROFILES = {
    "as-is": (),
    "strip": (("CARGO_PROFILE_RELEASE_STRIP", "symbols"),),
    "speed": (
        ("CARGO_PROFILE_RELEASE_LTO", "fat"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        ("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
    ),
    "size": (
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z"),
        ("CARGO_PROFILE_RELEASE_LTO", "fat"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        ("CARGO_PROFILE_RELEASE_STRIP", "symbols"),
    ),
}


@dataclass(frozen=True)
class HealthCheck:
    command: tuple[str, ...]  # exec form, for both HEALTHCHECK and compose `test: [CMD, ...]`
    interval: str = "10s"
    timeout: str = "3s"
    start_period: str = "10s"
    retries: int = 3

    @property
    def compose_test(self) -> tuple[str, ...]:
        return ("CMD", *self.command)


@dataclass(frozen=True)
class DockerfilePlan:
    strategy: str
    rust_version: str
    builder_image: str  # with ${RUST_VERSION} for the ARG
    runtime_image: str
    package_manager: str  # "apt" or "apk"
    build_packages: tuple[str, ...]
    runtime_packages: tuple[str, ...]
    cargo_args: str  # identical in every cargo invocation, so the dependency layer is reused
    build_env: tuple[tuple[str, str], ...]
    binary: str
    binary_path: str  # inside the builder, relative to /app
    stub_keep: tuple[str, ...]  # find(1) -path patterns of target roots kept (as stubs) in the skeleton
    stub_libs: tuple[str, ...]  # paths of library roots, emptied rather than given a main
    cache_id: str
    user: str
    data_dir: str
    runtime_env: tuple[tuple[str, str], ...]
    exposed_ports: tuple[int, ...]
    healthcheck: HealthCheck | None
    ca_bundle: bool  # copy the CA bundle from the builder (scratch has no package manager)
    labels: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ComposeNode:
    service: str
    node_id: str
    peers: str
    ports: tuple[str, ...]
    volume: str


@dataclass(frozen=True)
class ComposePlan:
    image: str
    shared_env: tuple[tuple[str, str], ...]
    nodes: tuple[ComposeNode, ...]
    data_dir: str
    healthcheck: HealthCheck | None
    network: str
    read_only: bool


@dataclass(frozen=True)
class BuildPlan:
    generator_version: str
    package: str
    binary: str
    dockerfile: DockerfilePlan
    compose: ComposePlan
    warnings: tuple[str, ...]


def make_plan(facts: ProjectFacts, answers: Answers) -> BuildPlan:
    require_application(facts)
    warnings = list(validate(answers))
    binary = choose_binary(facts, answers)
    _check_names(binary)
    package = facts.workspace.package(binary.package)
    assert package is not None
    features = tuple(dict.fromkeys((*answers.features, *binary.required_features)))
    system = facts.system_packages(binary, features)
    warnings += system.warnings
    rust_version = _rust_version(facts, binary, answers)
    pinned = facts.toolchain.version if facts.toolchain else None
    if pinned and pinned != rust_version:
        warnings.append(
            f"{facts.toolchain.file} pins Rust {pinned} but the build image has {rust_version}: rustup in the "
            "official image will download the pinned toolchain during every cold build"
        )
    build_packages = (*system.build, *answers.build_packages)
    runtime_packages = (*system.runtime, *answers.runtime_packages)
    healthcheck_kind = answers.healthcheck or default_healthcheck(answers.runtime)
    if healthcheck_kind == "none" and answers.healthcheck is None:
        warnings.append(no_healthcheck_warning(answers.runtime))
    healthcheck = _healthcheck(healthcheck_kind, answers, runtimes.get(answers.runtime), f"/usr/local/bin/{binary.name}")
    name = _dns_name(binary.name)
    runtime = runtimes.get(answers.runtime)
    dockerfile = DockerfilePlan(
        strategy=answers.strategy,
        rust_version=rust_version,
        builder_image=runtime.builder_image,
        runtime_image=runtime.image,
        package_manager=runtime.builder_distro.package_manager,
        build_packages=_named(runtime.builder_distro, (*runtime.build_base_packages, *build_packages)),
        runtime_packages=_runtime_packages(runtime, runtime_packages),
        cargo_args=_cargo_args(facts, binary, features),
        build_env=_PROFILES[answers.optimize] + ((("SQLX_OFFLINE", "true"),) if facts.sqlx_offline else ()),
        binary=binary.name,
        binary_path=f"target/release/{binary.name}",
        stub_keep=_stub_keep(facts),
        stub_libs=_stub_libs(facts),
        cache_id=name,
        user=f"{runtime.uid}:{runtime.uid}",
        data_dir=answers.data_dir,
        runtime_env=(
            ("HTTP_PORT", str(answers.http_port)),
            ("RAFT_PORT", str(answers.raft_port)),
            ("DATA_DIR", answers.data_dir),
        ),
        exposed_ports=(answers.http_port, answers.raft_port),
        healthcheck=healthcheck,
        ca_bundle=runtime.ca_bundle_from_builder and "ca-certificates" in runtime_packages,
        labels=_labels(package),
    )
    return BuildPlan(
        generator_version=__version__,
        package=binary.package,
        binary=binary.name,
        dockerfile=dockerfile,
        compose=_compose(answers, name, healthcheck),
        warnings=tuple(dict.fromkeys((*facts.warnings, *warnings))),
    )


def choose_binary(facts: ProjectFacts, answers: Answers) -> Binary:
    candidates = [b for b in facts.binaries if answers.package in (None, b.package)]
    if answers.package and not candidates:
        known = sorted({b.package for b in facts.binaries})
        raise UsageError(f"--package {answers.package}: no such package with a binary; choose one of {', '.join(known)}")
    if answers.bin:
        chosen = [b for b in candidates if b.name == answers.bin]
        if not chosen:
            raise UsageError(f"--bin {answers.bin}: no such binary; choose one of {_listing(candidates)}")
        if len(chosen) > 1:
            raise UsageError(f"--bin {answers.bin} is in several packages; add --package ({', '.join(b.package for b in chosen)})")
        return chosen[0]
    if answers.package and len(candidates) == 1:
        return candidates[0]
    default = facts.default_binary
    if default and default in candidates:
        return default
    raise UsageError(f"several binaries could be the one to run; pick one with --bin: {_listing(candidates)}")


# What Cargo accepts in package and target names; they reach shell commands, paths and comments.
_CARGO_NAME = re.compile(r"^\w[\w+.-]*$")


def _check_names(binary: Binary) -> None:
    for what, name in (("package", binary.package), ("binary", binary.name)):
        if not _CARGO_NAME.match(name):
            raise ScaffoldError(
                f"{binary.manifest}: {what} name {name!r} is not a name Cargo accepts "
                "(letters, digits, `-` and `_`); rename it"
            )


def _listing(binaries: list[Binary]) -> str:
    shown = [f"{b.name} (package {b.package})" for b in binaries[:12]]
    more = f" and {len(binaries) - 12} more" if len(binaries) > 12 else ""
    return ", ".join(shown) + more


def _rust_version(facts: ProjectFacts, binary: Binary, answers: Answers) -> str:
    msrv = facts.rust_version(binary)
    if answers.rust_version:
        if msrv and version_key(answers.rust_version) < version_key(msrv):
            raise UsageError(f"--rust-version {answers.rust_version} is older than the project's rust-version {msrv}")
        return answers.rust_version
    return default_rust_version(facts, binary)


def default_rust_version(facts: ProjectFacts, binary: Binary) -> str:
    """The toolchain pin, else the newest of the binary's MSRV and our baseline."""
    if facts.toolchain and facts.toolchain.version:
        return facts.toolchain.version
    msrv = facts.rust_version(binary)
    return max((BASELINE_RUST, msrv or BASELINE_RUST), key=version_key)


def _named(distro: runtimes.Distro, packages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(distro.package(p) for p in packages))


def _runtime_packages(runtime: runtimes.Runtime, packages: tuple[str, ...]) -> tuple[str, ...]:
    if runtime.distro is not None:
        return _named(runtime.distro, packages)
    missing = [
        p for p in packages
        if p not in runtime.provides and not (runtime.ca_bundle_from_builder and p == "ca-certificates")
    ]
    if missing:
        usable = " or ".join(r.name for r in runtimes.RUNTIMES if r.distro is not None)
        raise UsageError(
            f"--runtime {runtime.name} cannot provide {', '.join(missing)} (it has no package manager); use --runtime {usable}"
        )
    return ()


def _healthcheck(kind: str, answers: Answers, runtime: runtimes.Runtime, binary_path: str) -> HealthCheck | None:
    if kind == "none":
        return None
    if kind == "exec":
        return HealthCheck((binary_path, *answers.health_command))
    port, path = answers.http_port, answers.health_path
    if runtime.http_probe == "wget":
        return HealthCheck(("wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}{path}"))
    # bash-tcp (validate() refuses http where the image cannot make a request). bash's /dev/tcp
    # needs no extra package: Debian images carry bash, not curl or wget. The path is an argument,
    # not part of the format: it may hold `%` and `'`.
    probe = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port} && "
        f"printf 'GET %s HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' {shlex.quote(path)} >&3 && "
        "head -n 1 <&3 | grep -q ' 2[0-9][0-9] '"
    )
    return HealthCheck(("bash", "-c", probe))


def _cargo_args(facts: ProjectFacts, binary: Binary, features: tuple[str, ...]) -> str:
    args = ["--release"]
    if facts.lock is not None:
        args.append("--locked")
    args += ["-p", binary.package, "--bin", binary.name]
    if features:
        args += ["--features", ",".join(features)]
    return " ".join(shlex.quote(arg) for arg in args)


# Roots kept wherever they are: they also cover path dependencies that are not workspace members.
_GENERIC_ROOTS = ("*/src/main.rs", "*/src/lib.rs")


def _stub_keep(facts: ProjectFacts) -> tuple[str, ...]:
    """find(1) -path patterns of the files the skeleton keeps as stubs.

    Every root Cargo needs to load the workspace: each member's lib, bins and build script, and its
    explicitly declared targets. Exact paths rather than globs such as `*/src/bin/*.rs`, which in
    find's matching (`*` crosses `/`) would also keep the modules of multi-file binaries.
    """
    exact = {
        _find_literal(path)
        for package, target, path in _member_targets(facts)
        if (target.kind in ("lib", "bin", "build-script") or target.explicit)
        and not any(fnmatch.fnmatchcase(path, g) for g in _GENERIC_ROOTS)
    }
    return _GENERIC_ROOTS + tuple(sorted(exact))


def _stub_libs(facts: ProjectFacts) -> tuple[str, ...]:
    return tuple(sorted({path for _package, target, path in _member_targets(facts) if target.kind == "lib"}))


def _member_targets(facts: ProjectFacts):
    """(package, target, path) for every member target, path relative to the build context (`./...`)."""
    root = facts.root.resolve()
    for package in facts.workspace.members:
        for target in package.targets:
            absolute = (package.root / target.path).resolve()
            if not absolute.is_relative_to(root):
                raise ScaffoldError(
                    f"{package.manifest}: {target.kind} target `{target.name}` is at {absolute}, outside {root} "
                    "(the Docker build context); move it into the project"
                )
            yield package, target, "./" + absolute.relative_to(root).as_posix()


def _find_literal(path: str) -> str:
    """A path as a find(1) -path pattern that matches only itself."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", path)


def _labels(package) -> tuple[tuple[str, str], ...]:
    pairs = [
        ("org.opencontainers.image.title", package.name),
        ("org.opencontainers.image.version", package.version),
        ("org.opencontainers.image.description", package.description),
        ("org.opencontainers.image.licenses", package.license),
        ("org.opencontainers.image.source", package.repository),
        ("org.opencontainers.image.url", package.homepage),
    ]
    return tuple((k, v) for k, v in pairs if v)


def _dns_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned or "app"


def _compose(answers: Answers, name: str, healthcheck: HealthCheck | None) -> ComposePlan:
    services = [f"{name}-{i}" for i in range(answers.nodes)]
    nodes = []
    for i, service in enumerate(services):
        ports = [f"{answers.publish_address}:{answers.first_host_port + i}:{answers.http_port}"]
        if answers.publish_raft:
            ports.append(f"{answers.publish_address}:{answers.raft_port + i}:{answers.raft_port}")
        peers = ",".join(f"{other}:{answers.raft_port}" for other in services if other != service)
        nodes.append(ComposeNode(service, str(i), peers, tuple(ports), f"{service}-data"))
    return ComposePlan(
        image=f"{name}:latest",
        shared_env=(
            ("HTTP_PORT", str(answers.http_port)),
            ("RAFT_PORT", str(answers.raft_port)),
            ("DATA_DIR", answers.data_dir),
            ("RUST_LOG", answers.rust_log),
        ),
        nodes=tuple(nodes),
        data_dir=answers.data_dir,
        healthcheck=healthcheck,
        network="cluster",
        read_only=answers.read_only,
    )

