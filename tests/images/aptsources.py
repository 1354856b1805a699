"""The Debian sources the test images use: the host's own bookworm mirror, laid out like the official image's."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def _parse_one_line(text: str) -> list[AptSource]:
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        parts = line.split()[1:]
        if parts and parts[0].startswith("["):
            while parts and not parts[0].endswith("]"):
                parts.pop(0)
            parts.pop(0)
        if len(parts) >= 3:
            out.append(AptSource(parts[0], (parts[1],), tuple(parts[2:])))
    return out


def _parse_deb822(text: str) -> list[AptSource]:
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append(
                AptSource(
                    uri,
                    tuple(fields.get("suites", "").split()),
                    tuple(fields.get("components", "").split()),
                )
            )
    return out


def host_debian_sources() -> list[AptSource]:
    """The host's Debian bookworm sources (other vendors' repositories skipped)."""
    sources: list[AptSource] = []
    etc = Path("/etc/apt")
    if (etc / "sources.list").exists():
        sources += _parse_one_line((etc / "sources.list").read_text())
    d = etc / "sources.list.d"
    if d.is_dir():
        for p in sorted(d.iterdir()):
            if p.suffix == ".list":
                sources += _parse_one_line(p.read_text())
            elif p.suffix == ".sources":
                sources += _parse_deb822(p.read_text())
    keep = []
    for s in sources:
        suites = tuple(x for x in s.suites if x == SUITE or x.startswith(SUITE + "-") or x.startswith(SUITE + "/"))
        if suites and "main" in s.components:
            keep.append(AptSource(s.uri.rstrip("/"), suites, ("main",)))
    return keep


def debian_mirrors() -> tuple[str, str]:
    """(main mirror, security mirror) as used by the host's apt."""
    main = os.environ.get("SCAFFOLD_DEBIAN_MIRROR")
    security = os.environ.get("SCAFFOLD_DEBIAN_SECURITY_MIRROR")
    for s in host_debian_sources():
        if main is None and SUITE in s.suites:
            main = s.uri
        if security is None and any(x.startswith(SUITE + "-security") or x.startswith(SUITE + "/updates") for x in s.suites):
            security = s.uri
    return (main or DEFAULT_MIRROR, security or DEFAULT_SECURITY_MIRROR)


def image_sources_file(main: str, security: str) -> str:
    """deb822 sources, laid out like the official debian image's debian.sources."""
    return (
        "Types: deb\n"
        f"URIs: {main}\n"
        f"Suites: {SUITE} {SUITE}-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        "\n"
        "Types: deb\n"
        f"URIs: {security}\n"
        f"Suites: {SUITE}-security\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


# The official debian slim images ship these two files (docker-clean and the
# dpkg path excludes that make them "slim").
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""
APT_DOCKER_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
