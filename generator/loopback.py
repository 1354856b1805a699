"""The loopback check: does the chosen binary listen on 127.0.0.1, localhost or [::1] by default?

Inside a container such a server cannot be reached through its published port (connections are
reset), and nothing else says why. The check reads the binary's crate (its target root and src/, other
binaries' files left out), the path dependencies it compiles, and the config files shipped next to
them, and reports a loopback address only where it is in a bind/listen context (the text scan is
loopback_scan.py). Reading stops at a size cap. Rendered node files (`--node-file`) are checked the
same way as shipped configs.

The findings are kept in the user cache (usercache.py) by a hash of the texts scanned and of the
scanner's own source, so a run whose files are unchanged does not scan them again, and a changed
file (even one whose size and modification time stayed the same) is always scanned.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import features
from .inspect import Binary, ProjectFacts
from .usercache import user_cache, write_json

MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024

_CONFIG_SUFFIXES = (".toml", ".yaml", ".yml", ".json", ".env")
# Files with those suffixes that the app does not read (lower-case names, fnmatch patterns): tool
# settings, and how containers run it (a compose or stack file, scaffold's own among them, publishes
# ports on 127.0.0.1 and names other services' addresses).
_NOT_CONFIG = ("cargo.toml", "cargo.lock", "rust-toolchain.toml", "rustfmt.toml", ".rustfmt.toml", "clippy.toml", ".clippy.toml",
               "deny.toml", "package.json", "package-lock.json", "tsconfig.json", "renovate.json",
               "compose*.y*ml", "docker-compose*.y*ml", "stack.y*ml", "*.stack.y*ml", "docker-stack*.y*ml")
_CONFIG_DIRS = ("", "config", "configs", "conf", "etc")
_SCANNER = Path(__file__).with_name("loopback_scan.py")  # its code decides the findings: part of the cache key

Found = tuple[int, str, str]  # one finding: (line, address, the config key that sets it or "")


def check_loopback(facts: ProjectFacts, binary: Binary, extra_features: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Warnings for the binary's default listeners on loopback, with file:line and what to do."""
    budget = [MAX_TOTAL_BYTES]
    sources = [(path, text) for path in _rust_files(facts, binary, extra_features) if (text := _read(path, budget)) is not None]
    configs = [(path, text) for path in _config_files(facts, binary) if (text := _read(path, budget)) is not None]
    in_sources, in_configs = _scanned([text for _, text in sources], [text for _, text in configs])
    warnings = [
        f"the app binds {address} at {_shown(facts, path)}:{line}; inside a container nothing outside can "
        "reach it: make the address configurable and pass 0.0.0.0 with --node-arg/--node-env"
        for (path, _), findings in zip(sources, in_sources, strict=True)
        for line, address, _ in findings
    ]
    warnings += [
        f"the shipped config {_shown(facts, path)}:{line} sets {key} to {address}; inside a container "
        "nothing outside can reach it: pass 0.0.0.0 with --node-arg/--node-env or change the file"
        for (path, _), findings in zip(configs, in_configs, strict=True)
        for line, address, key in findings
    ]
    if budget[0] < 0:
        warnings.append(f"the loopback check stopped after {MAX_TOTAL_BYTES // (1024 * 1024)} MiB of sources; the rest was not read")
    return tuple(dict.fromkeys(warnings))


def check_node_files(files: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """Warnings for rendered node files, (path, content) pairs, that set a listen address to loopback."""
    _, in_files = _scanned([], [content for _, content in files])
    return tuple(
        f"the node file {path}:{line} sets {key} to {address}; inside a container nothing outside "
        "can reach it: render 0.0.0.0 there (its --node-file template)"
        for (path, _), findings in zip(files, in_files, strict=True)
        for line, address, key in findings
    )


# --- the scan, or its cached findings ---------------------------------------------------------------


def _scanned(sources: list[str], configs: list[str]) -> tuple[list[list[Found]], list[list[Found]]]:
    """The findings in each Rust source (scanned together: a constant may be bound in another file) and in
    each config text, from the user cache when these texts were scanned before by this scanner."""
    if not sources and not configs:
        return [], []
    key = _key(sources, configs)
    entry = user_cache("loopback") / f"{key}.json" if key is not None else None
    cached = _read_entry(entry, len(sources), len(configs)) if entry is not None else None
    if cached is not None:
        return cached
    from . import loopback_scan  # compiles its patterns: only a run with something new to scan loads it

    found = (
        [[(f.line, f.address, "") for f in findings] for findings in loopback_scan.scan_rust_files(sources)],
        [[(f.line, f.address, f.key or "") for f in loopback_scan.scan_config(text)] for text in configs],
    )
    if entry is not None:
        write_json(entry, {"sources": found[0], "configs": found[1]})
    return found


def _key(sources: list[str], configs: list[str]) -> str | None:
    """A hash of the scanner's source and every text, each framed by its kind and length; None: no scanner source to hash."""
    try:
        digest = hashlib.sha256(_SCANNER.read_bytes())
    except OSError:
        return None
    for kind, texts in ((b"rust", sources), (b"config", configs)):
        for text in texts:
            data = text.encode("utf-8", "surrogatepass")
            digest.update(b"\0%s\0%d\0" % (kind, len(data)))
            digest.update(data)
    return digest.hexdigest()


def _read_entry(path: Path, sources: int, configs: int) -> tuple[list[list[Found]], list[list[Found]]] | None:
    """The findings stored at `path` for that many texts of each kind; None when absent or damaged (scan again)."""
    try:
        data = json.loads(path.read_text())
        found = tuple([[(int(line), str(address), str(key)) for line, address, key in findings] for findings in data[kind]]
                      for kind in ("sources", "configs"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    in_sources, in_configs = found
    return (in_sources, in_configs) if (len(in_sources), len(in_configs)) == (sources, configs) else None


# --- which files ----------------------------------------------------------------------------------


def _rust_files(facts: ProjectFacts, binary: Binary, extra_features: tuple[str, ...]) -> Iterator[Path]:
    package = facts.workspace.package(binary.package)
    if package is None:
        return
    target = next((t for t in package.binaries if t.name == binary.name), None)
    root_file = package.root / target.path if target else None
    others = {(package.root / t.path).resolve() for t in package.targets if t.kind != "lib" and t is not target}
    if root_file is not None:
        yield root_file
    wanted = frozenset({"default", *binary.required_features, *extra_features})
    compiled = features.resolve(facts.workspace.members, {package.name: wanted}, all_features=False).packages
    for member in facts.workspace.members:
        if member.name != package.name and member.name not in compiled:
            continue
        own = member is package
        for path in sorted((member.root / "src").rglob("*.rs")):
            resolved = path.resolve()
            relative = path.relative_to(member.root / "src").parts
            if resolved in others or (root_file and resolved == root_file.resolve()):
                continue
            if relative[0] == "bin" and not (own and root_file and _inside_bin(path, root_file)):
                continue  # another binary's files (its root is left out above; its modules here)
            if not own and relative == ("main.rs",):
                continue
            yield path


def _inside_bin(path: Path, root_file: Path) -> bool:
    """A module of a multi-file binary (src/bin/<name>/...) whose root is the chosen one."""
    return root_file.name == "main.rs" and root_file.parent in path.parents


def _config_files(facts: ProjectFacts, binary: Binary) -> Iterator[Path]:
    package = facts.workspace.package(binary.package)
    roots = dict.fromkeys([package.root if package else facts.root, facts.root])
    for root in roots:
        for folder in _CONFIG_DIRS:
            directory = root / folder
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                name = path.name.lower()
                is_config = name.endswith(_CONFIG_SUFFIXES) or name.startswith(".env")
                if is_config and path.is_file() and not any(fnmatch.fnmatchcase(name, p) for p in _NOT_CONFIG):
                    yield path


def _read(path: Path, budget: list[int]) -> str | None:
    """The file's text; None past the per-file cap (generated or vendored code) or once the budget is spent."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None
        budget[0] -= size
        return path.read_text(encoding="utf-8", errors="replace") if budget[0] >= 0 else None
    except OSError:
        return None


def _shown(facts: ProjectFacts, path: Path) -> str:
    try:
        return path.resolve().relative_to(facts.root.resolve()).as_posix()
    except ValueError:
        return str(path)
