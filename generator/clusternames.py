"""What an orchestrator accepts as a name, an image reference or a size, and how a binary's name becomes one.

Kubernetes names objects with DNS-1123 labels (a Service's must also start with a letter), and a
StatefulSet's pods are `<name>-<ordinal>` while its revision label is `<name>-<hash>`, so the name
must leave room for both. A binary name that does not fit is mapped predictably (lower case, `-`
for anything else, a letter first, cut to length) and the mapping is shown; values the user typed
that no orchestrator takes are refused with one line.
"""

from __future__ import annotations

import re

from .errors import UsageError

MAX_APP_NAME = 46  # `<name>-peers` and the revision label `<name>-<10-char hash>` fit in 63 with room for the ordinal
# Pattern texts, compiled by `re` when first used: most check flags that a run seldom gives.
_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_SUBDOMAIN = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
# Docker's reference grammar: [registry[:port]/]path[:tag][@digest], path components lower-case.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_REGISTRY = rf"(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_IMAGE = rf"^(?:{_REGISTRY}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"
_QUANTITY = r"^[0-9]+(?:\.[0-9]+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"


def app_name(binary: str) -> str:
    """The Kubernetes name for a binary: a DNS-1123 label starting with a letter, short enough for the ordinals."""
    name = re.sub(r"[^a-z0-9]+", "-", binary.lower()).strip("-") or "app"
    if not name[0].isalpha():
        name = f"app-{name}"
    return name[:MAX_APP_NAME].rstrip("-")


def check_image(reference: str) -> None:
    if len(reference) > 255 or not re.match(_IMAGE, reference):
        raise UsageError(
            f"--image {reference[:80]!r}: not an image reference; expected [registry/]name[:tag][@digest] "
            "in lower case, such as ghcr.io/me/app:1.0"
        )


def check_pull_secret(name: str) -> None:
    if not re.match(_SUBDOMAIN, name):
        raise UsageError(f"--pull-secret {name[:80]!r}: not a Kubernetes Secret name (lower-case letters, digits, - and .)")


def check_namespace(name: str) -> None:
    if not re.match(_LABEL, name):
        raise UsageError(
            f"--namespace {name[:80]!r}: not a Kubernetes namespace (a DNS-1123 label: at most 63 lower-case letters, "
            "digits and -, starting and ending with a letter or digit)"
        )


def check_storage_size(size: str) -> None:
    number = re.match(r"[0-9.]*", size).group()  # type: ignore[union-attr]  # matches the empty string at least
    if not re.match(_QUANTITY, size) or float(number or 0) == 0:
        raise UsageError(f"--storage-size {size[:80]!r}: not a storage size; expected a quantity such as 1Gi or 500Mi")
