"""Stage 2: facts + answers -> one resolved build plan. Every decision lives here; templates only lay it out.

The plan is cut by concept, not by output file: `plan.image` (toolchain, packages, the Cargo build,
the installed binary, user, env, ports, healthcheck; plan_image.py and plan_build.py) and
`plan.cluster` (the nodes; plan_cluster.py), `plan.context` (what the .dockerignore leaves out;
plan_context.py), `plan.kubernetes` and `plan.swarm` (plan_kubernetes.py, plan_swarm.py: only for
those targets), plus the outputs the template set writes. Templates
read it as `plan`; `scaffold plan --json` prints it as data (`as_data`), which is what templates can read.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__, contract, lockcompat, loopback, nodefiles, plan_cluster, plan_image, ports, probes, runtimes, rustrelease
from .answers import Answers, validate
from .bootstrap import make_bootstrap
from .choices import baseline_release, choose_binary, choose_extra_bins, default_rust_version, shown_name
from .deploytargets import FILE_TARGETS
from .errors import ScaffoldError, UsageError
from .features import check_features
from .inspect import Binary, ProjectFacts, require_application
from .mounts import NODE_FILE, Mount, check_mounts, mount_table
from .plan_build import make_build
from .plan_cluster import ClusterPlan, make_cluster
from .plan_context import IGNORE_FILE, ContextPlan, make_context
from .plan_image import ImagePlan, User
from .plan_toolchain import cargo_runs, make_toolchain
from .templateset import OutputFile, load_template_set

if TYPE_CHECKING:  # the Kubernetes and Swarm planners load only for those targets (see make_plan)
    from .plan_kubernetes import KubernetesPlan
    from .plan_swarm import SwarmPlan

# Version of the plan's shape (`scaffold plan --json`, what templates read); bumped when a name changes,
# together with the built-in template set's version and PLAN_CHANGED_IN.
SCHEMA_VERSION = 2
PLAN_CHANGED_IN = "0.1.0"  # the scaffold release whose plan templates must be ported to


@dataclass(frozen=True)
class BuildPlan:
    """The whole plan: what templates read as `plan`."""

    schema_version: int
    generator_version: str
    package: str  # the package and binary the plan is for
    binary: str
    image: ImagePlan
    cluster: ClusterPlan
    context: ContextPlan
    targets: tuple[str, ...]  # where the cluster runs: compose, kubernetes, swarm
    kubernetes: KubernetesPlan | None  # planned only for that target (its refusals concern no one else)
    swarm: SwarmPlan | None
    outputs: tuple[str, ...]  # the files the template set writes, relative to the output directory (in its order)
    warnings: tuple[str, ...]


def make_plan(
    facts: ProjectFacts, answers: Answers, outputs: tuple[OutputFile, ...] | None = None, output_dir: Path | None = None
) -> BuildPlan:
    """The plan for the files `outputs` (by default the built-in set's) describe, written to `output_dir`
    (by default the project root)."""
    require_application(facts)
    outputs = load_template_set().files if outputs is None else outputs
    warnings = list(validate(answers))
    binary = choose_binary(facts, answers.package, answers.bin)
    _check_names(binary)
    package = facts.workspace.package(binary.package)
    assert package is not None
    check_features(package, answers.features)
    extra_bins = choose_extra_bins(facts, binary, answers.extra_bins)
    features = tuple(dict.fromkeys((*answers.features, *binary.required_features, *(f for b in extra_bins for f in b.required_features))))
    runtime = runtimes.get(answers.runtime)
    system = facts.system_packages(binary, features, musl=runtime.libc == "musl")
    warnings += system.warnings
    rust_version, channel = _rust_version(facts, binary, answers)
    given = answers.rust_version is not None and channel is None
    runtime.check_rust_version(rust_version, "--rust-version" if given else f"{_pin_source(facts)} pins Rust")
    toolchain, toolchain_notes = make_toolchain(facts.toolchain, rust_version, channel)
    warnings += toolchain_notes
    warnings += lockcompat.lock_warnings(facts.lock, *cargo_runs(facts.toolchain, rust_version, channel))
    healthcheck_kind = answers.healthcheck
    if healthcheck_kind is None:  # resolve() fills it in (and says why); a library caller may not
        healthcheck_kind = probes.default_probe(facts, binary, features, runtime.name).kind
    installed = plan_image.installed(binary.name)
    extras = tuple(plan_image.extra_binary(b.name) for b in extra_bins)
    node_sources = nodefiles.load(facts.root, answers.node_files)
    file_mounts = tuple(Mount(s.container_path, f"the node file {s.source}", NODE_FILE) for s in node_sources)
    check_mounts((*mount_table(answers.data_dir, answers.read_only, installed.path), *file_mounts))
    warnings += loopback.check_loopback(facts, binary, features)
    runtime_packages = (*system.runtime, *answers.runtime_packages)
    name = _dns_name(binary.name)
    named = _named_ports(answers)
    view = plan_cluster.view(answers, name, named)
    per_node = plan_cluster.node_env(answers, view)
    files = nodefiles.render(node_sources, view)
    warnings += loopback.check_node_files([(f.path, f.content) for f in files[0]] if files else [])
    if not set(FILE_TARGETS) & set(answers.targets):  # Kubernetes holds them in a ConfigMap: no cluster/ files
        files = tuple(() for _ in files)
    outside_context = (*(f.path for f in outputs if not f.context), *(f.path for node_files in files for f in node_files))
    context, context_warnings = make_context(facts, binary, outside_context, output_dir)
    warnings += context_warnings
    image = ImagePlan(
        tag=f"{name}:latest",
        runtime=runtime.name,
        rust_version=rust_version,
        builder_image=runtime.builder_image,
        toolchain=toolchain,
        base_image=runtime.image,
        build_packages=plan_image.build_packages(runtime, (*system.build, *answers.build_packages)),
        runtime_packages=plan_image.runtime_packages(runtime, runtime_packages),
        build=make_build(facts, binary, features, answers.strategy, answers.optimize, name, tuple(e.name for e in extras)),
        binary=installed,
        extra_binaries=extras,
        ca_bundle=runtime.ca_bundle_from_builder and "ca-certificates" in runtime_packages,
        user=User(runtime.uid, runtime.uid),
        data_dir=answers.data_dir,
        env=tuple((k, v) for k, v in contract.shared_env(per_node) if isinstance(v, str) and k != "RUST_LOG"),
        ports=plan_image.ports(answers, named),
        healthcheck=plan_image.healthcheck(healthcheck_kind, answers, runtime, installed),
        labels=plan_image.labels(package),
    )
    bootstrap = make_bootstrap(answers.bootstrap_command, answers.bootstrap_image, image.tag, name, view, image.healthcheck is not None)
    cluster = make_cluster(answers, image.tag, view, named, per_node, files, bootstrap)
    kubernetes = swarm = None
    if "kubernetes" in answers.targets:
        from .plan_kubernetes import make_kubernetes

        kubernetes = make_kubernetes(answers, binary.name, image.tag, image.user, installed, image.healthcheck, named, node_sources)
        warnings += kubernetes.warnings
    if "swarm" in answers.targets:
        from .plan_swarm import make_swarm

        swarm = make_swarm(answers, cluster, binary.name)
        warnings += swarm.warnings
    plan = BuildPlan(
        schema_version=SCHEMA_VERSION,
        generator_version=__version__,
        package=binary.package,
        binary=binary.name,
        image=image,
        cluster=cluster,
        context=context,
        targets=answers.targets,
        kubernetes=kubernetes,
        swarm=swarm,
        outputs=(),
        warnings=tuple(dict.fromkeys((*facts.warnings, *warnings))),
    )
    written = tuple(context.ignore_file if f.path == IGNORE_FILE else f.path for f in outputs if f.written_for(plan))
    return dataclasses.replace(plan, outputs=written)


def as_data(plan: BuildPlan, root: Path) -> dict:
    """The plan as JSON-ready data (dataclasses become objects, tuples arrays), with no absolute path.

    The plan itself holds paths relative to the project; only warnings may name the project's
    folder, which becomes `.` so the data is the same on every machine.
    """
    data = dataclasses.asdict(plan)
    prefix = str(root.resolve())
    data["warnings"] = [w.replace(prefix + "/", "").replace(prefix, ".") for w in plan.warnings]
    return data


def _named_ports(answers: Answers) -> tuple[ports.NamedPort, ...]:
    named = tuple(ports.parse_port(text) for text in answers.ports)
    ports.check_ports(
        named, http_port=answers.http_port, raft_port=answers.raft_port, first_host_port=answers.first_host_port,
        nodes=answers.nodes, publish_raft=answers.publish_raft and answers.nodes > 1,
    )
    return named


def _check_names(binary: Binary) -> None:
    """Package and binary names are ones Cargo accepts: they reach shell commands, paths and comments."""
    for what, name in (("package", binary.package), ("binary", binary.name)):
        if shown_name(name) != name:
            raise ScaffoldError(
                f"{binary.manifest}: {what} name {name!r} is not a name Cargo accepts "
                "(letters, digits, `-` and `_`); rename it"
            )


def _rust_version(facts: ProjectFacts, binary: Binary, answers: Answers) -> tuple[str, str | None]:
    """(the build image's release, the --rust-version channel installed on it or None)."""
    msrv = facts.rust_version(binary)
    if answers.rust_version and rustrelease.is_channel(answers.rust_version):
        return baseline_release(facts, binary), answers.rust_version
    if answers.rust_version:
        if msrv and rustrelease.key(answers.rust_version) < rustrelease.key(msrv):
            raise UsageError(f"--rust-version {answers.rust_version} is older than the project's rust-version {msrv}")
        return answers.rust_version, None
    return default_rust_version(facts, binary), None


def _pin_source(facts: ProjectFacts) -> str:
    return str(facts.toolchain.file) if facts.toolchain else "Cargo.toml's rust-version"


def _dns_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return cleaned or "app"
