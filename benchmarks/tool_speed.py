"""How fast the tool itself is: `scaffold init --no-input` (with and without `-q`) and `scaffold inspect` wall time.

Each number is the median of repeated runs of a fresh interpreter (what a user waits for),
measured in this run on this machine. Usage: python benchmarks/tool_speed.py [--runs N] [--compare]

`--compare` also times cookiecutter and copier (``pip install cookiecutter copier``) rendering an
equivalent three-file template (benchmarks/templates/): the same Dockerfile, .dockerignore and
compose file for sample-crates/raft-node, with the values given instead of found by inspection.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def big_workspace(root: Path, members: int) -> Path:
    root.mkdir()
    (root / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["crates/*"]\nresolver = "2"\n\n[workspace.package]\nversion = "1.0.0"\nedition = "2021"\n'
    )
    for i in range(members):
        crate = root / "crates" / f"member-{i:03}"
        (crate / "src").mkdir(parents=True)
        dependency = f'member-{i - 1:03} = {{ path = "../member-{i - 1:03}" }}\n' if i else ""
        (crate / "Cargo.toml").write_text(
            f'[package]\nname = "member-{i:03}"\nversion.workspace = true\nedition.workspace = true\n\n[dependencies]\n{dependency}'
        )
        (crate / "src" / ("main.rs" if i == members - 1 else "lib.rs")).write_text("")
    return root


def _tool(name: str) -> list[str]:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise SystemExit(f"{name} is not installed: pip install cookiecutter copier")
    return [found]


def compare_templates(runs: int) -> dict:
    """`scaffold init --no-input` against cookiecutter and copier rendering the same three files."""
    templates = REPO / "benchmarks" / "templates"
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / "raft-node"
        shutil.copytree(REPO / "sample-crates" / "raft-node", crate, ignore=shutil.ignore_patterns("target"))
        results: dict[str, float] = {
            "python_startup_s": median_seconds([sys.executable, "-c", "pass"], runs),
            "scaffold_init_s": median_seconds(
                [sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "--force"], runs),
            "cookiecutter_s": median_seconds(
                [*_tool("cookiecutter"), "--no-input", "--overwrite-if-exists", "-o", str(Path(tmp) / "cc"),
                 str(templates / "cookiecutter")], runs),
            "copier_s": median_seconds(
                [*_tool("copier"), "copy", "--defaults", "--overwrite", "--quiet", str(templates / "copier"),
                 str(Path(tmp) / "cp")], runs),
        }
    results = {k: round(v, 3) for k, v in results.items()}
    results["runs"] = runs
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", action="store_true", help="also time cookiecutter and copier")
    args = parser.parse_args()
    if args.compare:
        print(json.dumps(compare_templates(args.runs), indent=2))
    scaffold = [sys.executable, "-m", "generator.main"]
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / "raft-node"
        shutil.copytree(REPO / "sample-crates" / "raft-node", crate, ignore=shutil.ignore_patterns("target"))
        workspace = big_workspace(Path(tmp) / "workspace", 100)
        results = {
            "python_startup_s": median_seconds([sys.executable, "-c", "pass"], args.runs),
            "init_raft_node_s": median_seconds([*scaffold, "init", str(crate), "--no-input", "--force"], args.runs),
            # -q leaves out the end summary and its preflight (the docker client asked about buildx and Compose).
            "init_raft_node_quiet_s": median_seconds([*scaffold, "init", str(crate), "--no-input", "--force", "-q"], args.runs),
            "inspect_100_members_s": median_seconds([*scaffold, "inspect", str(workspace), "--json"], args.runs),
        }
    print(json.dumps({k: round(v, 3) for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
