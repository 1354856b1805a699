"""docs/benchmarks.md and docs/benchmarks.png from the results of benchmarks/dockerfiles.py.

Run on its own to redraw from an existing docs/benchmarks.json: python benchmarks/report.py
With ``--real FILE`` (benchmarks/real.py's results file) the real-size projects' run is first copied
to docs/benchmarks-real.json (its raw data, kept apart from the sample-crate run's), which is drawn
with the rest whenever it exists. With ``--tool FILE`` (benchmarks/tool_speed.py's JSON output) the same
for the tool's own speed, docs/tool-speed.json; it replaces the sample-crate run's tool numbers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import realreport

HERE = Path(__file__).resolve().parent
METHOD = HERE / "method.md"  # hand-written: method, caveats and analysis, included verbatim
sys.path.insert(0, str(HERE.parent))
from generator.answers import Answers  # noqa: E402  (the default is whatever `scaffold init --no-input` does)

OURS = f"scaffold-{Answers.strategy}-{Answers.runtime}"

LABELS = {
    "tutorial-single": "tutorial, single stage",
    "tutorial-dummy": "tutorial, dummy main.rs",
    "docker-init": "docker init style",
    "cargo-chef": "cargo-chef style",
    **{
        f"scaffold-{strategy}-{runtime}": (
            f"scaffold {strategy} / {runtime}" + (" (default)" if f"scaffold-{strategy}-{runtime}" == OURS else "")
        )
        for strategy in ("cache-mount", "skeleton")
        for runtime in ("debian-slim", "distroless")
    },
}


def mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


def kb(n: int | None) -> str:
    return "-" if n is None else (f"{n} B" if n < 1000 else f"{n / 1e3:.1f} kB" if n < 1e6 else f"{n / 1e6:.1f} MB")


def sec(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.1f}x"


def tables(results: dict) -> list[str]:
    lines = []
    for name, crate in results["crates"].items():
        floor = crate["floor"]
        lines += [
            f"### {name}",
            "",
            f"Added dependency: {crate['added_dependency']}. Medians of {results['runs']} run(s).",
            "",
            "| variant | cold build | rebuild after one-line change | rebuild after new dependency "
            "| image size | context sent | run check |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for variant, v in crate["variants"].items():
            if v.get("error"):
                lines.append(f"| {LABELS.get(variant, variant)} | build failed: see benchmarks.json | | | | | |")
                continue
            check = "ok" if v["run_check"] == "ok" else "**wrong binary**" if any(
                "expected" in c for c in v["run_check"]) else "failed"
            label = LABELS.get(variant, variant)
            if variant == OURS:
                label = f"**{label}**"
            lines.append(
                f"| {label} | {sec(v['cold_s'])} | {sec(v['edit_rebuild_s'])} | {sec(v['dep_rebuild_s'])} "
                f"| {mb(v['image_bytes'])} | {kb(v['context_bytes'])} | {check} |"
            )
        lines.append(
            f"| host `cargo build --release` (floor) | {sec(floor['cold_s'])} | {sec(floor['edit_rebuild_s'])} "
            f"| {sec(floor['dep_rebuild_s'])} | binary {mb(floor['stripped_binary_bytes'])} (stripped) | - | - |"
        )
        lines.append("")
        failures = {k: v["run_check"] for k, v in crate["variants"].items() if v["run_check"] != "ok"}
        for variant, problems in failures.items():
            lines.append(f"- run check of {LABELS.get(variant, variant)}: " + "; ".join(problems[:3]))
        if failures:
            lines.append("")
        if crate.get("dev_checkout_context_bytes"):
            lines.append("Build context sent from a working copy that also holds a host-built `target/`:")
            lines.append("")
            for what, n in crate["dev_checkout_context_bytes"].items():
                lines.append(f"- {what}: {kb(n)}")
            lines.append("")
        lines += ratios(name, crate), ""
    return lines


def ratios(name: str, crate: dict) -> str:
    v = crate["variants"]
    if OURS not in v:
        return ""
    ours = v[OURS]
    rows = [f"Ratios for {name} (other / scaffold default; above 1 means scaffold is faster or smaller):", ""]
    for other in v:
        if other == OURS or v[other].get("error"):
            continue
        o = v[other]
        rows.append(
            f"- {LABELS.get(other, other)}: cold {ratio(o['cold_s'], ours['cold_s'])}, "
            f"one-line change {ratio(o['edit_rebuild_s'], ours['edit_rebuild_s'])}, "
            f"new dependency {ratio(o['dep_rebuild_s'], ours['dep_rebuild_s'])}, "
            f"image {ratio(o['image_bytes'], ours['image_bytes'])}"
        )
    f = crate["floor"]
    rows.append(
        f"- scaffold default against the host floor: one-line change {ratio(ours['edit_rebuild_s'], f['edit_rebuild_s'])} "
        f"the host's time, image {ratio(ours['image_bytes'], f['stripped_binary_bytes'])} the stripped binary"
    )
    return "\n".join(rows)


def best_by_runtime(results: dict) -> list[str]:
    """Where a scaffold variant is not the best of the variants with the same runtime."""
    notes = []
    for name, crate in results["crates"].items():
        v = {k: x for k, x in crate["variants"].items() if x["run_check"] == "ok" and not x.get("error")}
        for runtime in ("debian-slim", "distroless"):
            group = {k: x for k, x in v.items() if (k.endswith("distroless")) == (runtime == "distroless")}
            for metric in ("edit_rebuild_s", "dep_rebuild_s", "image_bytes"):
                if not group:
                    continue
                best = min(group, key=lambda k: group[k][metric])
                for k, x in group.items():
                    if k.startswith("scaffold-") and k != best and x[metric] > group[best][metric] * 1.05:
                        notes.append(f"- {name}, {runtime}, {metric}: {LABELS.get(k, k)} {x[metric]:.6g} vs best "
                                     f"{LABELS.get(best, best)} {group[best][metric]:.6g}")
    return notes


def tool_table(results: dict) -> list[str]:
    t = results.get("tool_speed")
    if not t or "init_cold" not in t:  # absent, or from before tool_speed.py measured these commands
        return []
    rows = [
        ("`init --no-input`, empty cache", "init_cold"),
        ("`init --no-input`, warm cache", "init_warm"),
        ("`inspect`", "inspect"),
        ("`--help`", "help"),
    ]
    lines = [
        "## The tool itself",
        "",
        f"CPU time of one fresh interpreter run (children included), medians of {t['runs']} paired rounds "
        "for sample-crates/raft-node; scaffold inspects the project, the template tools render the same three "
        "files from given values (for `--help`, each prints its help). Ratios are scaffold's over the other "
        "tool's, taken within each round.",
        "",
        "| command | scaffold | cookiecutter | copier | vs cookiecutter | vs copier |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, key in rows:
        c = t[key]
        lines.append(
            f"| {label} | {c['scaffold_cpu_s'] * 1000:.0f} ms | {c['cookiecutter_cpu_s'] * 1000:.0f} ms | "
            f"{c['copier_cpu_s'] * 1000:.0f} ms | {c['ratio_to_cookiecutter']:.2f} | {c['ratio_to_copier']:.2f} |"
        )
    return [*lines, ""]


def chart(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib): no chart", file=sys.stderr)
        return False
    crates = list(results["crates"])
    metrics = [("cold_s", "cold build (s)"), ("edit_rebuild_s", "rebuild, one-line change (s)"),
               ("dep_rebuild_s", "rebuild, new dependency (s)"), ("image_bytes", "image size (MB)")]
    real = results.get("real", {}).get("projects", {})
    rows = len(crates) + len(real)
    fig, axes = plt.subplots(rows, len(metrics), figsize=(4.2 * len(metrics), 3.6 * rows), squeeze=False)
    for row, name in enumerate(real, start=len(crates)):
        realreport.chart_row(list(axes[row]), results["real"], name, LABELS, OURS)
    for row, name in enumerate(crates):
        crate = results["crates"][name]
        variants = list(crate["variants"])
        for col, (metric, title) in enumerate(metrics):
            ax = axes[row][col]
            values = [crate["variants"][v][metric] or 0 for v in variants]
            labels = [LABELS.get(v, v).replace(" (default)", "*") for v in variants]
            floor = crate["floor"].get("stripped_binary_bytes" if metric == "image_bytes" else metric)
            if metric == "image_bytes":
                values = [x / 1e6 for x in values]
                floor = floor / 1e6 if floor else None
            colours = ["#d62728" if crate["variants"][v]["run_check"] != "ok" else
                       "#1f77b4" if v.startswith("scaffold") else "#999999" for v in variants]
            ax.barh(labels, values, color=colours)
            if floor:
                ax.axvline(floor, color="#2ca02c", linestyle="--", linewidth=1)
            ax.invert_yaxis()
            ax.set_title(f"{name}: {title}", fontsize=9)
            ax.tick_params(labelsize=7)
            if col:
                ax.set_yticklabels([])
    fig.text(0.01, 0.005, "blue: scaffold (* default), grey: other approaches, red: image runs the wrong binary, "
             "green line: host cargo / stripped binary", fontsize=8)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(results: dict, out: Path) -> None:
    real = out / "benchmarks-real.json"
    if "real" not in results and real.exists():
        results = {**results, "real": json.loads(real.read_text())}
    tool = out / "tool-speed.json"
    if tool.exists():
        results = {**results, "tool_speed": json.loads(tool.read_text())}
    m = results["machine"]
    has_chart = chart(results, out / "benchmarks.png")
    lines = [
        "# Benchmarks: scaffold's Dockerfiles against the alternatives",
        "",
        "Generated by `python benchmarks/dockerfiles.py` (the numbers and tables) from "
        "`benchmarks/method.md` (the text). Raw data: [benchmarks.json](benchmarks.json)"
        + (", real-size projects: [benchmarks-real.json](benchmarks-real.json)." if results.get("real") else "."),
        "",
        f"Measured {m['date']} on {m['cpus']} CPUs, {m['platform']}, Docker Engine {m['docker_engine']} "
        f"(BuildKit), {m['rustc']}, scaffold at commit {m['scaffold_commit']}; the whole run took "
        f"{results.get('wall_s', 0) / 60:.0f} minutes.",
        "",
    ]
    if has_chart:
        lines += ["![build times and image sizes](benchmarks.png)", ""]
    lines += ["## Results", ""] + tables(results) + tool_table(results)
    if results.get("real"):
        lines += realreport.section(results["real"], OURS, LABELS)
    gaps = best_by_runtime(results)
    lines += ["## Where a scaffold variant is not the best for its runtime (computed)", ""]
    lines += (gaps or ["- none: every scaffold variant is the best (within 5 %) for its runtime"]) + [""]
    if METHOD.exists():
        lines += [METHOD.read_text().rstrip(), ""]
    (out / "benchmarks.md").write_text("\n".join(lines))


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs"
    stored = json.loads((out / "benchmarks.json").read_text())
    for flag, name in (("--real", "benchmarks-real.json"), ("--tool", "tool-speed.json")):
        if flag in sys.argv[1:-1]:
            given = Path(sys.argv[sys.argv.index(flag) + 1])
            (out / name).write_text(json.dumps(json.loads(given.read_text()), indent=2) + "\n")
    write(stored, out)
