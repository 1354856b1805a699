"""Feature resolution over the workspace's own manifests."""

from pathlib import Path

from generator import features
from generator.manifest import read_package

MANIFESTS = Path(__file__).resolve().parent / "manifests"


def package(tmp_path: Path, text: str):
    (tmp_path / "Cargo.toml").write_text(text)
    import tomllib

    return read_package(tmp_path / "Cargo.toml", tomllib.loads(text), None)


HEADER = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n'


def test_optional_dependency_off_unless_a_feature_enables_it(tmp_path):
    app = package(tmp_path, HEADER + '''
[dependencies]
tokio = "1"
openssl = { version = "0.10", optional = true }
[features]
tls = ["dep:openssl"]
''')
    off = features.resolve((app,), {"app": frozenset({"default"})}, all_features=False)
    on = features.resolve((app,), {"app": frozenset({"default", "tls"})}, all_features=False)
    everything = features.resolve((app,), {"app": frozenset({"default"})}, all_features=True)
    assert set(off.requests) == {"tokio"}
    assert set(on.requests) == {"tokio", "openssl"}
    assert set(everything.requests) == {"tokio", "openssl"}


def test_dep_feature_requests_are_recorded(tmp_path):
    app = package(tmp_path, HEADER + '''
[dependencies]
reqwest = { version = "0.12", default-features = false, features = ["json"] }
[features]
default = ["native"]
native = ["reqwest/native-tls"]
extra = ["reqwest?/gzip"]
''')
    active = features.resolve((app,), features.default_roots(app), all_features=False)
    request = active.requests["reqwest"]
    assert request.features == {"json", "native-tls"}
    assert request.default_features is False
    everything = features.resolve((app,), features.default_roots(app), all_features=True)
    assert everything.requests["reqwest"].features == {"json", "native-tls", "gzip"}


def test_implicit_feature_of_an_optional_dependency(tmp_path):
    app = package(tmp_path, HEADER + '''
[dependencies]
openssl = { version = "0.10", optional = true }
rustls = { version = "0.23", optional = true }
[features]
modern = ["dep:rustls"]
''')
    # `dep:rustls` removes only rustls's implicit feature; `openssl` still has one.
    on = features.resolve((app,), {"app": frozenset({"openssl"})}, all_features=False)
    assert set(on.requests) == {"openssl"}
    off = features.resolve((app,), {"app": frozenset({"rustls"})}, all_features=False)
    assert set(off.requests) == set()
    # --all-features switches on implicit features too.
    everything = features.resolve((app,), {"app": frozenset({"default"})}, all_features=True)
    assert set(everything.requests) == {"openssl", "rustls"}


def test_dev_and_foreign_dependencies_do_not_count(tmp_path):
    app = package(tmp_path, HEADER + '''
[dependencies]
libc = "0.2"
[dev-dependencies]
criterion = "0.5"
[target.'cfg(windows)'.dependencies]
winapi = "0.3"
[target.'cfg(unix)'.dependencies]
nix = "0.29"
[build-dependencies]
cc = "1"
''')
    active = features.resolve((app,), features.default_roots(app), all_features=False)
    assert set(active.requests) == {"libc", "nix", "cc"}


def test_path_dependencies_are_followed_with_their_features():
    from generator.workspace import load_workspace

    ws = load_workspace(MANIFESTS / "ws-root-pathdep")
    root = ws.package("rootapp")
    active = features.resolve(ws.members, features.default_roots(root), all_features=False)
    assert active.packages == {"rootapp", "dbhelper"}
    assert set(active.direct) == {"dbhelper"}
    assert set(active.requests) == {"pq-sys"}
