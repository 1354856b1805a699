"""Files the build reads that are not Rust sources or manifests, so that the build context keeps them.

rustc and Cargo read paths a .dockerignore knows nothing about: `include_str!`, `include_bytes!` and
`include!` (relative to the file that holds the macro, or to the package root through
`concat!(env!("CARGO_MANIFEST_DIR"), ...)`), `sqlx::migrate!` (a folder relative to the package root,
`migrations` by default) and a build script's `cargo:rerun-if-changed` inputs (relative to the package
root). A .dockerignore that leaves one out breaks the image build, so each such path the generated
patterns exclude is re-included exactly, with a warning: it is compiled in and ends up in the image.
Also here: git submodules that are not checked out, and dependencies that need credentials to fetch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .ignorepatterns import ignored
from .manifest import Package
from .tomlfile import load_toml
from .workspace import Workspace

# The scan is cheap on purpose: real source files are far below these caps.
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 20_000
MAX_FILES_PER_FOLDER = 2_000  # files of one folder input checked against the patterns

# Folders of a package root that `cargo build` does not compile (tests, benches, examples).
_NOT_BUILT = {"tests", "benches", "examples"}
_HEAD = re.compile(r"\b(include_str|include_bytes|include|migrate)\s*!\s*\(")
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"|r(#*)"(.*?)"\2', re.S)
_MANIFEST_DIR = re.compile(r'concat\s*!\s*\(\s*env\s*!\s*\(\s*"CARGO_MANIFEST_DIR"\s*,?\s*\)')
_RERUN = re.compile(r'cargo::?rerun-if-changed=([^"\\{}\n]+)"')
_PUBLIC_GIT_HOSTS = {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht", "gitee.com"}
_MIGRATION = re.compile(r"^[^_]+_.*\.sql$")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class BuildInput:
    """A file or folder the build reads besides the Rust sources (include_bytes! and the like)."""

    path: str  # relative to the context root, forward slashes
    folder: bool  # read as a whole folder (migrate!, rerun-if-changed on a folder)
    how: str  # "include_str!", "include_bytes!", "include!", "sqlx::migrate!" or "rerun-if-changed"
    found_at: str  # file:line of the macro or the print, relative to the context root
    package: str  # the package whose source reads it

    @property
    def compiled_in(self) -> bool:
        """A build script's input is only read by it; the macros put the file's content into the binary."""
        return self.how != "rerun-if-changed"


@dataclass(frozen=True)
class BuildInputs:
    """What the members' sources read, found by scanning them."""

    inputs: tuple[BuildInput, ...]
    warnings: tuple[str, ...]  # paths outside the context, a scan cut short

    def only(self, packages: Collection[str]) -> BuildInputs:
        """What building just these packages reads (see compiled_members)."""
        return BuildInputs(tuple(i for i in self.inputs if i.package in packages), self.warnings)


@dataclass(frozen=True)
class ReIncludes:
    """What the generated .dockerignore must let back into the build context."""

    lines: tuple[str, ...]  # `!path` lines, to come after every generated pattern (the last match wins)
    warnings: tuple[str, ...]  # one per re-included file: it is sent to the build, and maybe into the image


def scan_build_inputs(root: Path, packages: Iterable[Package]) -> BuildInputs:
    """The paths the packages' lib, bin and build-script sources read; `root` is the build context."""
    budget = _Budget()
    found: dict[str, BuildInput] = {}
    warnings: list[str] = []
    for package in packages:
        if not package.root.is_relative_to(root):
            continue
        for file, build_script in _sources(package, budget):
            text = budget.read(file)
            if text is None:
                continue
            for how, absolute, line in _reads(text, file, package.root, build_script):
                at = f"{_relative(file, root)}:{line}"
                relative = _relative(Path(absolute), root)
                if relative.startswith("../") or relative == ".." or os.path.isabs(relative):
                    warnings.append(f"{absolute} is read by the build ({how} at {at}) but is outside the build context "
                                    f"{root}; the Docker build cannot see it: move it inside")
                elif relative not in found:
                    found[relative] = BuildInput(relative, (root / relative).is_dir(), how, at, package.name)
    if budget.cut_short:
        warnings.append(f"scanned only {budget.files} Rust files ({budget.total // (1024 * 1024)} MB) for files the build "
                        "reads; check the .dockerignore by hand for the rest")
    return BuildInputs(tuple(found.values()), tuple(warnings))


def compiled_members(workspace: Workspace, package: str) -> frozenset[str]:
    """The members `cargo build -p package` compiles: it and the members it reaches by path (no dev-dependencies)."""
    by_root = {p.root: p for p in workspace.members}
    names, queue = set(), [package]
    while queue:
        current = workspace.package(queue.pop())
        if current is None or current.name in names:
            continue
        names.add(current.name)
        queue += [by_root[d.path].name for d in current.dependencies
                  if d.path in by_root and d.kind != "dev" and d.on_linux]
    return frozenset(names)


def reincludes(root: Path, inputs: BuildInputs, patterns: list[tuple[bool, str]]) -> ReIncludes:
    """`!path` for each file the build reads that `patterns` (Docker's, in order) would leave out of the context."""
    excluded = excluded_inputs(root, inputs, patterns)
    return ReIncludes(tuple(f"!{_exact_pattern(p)}" for p, _ in excluded), tuple(_warning(p, item) for p, item in excluded))


def excluded_inputs(root: Path, inputs: BuildInputs, patterns: list[tuple[bool, str]]) -> list[tuple[str, BuildInput]]:
    """The files the build reads that `patterns` leave out, each with what reads it (once per file)."""
    excluded: dict[str, BuildInput] = {}
    for item in inputs.inputs:
        for path in _files_of(root, item):
            if path not in excluded and ignored(path, patterns):
                excluded[path] = item
    return list(excluded.items())


def submodule_warnings(root: Path) -> tuple[str, ...]:
    """A submodule inside the context whose folder is missing or empty: the build would see none of its files."""
    gitmodules = _gitmodules(root)
    if gitmodules is None:
        return ()
    warnings = []
    try:
        text = gitmodules.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    for number, raw in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*path\s*=\s*(.+?)\s*$", raw)
        if not match:
            continue
        folder = Path(os.path.normpath(gitmodules.parent / match.group(1).strip('"')))
        if not folder.is_relative_to(root):
            continue
        state = "missing" if not folder.is_dir() else "empty" if not _has_entries(folder) else None
        if state:
            where = f"{_relative(gitmodules, root)}:{number}"
            warnings.append(f"git submodule {_relative(folder, root)} ({where}) is not checked out (its folder is {state}), "
                            "so the build sees none of its files; run `git submodule update --init` first")
    return tuple(warnings)


def private_dependency_warnings(root: Path, packages: Iterable[Package]) -> tuple[str, ...]:
    """Dependencies fetched over ssh, from a non-public git host or from another registry: out of scope for now."""
    manifests = [root / "Cargo.toml"] if (root / "Cargo.toml").is_file() else []
    manifests += [p.manifest for p in packages if p.manifest not in manifests]
    warnings = []
    for manifest in manifests:
        for key, source in _dependency_sources(load_toml(manifest)):
            warnings.append(
                f"dependency `{key}` in {_relative(manifest, root)} comes from {source}: private git and registry "
                "dependencies are out of scope for now, so the generated build cannot fetch it; it would need BuildKit "
                "mounts (`RUN --mount=type=ssh` with `docker build --ssh default`, or `RUN --mount=type=secret` with "
                "`docker build --secret` for a token); vendor it (`cargo vendor`) or build outside Docker"
            )
    return tuple(warnings)


class _Budget:
    """Caps the scan: a file too large to be a source is skipped, and the whole scan stops at a total."""

    def __init__(self) -> None:
        self.files = self.total = 0
        self.cut_short = False

    def read(self, file: Path) -> str | None:
        if self.files >= MAX_FILES or self.total >= MAX_TOTAL_BYTES:
            self.cut_short = True
            return None
        try:
            size = file.stat().st_size
            if size > MAX_FILE_BYTES or not file.is_file():
                return None
            raw = file.read_bytes()[:MAX_FILE_BYTES]
        except OSError:
            return None
        self.files += 1
        self.total += len(raw)
        return raw.decode("utf-8", errors="replace")


def _sources(package: Package, budget: _Budget) -> Iterator[tuple[Path, bool]]:
    """The .rs files of the lib, bins and build script (with whether they belong to the build script), once each."""
    seen: set[Path] = set()
    for target in package.targets:
        if target.kind not in ("lib", "bin", "build-script"):
            continue
        entry = package.root / target.path
        folder = entry.parent
        build_script = target.kind == "build-script"
        files = [entry] if build_script and folder == package.root else _rust_files(folder, package.root)
        for file in files:
            if file not in seen and not budget.cut_short:
                seen.add(file)
                yield file, build_script


def _rust_files(folder: Path, package_root: Path) -> Iterator[Path]:
    """Rust files below `folder`, leaving out Cargo output, repositories, other packages and untested folders."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        dirs[:] = sorted(
            d for d in dirs
            if d != ".git"
            and not (d == "target" and (here == package_root or (here / d / "CACHEDIR.TAG").exists()))
            and not (here == package_root and d in _NOT_BUILT)
            and not (here / d / "Cargo.toml").exists()
        )
        yield from (here / f for f in sorted(files) if f.endswith(".rs"))


def _reads(text: str, file: Path, package_root: Path, build_script: bool) -> Iterator[tuple[str, str, int]]:
    """(macro, absolute path, line) for each literal path the file reads; paths built at run time are skipped."""
    # Each match holds one of the words; most files hold neither, and looking for them is far quicker than the pattern.
    heads = _HEAD.finditer(text) if "include" in text or "migrate" in text else ()
    for head in heads:
        if _in_line_comment(text, head.start()):
            continue
        name = head.group(1)
        how = "sqlx::migrate!" if name == "migrate" else f"{name}!"
        pos = _skip_space(text, head.end())
        literal = _literal_at(text, pos)
        if literal is not None:
            base = package_root if name == "migrate" else file.parent
            path = os.path.join(base, literal[0])
        elif (manifest_dir := _MANIFEST_DIR.match(text, pos)) and name != "migrate":
            parts = _concat_rest(text, manifest_dir.end())
            if parts is None:
                continue
            path = str(package_root) + "".join(parts)
        elif name == "migrate" and text.startswith(")", pos):
            path = os.path.join(package_root, "migrations")
        else:
            continue
        yield how, os.path.normpath(path), text.count("\n", 0, head.start()) + 1
    if build_script:
        for match in _RERUN.finditer(text):
            if not _in_line_comment(text, match.start()):
                path = os.path.normpath(os.path.join(package_root, match.group(1).strip()))
                yield "rerun-if-changed", path, text.count("\n", 0, match.start()) + 1


def _literal_at(text: str, pos: int) -> tuple[str, int] | None:
    """The string literal at `pos` (plain or raw) and the position after it; None for anything else."""
    match = _LITERAL.match(text, pos)
    if not match:
        return None
    if match.group(1) is None:
        return match.group(3), match.end()
    if re.search(r"\\[^\\\"']", match.group(1)):
        return None  # escapes such as \n or \u{..} do not occur in real paths
    return re.sub(r"\\(.)", r"\1", match.group(1)), match.end()


def _concat_rest(text: str, pos: int) -> list[str] | None:
    """The literals after `env!("CARGO_MANIFEST_DIR")` in a `concat!(...)`, up to its closing parenthesis."""
    parts: list[str] = []
    while True:
        pos = _skip_space(text, pos)
        if text.startswith(")", pos):
            return parts or None
        if not text.startswith(",", pos):
            return None
        pos = _skip_space(text, pos + 1)
        if text.startswith(")", pos):
            return parts or None
        literal = _literal_at(text, pos)
        if literal is None:
            return None
        parts.append(literal[0])
        pos = literal[1]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _in_line_comment(text: str, pos: int) -> bool:
    return "//" in text[text.rfind("\n", 0, pos) + 1 : pos]


def _gitmodules(root: Path) -> Path | None:
    """The .gitmodules of the repository the context is in: looked for up to the repository's top folder."""
    for folder in (root, *root.parents):
        if (folder / ".gitmodules").is_file():
            return folder / ".gitmodules"
        if (folder / ".git").exists():
            return None
    return None


def _has_entries(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:
        return True  # unreadable: not ours to judge


def _files_of(root: Path, item: BuildInput) -> list[str]:
    """The input itself, or for a folder the files in it (what Docker matches patterns against)."""
    if not item.folder:
        return [item.path]
    if item.how == "sqlx::migrate!":  # sqlx reads only `<version>_<description>.sql` files at the folder's top
        try:
            names = sorted(p.name for p in (root / item.path).iterdir() if p.is_file())
        except OSError:
            return []
        return [f"{item.path}/{n}" for n in names if _MIGRATION.match(n)][:MAX_FILES_PER_FOLDER]
    files = []
    for current, dirs, names in os.walk(root / item.path):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        files += [_relative(Path(current) / n, root) for n in sorted(names)]
        if len(files) >= MAX_FILES_PER_FOLDER:
            break
    return files[:MAX_FILES_PER_FOLDER]


def _exact_pattern(path: str) -> str:
    """A pattern that matches `path`: characters Docker would read as syntax become `?`, which matches them too."""
    return re.sub(r"^[\s#!]|\s$", "?", re.sub(r"[*?\[\]\\]", "?", path))


def _warning(path: str, item: BuildInput) -> str:
    if item.compiled_in:
        return (f"{path} is compiled into the binary ({item.how} at {item.found_at}): re-included in .dockerignore; "
                "it ends up in the image")
    return (f"{path} is read by the build script ({item.how} at {item.found_at}): re-included in .dockerignore; "
            "it is sent to the build")


def _dependency_sources(data: dict) -> Iterator[tuple[str, str]]:
    """(key, where it comes from) for each dependency that needs credentials or a registry other than crates.io."""
    workspace = data.get("workspace")
    sections: list[dict] = [data, workspace if isinstance(workspace, dict) else {}]
    targets = data.get("target")
    sections += [t for t in targets.values() if isinstance(t, dict)] if isinstance(targets, dict) else []
    tables = [s.get(k) for s in sections for k in ("dependencies", "build-dependencies", "dev-dependencies")]
    patches = data.get("patch")
    tables += list(patches.values()) if isinstance(patches, dict) else []
    for table in tables:
        for key, spec in (table.items() if isinstance(table, dict) else ()):
            if not isinstance(spec, dict):
                continue
            git, registry = spec.get("git"), spec.get("registry")
            if isinstance(git, str) and (why := _private_git(git)):
                yield str(key), f"{_without_credentials(git)} ({why})"
            if isinstance(registry, str) and registry != "crates-io":
                yield str(key), f"the registry `{registry}`"
            if isinstance(spec.get("registry-index"), str):
                yield str(key), f"the registry index {spec['registry-index']}"


def _private_git(url: str) -> str | None:
    if _SCP_LIKE.match(url) or url.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        return "over ssh"
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "with credentials in the URL; move them out of Cargo.toml"
    if (parts.hostname or "") not in _PUBLIC_GIT_HOSTS:
        return f"the non-public host {parts.hostname or url}"
    return None


def _without_credentials(url: str) -> str:
    """The URL to show in a warning: a token in it must not reach the terminal or a log."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"***@{parts.hostname}").geturl() if parts.username or parts.password else url


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")
