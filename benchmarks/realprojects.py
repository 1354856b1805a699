"""The real-size projects of the benchmark, and the changes each scenario makes to them.

* ``sfz`` 0.7.1, a static file server, fetched from the crates registry by name and version
  (tests/published.py; never committed): 156 crates in its Cargo.lock, and its release profile
  sets ``lto = true``, i.e. fat LTO, so every rebuild of the binary re-optimises the whole program.
* ``bench-ws``, a generated 16-member workspace (published crates are never workspaces): 15
  libraries in three layers (one base library, seven on top of it, seven on top of those) and the
  binary ``bench-app`` that uses all of them, with serde (derive) and itoa from the registry.

Every edit makes the binary print a marker for ``--bench-edit`` (or ``--bench-edit-lib`` for the
base library's), so a run check can tell that the image ships the change.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.published import fetch  # noqa: E402

Edit = Callable[[Path, int], tuple[str, str]]  # (project, n) -> (argument, what the binary prints for it)


@dataclass(frozen=True)
class Project:
    name: str
    binary: str  # also its package's name
    sources: tuple[str, ...]  # what docker init's template bind-mounts besides Cargo.toml and Cargo.lock
    make: Callable[[Path], None]  # writes the pristine project into a new folder
    edit: Edit  # one line in the binary's crate (single crate) or in the base library (workspace)
    leaf: Edit | None  # one line in a member nothing depends on
    dependency_manifest: str  # the Cargo.toml that gets the new dependency
    dependency: str  # appended to it; `{version}` is one of DEPENDENCY_VERSIONS
    note: str


def _replace_line(path: Path, pattern: str, line: str) -> None:
    text = path.read_text()
    new, count = re.subn(pattern, line, text, count=1, flags=re.M)
    if count != 1:
        raise RuntimeError(f"{path}: no line matches {pattern!r}")
    path.write_text(new)


# --- sfz


def _make_sfz(dest: Path) -> None:
    shutil.copytree(fetch("sfz", "0.7.1"), dest, symlinks=True, ignore=shutil.ignore_patterns(".scaffold-fetched"))


def _edit_sfz(project: Path, n: int) -> tuple[str, str]:
    main = project / "src" / "main.rs"
    text = main.read_text()
    text = re.sub(r"^    if std::env::args\(\).any\(\|a\| a == \"--bench-edit\"\).*\n", "", text, flags=re.M)
    line = f'    if std::env::args().any(|a| a == "--bench-edit") {{ println!("bench-edit {n}"); return; }}\n'
    if "async fn main() {\n" not in text:
        raise RuntimeError(f"{main}: no `async fn main() {{` line to edit after")
    main.write_text(text.replace("async fn main() {\n", "async fn main() {\n" + line, 1))
    return "--bench-edit", f"bench-edit {n}"


SFZ = Project(
    name="sfz",
    binary="sfz",
    sources=("src",),
    make=_make_sfz,
    edit=_edit_sfz,
    leaf=None,
    dependency_manifest="Cargo.toml",
    dependency='\n[dependencies.hex]\nversion = "={version}"\n',
    note="sfz 0.7.1 from the crates registry: 156 crates in its lock; release profile `lto = true` (fat LTO)",
)

# --- the generated workspace

_LIBS = 15
_STRUCTS = 24  # per library: enough serde derives that a library takes seconds to compile


def _lib_deps(i: int) -> list[int]:
    return [] if i == 0 else [0] if i <= 7 else [i - 7]


def _lib_source(i: int) -> str:
    uses = _lib_deps(i)
    level = " + ".join([f"lib_{d:02}::level()" for d in uses] + ["1"])
    parts = ["use serde::{Deserialize, Serialize};\n\n", f"pub fn level() -> u64 {{\n    {level}\n}}\n\n"]
    if i == 0:
        parts.append('pub const EDIT: &str = "bench-edit-lib 0";\n\n')
    for k in range(_STRUCTS):
        parts.append(
            f"#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\n"
            f"pub struct Record{k} {{\n    pub id: u64,\n    pub name: String,\n    pub tags: Vec<String>,\n"
            f"    pub score: Option<f64>,\n}}\n\n"
            f"pub fn render{k}(r: &Record{k}) -> String {{\n"
            f"    let mut buffer = itoa::Buffer::new();\n"
            f'    format!("{{}}:{{}}:{{}}", buffer.format(r.id + level()), r.name, r.tags.join(","))\n}}\n\n'
        )
    return "".join(parts)


def _make_workspace(dest: Path) -> None:
    members = [f"crates/lib-{i:02}" for i in range(_LIBS)] + ["crates/bench-app"]
    dest.mkdir(parents=True)
    (dest / "Cargo.toml").write_text(
        "[workspace]\nmembers = [" + ", ".join(f'"{m}"' for m in members) + ']\nresolver = "2"\n\n'
        '[workspace.package]\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[workspace.dependencies]\nserde = { version = "1", features = ["derive"] }\nitoa = "1"\n'
    )
    for i in range(_LIBS):
        crate = dest / "crates" / f"lib-{i:02}"
        (crate / "src").mkdir(parents=True)
        deps = "".join(f'lib-{d:02} = {{ path = "../lib-{d:02}" }}\n' for d in _lib_deps(i))
        (crate / "Cargo.toml").write_text(
            f'[package]\nname = "lib-{i:02}"\nversion.workspace = true\nedition.workspace = true\n\n'
            f"[dependencies]\nserde.workspace = true\nitoa.workspace = true\n{deps}"
        )
        (crate / "src" / "lib.rs").write_text(_lib_source(i))
    app = dest / "crates" / "bench-app"
    (app / "src").mkdir(parents=True)
    deps = "".join(f'lib-{i:02} = {{ path = "../lib-{i:02}" }}\n' for i in range(_LIBS))
    (app / "Cargo.toml").write_text(
        '[package]\nname = "bench-app"\nversion.workspace = true\nedition.workspace = true\n\n' f"[dependencies]\n{deps}"
    )
    total = " + ".join(f"lib_{i:02}::level()" for i in range(1, _LIBS))
    (app / "src" / "main.rs").write_text(
        "fn main() {\n"
        '    if std::env::args().any(|a| a == "--bench-edit") { println!("bench-edit 0"); return; }\n'
        '    if std::env::args().any(|a| a == "--bench-edit-lib") { println!("{}", lib_00::EDIT); return; }\n'
        f'    println!("bench-app {{}}", {total});\n'
        "}\n"
    )
    subprocess.run(["cargo", "generate-lockfile"], cwd=dest, check=True, capture_output=True)


def _edit_base_library(project: Path, n: int) -> tuple[str, str]:
    _replace_line(project / "crates/lib-00/src/lib.rs", r'^pub const EDIT: &str = ".*";$', f'pub const EDIT: &str = "bench-edit-lib {n}";')
    return "--bench-edit-lib", f"bench-edit-lib {n}"


def _edit_app(project: Path, n: int) -> tuple[str, str]:
    _replace_line(
        project / "crates/bench-app/src/main.rs",
        r'^    if std::env::args\(\).any\(\|a\| a == "--bench-edit"\).*$',
        f'    if std::env::args().any(|a| a == "--bench-edit") {{ println!("bench-edit {n}"); return; }}',
    )
    return "--bench-edit", f"bench-edit {n}"


WORKSPACE = Project(
    name="bench-ws",
    binary="bench-app",
    sources=("crates",),
    make=_make_workspace,
    edit=_edit_base_library,
    leaf=_edit_app,
    dependency_manifest="crates/bench-app/Cargo.toml",
    dependency='hex = "={version}"\n',
    note="generated: 16 members (15 libraries in three layers and the binary), serde with derive and itoa",
)

PROJECTS = {p.name: p for p in (SFZ, WORKSPACE)}


# A repetition that added the very dependency an earlier one did would be a build-cache hit: each adds
# another release of the same crate (one new crate to compile, as large each time).
DEPENDENCY_VERSIONS = ("0.4.3", "0.4.2", "0.4.0", "0.3.2")  # 0.4.1 is yanked


def added_dependency(project: Project, n: int) -> str:
    return project.dependency.format(version=DEPENDENCY_VERSIONS[n % len(DEPENDENCY_VERSIONS)])


def add_dependency(project: Project, folder: Path, n: int) -> None:
    """The `n`th new dependency, with Cargo.lock updated on the host (cargo adds just that crate to the lock)."""
    manifest = folder / project.dependency_manifest
    manifest.write_text(manifest.read_text() + added_dependency(project, n))
    subprocess.run(["cargo", "metadata", "--format-version", "1"], cwd=folder, check=True, capture_output=True)


def remove_dependency(project: Project, folder: Path, manifest: str, lock: str) -> None:
    (folder / project.dependency_manifest).write_text(manifest)
    (folder / "Cargo.lock").write_text(lock)
