"""The real-size projects' section of docs/benchmarks.md and its chart row, from benchmarks/real.py's results."""

from __future__ import annotations

import statistics

SCENARIO_LABELS = {
    "cold": "cold build",
    "edit": "one-line edit",
    "leaf": "edit of a member nothing depends on",
    "dependency": "new dependency",
    "ci": "CI case (fresh runner, images imported)",
}
CI_RECOMMENDED = "scaffold-skeleton-debian-slim"  # the README's recommendation for CI runners


def median(runs: list[dict]) -> float:
    return statistics.median(r["s"] for r in runs)


def floor_of(entry: dict, scenario: str) -> float | None:
    """Host cargo for the same change plus the engine's fixed cost of a trivial build with the same stages."""
    host, fixed = entry["floor"].get(scenario, {}).get("host_s"), entry.get("fixed_cost_s")
    return host + fixed if host is not None and fixed is not None else None


def _cell(runs: list[dict] | None, floor: float | None) -> str:
    if not runs:
        return "-"
    seconds = median(runs)
    parts = [f"{seconds:.1f} s"]
    if floor:
        parts.append(f"{seconds / floor:.2f}x floor")
    compiled = runs[-1].get("compiled")
    if compiled is not None:
        parts.append(f"{len(compiled)} compiled")
    text = ", ".join(parts)
    return f"**{text}, check failed**" if any(r.get("check") for r in runs) else text


def tables(real: dict, labels: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for name, entry in real["projects"].items():
        scenarios = [s for s in SCENARIO_LABELS if entry["scenarios"].get(s)]
        variants = list(dict.fromkeys(v for s in scenarios for v in entry["scenarios"][s]))
        runs = {s: {v: len(r) for v, r in entry["scenarios"][s].items()} for s in scenarios}
        lines += [f"### {name}", "", f"Runs per scenario: {', '.join(f'{s} {max(runs[s].values())}' for s in scenarios)}. "
                  "Each cell: median, its ratio to the scenario's floor, and the crates cargo compiled in the last run.", ""]
        lines.append("| variant | " + " | ".join(SCENARIO_LABELS[s] for s in scenarios) + " |")
        lines.append("| --- |" + " ---: |" * len(scenarios))
        for v in variants:
            cells = [_cell(entry["scenarios"][s].get(v), floor_of(entry, s)) for s in scenarios]
            lines.append(f"| {labels.get(v, v)} | " + " | ".join(cells) + " |")
        floors = []
        for s in scenarios:
            total, host = floor_of(entry, s), entry["floor"].get(s, {}).get("host_s")
            floors.append("-" if total is None else f"{total:.1f} s (host {host:.1f} s + engine {entry['fixed_cost_s']:.1f} s)")
        lines += ["| floor | " + " | ".join(floors) + " |", ""]
        loads = [r["load"] for s in scenarios for v in entry["scenarios"][s].values() for r in v if "load" in r]
        if loads:
            lines += [f"1-minute load average at the end of each measured build: {min(loads):.1f} to {max(loads):.1f} "
                      f"(median {statistics.median(loads):.1f}) on {real.get('cpus', 2)} CPUs.", ""]
    return lines


def targets(real: dict, default: str, labels: dict[str, str]) -> list[str]:
    """The benchmark's targets, computed from this run (met / missed / not measured)."""

    def get(project: str, scenario: str, variant: str) -> float | None:
        runs = real["projects"].get(project, {}).get("scenarios", {}).get(scenario, {}).get(variant)
        return median(runs) if runs else None

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else "met" if ok else "**missed**"

    lines = ["Targets, computed from this run:", ""]
    sfz = real["projects"].get("sfz", {})
    edit, floor = get("sfz", "edit", default), floor_of(sfz, "edit") if sfz else None
    ok = None if edit is None or floor is None else edit <= 1.3 * floor
    lines.append(f"- sfz one-line edit, default within 1.3x its floor: {verdict(ok)}"
                 + (f" ({edit:.1f} s against {floor:.1f} s, {edit / floor:.2f}x)" if ok is not None and edit and floor else ""))
    for other in ("docker-init", "cargo-chef"):
        theirs = get("sfz", "edit", other)
        ok = None if edit is None or theirs is None else edit < theirs
        lines.append(f"- sfz one-line edit, default ahead of {labels.get(other, other)}: {verdict(ok)}"
                     + (f" ({edit:.1f} s against {theirs:.1f} s)" if ok is not None and edit and theirs else ""))
    ours, chef, mount = (get("sfz", "ci", v) for v in (CI_RECOMMENDED, "cargo-chef", default))
    ok = None if ours is None or chef is None else ours <= 1.1 * chef
    lines.append(f"- sfz CI case, {labels.get(CI_RECOMMENDED, CI_RECOMMENDED)} within 1.1x of cargo-chef style: "
                 f"{verdict(ok)}" + (f" ({ours:.1f} s against {chef:.1f} s, {ours / chef:.2f}x)" if ours and chef else ""))
    ok = None if ours is None or mount is None else ours < mount / 3
    lines.append(f"- sfz CI case, under a third of cache-mount's time: {verdict(ok)}"
                 + (f" ({ours:.1f} s against {mount:.1f} s, {ours / mount:.2f}x)" if ours and mount else ""))
    leaf = real["projects"].get("bench-ws", {}).get("scenarios", {}).get("leaf", {}).get(default)
    compiled = leaf[-1].get("compiled") if leaf else None
    ok = None if compiled is None else all(r.get("compiled") == ["bench-app"] for r in leaf or [])
    lines.append(f"- bench-ws leaf-member edit recompiles that member only (default): {verdict(ok)}"
                 + (f" (compiled: {', '.join(compiled) or 'nothing'})" if compiled is not None else ""))
    return [*lines, ""]


def ci_section(real: dict) -> list[str]:
    lines = []
    earlier = real.get("ci_save_load_attempt")
    if earlier and not earlier.get("controls_ok"):
        imported = earlier["controls"]["with_cache_from"]
        lines += ["A first reset used `docker save` and `docker load` as the registry. Its controls failed: with "
                  "`--cache-from`, the loaded image's cache manifest was "
                  f"{'imported' if imported['imported_cache_manifest'] else 'not imported'} but the dependency step "
                  f"{'was reused' if imported['dependency_step_reused'] else 'ran again'}, so its timings were "
                  "discarded and the case was run again with a local registry (`docker push`, then `--cache-from` "
                  "pulls from it).", ""]
    batches = [b for b in (real.get("ci_first_batch"), real.get("ci")) if b and "controls" in b]
    for n, batch in enumerate(batches, start=1):
        plain, imported = batch["controls"]["without_cache_from"], batch["controls"]["with_cache_from"]
        reset = batch["reset"]
        which = f"Reset {n} of {len(batches)} ({', '.join(batch['pushed'])})" if len(batches) > 1 else "The reset"
        lines += [
            f"{which}, checked by two controls pushed and reset with the variants: rebuilt without `--cache-from`, "
            "the control's dependency step was "
            f"{'reused (the reset is NOT a fresh runner)' if plain['dependency_step_reused'] else 'run again (a cold runner)'}; "
            f"rebuilt with the recipe's `--cache-from`, it was "
            f"{'reused from the imported cache' if imported['dependency_step_reused'] else 'run again (the import failed)'}"
            f" (\"importing cache manifest\": {'yes' if imported['imported_cache_manifest'] else 'no'}). "
            f"The registry: {reset.get('registry', 'docker save/load')}"
            + (f" ({reset['registry_tar_bytes'] / 1e9:.1f} GB)" if "registry_tar_bytes" in reset else "")
            + f"; other builds running at the prune: {reset['other_builds_at_prune']}.",
            "",
        ]
    return lines


def growth(real: dict, labels: dict[str, str]) -> list[str]:
    """The cache mounts' size after each scenario's last run, per variant that has any."""
    lines = ["Cache mounts on disk (`docker system df -v`, records of type `exec.cachemount`) after each scenario's "
             "last run, in MB, target / registry:", ""]
    rows = []
    for name, entry in real["projects"].items():
        for variant in dict.fromkeys(v for s in entry["scenarios"].values() for v in s):
            cells = []
            for scenario in SCENARIO_LABELS:
                runs = entry["scenarios"].get(scenario, {}).get(variant)
                mounts = runs[-1].get("cache_mounts") if runs else None
                target = sum(b for p, b in (mounts or {}).items() if p.rstrip("/").endswith("target"))
                registry = sum(b for p, b in (mounts or {}).items() if "registry" in p)
                cells.append("-" if not mounts else f"{target / 1e6:.0f} / {registry / 1e6:.0f}")
            if any(c != "-" for c in cells):
                rows.append(f"| {name} | {labels.get(variant, variant)} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    header = "| project | variant | " + " | ".join(SCENARIO_LABELS) + " |"
    return [*lines, header, "| --- | --- |" + " ---: |" * len(SCENARIO_LABELS), *rows, ""]


def section(real: dict, default: str, labels: dict[str, str]) -> list[str]:
    return ["## Real-size projects", "", f"From `python benchmarks/dockerfiles.py real` (run {real['run_id']}"
            + (f", {real['note']}" if real.get("note") else "") + ").", "",
            *tables(real, labels), *targets(real, default, labels), *ci_section(real), *growth(real, labels)]


def chart_row(axes, real: dict, name: str, labels: dict[str, str], default: str) -> None:
    """One chart row: per scenario, each variant's median, with the floor as a line."""
    entry = real["projects"][name]
    scenarios = [s for s in SCENARIO_LABELS if entry["scenarios"].get(s)][: len(axes)]
    for ax, scenario in zip(axes, scenarios, strict=False):
        variants = list(entry["scenarios"][scenario])
        values = [median(entry["scenarios"][scenario][v]) for v in variants]
        colours = ["#d62728" if any(r.get("check") for r in entry["scenarios"][scenario][v]) else
                   "#1f77b4" if v.startswith("scaffold") else "#999999" for v in variants]
        ax.barh([labels.get(v, v).replace(" (default)", "*") for v in variants], values, color=colours)
        floor = floor_of(entry, scenario)
        if floor:
            ax.axvline(floor, color="#2ca02c", linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.set_title(f"{name}: {SCENARIO_LABELS[scenario]} (s)", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(scenarios):]:
        ax.axis("off")
