"""Which crates cargo really compiles for one package, asked of cargo itself.

The lock walk in syspackages.py has to guess where features differ from the everything-on resolution
Cargo.lock was made with. Where cargo is installed we ask it instead:

    cargo tree -p PKG -e normal,build --target TRIPLE -f '{p}|{f}' --prefix depth --locked --offline --features F

`cargo tree` runs cargo's own feature resolver for exactly the package selection `cargo build -p PKG`
makes (the Dockerfile builds with `-p PKG --bin BIN`): resolver-2 feature unification over that one
package, dev-dependencies left out (so their features do not leak in), target-specific dependencies
filtered for the container's triple and build-time ones for the host. `cargo metadata
--filter-platform` is less exact: its `resolve` is the union over every workspace member with
dev-dependencies included and features unified across all of them, so a crate another member or a
test enables would count as compiled (tests/test_cargoresolve.py shows one). The binary itself does
not change the graph (dependencies belong to the package); its `required-features` are features.
The depth prefix gives the edges (a table entry may depend on the path it is reached through) and
`{f}` the features each crate is built with (`bundled` decides whether a -sys crate needs the library).

Inspecting must never change the project, download anything or run a program the project
configures:
- `--locked` keeps Cargo.lock as it is; without a lock cargo runs on a temporary copy of the
  manifests (the answer then uses the versions this machine has cached, which may differ from the
  ones a fresh build picks);
- `--offline` and CARGO_NET_OFFLINE: when the local registry cache lacks a crate there is no answer;
- RUSTUP_TOOLCHAIN pins the host's default toolchain (or keeps the one the user's own environment
  names), so a rust-toolchain file cannot make rustup install one (RUSTUP_AUTO_INSTALL=0 as well);
- cargo runs rustc to learn the target's cfg values, and it would run it through a
  `build.rustc-wrapper` from the project's .cargo/config.toml: the wrapper variables are set empty
  and RUSTC names the host's rustc, which override the project's `build.rustc*` settings.
Answers are cached by a hash of everything they depend on; a failure is not cached. The pinned toolchain
and `cargo -V` are remembered too, by the identity of every file that decides them (`_toolchain_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .usercache import user_cache, write_json

TIMEOUT = 60.0
_SCHEMA = 2
# Compiled by `re` when first used: only when cargo answers, not when the answer is cached.
_LINE = r"^(\d+)(\S+) v(\S+)"
# Directories that hold no manifest cargo reads for this workspace, or too many files to hash.
_PRUNE = {"target", ".git", "node_modules"}


@dataclass(frozen=True)
class Query:
    """One question for cargo: what `cargo build -p PACKAGE` compiles for `target`."""

    root: Path  # the workspace root (where Cargo.lock is)
    package: str
    features: tuple[str, ...] = ()  # the binary's required-features included
    default_features: bool = True
    target: str = "x86_64-unknown-linux-gnu"


@dataclass(frozen=True)
class Compiled:
    """What cargo builds: the crates, which depends on which (by name, from the package down), and the
    features each is built with (the union where a crate is built twice, for the host and the target)."""

    package: str
    crates: frozenset[tuple[str, str]]  # (name, version), workspace packages included
    edges: frozenset[tuple[str, str]]  # (dependent, dependency)
    features: dict[str, frozenset[str]] = field(hash=False)
    locked: bool  # false: resolved without a Cargo.lock, from this machine's cached index
    source: str = "cargo"
    cached: bool = field(default=False, compare=False)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.crates)

    def reachable(self, avoiding: frozenset[str] = frozenset()) -> frozenset[str]:
        """Crates still compiled on some path from the package that passes through none of `avoiding`
        (a table entry needed only when reached otherwise than through a bundling crate)."""
        children: dict[str, set[str]] = {}
        for parent, child in self.edges:
            children.setdefault(parent, set()).add(child)
        seen, stack = {self.package}, [self.package]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen and child not in avoiding:
                    seen.add(child)
                    stack.append(child)
        return frozenset(seen)


@dataclass(frozen=True)
class Unanswered:
    """Why cargo could not answer (the lock walk answers instead)."""

    reason: str  # one line, to tell the user why the lock walk was used instead


def container_target(musl: bool) -> str:
    """The triple a container build on this machine compiles for (Docker builds for the host's architecture)."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"{arch}-unknown-linux-{'musl' if musl else 'gnu'}"


def compiled_crates(query: Query, *, timeout: float = TIMEOUT, cache_dir: Path | None = None) -> Compiled | Unanswered:
    """The crates `cargo build -p PKG` compiles for `query.target`, or why cargo cannot say offline."""
    if shutil.which("cargo") is None:
        return Unanswered("cargo is not on PATH")
    facts, rustup_home = _toolchain_files()
    memo = (cache_dir or user_cache("resolve")) / "toolchain" / f"{hashlib.sha256(json.dumps(facts).encode()).hexdigest()}.json"
    env_and_version = _remembered_toolchain(memo, rustup_home)
    if env_and_version is None:
        env = _environment()
        if isinstance(env, Unanswered):
            return env
        version = _run(["cargo", "-V"], Path(tempfile.gettempdir()), env, timeout)
        if isinstance(version, Unanswered):
            return version
        _remember_toolchain(memo, rustup_home, env, version)
    else:
        env, version = env_and_version
    root = query.root.resolve()
    files = _inputs(root)
    cache = (cache_dir or user_cache("resolve")) / f"{_key(query, files, root, env, version)}.json"
    hit = _read_cache(cache)
    if hit is not None:
        return hit
    lock = (root / "Cargo.lock").is_file()
    if lock:
        answer = _tree(query, root, env, timeout, locked=True)
    else:
        with tempfile.TemporaryDirectory(prefix="scaffold-resolve-") as scratch:
            answer = _tree(query, _manifest_copy(root, Path(scratch)), env, timeout, locked=False)
    if isinstance(answer, Compiled):
        _write_cache(cache, answer)
    return answer


def _environment() -> dict[str, str] | Unanswered:
    env = _environment_without_rustup()
    if isinstance(env, Unanswered):
        return env
    if shutil.which("rustup") is not None and not env.get("RUSTUP_TOOLCHAIN"):
        default = _run(["rustup", "default"], Path(tempfile.gettempdir()), env, TIMEOUT)
        if isinstance(default, Unanswered) or not default.split():
            return Unanswered("rustup has no default toolchain to resolve with")
        env["RUSTUP_TOOLCHAIN"] = default.split()[0]
    return env


def _environment_without_rustup() -> dict[str, str] | Unanswered:
    """The environment cargo runs in, but for the toolchain rustup pins (`_environment`)."""
    env = dict(os.environ)
    env.update(
        CARGO_NET_OFFLINE="true",
        CARGO_TERM_COLOR="never",
        RUSTC_WRAPPER="",
        CARGO_BUILD_RUSTC_WRAPPER="",
        RUSTC_WORKSPACE_WRAPPER="",
        CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER="",
        RUSTUP_AUTO_INSTALL="0",
    )
    rustc = shutil.which("rustc")
    if rustc is None:
        return Unanswered("cargo is on PATH but rustc is not")
    env["RUSTC"] = env["CARGO_BUILD_RUSTC"] = rustc
    return env


def _toolchain_files() -> tuple[list, Path | None]:
    """What decides the toolchain `_environment` pins and what `cargo -V` says, short of running them: the
    variables rustup reads, the cargo, rustc and rustup found on PATH and rustup's settings (its default
    toolchain), each file by its identity (inode, size, modification time)."""
    rustup_home = Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    names = ("RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "CARGO_HOME")
    facts: list = [_SCHEMA, [os.environ.get(name, "") for name in names]]
    facts += [[tool, _identity(shutil.which(tool))] for tool in ("cargo", "rustc", "rustup")]
    facts.append(_identity(rustup_home / "settings.toml"))
    return facts, rustup_home if shutil.which("rustup") else None


def _identity(path: str | Path | None) -> list | None:
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [os.path.realpath(path), info.st_ino, info.st_size, info.st_mtime_ns]


def _toolchain_cargo(rustup_home: Path | None, env: dict[str, str]) -> list | None:
    """The identity of the cargo binary of the pinned toolchain (a `rustup update` replaces it); without
    rustup, the cargo on PATH (already in `_toolchain_files`). None: not found, so nothing is remembered."""
    if rustup_home is None:
        return ["no rustup"]
    name = env.get("RUSTUP_TOOLCHAIN", "")
    folder = Path(name) if "/" in name else rustup_home / "toolchains" / name
    return _identity(folder / "bin" / "cargo") if name else None


def _remembered_toolchain(memo: Path, rustup_home: Path | None) -> tuple[dict[str, str], str] | None:
    """The pinned environment and `cargo -V` of an earlier run, kept in `memo` (named by the hash of
    `_toolchain_files`), while nothing they depend on changed (two fewer processes on each run); None: ask
    rustup and cargo."""
    try:
        data = json.loads(memo.read_text())
        toolchain, version, cargo = str(data["toolchain"]), str(data["version"]), data["cargo"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    env = _environment_without_rustup()
    if isinstance(env, Unanswered):
        return None
    if toolchain:
        env["RUSTUP_TOOLCHAIN"] = toolchain
    current = _toolchain_cargo(rustup_home, env)
    return (env, version) if current is not None and current == cargo else None


def _remember_toolchain(memo: Path, rustup_home: Path | None, env: dict[str, str], version: str) -> None:
    cargo = _toolchain_cargo(rustup_home, env)
    if cargo is None:
        return
    toolchain = env.get("RUSTUP_TOOLCHAIN", "") if rustup_home is not None else ""
    write_json(memo, {"toolchain": toolchain, "version": version, "cargo": cargo})


def _tree(query: Query, cwd: Path, env: dict[str, str], timeout: float, *, locked: bool) -> Compiled | Unanswered:
    args = ["cargo", "tree", "-p", query.package, "-e", "normal,build", "--target", query.target]
    args += ["-f", "{p}|{f}", "--prefix", "depth", "--offline", *(["--locked"] if locked else [])]
    if query.features:
        args.append("--features=" + ",".join(query.features))
    if not query.default_features:
        args.append("--no-default-features")
    out = _run(args, cwd, env, timeout)
    if isinstance(out, Unanswered):
        return out
    return _parse(query.package, out, locked)


def _parse(package: str, out: str, locked: bool) -> Compiled | Unanswered:
    """`3libsqlite3-sys v0.38.2|bundled,default` lines, each under the nearest line one level less deep;
    ` (*)` marks a crate whose dependencies were listed already."""
    crates: set[tuple[str, str]] = set()
    edges: set[tuple[str, str]] = set()
    features: dict[str, frozenset[str]] = {}
    path: list[str] = []
    for line in out.splitlines():
        match = re.match(_LINE, line)
        if not match:
            continue
        depth, name, version = int(match.group(1)), match.group(2), match.group(3)
        del path[depth:]
        if path:
            edges.add((path[-1], name))
        path.append(name)
        crates.add((name, version))
        listed = line.rsplit("|", 1)[1].split(" ")[0]
        features[name] = features.get(name, frozenset()) | frozenset(f for f in listed.split(",") if f)
    if not any(name == package for name, _ in crates):
        return Unanswered(f"cargo tree did not list package `{package}`")
    return Compiled(package, frozenset(crates), frozenset(edges), features, locked)


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str | Unanswered:
    """stdout of a command in its own process group, which is killed whole on a timeout."""
    try:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
    except OSError as error:
        return Unanswered(f"could not run {args[0]}: {error.strerror}")
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return Unanswered(f"`{' '.join(args[:2])}` gave no answer within {timeout:g} s")
    if process.returncode != 0:
        reason = _first_error(err)
        hint = " (`cargo fetch` in the project fills the local cache)" if "download" in reason else ""
        return Unanswered(f"`{' '.join(args[:2])}` could not answer offline: {reason}{hint}")
    return out


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error")]
    return (errors or lines or ["no message"])[0]


def _inputs(root: Path) -> list[Path]:
    """The files cargo's answer depends on: every manifest and lock under the root, and the Cargo config
    files cargo reads from the root up and from CARGO_HOME. (Path dependencies outside the root are not
    hashed; editing one needs a `cargo` change under the root, usually Cargo.lock, to refresh the answer.)"""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _PRUNE and (not d.startswith(".") or d == ".cargo"))
        here = Path(directory)
        found += [here / n for n in sorted(names) if n in ("Cargo.toml", "Cargo.lock")]
        if here.name == ".cargo":
            found += [here / n for n in sorted(names) if n in ("config", "config.toml")]
    home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    for dot in [*(parent / ".cargo" for parent in root.parents), home]:
        found += [dot / n for n in ("config", "config.toml") if (dot / n).is_file()]
    return found


def _key(query: Query, files: list[Path], root: Path, env: dict[str, str], version: str) -> str:
    digest = hashlib.sha256()
    facts = [_SCHEMA, query.package, sorted(query.features), query.default_features, query.target]
    facts += [env.get("RUSTUP_TOOLCHAIN", ""), version.strip()]
    digest.update(json.dumps(facts).encode())
    for path in files:
        name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        digest.update(f"\0{name}\0".encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def _manifest_copy(root: Path, scratch: Path) -> Path:
    """The manifests and Cargo config under `root`, with an empty file for each Rust source so cargo
    finds the same targets. Cargo may write a lock here, never in the project."""
    copy = scratch / "ws"
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _PRUNE and (not d.startswith(".") or d == ".cargo")]
        here = Path(directory)
        dest = copy / here.relative_to(root)
        for name in names:
            if name == "Cargo.toml" or (here.name == ".cargo" and name in ("config", "config.toml")):
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(here / name, dest / name)
            elif name.endswith(".rs"):
                dest.mkdir(parents=True, exist_ok=True)
                (dest / name).touch()
    return copy


def _read_cache(path: Path) -> Compiled | None:
    try:
        data = json.loads(path.read_text())
        return Compiled(
            str(data["package"]),
            frozenset((str(name), str(version)) for name, version in data["crates"]),
            frozenset((str(parent), str(child)) for parent, child in data["edges"]),
            {str(name): frozenset(map(str, listed)) for name, listed in data["features"].items()},
            bool(data["locked"]),
            str(data["source"]),
            cached=True,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # absent or damaged: ask cargo again


def _write_cache(path: Path, answer: Compiled) -> None:
    data = {
        "source": answer.source,
        "package": answer.package,
        "locked": answer.locked,
        "crates": sorted(answer.crates),
        "edges": sorted(answer.edges),
        "features": {name: sorted(listed) for name, listed in sorted(answer.features.items())},
    }
    write_json(path, data)
