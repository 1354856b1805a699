"""The command line: each command parses its arguments, calls the pipeline (pipeline.py) and prints."""

# ruff: noqa: E402 - the collector pauses before the imports (see _loaded)

from __future__ import annotations

import gc
import sys

# Run as the program (`scaffold`, `python -m generator.main`), not imported by another (a test's process).
_PROGRAM = __name__ == "__main__" or sys.argv[0].endswith("scaffold")
_PAUSED = _PROGRAM and gc.isenabled()
if _PAUSED:
    gc.disable()

import copy
import json
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .answersfile import Layer, data_layer
from .errors import ScaffoldError, UsageError
from .flags import answer_flags

# Each command imports what it runs (the pipeline, the renderer, the validators) when it runs.
if TYPE_CHECKING:
    from .plan import BuildPlan

if TYPE_CHECKING:
    from .update import MergeResult


def _loaded() -> None:
    """Loading the modules makes tens of thousands of objects that live as long as the program, and no garbage:
    the collector's passes over them while they load cost about a twentieth of a warm `init`. So the program
    pauses it for the load, then freezes what was loaded (no later pass walks it) and lets it run again."""
    gc.freeze()
    gc.enable()


_HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


class _PlainFlags:
    """A flag takes no value: its help shows no `<bool>` (typer shows a type for every option without a metavar)."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class _Command(_PlainFlags, TyperCommand):
    pass


class _OneLineErrors(_PlainFlags, TyperGroup):
    """A usage error (an unknown option, a value that is not one of the choices) as one `error:` line, exit 2.

    typer ships its own copy of click, so its exceptions are told apart by class name under TyperException.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            status = super().main(*args, **kwargs)
        except typer.exceptions.TyperException as exc:
            kinds = {kind.__name__ for kind in type(exc).__mro__}
            ctx = getattr(exc, "ctx", None)
            if "NoArgsIsHelpError" in kinds and ctx is not None:
                typer.echo(ctx.get_help())
                sys.exit(2)
            message = (exc.format_message() if hasattr(exc, "format_message") else str(exc)).replace("Value error, ", "")
            if "UsageError" in kinds:
                message = f"{message.rstrip('.')}; see `{ctx.command_path if ctx else 'scaffold'} -h`"
            typer.echo(f"error: {message}", err=True)
            sys.exit(2 if "UsageError" in kinds else getattr(exc, "exit_code", 1))
        except typer.Abort:
            typer.echo("interrupted; nothing was written", err=True)
            sys.exit(130)
        sys.exit(status if isinstance(status, int) else 0)


class _Scaffold(typer.Typer):
    """Builds only the command the command line names: typer converts every command's options (three
    commands carry all the answer flags) before it parses anything, and a run needs one of them."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        argv = kwargs.get("args", args[0] if args else sys.argv[1:])
        named = argv[0] if argv else None
        commands = [c for c in self.registered_commands if c.name == named]
        groups = [g for g in self.registered_groups if g.name == named]
        narrowed = copy.copy(self)
        if commands or groups:  # else help, --version, a mistyped command: the whole group
            narrowed.registered_commands, narrowed.registered_groups = commands, groups
        try:
            return typer.Typer.__call__(narrowed, *args, **kwargs)
        finally:
            # The program ends here and its memory goes with it: the collector's pass at exit need not walk
            # every object of the modules loaded.
            gc.freeze()


templates_app = typer.Typer(cls=_OneLineErrors, no_args_is_help=True, help="Work with template sets.", context_settings=_HELP_OPTIONS)
app = _Scaffold(
    cls=_OneLineErrors,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings=_HELP_OPTIONS,
    help="Generate a multi-stage Dockerfile, a .dockerignore and an N-node docker-compose.yml for a Rust project.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaffold {__version__}")
        raise typer.Exit()


app.add_typer(templates_app, name="templates")


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """scaffold: container files for Rust projects."""


@app.command("inspect", cls=_Command)
def inspect_command(
    path: Path = typer.Argument(Path("."), help="The crate or workspace folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the facts as JSON."),
) -> None:
    """Print what scaffold found in a Rust project."""
    with _handled_errors():
        from .inspect import inspect_project
        from .inspect_report import report_data, report_lines

        facts = inspect_project(path)
        if as_json:
            typer.echo(json.dumps(report_data(facts), indent=2))
        else:
            for line in report_lines(facts):
                typer.echo(line)


_PATH = typer.Argument(Path("."), help="The crate or workspace folder.")
_DATA = typer.Option([], "--data", help="One answer as KEY=VALUE (repeatable); see `scaffold schema` for the keys.")
_TEMPLATE = typer.Option(None, "--template", help="Template set folder.", show_default="the built-in set")


@app.command("init", cls=_Command)
@answer_flags
def init_command(
    flags: Layer,
    path: Path = _PATH,
    no_input: bool = typer.Option(
        False, "--no-input", help="Ask nothing: take every answer from flags, --data, --answers and defaults."
    ),
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
        from . import pipeline
        from .templateset import load_template_set

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
        skip: frozenset[str] = frozenset()
        consented: frozenset[str] = frozenset()
        if no_input:
            generated = pipeline.generate(project, template_set, layers)
        else:
            from . import wizard  # questionary loads slowly; only the wizard needs it
            from .prompt import Wizard

            confirmed = wizard.run(project, template_set, layers, Wizard(), typer.echo, force=force, dry_run=dry_run)
            generated, skip, consented = confirmed.generated, confirmed.skip, confirmed.consented
        _warn(generated.warnings)
        if dry_run:
            for outcome in pipeline.preview(generated):
                typer.echo(outcome.diff if outcome.diff else f"{outcome.name}: identical")
            return
        for status, written in pipeline.save(generated, force=force, skip=skip, consented=consented):
            typer.echo(f"{status:>9}  {written}")
        if not quiet:
            from .preflight import preflight
            from .summary import init_summary

            elsewhere = output_dir if generated.plan.context.path != "." else None
            for line in init_summary(generated.plan, generated.notes, preflight(), elsewhere):
                typer.echo(line)


@app.command("update", cls=_Command)
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
        from . import pipeline
        from .update import no_longer_generated, overwrite, skip

        project = pipeline.open_project(path, output_dir)
        stored = pipeline.stored(project, template)
        _warn(stored.answers.warnings)
        if stored.version_change:
            typer.echo(stored.version_change)
        layers = [flags, data_layer(data, stored.template_set.questions), stored.answers.layer]
        generated = pipeline.generate(project, stored.template_set, layers)
        _warn(generated.warnings)
        results = pipeline.merge(generated)
        _warn(f"{name}: no longer generated (its target is not chosen); left as it is: delete it if unused"
              for name in no_longer_generated(list(generated.files), project.target, generated.dropped))
        if dry_run:
            for result in results:
                if result.changes_file:
                    typer.echo(result.diff)
            for result in results:
                typer.echo(f"{result.status:>11}  {generated.project.target / result.name}")
            _exit_on_conflicts(results, dry_run=True)
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
        _exit_on_conflicts(results, dry_run=False)


def _exit_on_conflicts(results: list[MergeResult], dry_run: bool) -> None:
    """Exit 1 while a file holds conflict markers or an edited node file outlived its node, in a real run and in a
    dry run alike (CI runs the latter)."""
    conflicted = [r for r in results if r.conflicts and not r.removed]
    orphaned = [r for r in results if r.conflicts and r.removed]
    if conflicted:
        marked = "would be marked" if dry_run else "are marked"
        typer.echo(
            f"error: {', '.join(r.name for r in conflicted)}: conflicts between your edits and the new render {marked} "
            "with <<<<<<< and >>>>>>>; resolve them and remove the markers",
            err=True,
        )
    if orphaned:
        kept = "would be kept" if dry_run else "was kept"
        typer.echo(
            f"error: {', '.join(r.name for r in orphaned)}: no longer generated (its node or option is gone) but edited by you, so it "
            f"{kept}; delete it, then run `scaffold update` again",
            err=True,
        )
    if conflicted or orphaned:
        raise typer.Exit(1)


@app.command("plan", cls=_Command)
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
        from . import pipeline
        from .plan import as_data
        from .templateset import load_template_set

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


@app.command("check", cls=_Command)
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


@app.command("schema", cls=_Command)
def schema_command(
    template: Path | None = _TEMPLATE,
) -> None:
    """Print the JSON Schema of the answers (built-in questions and the template set's own)."""
    with _handled_errors():
        from .questions import json_schema
        from .templateset import load_template_set

        typer.echo(json.dumps(json_schema(load_template_set(template).questions), indent=2))


@templates_app.command("export", cls=_Command)
def templates_export_command(directory: Path = typer.Argument(..., help="A new or empty folder.")) -> None:
    """Write the built-in template set to DIRECTORY, to customize and use with --template."""
    with _handled_errors():
        from .templateset import export_builtin

        for written in export_builtin(directory):
            typer.echo(f"      new  {written}")


def plan_summary(plan: BuildPlan) -> list[str]:
    """A few lines a person reads: what is built, on what, and how the cluster is laid out."""
    image, cluster = plan.image, plan.cluster
    check = image.healthcheck
    health = f"{check.kind} ({' '.join(check.command[:2])} ...)" if check else "none"
    first = cluster.nodes[0]
    pod_files = plan.kubernetes.files if plan.kubernetes else None
    k8s_files = [f"{m.container_path} <- ConfigMap {pod_files.config_map} key <pod>.{m.key}" for m in pod_files.mounts] if pod_files else []
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
        *(f"node file:    {f.container_path} <- cluster/<service>/{f.path.rsplit('/', 1)[1]} (read-only)" for f in first.files),
        *(f"node file:    {line} (read-only)" for line in k8s_files),
        *([f"also built:   {', '.join(b.name for b in image.extra_binaries)}"] if image.extra_binaries else []),
        *([f"bootstrap:    {cluster.bootstrap.service} runs {' '.join(cluster.bootstrap.command)}"] if cluster.bootstrap else []),
    ]


def _on_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _warn(warnings) -> None:
    for warning in dict.fromkeys(warnings):
        typer.echo(f"warning: {warning}", err=True)


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


if _PAUSED:
    _loaded()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
