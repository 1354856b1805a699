"""`scaffold init` on a terminal: the wizard's run, from the detection banner to the confirm before writing.

Every answer is checked where it is given: the command line's before the first question, each typed
answer against the whole stack it leads to (a trial plan and render with the answers so far, the
lower layers and the defaults), so a rule spanning answers (distroless with a runtime package, a data
directory over the tmpfs) or a warning (an even node count) comes at the question that causes it.
Files that are there with other content are settled before the questions. When the run writes
nothing (a later check fails, the user declines or interrupts) the answers are kept in the user's
state folder and the command that resumes from them is printed.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Sequence

from . import pipeline
from .answers import CustomValue
from .answersfile import COMMAND_LINE, Layer
from .choices import default_rust_version, rust_version_reason
from .errors import AnswerError, ScaffoldError
from .features import known_features
from .inspect import Binary, ProjectFacts
from .pipeline import Generated, Project
from .prompt import Wizard
from .questions import Question, SoFar
from .summary import before_writing
from .templateset import BUILTIN_IDENTITY, TemplateSet
from .write import compare

Echo = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A run the user confirmed: what to write, and what they said about each file already there."""

    generated: Generated  # its warnings are the ones not shown during the questions
    skip: frozenset[str]  # keep the user's file
    consented: frozenset[str]  # overwrite the user's file


class _Session:
    """The answers given so far, and the warnings already shown; checks each answer against the whole stack."""

    def __init__(self, project: Project, template_set: TemplateSet, layers: Sequence[Layer], prompts: Wizard, echo: Echo) -> None:
        self.project, self.template_set, self.layers, self.prompts, self.echo = project, template_set, layers, prompts, echo
        self.given: dict[str, CustomValue] = {}
        self.shown: set[str] = set()
        self.order = {q.name: i for i, q in enumerate(template_set.questions)}
        self.command_line = {name for layer in layers if layer.source in COMMAND_LINE for name in layer.values}

    def trial(self, extra: dict[str, CustomValue]) -> Generated:
        layers = [Layer("wizard", {**self.given, **extra}), *self.layers]
        return pipeline.generate(self.project, self.template_set, layers, ask_binary=_keep_default)

    def show_new(self, generated: Generated) -> None:
        for line in (*(f"warning: {w}" for w in generated.warnings), *(f"note: {n}" for n in generated.notes)):
            if line not in self.shown:
                self.shown.add(line)
                self.echo(f"  {line}")

    def ask(self, question: Question, default: CustomValue | None, so_far: SoFar) -> CustomValue | None:
        offered = question.offered(self.project.facts, so_far) if question.offered is not None else ()
        if question.offered is not None and not offered and default is not None:
            return default  # nothing the project declares to choose from
        while True:
            value = self.prompts.ask(question, default, so_far, offered)
            problem, generated = self._check(question, value)
            if problem is None:
                break
            self.echo(f"  ! {problem}")
            default = value
        if value is None:  # left empty: unset
            self.given.pop(question.name, None)
        else:
            self.given[question.name] = value
        if generated is not None:
            self.show_new(generated)
        return value

    def ask_binary(self, binaries: Sequence[Binary], default: Binary | None) -> Binary:
        chosen = self.prompts.ask_binary(binaries, default)
        self.given.update(package=chosen.package, bin=chosen.name)
        return chosen

    def _check(self, question: Question, value: CustomValue | None) -> tuple[str | None, Generated | None]:
        """The problem this answer causes in the stack it leads to, if any (with the trial when there is none)."""
        try:
            return None, self.trial({question.name: value} if value is not None else {})
        except AnswerError as exc:
            later = self.order.get(exc.question, -1) > self.order[question.name]
            if later and exc.question not in self.command_line:
                return None, None  # that question is still to come, and checks itself against this answer
            problem = str(exc)
        except ScaffoldError as exc:
            problem = str(exc)
        try:
            self.trial({})
        except ScaffoldError as exc:
            if str(exc) == problem:
                return None, None  # there before this answer: not its doing (the final check reports it)
        return problem, None

    def values(self) -> dict[str, CustomValue]:
        """Everything said on this run: the command line's answers, then the wizard's."""
        said: dict[str, CustomValue] = {}
        for layer in reversed([layer for layer in self.layers if layer.source in COMMAND_LINE]):
            said.update(layer.values)
        return {**said, **self.given}


def run(
    project: Project, template_set: TemplateSet, layers: Sequence[Layer], prompts: Wizard, echo: Echo, *, force: bool, dry_run: bool
) -> Outcome:
    """Banner, files already there, questions, summary and confirm; raises ScaffoldError when nothing is to be written."""
    session = _Session(project, template_set, layers, prompts, echo)
    command_line = [layer for layer in layers if layer.source in COMMAND_LINE]
    # The command line's values (over the user's defaults), checked together before any question: it is never asked.
    first = pipeline.generate(project, template_set, command_line, ask_binary=_keep_default)
    for line in banner(project.facts):
        echo(line)
    try:
        start = session.trial({})
    except ScaffoldError:
        start = first  # an answers file or the user's defaults that do not fit: their questions say why
    session.show_new(start)
    fates = {} if dry_run else _settle_existing(start, {}, prompts, force)
    try:
        generated = pipeline.generate(project, template_set, layers, ask=session.ask, ask_binary=session.ask_binary)
    except ScaffoldError:
        echo(_kept(session, project))  # before the error line, which the command line prints
        raise
    except KeyboardInterrupt:
        if session.given:
            echo(_kept(session, project))
        raise
    if not dry_run:
        fates = _settle_existing(generated, fates, prompts, force)
    session.show_new(generated)
    if not dry_run:  # a dry run prints the diffs instead
        for line in before_writing(generated.plan, _fates(generated, fates)):
            echo(line)
        if not prompts.confirm("Write these files?"):
            raise ScaffoldError(f"nothing was written; {_kept(session, project)}")
    unshown = tuple(w for w in generated.warnings if f"warning: {w}" not in session.shown)
    return Outcome(
        dataclasses.replace(generated, warnings=unshown),
        frozenset(n for n, f in fates.items() if f == "skip"),
        frozenset(n for n, f in fates.items() if f == "overwrite"),
    )


def banner(facts: ProjectFacts) -> list[str]:
    """What was detected, before the first question: the binaries and the default's why, Rust, packages, features."""
    default = facts.default_binary
    lines = [f"scaffold found in {facts.root}:"]
    for binary in facts.binaries:
        mark = f"  (default: {facts.default_reason})" if binary == default else ""
        lines.append(f"  binary    {binary.name} (package {binary.package}){mark}")
    if default is None:
        lines.append("  binary    no clear default: you choose below")
    if default is not None:
        lines.append(f"  Rust      {default_rust_version(facts, default)} ({rust_version_reason(facts, default)})")
    packages = facts.system_packages(default)
    lines.append(f"  packages  build: {' '.join(packages.build) or 'none'}; runtime: {' '.join(packages.runtime) or 'none'}")
    package = facts.workspace.package(default.package) if default else None
    declared = known_features(package) if package else ()
    lines.append(f"  features  {', '.join(declared) or 'none declared'}")
    return lines


def _settle_existing(generated: Generated, fates: dict[str, str], prompts: Wizard, force: bool) -> dict[str, str]:
    """Ask about each file there with other content not asked about yet: overwrite (--force says yes to all) or skip."""
    settled = dict(fates)
    for outcome in compare(list(generated.files), generated.project.target):
        if outcome.status == "conflict" and outcome.name not in settled:
            settled[outcome.name] = "overwrite" if force else prompts.existing_file(outcome.name, outcome.diff)
    return settled


def _fates(generated: Generated, fates: dict[str, str]) -> list[tuple[str, str]]:
    words = {"new": "new", "identical": "identical, left alone", "conflict": "overwrite yours"}
    return [
        (o.name, "skip: keep yours" if fates.get(o.name) == "skip" else words[o.status])
        for o in compare(list(generated.files), generated.project.target)
    ]


def _kept(session: _Session, project: Project) -> str:
    path = pipeline.keep_answers(session.template_set, session.values())
    command = ["scaffold", "init", str(project.facts.root), "--answers", str(path)]
    if project.target != project.facts.root:
        command += ["--output-dir", str(project.target)]
    if session.template_set.identity != BUILTIN_IDENTITY:
        command += ["--template", str(session.template_set.root)]
    return f"your answers are kept in {path}; resume with: {shlex.join(command)}"


def _keep_default(binaries: Sequence[Binary], default: Binary | None) -> Binary:
    """A trial's binary when none was chosen yet: the one the wizard would offer first."""
    return default or binaries[0]
