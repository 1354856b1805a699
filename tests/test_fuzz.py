"""Fuzzing the whole pipeline with generated projects: a ScaffoldError or valid files, nothing else.

Hypothesis builds Cargo projects on disk: workspaces with member lists and globs (some matching
nothing, some pointing outside), packages with [[bin]] entries (present, missing, badly typed),
features, dependencies (registry, optional, path, `workspace = true`, cfg target tables), toolchain
files, Cargo.lock files and Cargo config files, and now and then a file replaced by garbage bytes.
`inspect_project` + `make_plan` + `render` must either raise ScaffoldError or produce a Dockerfile
BuildKit parses and a compose file with the expected structure; every few successes also go
through hadolint and Compose v2. Any other exception is a bug.

The normal run is bounded (about half a minute); SCAFFOLD_FUZZ=1 runs many more examples.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import validators
from generator import cfg, runtimes, tomlfile
from generator.answers import Answers
from generator.errors import ScaffoldError
from generator.inspect import inspect_project
from generator.plan import make_plan
from generator.render import render

FUZZ = os.environ.get("SCAFFOLD_FUZZ") == "1"

projects_settings = settings(
    max_examples=3000 if FUZZ else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
cheap_settings = settings(max_examples=5000 if FUZZ else 300, deadline=None)


# --- a tiny TOML writer: everything as inline values, which TOML allows at any depth ---------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters (DEL too) escaped, the rest raw."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_document(data: dict[str, Any]) -> str:
    return "".join(f"{toml_string(str(key))} = {toml_value(value)}\n" for key, value in data.items())


# --- strategies -------------------------------------------------------------------------------------

def rare(draw, one_in: int) -> bool:
    """True about once in `one_in` draws. Not `== 0`: Hypothesis leans towards zero, the simplest value."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2


NAMES = ["app", "core", "server", "cli", "node", "api", "worker", "util"]
name = st.one_of(st.sampled_from(NAMES), st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True))
odd_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
feature_name = st.one_of(st.sampled_from(["default", "tls", "db", "full", "serde"]), name)
cfg_spec = st.one_of(
    st.sampled_from(
        [
            "cfg(unix)",
            "cfg(windows)",
            'cfg(target_os = "linux")',
            'cfg(target_os = "macos")',
            'cfg(all(unix, not(target_env = "musl")))',
            'cfg(any(windows, target_arch = "wasm32"))',
            "cfg(not(",
            "cfg(",
            "x86_64-unknown-linux-gnu",
            "wasm32-unknown-unknown",
        ]
    ),
    st.text("cfg(),=\" anotlixuwdsy_", max_size=30),
)


@st.composite
def dependency(draw, members: list[str]):
    kinds = ["version", "version", "table", "table", "path", "workspace", "bad"] if members else ["version", "table", "bad"]
    kind = draw(st.sampled_from(kinds))
    if kind == "bad" and not rare(draw, 4):
        kind = "version"
    if kind == "version":
        return draw(st.sampled_from(["1", "0.3", "*"]))
    if kind == "path":
        return {"path": draw(st.sampled_from([*(f"../{m}" for m in members), *members, "..", "missing", "../../x"])),
                "optional": draw(st.booleans())}
    if kind == "workspace":
        spec: dict[str, Any] = {"workspace": True}  # the project adds the key to [workspace.dependencies] mostly
        if draw(st.booleans()):
            spec["features"] = draw(st.lists(feature_name, max_size=2))
        if draw(st.booleans()):
            spec["optional"] = True
        return spec
    if kind == "bad":
        return draw(st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.just({"features": "tls"}), st.just({"path": 5})))
    spec = {"version": "1", "optional": draw(st.booleans()), "default-features": draw(st.booleans())}
    if draw(st.booleans()):
        spec["features"] = draw(st.lists(feature_name, max_size=3))
    if draw(st.booleans()):
        spec["package"] = draw(st.sampled_from(["openssl-sys", "pq-sys", "prost-build", "bindgen"]))
    return spec


@st.composite
def package_manifest(draw, package: str, members: list[str], in_workspace: bool) -> dict[str, Any]:
    table: dict[str, Any] = {"name": draw(st.one_of(st.just(package), name, odd_text)) if rare(draw, 10) else package}
    table["version"] = draw(st.sampled_from(["0.1.0", {"workspace": True}] if in_workspace else ["1.0.0"]))
    table["edition"] = draw(st.sampled_from(["2015", "2018", "2021", "2024"]))
    for key in ("description", "license", "repository"):
        if draw(st.booleans()):
            table[key] = draw(st.one_of(odd_text, st.just({"workspace": True}) if in_workspace else odd_text))
    if rare(draw, 5):
        table["rust-version"] = draw(st.sampled_from(["1.70", "1.99.1", "2", "1.80", "1.80.0", "1.85"])) if not rare(draw, 6) else "nightly"
    if rare(draw, 6):
        table["autobins"] = draw(st.booleans())
    if rare(draw, 6):
        table["default-run"] = draw(name)
    data: dict[str, Any] = {"package": table}
    bins = draw(st.lists(st.fixed_dictionaries({"name": name}, optional={
        "path": st.sampled_from(["src/main.rs", "src/bin/x.rs", "src/other.rs", "src/bin/other.rs", "src/main.rs", "src/other.rs"]),
        "required-features": st.lists(feature_name, max_size=2),
    }), max_size=3))
    if bins and rare(draw, 12):
        bins[0]["path"] = draw(st.sampled_from(["missing.rs", 5, ""]))
    if bins:
        data["bin"] = bins
    features = draw(st.dictionaries(feature_name, st.lists(st.one_of(
        feature_name,
        st.builds(lambda d: f"dep:{d}", name),
        st.builds(lambda d, f: f"{d}/{f}", name, feature_name),
        st.builds(lambda d, f: f"{d}?/{f}", name, feature_name),
    ), max_size=3), max_size=4))
    if rare(draw, 16):
        features = {"default": "not-a-list"}
    if features:
        data["features"] = features
    deps = draw(st.dictionaries(name, dependency(members), max_size=4))
    if deps:
        data[draw(st.sampled_from(["dependencies", "build-dependencies", "dev-dependencies"]))] = deps
    if rare(draw, 4):
        data["target"] = {draw(cfg_spec): {"dependencies": draw(st.dictionaries(name, dependency(members), max_size=2))}}
    return data


@st.composite
def project(draw) -> dict[str, bytes | str | None]:
    """A project as {relative path: content}; None makes a directory, a str starting with '->' a symlink."""
    files: dict[str, bytes | str | None] = {}
    shape = draw(st.sampled_from(["crate", "virtual", "root-and-members"]))
    members = draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=0 if shape == "crate" else 1, max_size=4))
    layout = draw(st.sampled_from(["flat", "crates"]))
    member_dir = {m: (m if layout == "flat" else f"crates/{m}") for m in members}
    if shape != "crate":
        patterns = ["crates/*"] if layout == "crates" and draw(st.booleans()) else list(member_dir.values())
        patterns += draw(st.lists(st.sampled_from(["missing/*", "../outside", "crates/*/", "[", "*", "."]), max_size=1))
        workspace: dict[str, Any] = {"members": patterns, "resolver": "2"}
        if not rare(draw, 6):
            workspace["package"] = {"version": "0.2.0", "description": draw(odd_text), "license": "MIT", "repository": draw(odd_text)}
        if not rare(draw, 6):
            workspace["dependencies"] = {n: draw(st.sampled_from(["1", {"version": "1", "features": ["x"]}, {"path": "crates/util"}, 7]))
                                         for n in NAMES + ["openssl-sys"] if not rare(draw, 6)}
        if rare(draw, 5):
            workspace["exclude"] = draw(st.lists(st.sampled_from(list(member_dir.values()) or ["x"]), max_size=1))
        if rare(draw, 5):
            workspace["default-members"] = draw(st.lists(st.sampled_from(list(member_dir.values()) or ["x"]), max_size=2))
        root: dict[str, Any] = {"workspace": workspace}
        if shape == "root-and-members":
            root.update(draw(package_manifest("root-app", list(member_dir.values()), True)))
            files["src/main.rs"] = "fn main() {}\n"
            for entry in root.get("bin", []):
                path = entry.get("path", f"src/bin/{entry['name']}.rs")
                if isinstance(path, str) and path:
                    files[path] = "fn main() {}\n"
        files["Cargo.toml"] = toml_document(root)
    else:
        files["Cargo.toml"] = toml_document(draw(package_manifest("app", [], False)))
        files["src/main.rs"] = "fn main() {}\n"
        for entry in tomllib.loads(files["Cargo.toml"]).get("bin", []):
            path = entry.get("path", f"src/bin/{entry['name']}.rs")
            if isinstance(path, str) and path:
                files[path] = "fn main() {}\n"
    for member, directory in member_dir.items():
        files[f"{directory}/Cargo.toml"] = toml_document(draw(package_manifest(member, list(member_dir.values()), True)))
        manifest = tomllib.loads(files[f"{directory}/Cargo.toml"])
        for entry in manifest.get("bin", []):
            path = entry.get("path", f"src/bin/{entry['name']}.rs")
            if isinstance(path, str) and path:
                files[f"{directory}/{path}"] = "fn main() {}\n"
        for source in draw(st.lists(st.sampled_from(["src/main.rs", "src/lib.rs", "src/bin/x.rs", "src/bin/y/main.rs", "build.rs"]),
                                    unique=True, max_size=3)):
            files[f"{directory}/{source}"] = "fn main() {}\n"
    extra = draw(st.sampled_from(["none", "toolchain-toml", "toolchain-legacy", "lock", "cargo-config", "symlinks"]))
    if extra == "toolchain-toml":
        files["rust-toolchain.toml"] = toml_document({"toolchain": draw(st.one_of(
            st.fixed_dictionaries({"channel": st.sampled_from(["1.80.0", "stable", "nightly-2025-01-01", "1.2.3.4", " "])}),
            st.fixed_dictionaries({"components": st.just(["clippy"])}),
            st.just("bad"),
        ))})
    elif extra == "toolchain-legacy":
        files["rust-toolchain"] = draw(st.one_of(st.sampled_from(["1.79.0\n", "nightly\n", "1.80\n", "stable\n", "", "\n\n"]), odd_text))
    elif extra == "lock":
        names = ["root-app", *members] if shape == "root-and-members" else (members or ["app"])
        entries = [
            {"name": n, "version": "0.1.0", "dependencies": draw(st.lists(st.sampled_from([*names, "openssl-sys", "nope"]), max_size=2))}
            for n in names
        ]
        entries.append({"name": "openssl-sys", "version": "0.9.0", "source": "registry+https://github.com/rust-lang/crates.io-index"})
        files["Cargo.lock"] = toml_document({"version": 3, "package": entries})
    elif extra == "cargo-config":
        files[".cargo/config.toml"] = toml_document(draw(st.one_of(
            st.just({"build": {"target": "x86_64-unknown-linux-gnu"}}),
            st.just({"build": {"rustflags": ["-C", "link-arg=-fuse-ld=mold"]}}),
            st.just({"target": {"x86_64-unknown-linux-gnu": {"linker": "clang"}}}),
            st.just({"target": "oops"}),
            st.just({"build": {"target": ["wasm32-unknown-unknown", "x86_64-unknown-linux-gnu"]}}),
        )))
    elif extra == "symlinks":
        target = draw(st.sampled_from([".", "..", "loop", "/", "missing"]))
        where = draw(st.sampled_from(["loop", "src/bin/loop.rs", "crates/loop", "Cargo.lock"]))
        files[where] = f"->{target}"
    if rare(draw, 13):
        victim = draw(st.sampled_from(sorted(p for p, c in files.items() if isinstance(c, str) and not c.startswith("->"))))
        files[victim] = draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"\xff\xfe", b"[package\n", b"\x00"])))
    return files


answers = st.builds(
    Answers,
    runtime=st.sampled_from(runtimes.NAMES),
    strategy=st.sampled_from(["skeleton", "cache-mount"]),
    optimize=st.sampled_from(["strip", "speed", "size", "as-is"]),
    nodes=st.integers(1, 6),
    healthcheck=st.sampled_from([None, "http", "exec", "none"]),
    features=st.lists(feature_name, max_size=2).map(tuple),
    rust_log=st.one_of(st.just("info"), odd_text),
    bin=st.one_of(st.none(), name),
    package=st.one_of(st.none(), name),
)


def materialize(root: Path, files: dict[str, bytes | str | None]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path):
            continue
        if isinstance(content, str) and content.startswith("->"):
            os.symlink(content[2:], path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)


# --- the properties ---------------------------------------------------------------------------------

_checked_with_tools = {"count": 0}
TOOL_EVERY = 10 if FUZZ else 40  # hadolint + Compose v2 on every Nth success (they are subprocesses)


@projects_settings
@given(files=project(), choice=answers)
def test_generated_projects_give_valid_files_or_a_scaffold_error(files, choice):
    work = Path(tempfile.mkdtemp(prefix="scaffold-fuzz-"))
    try:
        root = work / "project"
        root.mkdir()
        materialize(root, files)
        try:
            facts = inspect_project(root, ask_cargo=False)  # cargo on each generated project would take seconds
            plan = make_plan(facts, choice)
            rendered = {f.name: f.content for f in render(plan)}
        except ScaffoldError as exc:
            message = str(exc)
            assert message and "\n" not in message.strip(), f"error message is not one line: {message!r}"
            event(f"refused: {type(exc).__name__}")
            return
        event("generated")
        dockerfile, compose = rendered["Dockerfile"], rendered["docker-compose.yml"]
        commands = validators.buildkit_parse(dockerfile)
        assert any(c.cmd.upper() == "FROM" for c in commands)
        validators.key_values(dockerfile, "LABEL")  # literal values only
        model = validators.compose_yaml(compose)
        assert isinstance(model, dict) and "version" not in model
        services = model["services"]
        assert len(services) == choice.nodes
        for service in services.values():
            assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
            assert validators.compose_literal(service["environment"]["RUST_LOG"]) == choice.rust_log
        _checked_with_tools["count"] += 1
        if _checked_with_tools["count"] % TOOL_EVERY == 1:
            assert validators.hadolint(dockerfile) == []
            assert validators.compose_config(compose, dockerfile) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)


@cheap_settings
@given(st.text(max_size=60))
def test_cfg_expressions_never_crash(spec):
    assert cfg.applies_to_linux(spec) in (True, False)


@cheap_settings
@given(st.binary(max_size=200))
def test_any_bytes_load_as_toml_or_fail_cleanly(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("toml") / "Cargo.toml"
    path.write_bytes(raw)
    try:
        data = tomlfile.load_toml(path)
    except ScaffoldError as exc:
        assert str(exc).startswith(str(path))
        return
    assert isinstance(data, dict)


@pytest.mark.parametrize("shape", ["crate", "workspace"])
def test_a_garbage_manifest_in_every_position(tmp_path, shape):
    """Deterministic companion of the fuzzer: each file of a working project, replaced by garbage."""
    base = {"Cargo.toml": toml_document({"package": {"name": "app", "version": "0.1.0"}}), "src/main.rs": "fn main() {}\n"}
    if shape == "workspace":
        base = {
            "Cargo.toml": toml_document({"workspace": {"members": ["crates/*"]}}),
            "crates/app/Cargo.toml": toml_document({"package": {"name": "app", "version": "0.1.0"}}),
            "crates/app/src/main.rs": "fn main() {}\n",
        }
    base["Cargo.lock"] = toml_document({"version": 3, "package": [{"name": "app", "version": "0.1.0"}]})
    base["rust-toolchain.toml"] = toml_document({"toolchain": {"channel": "1.95.0"}})
    for victim in [p for p in base if p.endswith((".toml", ".lock"))]:
        for garbage in (b"\x00\xff" * 10, b"[[[", b"", "x = 1\n".encode("utf-16")):
            root = tmp_path / f"{len(list(tmp_path.iterdir()))}"
            root.mkdir()
            materialize(root, {**base, victim: garbage})
            with pytest.raises(ScaffoldError) as caught:
                make_plan(inspect_project(root), Answers())
            assert victim.rsplit("/", 1)[-1] in str(caught.value)
