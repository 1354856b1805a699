"""The command line: each command parses its arguments, calls the pipeline (pipeline.py) and prints."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Literal

import typer

from . import __version__, pipeline
from .answersfile import Layer, data_layer
from .errors import ScaffoldError, UsageError
from .flags import answer_flags
from .inspect import ProjectFacts, inspect_project
from .plan import BuildPlan, as_data
from .questions import json_schema
from .summary import init_summary
from .templateset import export_builtin, load_template_set

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


_PATH = typer.Argument(Path("."), help="The crate or workspace folder.")
_DATA = typer.Option([], "--data", help="One answer as KEY=VALUE (repeatable); see `scaffold schema` for the keys.")
_TEMPLATE = typer.Option(None, "--template", help="Template set folder.", show_default="the built-in set")


@app.command("init")
@answer_flags
def init_command(
    flags: Layer,
    path: Path = _PATH,
    no_input: bool = typer.Option(False, "--no-input", help="Ask nothing: take every answer from flags, --data, --answers and defaults."),
    answers_file: Path | None = typer.Option(None, "--answers", help="Replay an answers file (such as .scaffold/answers.toml)."),
    data: list[str] = _DATA,
    template: Path | None = _TEMPLATE,
    output_dir: Path | None = typer.Option(None, help="Where to write the files.", show_default="the workspace root"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print unified diffs; write nothing."),
    force: bool = typer.Option(False, "--force", help="Overwrite files whose content differs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only what was written, not the summary."),
) -> None:
    """Write Dockerfile, .dockerignore and docker-compose.yml for a Rust project (asks on a terminal)."""
    with _handled_errors():
        if not no_input and not _on_terminal():
            raise ScaffoldError(
                "no terminal to ask questions on; pass --no-input and give the answers as flags, --data KEY=VALUE or --answers FILE"
            )
        template_set = load_template_set(template)
        project = pipeline.open_project(path, output_dir)
        layers = [flags, data_layer(data, template_set.questions)]
        if answers_file is not None:
            layer, warnings = pipeline.answers_file_layer(answers_file, template_set)
            _warn(warnings)
            layers.append(layer)
        if no_input:
            generated = pipeline.generate(project, template_set, layers)
        else:
            from .prompt import Wizard  # questionary loads slowly; only the wizard needs it

            wizard = Wizard()
            generated = pipeline.generate(project, template_set, layers, ask=wizard.ask, ask_binary=wizard.ask_binary)
        _warn(generated.warnings)
        if dry_run:
            for outcome in pipeline.preview(generated):
                typer.echo(outcome.diff if outcome.diff else f"{outcome.name}: identical")
            return
        for status, written in pipeline.save(generated, force=force):
            typer.echo(f"{status:>9}  {written}")
        if not quiet:
            for line in init_summary(generated.plan, generated.notes):
                typer.echo(line)


@app.command("update")
@answer_flags
def update_command(
    flags: Layer,
    path: Path = _PATH,
    data: list[str] = typer.Option([], "--data", help="Change one answer as KEY=VALUE (repeatable)."),
    template: Path | None = typer.Option(None, "--template", help="Switch to this template set folder.", show_default="the one recorded"),
    output_dir: Path | None = typer.Option(None, help="Where the files are.", show_default="the workspace root"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change; write nothing."),
) -> None:
    """Re-render from .scaffold/answers.toml and merge into the files, keeping your edits; flags change answers."""
    with _handled_errors():
        from .update import overwrite, skip

        project = pipeline.open_project(path, output_dir)
        stored = pipeline.stored(project, template)
        _warn(stored.answers.warnings)
        if stored.version_change:
            typer.echo(stored.version_change)
        layers = [flags, data_layer(data, stored.template_set.questions), stored.answers.layer]
        generated = pipeline.generate(project, stored.template_set, layers)
        _warn(generated.warnings)
        results = pipeline.merge(generated)
        if dry_run:
            for result in results:
                typer.echo(result.diff if result.changes_file else f"{result.name}: {result.status}")
            return
        if _on_terminal() and any(r.conflicts for r in results):
            from .prompt import Wizard

            wizard = Wizard()
            choices = {r.name: wizard.resolve_conflict(r) for r in results if r.conflicts}
            results = [
                overwrite(r) if choices.get(r.name) == "overwrite" else skip(r) if choices.get(r.name) == "skip" else r for r in results
            ]
        for status, written in pipeline.save_merged(generated, results):
            typer.echo(f"{status:>11}  {written}")
        conflicted = [r for r in results if r.conflicts]
        if conflicted:
            typer.echo(
                f"error: {', '.join(r.name for r in conflicted)}: conflicts between your edits and the new render are marked "
                "with <<<<<<< and >>>>>>>; resolve them and remove the markers",
                err=True,
            )
            raise typer.Exit(1)


@app.command("plan")
@answer_flags
def plan_command(
    flags: Layer,
    path: Path = _PATH,
    answers_file: Path | None = typer.Option(
        None, "--answers", help="Take answers from this answers file (such as .scaffold/answers.toml)."
    ),
    data: list[str] = _DATA,
    template: Path | None = _TEMPLATE,
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON: what templates read as `plan`."),
) -> None:
    """Print the plan `init` would generate from these answers; writes nothing."""
    with _handled_errors():
        template_set = load_template_set(template)
        project = pipeline.open_project(path)
        layers = [flags, data_layer(data, template_set.questions)]
        if answers_file is not None:
            layer, warnings = pipeline.answers_file_layer(answers_file, template_set)
            _warn(warnings)
            layers.append(layer)
        generated = pipeline.generate(project, template_set, layers)
        plan = generated.plan
        if as_json:
            typer.echo(json.dumps(as_data(plan, project.facts.root), indent=2, ensure_ascii=False))
            return
        _warn(plan.warnings)
        for line in (*plan_summary(plan), *generated.notes):
            typer.echo(line)


@app.command("check")
def check_command(
    path: Path = typer.Argument(Path("."), help="A folder with a Dockerfile, .dockerignore and compose file, or one of them."),
    ignore: list[str] = typer.Option(
        [], "--ignore", metavar="CODE", help="Waive a rule, e.g. SC305 (repeat or comma-separate; waivable rules only)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail when a validator (hadolint, BuildKit's parser, Compose v2) is missing or cannot run."
    ),
) -> None:
    """Check existing container files (generated or hand-written): lint, parse, and security rules."""
    with _handled_errors():
        from .check import check, exit_status, format_report  # the validators load only here

        report = check(path, ignore, strict)
        typer.echo(format_report(report))
        raise typer.Exit(exit_status(report.findings))


@app.command("schema")
def schema_command(
    template: Path | None = _TEMPLATE,
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


def plan_summary(plan: BuildPlan) -> list[str]:
    """A few lines a person reads: what is built, on what, and how the cluster is laid out."""
    image, cluster = plan.image, plan.cluster
    check = image.healthcheck
    health = f"{check.kind} ({' '.join(check.command[:2])} ...)" if check else "none"
    first = cluster.nodes[0]
    ports = ", ".join(f"{p.address}:{p.host}->{p.container}" for p in first.ports)
    return [
        f"binary:       {plan.binary} (package {plan.package}), installed at {image.binary.path}",
        f"build:        Rust {image.toolchain.runs} on {image.builder_image} ({image.rust_version}), {image.build.strategy}, "
        f"cargo build {' '.join(image.build.cargo_args)}",
        f"packages:     build: {' '.join(image.build_packages.names) or '-'}; runtime: {' '.join(image.runtime_packages.names) or '-'}",
        f"image:        {image.tag} from {image.base_image}, user {image.user.uid}:{image.user.gid}, "
        f"ports {', '.join(f'{p.name} {p.number}' for p in image.ports)}",
        f"healthcheck:  {health}",
        f"cluster:      {len(cluster.nodes)} node(s) {first.service}..{cluster.nodes[-1].service}; {first.service} publishes {ports}",
        f"outputs:      {', '.join(plan.outputs)}",
    ]


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

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _traceback: TracebackType | None) -> Literal[False]:
        if isinstance(error, ScaffoldError):
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2 if isinstance(error, UsageError) else 1)
        if isinstance(error, KeyboardInterrupt):
            typer.echo("interrupted; nothing was written", err=True)
            raise typer.Exit(130)
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
