"""The command line. Reads top-down as the pipeline: inspect -> plan -> render -> write."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .answers import Answers
from .errors import ScaffoldError, UsageError
from .inspect import ProjectFacts, inspect_project
from .plan import make_plan
from .render import render
from .write import compare, write_files

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Generate a multi-stage Dockerfile, a .dockerignore and an N-node docker-compose.yml for a Rust project.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaffold {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    """scaffold: container files for Rust projects."""


@app.command("inspect")
def inspect_command(
    path: Path = typer.Argument(Path("."), help="The crate or workspace folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the facts as JSON."),
) -> None:
    """Print what scaffold found in a Rust project."""
    with _handled_errors():
        facts = inspect_project(path)
        report = facts_report(facts)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
        else:
            for key, value in report.items():
                typer.echo(f"{key}: {json.dumps(value)}")


@app.command("init")
def init_command(
    path: Path = typer.Argument(Path("."), help="The crate or workspace folder."),
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing: take every answer from flags and defaults."),
    package: Optional[str] = typer.Option(None, help="Package that holds the binary (workspaces)."),
    bin: Optional[str] = typer.Option(None, "--bin", help="Binary to build and run."),
    features: List[str] = typer.Option([], "--features", help="Cargo features to enable (repeat or comma-separate)."),
    nodes: int = typer.Option(3, help="Cluster size in docker-compose.yml."),
    http_port: int = typer.Option(8080, help="HTTP port the application listens on."),
    raft_port: int = typer.Option(9000, help="Port the nodes talk to each other on."),
    host_port: Optional[int] = typer.Option(None, help="First published host port; node i gets HOST_PORT+i. [default: --http-port]"),
    publish_address: str = typer.Option("127.0.0.1", help="Host address ports are published on (0.0.0.0 for every interface)."),
    publish_raft: bool = typer.Option(False, "--publish-raft", help="Also publish the Raft ports on the host."),
    runtime: str = typer.Option("debian-slim", help="Runtime image: debian-slim, distroless, alpine or scratch."),
    strategy: str = typer.Option("skeleton", help="Dependency caching: skeleton (a cached dependency layer) or cache-mount."),
    rust_version: Optional[str] = typer.Option(None, help="Rust release for the build image. [default: toolchain file, else MSRV or 1.95]"),
    optimize: str = typer.Option("strip", help="Release profile tuning: strip, speed, size or as-is."),
    healthcheck: Optional[str] = typer.Option(None, help="http, exec or none. [default: http where the image can make a request]"),
    health_path: str = typer.Option("/health", help="Path the http healthcheck requests."),
    health_command: str = typer.Option("healthcheck", help="Arguments the exec healthcheck passes to the binary."),
    data_dir: str = typer.Option("/data", help="Directory each node keeps its data in (a volume per node)."),
    rust_log: str = typer.Option("info", help="RUST_LOG for the nodes."),
    build_package: List[str] = typer.Option([], "--build-package", help="Extra Debian/Alpine package for the build stage."),
    runtime_package: List[str] = typer.Option([], "--runtime-package", help="Extra package for the runtime image."),
    output_dir: Optional[Path] = typer.Option(None, help="Where to write the files. [default: the workspace root]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print unified diffs; write nothing."),
    force: bool = typer.Option(False, "--force", help="Overwrite files whose content differs."),
) -> None:
    """Write Dockerfile, .dockerignore and docker-compose.yml for a Rust project."""
    with _handled_errors():
        if not no_input:
            raise ScaffoldError("interactive questions are not available here; pass --no-input with flags for the answers")
        answers = Answers(
            package=package,
            bin=bin,
            features=tuple(f.strip() for group in features for f in group.split(",") if f.strip()),
            nodes=nodes,
            http_port=http_port,
            raft_port=raft_port,
            host_port=host_port,
            publish_address=publish_address,
            publish_raft=publish_raft,
            runtime=runtime,
            strategy=strategy,
            rust_version=rust_version,
            optimize=optimize,
            healthcheck=healthcheck,
            health_path=health_path,
            health_command=tuple(health_command.split()),
            data_dir=data_dir,
            rust_log=rust_log,
            build_packages=tuple(build_package),
            runtime_packages=tuple(runtime_package),
        )
        facts = inspect_project(path)
        plan = make_plan(facts, answers)
        files = render(plan)
        target = output_dir if output_dir is not None else facts.root
        for warning in plan.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if dry_run:
            for outcome in compare(files, target):
                typer.echo(outcome.diff if outcome.diff else f"{outcome.name}: identical")
            return
        for outcome in write_files(files, target, force=force):
            typer.echo(f"{outcome.status:>9}  {target / outcome.name}")


def facts_report(facts: ProjectFacts) -> dict:
    default = facts.default_binary
    packages = facts.system_packages(default)
    return {
        "kind": facts.kind,
        "workspace_root": str(facts.root),
        "binaries": [
            {"package": b.package, "name": b.name, "manifest": b.manifest, "required_features": list(b.required_features)}
            for b in facts.binaries
        ],
        "default_binary": {"package": default.package, "name": default.name} if default else None,
        "toolchain": asdict(facts.toolchain) if facts.toolchain else None,
        "rust_version": facts.rust_version(default),
        "lockfile": facts.lock is not None,
        "build_packages": list(packages.build),
        "runtime_packages": list(packages.runtime),
        "warnings": list(facts.warnings + packages.warnings),
    }


class _handled_errors:
    """Turn ScaffoldError into one line on stderr and an exit status; let bugs keep their traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _traceback) -> bool:
        if isinstance(error, ScaffoldError):
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2 if isinstance(error, UsageError) else 1)
        if isinstance(error, KeyboardInterrupt):
            typer.echo("interrupted; nothing was written", err=True)
            raise typer.Exit(130)
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
