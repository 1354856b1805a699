"""The real-size benchmark's pure logic: the CI recipe's arguments, reading BuildKit's output, the targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import ci  # noqa: E402
import realreport  # noqa: E402
from real import parse_size  # noqa: E402

PLAIN = """\
#5 [builder 1/4] RUN SCAFFOLD_BENCH_RUN=x sleep 3 && echo a > /deps
#5 CACHED
#6 [builder 2/4] COPY x /x
#6 DONE 0.1s
#7 [builder 3/4] RUN SCAFFOLD_BENCH_RUN=x cat /deps /x > /out
#7 DONE 0.4s
"""


def test_the_recipe_builds_the_dependency_stage_first_and_both_builds_read_both_images():
    deps_build, final_build = ci.recipe_args("builder", "r/app:deps", "r/app:latest")
    assert deps_build[:2] == ["--target", "builder"] and deps_build[-2:] == ["-t", "r/app:deps"]
    assert "--target" not in final_build and final_build[-2:] == ["-t", "r/app:latest"]
    for args in (deps_build, final_build):
        assert "BUILDKIT_INLINE_CACHE=1" in args
        assert [args[i + 1] for i, a in enumerate(args) if a == "--cache-from"] == ["r/app:deps", "r/app:latest"]


def test_a_single_stage_recipe_is_one_build_from_its_own_image():
    (only,) = ci.recipe_args(None, "r/app:deps", "r/app:latest")
    assert [only[i + 1] for i, a in enumerate(only) if a == "--cache-from"] == ["r/app:latest"]


@pytest.mark.parametrize(("command", "expected"), [("sleep 3", True), ("cat /deps", False), ("no such step", None)])
def test_a_step_is_reused_only_when_buildkit_says_cached(command, expected):
    assert ci.step_reused(PLAIN, command) is expected


@pytest.mark.parametrize(
    ("plain", "imported", "ok"),
    [(False, True, True), (True, True, False), (False, False, False), (None, True, False)],
)
def test_the_reset_is_a_fresh_runner_only_if_the_plain_control_is_cold_and_the_imported_one_is_not(plain, imported, ok):
    result = {"without_cache_from": {"dependency_step_reused": plain}, "with_cache_from": {"dependency_step_reused": imported}}
    assert ci.controls_ok(result) is ok


@pytest.mark.parametrize(("text", "expected"), [("0B", 0), ("512kB", 512_000), ("1.5GB", 1_500_000_000), ("?", 0)])
def test_docker_sizes_are_read_in_bytes(text, expected):
    assert parse_size(text) == expected


def _results(default_edit: float, chef_ci: float, skeleton_ci: float, leaf_compiled: list[str]) -> dict:
    def runs(s: float, **extra) -> list[dict]:
        return [{"s": s, "check": None, **extra}]

    return {"projects": {
        "sfz": {"fixed_cost_s": 2.0, "floor": {"edit": {"host_s": 8.0}}, "scenarios": {
            "edit": {"default": runs(default_edit), "docker-init": runs(11.0), "cargo-chef": runs(12.0)},
            "ci": {realreport.CI_RECOMMENDED: runs(skeleton_ci), "cargo-chef": runs(chef_ci), "default": runs(300.0)},
        }},
        "bench-ws": {"fixed_cost_s": 1.0, "floor": {}, "scenarios": {"leaf": {"default": runs(2.0, compiled=leaf_compiled)}}},
    }}


def test_targets_are_met_when_the_numbers_meet_them():
    lines = realreport.targets(_results(10.0, 60.0, 62.0, ["bench-app"]), "default", {})
    assert not [line for line in lines if "missed" in line or "not measured" in line]


def test_each_target_is_missed_when_its_number_misses_it():
    lines = realreport.targets(_results(13.5, 50.0, 120.0, ["bench-app", "lib-00"]), "default", {})
    missed = [line for line in lines if "missed" in line]
    assert len(missed) == 6  # 1.3x floor, ahead of both, 1.1x of cargo-chef, a third of cache-mount, leaf only


def test_the_floor_is_the_host_plus_the_engine():
    assert realreport.floor_of(_results(10.0, 1.0, 1.0, [])["projects"]["sfz"], "edit") == 10.0
    assert realreport.floor_of(_results(10.0, 1.0, 1.0, [])["projects"]["sfz"], "cold") is None


def test_the_ci_targets_are_the_single_crates():
    results = _results(10.0, 60.0, 62.0, ["bench-app"])
    results["projects"]["bench-ws"]["scenarios"]["ci"] = {realreport.CI_RECOMMENDED: [{"s": 20.0}], "cargo-chef": [{"s": 10.0}]}
    lines = realreport.targets(results, "default", {})
    assert [line for line in lines if "CI case" in line and line.startswith("- sfz")]
    assert not [line for line in lines if "bench-ws CI" in line or "missed" in line]
