"""One pod template for every node: the run contract's per-node values as Kubernetes dependent variables.

A StatefulSet has one pod template, so a value may vary between pods only through what each pod
knows about itself: its name (`$(POD_NAME)`) and its ordinal (`$(POD_INDEX)`, which the ordinals
start makes the node id). The contract is rendered per node as usual, and each value is matched
against every node: the fewest substitutions of the node's own name and id that reproduce all
nodes' values win; a value no substitution reproduces (the other nodes' addresses) is refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

POD_NAME = "POD_NAME"
POD_INDEX = "POD_INDEX"
_MAX_CHOICES = 10  # occurrences tried in every combination; past that only all or none


@dataclass(frozen=True)
class Part:
    """Literal text, or a reference to one of the pod's own variables (then `text` is empty)."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Pod:
    name: str  # the pod's name, `<statefulset>-<ordinal>`
    ordinal: int  # the node id


def express(values: Sequence[str], pods: Sequence[Pod]) -> tuple[Part, ...] | None:
    """Parts that read back as values[i] in pods[i] for every i, or None when no substitution does."""
    first, pod = values[0], pods[0]
    spans = _occurrences(first, pod)
    choices = range(len(spans) + 1) if len(spans) <= _MAX_CHOICES else (0, len(spans))
    for count in choices:
        for chosen in itertools.combinations(spans, count) if len(spans) <= _MAX_CHOICES else [spans[:count]]:
            parts = _parts(first, chosen)
            if all(expand(parts, other) == value for value, other in zip(values, pods, strict=True)):
                return parts
    return None


def expand(parts: Sequence[Part], pod: Pod) -> str:
    """What Kubernetes makes of the parts in this pod."""
    own = {POD_NAME: pod.name, POD_INDEX: str(pod.ordinal)}
    return "".join(own[p.ref] if p.ref else p.text for p in parts)


def _occurrences(text: str, pod: Pod) -> list[tuple[int, int, str]]:
    """Where the pod's name, and outside it its ordinal as a whole number, appear: (start, end, variable)."""
    found = [(m.start(), m.end(), POD_NAME) for m in re.finditer(re.escape(pod.name) + r"(?![0-9])", text)]
    taken = [range(start, end) for start, end, _ in found]
    for m in re.finditer(rf"(?<![0-9]){pod.ordinal}(?![0-9])", text):
        if not any(m.start() in span for span in taken):
            found.append((m.start(), m.end(), POD_INDEX))
    return sorted(found)


def _parts(text: str, chosen: Sequence[tuple[int, int, str]]) -> tuple[Part, ...]:
    parts, at = [], 0
    for start, end, ref in chosen:
        if start > at:
            parts.append(Part(text[at:start]))
        parts.append(Part("", ref))
        at = end
    if at < len(text) or not parts:
        parts.append(Part(text[at:]))
    return tuple(parts)
