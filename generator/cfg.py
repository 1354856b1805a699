"""Evaluating `cfg(...)` target expressions for the Linux containers we build."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(,)|(=)|("[^"]*")|([A-Za-z_][A-Za-z0-9_]*))')
_LINUX_FACTS = {
    "unix": True,
    "windows": False,
    ("target_os", "linux"): True,
    ("target_family", "unix"): True,
    ("target_env", "gnu"): True,
    ("target_env", "musl"): False,  # the default images are glibc; musl builds are the exception
    ("target_vendor", "unknown"): True,
}
# Keys whose value we know for every Linux target; other values of these are false.
_KNOWN_KEYS = {"target_os", "target_family", "target_vendor", "target_env"}


def applies_to_linux(spec: str) -> bool:
    """Whether a `[target.X]` table applies to a Linux build.

    Unknown predicates (architecture, pointer width, custom cfgs) count as true: it is safer to
    install a package that turns out unused than to miss one the build needs.
    """
    spec = spec.strip()
    if not spec.startswith("cfg("):
        return "linux" in spec
    tokens = [t for t in _tokens(spec[3:])]
    value, _ = _expression(tokens, 0)
    return value


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            break
        out.append(match.group(0).strip())
        pos = match.end()
    return out


def _expression(tokens: list[str], i: int) -> tuple[bool, int]:
    if i >= len(tokens):
        return True, i
    if tokens[i] == "(":
        value, i = _expression(tokens, i + 1)
        return value, i + 1  # ")"
    word = tokens[i]
    if word in ("all", "any", "not") and i + 1 < len(tokens) and tokens[i + 1] == "(":
        values, i = [], i + 2
        while i < len(tokens) and tokens[i] != ")":
            if tokens[i] == ",":
                i += 1
                continue
            value, i = _expression(tokens, i)
            values.append(value)
        i += 1
        if word == "all":
            return all(values), i
        if word == "any":
            return any(values), i
        return not (values[0] if values else True), i
    if i + 2 < len(tokens) and tokens[i + 1] == "=":
        literal = tokens[i + 2].strip('"')
        known = _LINUX_FACTS.get((word, literal))
        if known is None:
            known = False if word in _KNOWN_KEYS else True
        return known, i + 3
    return _LINUX_FACTS.get(word, True), i + 1
