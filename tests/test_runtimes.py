"""The runtime table: each record is consistent with itself and with what the rest of scaffold does with it."""

from __future__ import annotations

import pytest

from generator import probes, runtimes
from generator.questions_builtin import BUILTIN


@pytest.mark.parametrize("runtime", runtimes.RUNTIMES, ids=runtimes.NAMES)
def test_a_record_holds_together(runtime):
    assert runtime.uid >= 1000  # never root, never a system account
    assert "${RUST_VERSION}" in runtime.builder_image
    assert runtime.builder_image.endswith("alpine") == (runtime.libc == "musl") == (runtime.builder_distro is runtimes.ALPINE)
    if probes.SHELLS[runtime.name] == "busybox":
        assert "wget" in runtime.programs  # busybox's wget makes the alpine http probe
    if runtime.distro is not None:
        assert runtime.distro is runtime.builder_distro  # packages are named for one distro on both stages
    assert runtimes.guess(runtime.image) is runtime


def test_names_are_unique_and_the_runtime_question_offers_them_all():
    assert len(set(runtimes.NAMES)) == len(runtimes.NAMES)
    (question,) = [q for q in BUILTIN if q.name == "runtime"]
    assert question.choices == runtimes.NAMES
    assert all(name in question.help for name in runtimes.NAMES)


def test_probes_run_with_the_shell_each_image_has():
    assert probes.SHELLS == {"debian-slim": "bash", "alpine": "busybox", "distroless": None, "scratch": None}


def test_unknown_images_are_not_guessed():
    assert runtimes.guess("ubuntu:24.04") is None
    assert runtimes.guess("gcr.io/distroless/static-debian12") is runtimes.get("distroless")


def test_alpine_names_translate_and_unknown_names_pass_through():
    assert runtimes.ALPINE.package("libssl-dev") == "openssl-dev"
    assert runtimes.ALPINE.package("make") == "make"
    assert runtimes.DEBIAN.package("libssl-dev") == "libssl-dev"
