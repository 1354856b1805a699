"""How fast the tool itself is: CPU time of `scaffold` commands against cookiecutter and copier.

The machine these run on is shared and loaded, so wall time says little: each number is CPU time
(user + system, from `resource.getrusage(RUSAGE_CHILDREN)`, so a child's own children count too) of
one fresh interpreter run. Each round runs scaffold, cookiecutter and copier once each, in an order
that rotates from round to round; a ratio is taken within a round and the median over rounds is
reported, with the median of each tool's own times.

Cases: `init --no-input` with scaffold's user cache empty (cold: Jinja compiles the templates and
cargo resolves the dependency graph) and filled (warm); `inspect`; `--help`. cookiecutter and copier
(``pip install cookiecutter copier``) render an equivalent three-file template (benchmarks/templates/):
the same Dockerfile, .dockerignore and compose file for sample-crates/raft-node, with the values given
instead of found by inspection; for `--help` they print their own help.

scaffold runs as pip installs it, from byte-compiled modules (pip compiles a package's modules when it
installs it, as it did cookiecutter's and copier's): the checkout's generator/ is compiled first, since
from a source checkout with PYTHONDONTWRITEBYTECODE set every run would compile every module again.

Usage: python benchmarks/tool_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
Command = Callable[[], tuple[list[str], dict[str, str]]]  # a fresh (argv, environment) for each run


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User + system CPU time of one run of `argv`, its own children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(commands: dict[str, Command], runs: int) -> dict[str, float]:
    """Median CPU seconds of each command, and the median ratio of the first to each other one per round."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names[1:]}
    for round_ in range(runs):
        shift = round_ % len(names)
        this_round = {}
        for name in names[shift:] + names[:shift]:
            argv, env = commands[name]()
            this_round[name] = cpu_seconds(argv, env)
            times[name].append(this_round[name])
        for other in names[1:]:
            ratios[other].append(this_round[names[0]] / this_round[other])
    result = {f"{name}_cpu_s": round(statistics.median(times[name]), 4) for name in names}
    result.update({f"ratio_to_{other}": round(statistics.median(ratios[other]), 3) for other in names[1:]})
    return result


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


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise SystemExit(f"{name} is not installed: pip install cookiecutter copier")
    return found


def compare_templates(runs: int) -> dict:
    """Every case against cookiecutter and copier, in paired runs of this session."""
    compileall.compile_dir(REPO / "generator", quiet=1)  # what pip does at install
    templates = REPO / "benchmarks" / "templates"
    scaffold = [sys.executable, "-m", "generator.main"]
    cookiecutter, copier = _tool("cookiecutter"), _tool("copier")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        crate = work / "raft-node"
        shutil.copytree(REPO / "sample-crates" / "raft-node", crate, ignore=shutil.ignore_patterns("target"))
        warm = dict(os.environ, XDG_CACHE_HOME=str(work / "warm-cache"))
        cold_caches = iter(range(10**6))

        def cold() -> dict[str, str]:
            return dict(os.environ, XDG_CACHE_HOME=str(work / f"cold-cache-{next(cold_caches)}"))

        init = [*scaffold, "init", str(crate), "--no-input", "--force", "--quiet"]
        subprocess.run(init, check=True, capture_output=True, env=warm)  # fills the warm cache
        renderers: dict[str, Command] = {
            "cookiecutter": lambda: (
                [cookiecutter, "--no-input", "--overwrite-if-exists", "-o", str(work / "cc"), str(templates / "cookiecutter")],
                dict(os.environ),
            ),
            "copier": lambda: (
                [copier, "copy", "--defaults", "--overwrite", "--quiet", str(templates / "copier"), str(work / "cp")],
                dict(os.environ),
            ),
        }
        cases: dict[str, dict[str, Command]] = {
            "init_cold": {"scaffold": lambda: (init, cold()), **renderers},
            "init_warm": {"scaffold": lambda: (init, warm), **renderers},
            "inspect": {"scaffold": lambda: ([*scaffold, "inspect", str(crate)], warm), **renderers},
            "help": {
                "scaffold": lambda: ([*scaffold, "--help"], warm),
                "cookiecutter": lambda: ([cookiecutter, "--help"], dict(os.environ)),
                "copier": lambda: ([copier, "--help"], dict(os.environ)),
            },
        }
        results: dict = {"runs": runs, "python_startup": paired({"python": lambda: ([sys.executable, "-c", "pass"], warm)}, runs)}
        for name, commands in cases.items():
            results[name] = paired(commands, runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    results = compare_templates(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = big_workspace(Path(tmp) / "workspace", 100)
        inspect = [sys.executable, "-m", "generator.main", "inspect", str(workspace), "--json"]
        results["inspect_100_members"] = paired({"scaffold": lambda: (inspect, dict(os.environ))}, args.runs)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
