"""The command line. Reads top-down as the pipeline: inspect -> plan -> render -> write."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .answersfile import (
    Layer,
    Resolution,
    answer_values,
    answers_toml,
    data_layer,
    read_answers_file,
    resolve,
    user_defaults_layer,
)
from .errors import ScaffoldError, UsageError
from .inspect import ProjectFacts, inspect_project, require_application
from .plan import make_plan
from .questions import BUILTIN, json_schema
from .render import RenderedFile, render
from .state import ANSWERS_NAME, answers_path, record_generated, same_template_set, stored_template, template_record
from .templateset import TemplateSet, export_builtin, load_template_set
from .write import compare, write_files, write_if_changed

templates_app = typer.Typer(no_args_is_help=True, help="Work with template sets.")
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


app.add_typer(templates_app, name="templates")


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
    ctx: typer.Context,
    path: Path = typer.Argument(Path("."), help="The crate or workspace folder."),
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing: take every answer from flags, --data, --answers and defaults."),
    answers_file: Optional[Path] = typer.Option(None, "--answers", help="Replay an answers file (such as .scaffold/answers.toml)."),
    data: List[str] = typer.Option([], "--data", help="One answer as KEY=VALUE (repeatable); see `scaffold schema` for the keys."),
    template: Optional[Path] = typer.Option(None, "--template", help="Template set folder. [default: the built-in set]"),
    package: Optional[str] = typer.Option(None, help="Package that holds the binary (workspaces)."),
    bin: Optional[str] = typer.Option(None, "--bin", help="Binary to build and run."),
    features: List[str] = typer.Option([], "--features", help="Cargo features to enable (repeat or comma-separate)."),
    nodes: int = typer.Option(3, help="Cluster size in docker-compose.yml."),
    http_port: int = typer.Option(8080, help="HTTP port the application listens on."),
    raft_port: int = typer.Option(9000, help="Port the nodes talk to each other on."),
    host_port: Optional[int] = typer.Option(None, help="First published host port; node i gets HOST_PORT+i. [default: --http-port]"),
    publish_address: str = typer.Option("127.0.0.1", help="Host address ports are published on (0.0.0.0 for every interface)."),
    publish_raft: bool = typer.Option(False, "--publish-raft/--no-publish-raft", help="Also publish the Raft ports on the host."),
    runtime: str = typer.Option("debian-slim", help="Runtime image: debian-slim, distroless, alpine or scratch."),
    strategy: str = typer.Option("cache-mount", help="Dependency caching: cache-mount (target/ in a BuildKit cache) or skeleton (a dependency layer CI caches can export)."),
    rust_version: Optional[str] = typer.Option(None, help="Rust release for the build image. [default: toolchain file, else MSRV or 1.95]"),
    optimize: str = typer.Option("strip", help="Release profile tuning: strip, speed, size or as-is."),
    healthcheck: Optional[str] = typer.Option(None, help="http, exec or none. [default: http where the image can make a request]"),
    health_path: str = typer.Option("/health", help="Path the http healthcheck requests."),
    health_command: str = typer.Option("healthcheck", help="Arguments the exec healthcheck passes to the binary."),
    data_dir: str = typer.Option("/data", help="Directory each node keeps its data in (a volume per node)."),
    read_only: bool = typer.Option(True, "--read-only/--writable-root", help="Read-only root filesystem for the nodes (they write to their data volume and /tmp)."),
    rust_log: str = typer.Option("info", help="RUST_LOG for the nodes."),
    build_package: List[str] = typer.Option([], "--build-package", help="Extra Debian/Alpine package for the build stage."),
    runtime_package: List[str] = typer.Option([], "--runtime-package", help="Extra package for the runtime image."),
    output_dir: Optional[Path] = typer.Option(None, help="Where to write the files. [default: the workspace root]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print unified diffs; write nothing."),
    force: bool = typer.Option(False, "--force", help="Overwrite files whose content differs."),
) -> None:
    """Write Dockerfile, .dockerignore and docker-compose.yml for a Rust project (asks on a terminal)."""
    with _handled_errors():
        if not no_input and not _on_terminal():
            raise ScaffoldError(
                "no terminal to ask questions on; pass --no-input and give the answers as flags, --data KEY=VALUE or --answers FILE"
            )
        template_set = load_template_set(template)
        questions = template_set.questions
        facts = inspect_project(path)
        require_application(facts)
        target = output_dir if output_dir is not None else facts.root
        layers = [_flags_layer(ctx), data_layer(data, questions)]
        if answers_file is not None:
            stored = read_answers_file(answers_file, questions)
            _warn(stored.warnings)
            layers.append(stored.layer)
        layers.append(user_defaults_layer(questions))
        if no_input:
            resolution = resolve(questions, layers, facts)
        else:
            from .prompt import Wizard  # questionary loads slowly; only the wizard needs it

            wizard = Wizard()
            resolution = resolve(questions, layers, facts, ask=wizard.ask, ask_binary=wizard.ask_binary)
        files, answers_text = _generate(template_set, facts, resolution, target)
        if dry_run:
            for outcome in compare([*files, answers_text], target):
                typer.echo(outcome.diff if outcome.diff else f"{outcome.name}: identical")
            return
        outcomes = write_files(files, target, force=force)
        record_generated(files, target)
        answers_status = write_if_changed(target / answers_text.name, answers_text.content)
        for outcome in outcomes:
            typer.echo(f"{outcome.status:>9}  {target / outcome.name}")
        typer.echo(f"{answers_status:>9}  {target / answers_text.name}")


@app.command("update")
def update_command(
    path: Path = typer.Argument(Path("."), help="The crate or workspace folder."),
    data: List[str] = typer.Option([], "--data", help="Change one answer as KEY=VALUE (repeatable)."),
    template: Optional[Path] = typer.Option(None, "--template", help="Switch to this template set folder."),
    output_dir: Optional[Path] = typer.Option(None, help="Where the files are. [default: the workspace root]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing."),
) -> None:
    """Re-render from .scaffold/answers.toml and merge into the files, keeping your edits."""
    with _handled_errors():
        from .update import apply_update, overwrite, plan_update, skip  # merge3 loads only here

        facts = inspect_project(path)
        target = output_dir if output_dir is not None else facts.root
        stored_path = answers_path(target)
        if not stored_path.is_file():
            raise ScaffoldError(f"{stored_path}: no answers file; run `scaffold init` first")
        template_set = load_template_set(template if template is not None else stored_template(stored_path))
        questions = template_set.questions
        stored = read_answers_file(stored_path, questions)
        _warn(stored.warnings)
        same_set = same_template_set(stored.template, stored_path, template_set)
        if stored.template_version not in (None, template_set.version) and same_set:
            typer.echo(f"template set {template_set.name}: {stored.template_version} -> {template_set.version}")
        layers = [data_layer(data, questions), stored.layer, user_defaults_layer(questions)]
        resolution = resolve(questions, layers, facts)
        files, answers_text = _generate(template_set, facts, resolution, target)
        results = plan_update(files, target)
        if dry_run:
            for result in results:
                typer.echo(result.diff if result.changes_file else f"{result.name}: {result.status}")
            return
        if _on_terminal() and any(r.conflicts for r in results):
            from .prompt import Wizard

            wizard = Wizard()
            choices = {r.name: wizard.resolve_conflict(r) for r in results if r.conflicts}
            results = [overwrite(r) if choices.get(r.name) == "overwrite" else skip(r) if choices.get(r.name) == "skip" else r for r in results]
        apply_update(results, target)
        answers_status = write_if_changed(target / answers_text.name, answers_text.content)
        for result in results:
            typer.echo(f"{result.status:>11}  {target / result.name}")
        typer.echo(f"{answers_status:>11}  {target / answers_text.name}")
        conflicted = [r for r in results if r.conflicts]
        if conflicted:
            typer.echo(
                f"error: {', '.join(r.name for r in conflicted)}: conflicts between your edits and the new render are marked "
                "with <<<<<<< and >>>>>>>; resolve them and remove the markers",
                err=True,
            )
            raise typer.Exit(1)


@app.command("check")
def check_command(
    path: Path = typer.Argument(Path("."), help="A folder with a Dockerfile, .dockerignore and compose file, or one of them."),
    ignore: List[str] = typer.Option([], "--ignore", metavar="CODE", help="Waive a rule, e.g. SC305 (repeat or comma-separate; waivable rules only)."),
    strict: bool = typer.Option(False, "--strict", help="Fail when a validator (hadolint, BuildKit's parser, Compose v2) is missing or cannot run."),
) -> None:
    """Check existing container files (generated or hand-written): lint, parse, and security rules."""
    with _handled_errors():
        from .check import check, exit_status, format_report  # the validators load only here

        report = check(path, ignore, strict)
        typer.echo(format_report(report))
        raise typer.Exit(exit_status(report.findings))


@app.command("schema")
def schema_command(
    template: Optional[Path] = typer.Option(None, "--template", help="Template set folder. [default: the built-in set]"),
) -> None:
    """Print the JSON Schema of the answers (built-in questions and the template set's own)."""
    with _handled_errors():
        typer.echo(json.dumps(json_schema(load_template_set(template).questions), indent=2))


@templates_app.command("export")
def templates_export_command(directory: Path = typer.Argument(..., help="A new or empty folder.")) -> None:
    """Write the built-in template set to DIRECTORY, to customize and use with --template."""
    with _handled_errors():
        for written in export_builtin(directory):
            typer.echo(f"      new  {written}")


def _flags_layer(ctx: typer.Context) -> Layer:
    """The answers given as flags on this command line (not typer's defaults: those come last)."""
    values = {}
    for question in (q for q in BUILTIN if q.flag):
        parameter = question.flag.removeprefix("--").replace("-", "_")  # typer's name for the option
        # By name: typer ships its own copy of click, so click's enum may not be the one it uses.
        if getattr(ctx.get_parameter_source(parameter), "name", None) not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        value = ctx.params[parameter]
        if parameter == "features":
            value = tuple(f.strip() for group in value for f in group.split(",") if f.strip())
        elif parameter == "health_command":
            value = tuple(value.split())
        elif isinstance(value, list):
            value = tuple(value)
        values[question.name] = value
    return Layer("flags", values)


def _generate(template_set: TemplateSet, facts: ProjectFacts, resolution: Resolution, target: Path) -> tuple[list[RenderedFile], RenderedFile]:
    """The plan, the rendered files and the answers file that records how they were made."""
    plan = make_plan(facts, resolution.answers)
    _warn((*plan.warnings, *resolution.warnings))
    files = render(plan, template_set, resolution.answers.custom_answers)
    values = answer_values(resolution.answers, template_set.questions)
    text = answers_toml(values, template_record(template_set, answers_path(target)), template_set.version)
    return files, RenderedFile(ANSWERS_NAME, text)


def _on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _warn(warnings) -> None:
    for warning in dict.fromkeys(warnings):
        typer.echo(f"warning: {warning}", err=True)


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
