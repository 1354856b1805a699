"""Which dependencies a build really uses, from the workspace's own manifests.

Cargo.lock is resolved with every feature of every member switched on, so it lists crates that a
given build never compiles. For workspace (path) packages we have the manifests and can follow the
features exactly; for registry crates we record the features requested of them, both for the build
we plan and for the everything-on resolution the lock was made with. Where the two differ, the
lock's edges out of that crate may not apply to our build. The lock is resolved for every platform
too, so the everything-on resolution (`all_features`) follows the dependencies of other targets as
well (`[target.'cfg(windows)'.dependencies] openssl = { features = ["vendored"] }`): what they ask of
a crate is a difference from our Linux build, not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UsageError
from .manifest import Dependency, Package


@dataclass(frozen=True)
class Request:
    """The features a build turns on for one package."""

    features: frozenset[str]
    default_features: bool


@dataclass
class Resolution:
    """Registry crates requested directly by the path packages a build compiles."""

    packages: set[str] = field(default_factory=set)  # names of path packages compiled
    direct: dict[str, dict[str, Request]] = field(default_factory=dict)  # package -> crate -> request
    requests: dict[str, Request] = field(default_factory=dict)  # crate -> union of what is asked of it


def resolve(packages: tuple[Package, ...], roots: dict[str, frozenset[str]], *, all_features: bool) -> Resolution:
    """Follow features from `roots` (package name -> features switched on, default features included)."""
    by_dir = {p.root: p for p in packages}
    by_name = {p.name: p for p in packages}
    enabled: dict[str, set[str]] = {}
    queue = [(name, set(features)) for name, features in roots.items()]
    result = Resolution()
    while queue:
        name, wanted = queue.pop()
        package = by_name[name]
        if all_features:
            wanted |= set(package.features) | _implicit_features(package)
        known = enabled.setdefault(name, set())
        if name in result.packages and wanted <= known:
            continue
        known |= wanted
        result.packages.add(name)
        _, active, asked = _activate(package, known, all_targets=all_features)
        for dep in active:
            features = frozenset(dep.features) | asked.get(dep.key, frozenset())
            path_package = by_dir.get(dep.path) if dep.path else None
            if path_package:
                queue.append((path_package.name, set(features) | ({"default"} if dep.default_features else set())))
            else:
                _merge(result.direct.setdefault(name, {}), dep.crate, Request(features, dep.default_features))
                _merge(result.requests, dep.crate, Request(features, dep.default_features))
    return result


def default_roots(package: Package, extra: tuple[str, ...] = ()) -> dict[str, frozenset[str]]:
    return {package.name: frozenset({"default", *extra})}


def _merge(into: dict[str, Request], crate: str, request: Request) -> None:
    old = into.get(crate)
    if old is None:
        into[crate] = request
    else:
        into[crate] = Request(old.features | request.features, old.default_features or request.default_features)


def _implicit_features(package: Package) -> set[str]:
    """Optional dependencies are features of the same name, unless `dep:name` appears in [features]."""
    named_with_dep = {v[4:] for vs in package.features.values() for v in vs if v.startswith("dep:")}
    return {d.key for d in package.dependencies if d.optional} - named_with_dep - set(package.features)


def known_features(package: Package) -> tuple[str, ...]:
    """What `--features` may name for the package, besides `default`: its [features] and optional dependencies."""
    return tuple(sorted({*package.features, *_implicit_features(package)} - {"default"}))


def check_features(package: Package, features: tuple[str, ...]) -> None:
    """Every `--features` value names a feature of the package (or `dep/feature` of one of its dependencies):
    Cargo would otherwise fail in the middle of the image build."""
    known = ["default", *known_features(package)]
    dependencies = {d.key for d in package.dependencies if d.kind != "dev"}
    for feature in features:
        dep_key, slash, _ = feature.partition("/")
        if (dep_key.removesuffix("?") in dependencies) if slash else feature in known:
            continue
        what = f"{dep_key} is not a dependency of package {package.name}" if slash else "no such feature"
        listed = [f for f in known if f != "default"]
        have = f"package {package.name} has: {', '.join(listed)}" if listed else f"package {package.name} has no features"
        raise UsageError(f"--features {feature}: {what}; {have}")


def enabled_features(package: Package, wanted: set[str]) -> set[str]:
    """The package's features switched on by `wanted` (implicit features of optional dependencies included)."""
    return _activate(package, wanted)[0]


def _activate(package: Package, wanted: set[str], *, all_targets: bool = False
              ) -> tuple[set[str], list[Dependency], dict[str, frozenset[str]]]:
    """Cargo's feature rules for one package: features on, dependencies enabled, features asked of them
    (of the Linux dependencies, or with `all_targets` of every platform's)."""
    deps = [d for d in package.dependencies if d.kind != "dev" and (d.on_linux or all_targets)]
    by_key = {d.key: d for d in deps}
    implicit = _implicit_features(package)
    on: set[str] = set()
    turned_on: set[str] = set()
    asked: dict[str, set[str]] = {}
    conditional: list[tuple[str, str]] = []
    pending = [f for f in wanted if f in package.features or f in by_key]
    while pending:
        feature = pending.pop()
        if feature in on:
            continue
        on.add(feature)
        if feature not in package.features:
            if feature in implicit:
                turned_on.add(feature)
            continue
        for item in package.features[feature]:
            if item.startswith("dep:"):
                turned_on.add(item[4:])
            elif "/" in item:
                dep_key, dep_feature = item.split("/", 1)
                if dep_key.endswith("?"):
                    conditional.append((dep_key[:-1], dep_feature))
                elif dep_key in by_key:
                    turned_on.add(dep_key)
                    asked.setdefault(dep_key, set()).add(dep_feature)
                else:
                    pending.append(dep_key)
            else:
                pending.append(item)
    active_keys = {d.key for d in deps if not d.optional} | (turned_on & set(by_key))
    for dep_key, dep_feature in conditional:
        if dep_key in active_keys:
            asked.setdefault(dep_key, set()).add(dep_feature)
    active = [d for d in deps if d.key in active_keys]
    return on, active, {k: frozenset(v) for k, v in asked.items()}

