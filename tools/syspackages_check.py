"""Build each system-package rule's crate in a container and report what its build really needs.

Not part of CI (a full run compiles C and C++ libraries for many minutes); tests/engine/test_syspackages.py
builds a cheap subset. For each probe (a tiny crate that really uses the crate: it calls a C function,
or runs the build tool from build.rs) the script

1. makes Cargo.lock on the host and asks scaffold which Debian packages the build needs
   (`ProjectFacts.system_packages`, the same path `scaffold init` takes);
2. builds it on the local `rust:<v>-slim-bookworm` stand-in (gcc and a minimal perl only, as the
   official image; it trusts the host CA bundle so cargo reaches the registry) with those packages,
   then with none of them, and with each alternative set the probe names (to find the smallest set);
3. lists the packages owning the shared libraries the built binary links (`ldd` + `dpkg -S`), which
   is what the runtime image must hold;
4. for a rule about what the binary reads when it runs (the CA bundle), runs the built binary in the
   runtime image (`debian:bookworm-slim`) with scaffold's runtime packages and without the one the
   rule is about (the probes: tools/syspackages_probes.py).

The report (docs/syspackages-report.md) is what the table's entries in generator/syspackages.py cite.

    python -m tools.syspackages_check                 # every probe, cheap ones first
    python -m tools.syspackages_check libsqlite3-sys ring
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.inspect import inspect_project
from generator.syspackages import Requirement
from tools.syspackages_probes import PROBES, Probe

DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
IMAGE = "rust:1.95-slim-bookworm"
RUN_IMAGE = "debian:bookworm-slim"
REPORT = Path(__file__).resolve().parent.parent / "docs" / "syspackages-report.md"
_RUNTIME_MARK = "SCAFFOLD-RUNTIME-PACKAGES:"
_SAYS_MARK = "SCAFFOLD-PROBE-SAYS:"
# What every glibc binary links: provided by the runtime images already (runtimes.py `provides`).
_BASE_LIBS = {"libc6", "libgcc-s1"}


@dataclass(frozen=True)
class Outcome:
    packages: tuple[str, ...]
    ok: bool
    seconds: float
    detail: str  # the telling error line, or the runtime packages the binary links
    linked: tuple[str, ...] = ()  # packages owning the shared libraries the built binary links (libc's left out)
    run_with: tuple[str, ...] | None = None  # packages of the runtime image it ran in; None: run in the build image

    @property
    def result(self) -> str:
        return ("runs" if self.run_with is not None else "builds") if self.ok else "FAILS"

    @property
    def built_with(self) -> str:
        packages = " ".join(self.packages) or "(none)"
        return packages if self.run_with is None else f"{packages}; runs with {' '.join(self.run_with) or '(none)'}"


Runner = Callable[[Path, Path, str], tuple[int, str]]  # (context, Dockerfile, tag) -> (exit code, output)


def docker_build(root: Path, dockerfile: Path, tag: str) -> tuple[int, str]:
    """Build with BuildKit and remove the image again: only the output is wanted."""
    proc = subprocess.run(
        [DOCKER, "build", "--no-cache", "--progress=plain", "-t", tag, "-f", str(dockerfile), str(root)],
        env=dict(os.environ, DOCKER_BUILDKIT="1"), capture_output=True, text=True, timeout=3600,
    )
    subprocess.run([DOCKER, "image", "rm", "-f", tag], capture_output=True)
    return proc.returncode, proc.stdout + proc.stderr


def write_probe(probe: Probe, root: Path) -> Path:
    """The probe crate, with a Cargo.lock made by the host's cargo."""
    (root / "src").mkdir(parents=True)
    build = f'\n[build-dependencies]\n{probe.build_dependencies}\n' if probe.build_dependencies else ""
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{probe.dependencies}\n{build}\n[workspace]\n'
    )
    (root / "src" / "main.rs").write_text(probe.main + "\n")
    if probe.build_rs:
        (root / "build.rs").write_text(probe.build_rs + "\n")
    for name, text in probe.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    subprocess.run(["cargo", "generate-lockfile", "-q"], cwd=root, check=True, timeout=300)
    return root


def scaffold_packages(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(build, runtime) packages scaffold installs for the probe."""
    facts = inspect_project(root)
    system = facts.system_packages(facts.binaries[0])
    return system.build, system.runtime


def _install(packages: tuple[str, ...]) -> list[str]:
    return ([f"RUN apt-get update && apt-get install -y --no-install-recommends {' '.join(packages)} && rm -rf /var/lib/apt/lists/*"]
            if packages else [])


def dockerfile(packages: tuple[str, ...], run_with: tuple[str, ...] | None = None) -> str:
    """Build the probe with `packages`; run it in the build image, or (`run_with`) in the runtime image
    with those packages only."""
    if run_with is not None:
        return "\n".join([
            f"FROM {IMAGE} AS build", *_install(packages), "WORKDIR /probe", "COPY . .",
            "RUN --mount=type=cache,id=scaffold-syscheck-registry,target=/usr/local/cargo/registry,sharing=shared \\",
            "    cargo build --release --locked",
            f"FROM {RUN_IMAGE}", *_install(run_with),
            "COPY --from=build /probe/target/release/probe /usr/local/bin/probe",
            f'RUN said="$(/usr/local/bin/probe)" && echo "{_SAYS_MARK} $said"',
            "",
        ])
    install = _install(packages)
    # On a merged-/usr system dpkg knows a library by the path its package ships (/lib/... or
    # /usr/lib/...), which need not be the one ldd prints: look the file up by its real name.
    linked = ("for f in $(ldd target/release/probe | awk '/=> \\//{print $3}'); do "
              "dpkg -S \"*/$(basename \"$(realpath \"$f\")\")\" 2>/dev/null; done "
              "| cut -d: -f1 | sort -u | tr '\\n' ' '")
    # The registry cache is shared, not locked: cargo locks it itself while it downloads, and a
    # lock held for a whole C++ build would stall every other probe.
    return "\n".join([
        f"FROM {IMAGE}",
        *install,
        "WORKDIR /probe",
        "COPY . .",
        "RUN --mount=type=cache,id=scaffold-syscheck-registry,target=/usr/local/cargo/registry,sharing=shared \\",
        "    cargo build --release --locked && ./target/release/probe \\",
        f' && echo "{_RUNTIME_MARK} $({linked})"',
        "",
    ])


def build(root: Path, packages: tuple[str, ...], tag: str, run: Runner = docker_build,
          run_with: tuple[str, ...] | None = None) -> Outcome:
    """Build the probe at `root` on the rust image with `packages` installed first (and run it in the
    runtime image with `run_with` installed)."""
    (root / "Dockerfile.probe").write_text(dockerfile(packages, run_with))
    (root / ".dockerignore").write_text("target\nDockerfile.probe\n")
    t0 = time.monotonic()
    code, out = run(root, root / "Dockerfile.probe", tag)
    seconds = time.monotonic() - t0
    if code == 0 and run_with is not None:
        said = re.findall(rf"{_SAYS_MARK} ([^\n]*)", out)
        return Outcome(packages, True, seconds, said[-1] if said else "", run_with=run_with)
    if code == 0:
        marks = re.findall(rf"{_RUNTIME_MARK} ([^\n]*)", out)
        linked = tuple(sorted(set(marks[-1].split()) - _BASE_LIBS)) if marks else ()
        return Outcome(packages, True, seconds, "links " + (", ".join(linked) or "nothing beyond libc"), linked)
    return Outcome(packages, False, seconds, _error_line(out), run_with=run_with)


def _error_line(out: str) -> str:
    """The most telling line of a failed build's output."""
    lines = [re.sub(r"^#\d+ [\d.]+ ", "", line).strip() for line in out.splitlines()]
    for needle in ("not found", "Could not", "could not find", "Unable to find", "failed to run custom build command",
                   "error:"):
        hits = [line for line in lines if needle in line and "warning" not in line]
        if hits:
            return hits[0][:200]
    return (lines[-1] if lines else "")[:200]


def check(probe: Probe) -> tuple[tuple[str, ...], list[Outcome]]:
    """(runtime packages scaffold installs, one outcome per package set tried: scaffold's first)."""
    with tempfile.TemporaryDirectory(prefix=f"syscheck-{probe.crate}-") as tmp:
        root = write_probe(probe, Path(tmp) / "probe")
        build_packages, runtime = scaffold_packages(root)
        tag = f"scaffold-syscheck/{probe.crate}:{int(time.time())}"
        if probe.runs_without:
            runs = [runtime, tuple(p for p in runtime if p != probe.runs_without)]
            return runtime, [build(root, build_packages, tag, run_with=r) for r in runs]
        sets = [build_packages, ()] if build_packages else [()]
        sets += [alt for alt in probe.alternatives if alt not in sets]
        return runtime, [build(root, packages, tag) for packages in sets]


def report_lines(results: dict[str, tuple[tuple[str, ...], list[Outcome]]]) -> list[str]:
    lines = [
        "# System packages: what each crate's build really needs",
        "",
        f"Made by `python -m tools.syspackages_check` on the local `{IMAGE}` stand-in (gcc, libc6-dev and a",
        "minimal perl, as the official image: no make, g++, pkg-config, clang, cmake or git). Each probe crate",
        "really uses the crate (calls into the library or runs the build tool from build.rs). `scaffold` is",
        "what `scaffold init` installs for the probe; each row is one build with that set of packages;",
        "`links` lists the packages owning the shared libraries the built binary links (the runtime image",
        "needs them; libc6 and libgcc-s1 left out). A row that `runs with` packages ran the built binary in",
        f"`{RUN_IMAGE}` with only those installed (a rule about what the binary reads at run time).",
        "",
        "| crate | scaffold installs (build / runtime) | packages built with | result | seconds | detail |",
        "|---|---|---|---|---|---|",
    ]
    for crate, (runtime, outcomes) in results.items():
        for i, o in enumerate(outcomes):
            installs = f"{' '.join(outcomes[0].packages) or '-'} / {' '.join(runtime) or '-'}" if i == 0 else ""
            lines.append(
                f"| {crate if i == 0 else ''} | {installs} | {o.built_with} | "
                f"{o.result} | {o.seconds:.0f} | {o.detail.replace('|', '/')} |"
            )
    return lines


def disagreements(table: Mapping[str, Requirement], report: Mapping[str, tuple[tuple[str, ...], list[Outcome]]]) -> list[str]:
    """Where a `checked` table entry says more or less than the report's builds show."""
    problems = []
    for crate, requirement in table.items():
        if not requirement.checked:
            continue
        if crate not in report:
            problems.append(f"{crate}: marked checked, but the report has no build of it")
            continue
        outcomes = report[crate][1]
        runs = [o for o in outcomes if o.run_with is not None]
        if runs:
            problems += _run_disagreements(crate, requirement, runs)
        first = outcomes[0]
        libraries = set(requirement.runtime) - {"ca-certificates"}  # read at run time, not linked
        if not first.ok or not set(requirement.build) <= set(first.packages):
            problems.append(f"{crate}: the report built it with {' '.join(first.packages) or 'nothing'} "
                            f"({'builds' if first.ok else 'FAILS'}), the table asks for {' '.join(requirement.build) or 'nothing'}")
        elif not requirement.build and any(not o.ok for o in outcomes if not o.packages and o.run_with is None):
            problems.append(f"{crate}: the report shows the build fails without packages, the table asks for none")
        elif not libraries <= set(first.linked):
            problems.append(f"{crate}: runtime {' '.join(sorted(libraries))}, but the binary links {' '.join(first.linked) or 'nothing'}")
    return problems


def _run_disagreements(crate: str, requirement: Requirement, runs: list[Outcome]) -> list[str]:
    """The binary must run with the entry's runtime packages, and fail without each of them."""
    needed = set(requirement.runtime)
    with_all = [o for o in runs if o.run_with is not None and needed <= set(o.run_with)]
    if not with_all or not all(o.ok for o in with_all):
        return [f"{crate}: the report has no run with {' '.join(sorted(needed)) or 'nothing'} that succeeds"]
    needless = [o for o in runs if o.ok and o not in with_all]
    return [f"{crate}: the report shows it runs with {' '.join(o.run_with or ()) or 'nothing'}, "
            f"the table asks for {' '.join(requirement.runtime)}" for o in needless]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("crates", nargs="*", help="table keys to check (default: every probe, cheapest first)")
    ap.add_argument("--report", type=Path, default=REPORT)
    ns = ap.parse_args(argv)
    chosen = [p for p in sorted(PROBES, key=lambda p: p.cost) if not ns.crates or p.crate in ns.crates]
    unknown = set(ns.crates) - {p.crate for p in PROBES}
    if unknown:
        print(f"no probe for {', '.join(sorted(unknown))}; known: {', '.join(p.crate for p in PROBES)}", file=sys.stderr)
        return 2
    results = read_report(ns.report)
    for probe in chosen:
        print(f"[syscheck {time.strftime('%H:%M:%S')}] {probe.crate} ...", flush=True)
        runtime, outcomes = check(probe)
        results[probe.crate] = (runtime, outcomes)
        for o in outcomes:
            print(f"    {o.built_with}: {o.result} in {o.seconds:.0f}s; {o.detail}", flush=True)
        ns.report.write_text("\n".join(report_lines(results)) + "\n")
    return 0


def read_report(report: Path) -> dict[str, tuple[tuple[str, ...], list[Outcome]]]:
    """Rows of an earlier report, so a run for a few crates keeps the others."""
    results: dict[str, tuple[tuple[str, ...], list[Outcome]]] = {}
    if not report.exists():
        return results
    crate = ""
    for line in report.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[3] not in ("builds", "runs", "FAILS"):
            continue
        crate = cells[0] or crate
        if cells[0]:
            runtime = cells[1].split(" / ")[1] if " / " in cells[1] else "-"
            results[crate] = (tuple(runtime.split()) if runtime != "-" else (), [])
        built, _, ran = cells[2].partition("; runs with ")
        packages = () if built == "(none)" else tuple(built.split())
        run_with = None if not ran else () if ran == "(none)" else tuple(ran.split())
        linked = tuple(cells[5].removeprefix("links ").split(", ")) if cells[5].startswith("links ") else ()
        linked = () if linked == ("nothing beyond libc",) else linked
        results[crate][1].append(Outcome(packages, cells[3] != "FAILS", float(cells[4]), cells[5], linked, run_with))
    return results


if __name__ == "__main__":
    sys.exit(main())
