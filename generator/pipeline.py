"""The pipeline as one library call: inspect -> resolve answers -> plan -> render, then save.

`init`, `update` and `plan` all run `generate`; they differ only in the answer layers they pass
(flags, `--data`, an answers file, the user's defaults) and in what they do with the result:
`init` saves it (`save`), `update` merges it into the files there (`merge`, `save_merged`),
`plan` prints the plan. The command line parses, calls these and prints; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .answers import CustomValue
from .answersfile import (
    Asker,
    BinaryAsker,
    Layer,
    StoredAnswers,
    answer_values,
    answers_toml,
    last_answers_path,
    read_answers_file,
    resolve,
    user_defaults_layer,
)
from .errors import ScaffoldError
from .inspect import ProjectFacts, inspect_project, require_application
from .plan import BuildPlan, make_plan
from .render import RenderedFile, render
from .state import ANSWERS_NAME, answers_path, record_generated, same_template_set, stored_template, template_record
from .templateset import TemplateSet, load_template_set
from .write import FileOutcome, atomic_write, compare, write_files, write_if_changed

if TYPE_CHECKING:
    from .update import MergeResult


@dataclass(frozen=True)
class Project:
    """The project inspected, and where its generated files go."""

    facts: ProjectFacts
    target: Path


@dataclass(frozen=True)
class Generated:
    """A generate run's result: the plan, the rendered files and the answers file, not yet written."""

    project: Project
    plan: BuildPlan
    files: tuple[RenderedFile, ...]
    answers_file: RenderedFile  # .scaffold/answers.toml: how the files were made
    warnings: tuple[str, ...]
    notes: tuple[str, ...]  # why a default was chosen from the project (the healthcheck kind)
    dropped: tuple[str, ...] = ()  # files of the chosen targets this plan does not write (their `when` is unset)


@dataclass(frozen=True)
class Stored:
    """What `update` starts from: the answers file of the last run and the template set it names."""

    template_set: TemplateSet
    answers: StoredAnswers
    version_change: str | None  # "template set NAME: OLD -> NEW" when the same set has a new version


def open_project(path: Path, output_dir: Path | None = None) -> Project:
    """The project at `path`, which must have a binary to run; its files go to `output_dir` or its root."""
    facts = inspect_project(path)
    require_application(facts)
    return Project(facts, output_dir if output_dir is not None else facts.root)


def generate(
    project: Project,
    template_set: TemplateSet,
    layers: Sequence[Layer],
    ask: Asker | None = None,
    ask_binary: BinaryAsker | None = None,
) -> Generated:
    """Resolve the answers from `layers` (highest first, then the user's defaults), plan and render."""
    questions = template_set.questions
    defaults, defaults_warnings = user_defaults_layer(questions)
    resolution = resolve(questions, [*layers, defaults], project.facts, ask=ask, ask_binary=ask_binary)
    plan = make_plan(project.facts, resolution.answers, template_set.files, project.target)
    files = render(plan, template_set, resolution.answers.custom_answers)
    values = answer_values(resolution.answers, questions)
    text = answers_toml(values, template_record(template_set, answers_path(project.target)), template_set.version)
    answers_file = RenderedFile(ANSWERS_NAME, text)
    warnings = tuple(dict.fromkeys((*defaults_warnings, *plan.warnings, *resolution.warnings)))
    dropped = tuple(f.path for f in template_set.files if f.rendered_for(plan.targets) and not f.written_for(plan))
    return Generated(project, plan, tuple(files), answers_file, warnings, resolution.notes, dropped)


def preview(generated: Generated) -> list[FileOutcome]:
    """What saving would do to each file, the answers file included, with diffs; writes nothing."""
    return compare([*generated.files, generated.answers_file], generated.project.target)


def save(generated: Generated, force: bool, skip: Collection[str] = (), consented: Collection[str] = ()) -> list[tuple[str, Path]]:
    """Write the files (refusing to overwrite edited ones unless forced or `consented`), their base copies and
    the answers file. Files named in `skip` (the wizard's "keep mine") are left as they are, with no base copy.
    """
    target = generated.project.target
    files = [f for f in generated.files if f.name not in skip]
    outcomes = write_files(files, target, force=force, consented=consented)
    record_generated(files, target)
    answers_status = write_if_changed(target / generated.answers_file.name, generated.answers_file.content)
    return [(o.status, target / o.name) for o in outcomes] + [(answers_status, target / generated.answers_file.name)]


def keep_answers(template_set: TemplateSet, values: Mapping[str, CustomValue]) -> Path:
    """Keep a run's answers outside the project (the user's state folder), for `init --answers` to resume from."""
    path = last_answers_path()
    atomic_write(path, answers_toml(values, template_record(template_set, path), template_set.version))
    return path


def stored(project: Project, template: Path | None) -> Stored:
    """The answers file `update` starts from, and its template set (or `template`, to switch sets)."""
    stored_path = answers_path(project.target)
    if not stored_path.is_file():
        raise ScaffoldError(f"{stored_path}: no answers file; run `scaffold init` first")
    template_set = load_template_set(template if template is not None else stored_template(stored_path))
    answers = read_answers_file(stored_path, template_set.questions)
    change = None
    same_set = same_template_set(answers.template, stored_path, template_set)
    if answers.template_version not in (None, template_set.version) and same_set:
        change = f"template set {template_set.name}: {answers.template_version} -> {template_set.version}"
    return Stored(template_set, answers, change)


def merge(generated: Generated) -> list[MergeResult]:
    """Each new render merged three ways into the file there; writes nothing."""
    from .update import plan_update  # merge3 loads only here

    return plan_update(list(generated.files), generated.project.target, generated.dropped)


def save_merged(generated: Generated, results: Sequence[MergeResult]) -> list[tuple[str, Path]]:
    from .update import apply_update

    target = generated.project.target
    apply_update(list(results), target)
    answers_status = write_if_changed(target / generated.answers_file.name, generated.answers_file.content)
    return [(r.status, target / r.name) for r in results] + [(answers_status, target / generated.answers_file.name)]


def answers_file_layer(path: Path, template_set: TemplateSet) -> tuple[Layer, tuple[str, ...]]:
    """An answers file given with --answers, as a layer, and its warnings."""
    answers = read_answers_file(path, template_set.questions)
    return answers.layer, answers.warnings
