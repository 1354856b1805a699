"""Waivers: a project accepting the risk of one rule, by flag (`--ignore SC305`) or by a comment in the file.

The comment is a whole line anywhere in a Dockerfile, compose file or .dockerignore (all three read
`#` lines as comments; in a Dockerfile, after any `# syntax=` directive, which must come first):

    # scaffold-check: ignore=SC305 reason="published on every interface on purpose"

It waives the rules it names (comma-separated) for the findings of checking that file, a
Dockerfile's missing ignore file (SC200) included; the reason is optional and shown in the summary.
Only rules registered as waivable can be waived, and any other code is refused: a typo must not
quietly waive nothing, and a file that does not parse is never accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .check_rules import RULES, Finding, rule_of
from .errors import ScaffoldError, UsageError, where

_COMMENT = re.compile(r"^\s*#\s*scaffold-check:(?P<body>.*)$")
_BODY = re.compile(r'^\s*ignore=(?P<codes>[^\s"]+)(?:\s+reason=(?P<reason>"(?:[^"\\]|\\.)*"))?\s*$')
_OWN_CODE = re.compile(r"SC\d{3}")
_TOOL_CODE = re.compile(r"[A-Za-z0-9_-]+")
# Characters json.dumps leaves as they are that would end the comment's line or are not allowed in YAML.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Waiver:
    code: str  # a waivable rule (SC305), a tool's entry (hadolint: all its findings) or one tool code (hadolint:DL3008)
    source: str  # "--ignore", or the file:line of the comment
    reason: str | None = None

    def covers(self, finding: Finding) -> bool:
        return finding.rule == self.code or rule_of(finding.rule).code == self.code


def waivable() -> str:
    """The codes a waiver may name, as a user reads them."""
    return ", ".join(code if _OWN_CODE.fullmatch(code) else f"{code} or {code}:CODE" for code, rule in RULES.items() if rule.waivable)


def _problem(code: str) -> str | None:
    """Why `code` cannot be waived, or None."""
    entry, colon, tool_code = code.partition(":")
    rule = RULES.get(entry)
    if rule is None or (colon and (_OWN_CODE.fullmatch(entry) or not _TOOL_CODE.fullmatch(tool_code))):
        return f"{code}: no such rule; waivable: {waivable()}"
    if not rule.waivable:
        return f"{code} cannot be waived (a file that does not parse or a check that did not run is never accepted); waivable: {waivable()}"
    return None


def flag_waivers(values: Iterable[str]) -> tuple[Waiver, ...]:
    """The waivers of `--ignore` (repeatable, comma-separated); a bad code is a usage error."""
    waivers = []
    for value in values:
        for code in value.split(","):
            code = code.strip()
            problem = _problem(code) if code else "give a rule code such as SC305"
            if problem:
                raise UsageError(f"--ignore {problem}")
            waivers.append(Waiver(code, "--ignore"))
    return tuple(waivers)


def file_waivers(path: Path, text: str) -> tuple[Waiver, ...]:
    """The waiver comments in a file's text; a malformed one or a bad code is the file's problem (exit 1)."""
    waivers = []
    for number, line in enumerate(text.splitlines(), 1):
        comment = _COMMENT.match(line)
        if comment is None:
            continue
        source = where(path, number)
        body = _BODY.match(comment["body"])
        try:
            reason = json.loads(body["reason"]) if body and body["reason"] else None
        except ValueError:
            body = None
        if body is None:
            raise ScaffoldError(f"{source}: not a waiver scaffold can read; write it as {waiver_comment('SC305', 'why')}")
        for code in body["codes"].split(","):
            problem = _problem(code)
            if problem:
                raise ScaffoldError(f"{source}: waiver {problem}")
            waivers.append(Waiver(code, source, reason))
    return tuple(waivers)


def waiver_comment(code: str, reason: str | None = None) -> str:
    """The comment line that waives `code` in the file it is written into (for `init`, when a choice breaks a rule).

    The reason is JSON-quoted, so any text stays on the one line and reads back unchanged.
    """
    problem = _problem(code)
    if problem:
        raise ValueError(problem)
    if not reason:
        return f"# scaffold-check: ignore={code}"
    quoted = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(reason, ensure_ascii=False))
    return f"# scaffold-check: ignore={code} reason={quoted}"
