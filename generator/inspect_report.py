"""What `scaffold inspect` prints: the facts as data (`--json`) and as a report a person reads.

Both say the same things: the binaries and why the default is the one `init` takes, the features
`--features` may name, the toolchain and the Rust release `init` will build with, the system packages
with the crate that needs each, and the warnings. The JSON keeps its first keys and adds the rest.
"""

from __future__ import annotations

from dataclasses import asdict

from . import lockcompat
from .choices import default_rust_version, rust_version_reason
from .features import known_features
from .inspect import ProjectFacts
from .plan_toolchain import cargo_runs


def report_data(facts: ProjectFacts) -> dict:
    default = facts.default_binary
    packages = facts.system_packages(default)
    with_binaries = dict.fromkeys(b.package for b in facts.binaries)
    features = {}
    for name in with_binaries:
        package = facts.workspace.package(name)
        if package is not None:
            features[name] = {"known": list(known_features(package)), "default": list(package.features.get("default", ()))}
    runs = cargo_runs(facts.toolchain, default_rust_version(facts, default), None) if default else None
    lock_notes = lockcompat.lock_warnings(facts.lock, *runs) if runs else []
    return {
        "kind": facts.kind,
        "workspace_root": str(facts.root),
        "binaries": [
            {"package": b.package, "name": b.name, "manifest": b.manifest, "required_features": list(b.required_features),
             "builds_by_default": b.builds_by_default}
            for b in facts.binaries
        ],
        "default_binary": {"package": default.package, "name": default.name} if default else None,
        "default_binary_reason": facts.default_reason,
        "features": features,
        "toolchain": asdict(facts.toolchain) if facts.toolchain else None,
        "rust_version": facts.rust_version(default),
        "init_rust_version": default_rust_version(facts, default) if default else None,
        "init_rust_version_reason": rust_version_reason(facts, default) if default else None,
        "lockfile": facts.lock is not None,
        "build_packages": list(packages.build),
        "runtime_packages": list(packages.runtime),
        "package_reasons": {name: packages.why(name) for name in (*packages.build, *packages.runtime)},
        "warnings": list(dict.fromkeys((*facts.warnings, *packages.warnings, *lock_notes))),
    }


def report_lines(facts: ProjectFacts) -> list[str]:
    data = report_data(facts)
    default = data["default_binary"]
    lines = [f"project:    {facts.kind} at {facts.root} ({'with' if data['lockfile'] else 'no'} Cargo.lock)"]
    lines.append("binaries:" if facts.binaries else "binaries:   none")
    for binary in data["binaries"]:
        mark = "*" if default and (binary["package"], binary["name"]) == (default["package"], default["name"]) else " "
        needs = f", needs --features {','.join(binary['required_features'])}" if not binary["builds_by_default"] else ""
        lines.append(f"  {mark} {binary['name']} (package {binary['package']}, {binary['manifest']}{needs})")
    if default:
        lines.append(f"default:    {default['name']}: {data['default_binary_reason']}")
    elif facts.binaries:
        lines.append(f"default:    none: {data['default_binary_reason']}")
    for package, known in data["features"].items():
        listed = ", ".join(known["known"]) or "none"
        on = f" (default: {', '.join(known['default'])})" if known["default"] else ""
        lines.append(f"features:   {package}: {listed}{on}")
    toolchain = data["toolchain"]
    pinned = f"{toolchain['file']} ({toolchain['channel'] or 'no channel'})" if toolchain else "no toolchain file"
    lines.append(f"toolchain:  {pinned}")
    if data["init_rust_version"]:
        lines.append(f"rust:       init builds with Rust {data['init_rust_version']} ({data['init_rust_version_reason']})")
    for stage in ("build", "runtime"):
        names = data[f"{stage}_packages"]
        lines.append(f"{stage} packages:" + ("" if names else " none"))
        lines += [f"  {name}: needed by {data['package_reasons'][name]}" for name in names]
    lines += [f"warning:    {warning}" for warning in data["warnings"]]
    if facts.binaries and not default:
        lines.append(f"next:       scaffold init {facts.root} --bin NAME (several binaries, none the default)")
    elif default:
        lines.append(f"next:       scaffold init {facts.root}")
    return lines
