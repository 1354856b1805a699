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
   is what the runtime image must hold.

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
from dataclasses import dataclass, field
from pathlib import Path

from generator.inspect import inspect_project
from generator.syspackages import Requirement

DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
IMAGE = "rust:1.95-slim-bookworm"
REPORT = Path(__file__).resolve().parent.parent / "docs" / "syspackages-report.md"
_RUNTIME_MARK = "SCAFFOLD-RUNTIME-PACKAGES:"
# What every glibc binary links: provided by the runtime images already (runtimes.py `provides`).
_BASE_LIBS = {"libc6", "libgcc-s1"}


@dataclass(frozen=True)
class Probe:
    crate: str  # the table key it checks
    cost: int  # rough minutes on 2 shared cores: cheap probes run first
    dependencies: str  # [dependencies] lines
    main: str  # src/main.rs: uses the crate so the library is really linked
    build_dependencies: str = ""
    build_rs: str = ""
    files: dict[str, str] = field(default_factory=dict)
    alternatives: tuple[tuple[str, ...], ...] = ()  # other package sets worth trying (a smaller one)


_PROTO = 'syntax = "proto3";\npackage probe;\nmessage Ping { string text = 1; }\n'
_CMAKE = (
    "cmake_minimum_required(VERSION 3.10)\nproject(probe C)\n"
    "add_library(probe STATIC probe.c)\ninstall(TARGETS probe DESTINATION lib)\n"
)

PROBES: tuple[Probe, ...] = (
    Probe("libsqlite3-sys", 1, 'libsqlite3-sys = "0.30"',
          'fn main() { println!("{}", unsafe { libsqlite3_sys::sqlite3_libversion_number() }); }'),
    Probe("libudev-sys", 1, 'libudev-sys = "0.1"',
          'fn main() { println!("{}", unsafe { libudev_sys::udev_new() }.is_null()); }'),
    Probe("libdbus-sys", 1, 'libdbus-sys = "0.2"',
          'fn main() { println!("{}", unsafe { libdbus_sys::dbus_threads_init_default() }); }'),
    Probe("openssl-sys", 1, 'openssl-sys = "0.9"',
          'fn main() { println!("{}", unsafe { openssl_sys::OpenSSL_version_num() }); }'),
    Probe("pq-sys", 1, 'pq-sys = "0.7"', 'fn main() { println!("{}", unsafe { pq_sys::PQlibVersion() }); }'),
    Probe("mysqlclient-sys", 1, 'mysqlclient-sys = "0.4"',
          'fn main() { println!("{}", unsafe { mysqlclient_sys::mysql_get_client_version() }); }'),
    Probe("zstd-sys", 2, 'zstd-sys = "2"', 'fn main() { println!("{}", unsafe { zstd_sys::ZSTD_versionNumber() }); }'),
    Probe("lz4-sys", 1, 'lz4-sys = "1"', 'fn main() { println!("{}", unsafe { lz4_sys::LZ4_versionNumber() }); }'),
    Probe("bzip2-sys", 1, 'bzip2-sys = "0.1"',
          'fn main() { println!("{:p}", bzip2_sys::BZ2_bzCompressEnd as *const ()); }'),
    Probe("ring", 2, 'ring = "0.17"',
          'fn main() { println!("{:?}", ring::digest::digest(&ring::digest::SHA256, b"x")); }'),
    Probe("tikv-jemalloc-sys", 3, 'tikv-jemallocator = "0.6"',
          "#[global_allocator]\nstatic A: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;\n"
          'fn main() { println!("{}", vec![1u8; 10].len()); }'),
    Probe("prost-build", 3, 'prost = "0.13"',
          'mod probe { include!(concat!(env!("OUT_DIR"), "/probe.rs")); }\n'
          'fn main() { println!("{:?}", probe::Ping { text: "x".into() }); }',
          build_dependencies='prost-build = "0.13"',
          build_rs='fn main() { prost_build::compile_protos(&["probe.proto"], &["."]).unwrap(); }',
          files={"probe.proto": _PROTO}),
    Probe("cmake", 2, "",
          'extern "C" { fn probe_one() -> i32; }\nfn main() { println!("{}", unsafe { probe_one() }); }',
          build_dependencies='cmake = "0.1"',
          build_rs='fn main() {\n    let dst = cmake::build("native");\n'
                   '    println!("cargo:rustc-link-search=native={}/lib", dst.display());\n'
                   '    println!("cargo:rustc-link-lib=static=probe");\n}',
          files={"native/CMakeLists.txt": _CMAKE, "native/probe.c": "int probe_one(void) { return 1; }\n"},
          alternatives=(("cmake", "make"),)),
    Probe("bindgen", 3, "",
          'mod b { include!(concat!(env!("OUT_DIR"), "/b.rs")); }\nfn main() { println!("{}", b::PROBE_N); }',
          build_dependencies='bindgen = "0.71"',
          build_rs='fn main() {\n    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());\n'
                   '    bindgen::Builder::default().header("wrapper.h").generate().unwrap()'
                   '.write_to_file(out.join("b.rs")).unwrap();\n}',
          files={"wrapper.h": "#include <stdint.h>\n#define PROBE_N 7\nint32_t probe_add(int32_t a, int32_t b);\n"},
          alternatives=(("libclang-dev",),)),
    Probe("aws-lc-sys", 4, 'aws-lc-rs = "1"',
          'fn main() { println!("{:?}", aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"x")); }'),
    Probe("cxx-build", 4, 'cxx = "1"',
          '#[cxx::bridge]\nmod ffi { extern "Rust" { fn one() -> i32; } }\nfn one() -> i32 { 1 }\n'
          'fn main() { println!("{}", one()); }',
          build_dependencies='cxx-build = "1"', build_rs='fn main() { cxx_build::bridge("src/main.rs").compile("probe"); }'),
    Probe("openssl-src", 6, 'openssl-sys = { version = "0.9", features = ["vendored"] }',
          'fn main() { println!("{}", unsafe { openssl_sys::OpenSSL_version_num() }); }',
          alternatives=(("make",),)),
    Probe("librocksdb-sys", 25, 'rocksdb = { version = "0.23", default-features = false }',
          'fn main() { let o = rocksdb::Options::default(); drop(o); println!("ok"); }'),
    Probe("protobuf-src", 20, 'protobuf-src = "2"', 'fn main() { println!("{}", protobuf_src::protoc().display()); }'),
)


@dataclass(frozen=True)
class Outcome:
    packages: tuple[str, ...]
    ok: bool
    seconds: float
    detail: str  # the telling error line, or the runtime packages the binary links
    linked: tuple[str, ...] = ()  # packages owning the shared libraries the built binary links (libc's left out)


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


def dockerfile(packages: tuple[str, ...]) -> str:
    install = (
        [f"RUN apt-get update && apt-get install -y --no-install-recommends {' '.join(packages)} && rm -rf /var/lib/apt/lists/*"]
        if packages else []
    )
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


def build(root: Path, packages: tuple[str, ...], tag: str, run: Runner = docker_build) -> Outcome:
    """Build the probe at `root` on the rust image with `packages` installed first."""
    (root / "Dockerfile.probe").write_text(dockerfile(packages))
    (root / ".dockerignore").write_text("target\nDockerfile.probe\n")
    t0 = time.monotonic()
    code, out = run(root, root / "Dockerfile.probe", tag)
    seconds = time.monotonic() - t0
    if code == 0:
        marks = re.findall(rf"{_RUNTIME_MARK} ([^\n]*)", out)
        linked = tuple(sorted(set(marks[-1].split()) - _BASE_LIBS)) if marks else ()
        return Outcome(packages, True, seconds, "links " + (", ".join(linked) or "nothing beyond libc"), linked)
    return Outcome(packages, False, seconds, _error_line(out))


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
        "needs them; libc6 and libgcc-s1 left out).",
        "",
        "| crate | scaffold installs (build / runtime) | packages built with | result | seconds | detail |",
        "|---|---|---|---|---|---|",
    ]
    for crate, (runtime, outcomes) in results.items():
        for i, o in enumerate(outcomes):
            installs = f"{' '.join(outcomes[0].packages) or '-'} / {' '.join(runtime) or '-'}" if i == 0 else ""
            lines.append(
                f"| {crate if i == 0 else ''} | {installs} | {' '.join(o.packages) or '(none)'} | "
                f"{'builds' if o.ok else 'FAILS'} | {o.seconds:.0f} | {o.detail.replace('|', '/')} |"
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
        first = outcomes[0]
        libraries = set(requirement.runtime) - {"ca-certificates"}  # read at run time, not linked
        if not first.ok or not set(requirement.build) <= set(first.packages):
            problems.append(f"{crate}: the report built it with {' '.join(first.packages) or 'nothing'} "
                            f"({'builds' if first.ok else 'FAILS'}), the table asks for {' '.join(requirement.build) or 'nothing'}")
        elif not requirement.build and any(not o.ok for o in outcomes if not o.packages):
            problems.append(f"{crate}: the report shows the build fails without packages, the table asks for none")
        elif not libraries <= set(first.linked):
            problems.append(f"{crate}: runtime {' '.join(sorted(libraries))}, but the binary links {' '.join(first.linked) or 'nothing'}")
    return problems


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
            print(f"    {' '.join(o.packages) or '(none)'}: {'builds' if o.ok else 'FAILS'} in {o.seconds:.0f}s; {o.detail}", flush=True)
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
        if len(cells) != 6 or cells[3] not in ("builds", "FAILS"):
            continue
        crate = cells[0] or crate
        if cells[0]:
            runtime = cells[1].split(" / ")[1] if " / " in cells[1] else "-"
            results[crate] = (tuple(runtime.split()) if runtime != "-" else (), [])
        packages = () if cells[2] == "(none)" else tuple(cells[2].split())
        linked = tuple(cells[5].removeprefix("links ").split(", ")) if cells[5].startswith("links ") else ()
        linked = () if linked == ("nothing beyond libc",) else linked
        results[crate][1].append(Outcome(packages, cells[3] == "builds", float(cells[4]), cells[5], linked))
    return results


if __name__ == "__main__":
    sys.exit(main())
