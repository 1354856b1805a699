"""The loopback check: listeners bound to 127.0.0.1, localhost or [::1] in a binary's sources and shipped configs."""

import os
import shutil
from pathlib import Path

import pytest

from generator import loopback, loopback_scan
from generator.inspect import inspect_project
from generator.loopback import check_loopback
from generator.loopback_scan import scan_config, scan_rust, scan_rust_files

MANIFESTS = Path(__file__).resolve().parent / "manifests"
SAMPLES = Path(__file__).resolve().parent.parent / "sample-crates"


def warnings_for(case: Path, binary: str | None = None):
    facts = inspect_project(case)
    chosen = facts.binary(binary) if binary else facts.default_binary
    return check_loopback(facts, chosen)


def lines(text: str) -> list[tuple[int, str]]:
    return [(f.line, f.address) for f in scan_rust(text)]


@pytest.mark.parametrize(
    "source, expected",
    [
        ('let l = TcpListener::bind("127.0.0.1:6379").await?;', [(1, "127.0.0.1")]),
        ('let l = TcpListener::bind(&format!("127.0.0.1:{}", port)).await?;', [(1, "127.0.0.1")]),  # mini-redis 0.4.1
        ('HttpServer::new(app)\n    .bind(("localhost", 8080))?', [(2, "localhost")]),
        ('let s = TcpListener::bind(\n    "[::1]:50051",\n);', [(2, "[::1]")]),
        ("let addr = SocketAddr::from(([127, 0, 0, 1], 3000));\nlet l = TcpListener::bind(addr).await?;", [(1, "127.0.0.1")]),
        ('let addr = "[::1]:50051".parse()?;\nServer::builder().add_service(svc).serve(addr).await?;', [(1, "[::1]")]),
        ("warp::serve(routes).run(([127, 0, 0, 1], 3030)).await;", [(1, "127.0.0.1")]),
        ("let l = TcpListener::bind((Ipv6Addr::LOCALHOST, 80))?;", [(1, "[::1]")]),
        ("let l = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 53))?;", [(1, "127.0.0.1")]),
        ('Config { listen_addr: "127.0.0.1:8080".into(), ..Default::default() }', [(1, "127.0.0.1")]),
        ('let a = env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());', [(1, "127.0.0.1")]),
        ('let l = TcpListener::bind(r#"127.0.0.1:80"#)?;', [(1, "127.0.0.1")]),
        ('#[arg(long, default_value = "127.0.0.1:8080")]\nlisten: SocketAddr,', [(1, "127.0.0.1")]),
        ('#[arg(long, default_value = "127.0.0.1")]\npub host: String,\n}\nfn f() { TcpListener::bind((a.host, 1)); }', [(1, "127.0.0.1")]),
        ("let mut addr = \"localhost:1\".to_string();\n" + "\n" * 10 + "app.listen(addr).await?;", [(1, "localhost")]),
    ],
)
def test_listeners_found(source, expected):
    assert lines(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        '// TcpListener::bind("127.0.0.1:80")',
        '/* TcpListener::bind("127.0.0.1:80") */ fn main() {}',
        '/// let l = TcpListener::bind("localhost:6379")?;\nfn f() {}',
        'let s = TcpStream::connect("127.0.0.1:6379")?;',
        "let addr = SocketAddr::from(([127, 0, 0, 1], port));\nlet s = TcpStream::connect_timeout(&addr, t)?;",  # raft-node's healthcheck
        'let l = TcpListener::bind("0.0.0.0:8080")?;\nprintln!("listening, try curl http://localhost:8080");',
        'const USAGE: &str = "\\\nserve   listen on the port\nhealthcheck GET http://127.0.0.1/health";\n'
        'fn main() { println!("{USAGE}"); }',
        '#[arg(long, default_value = "127.0.0.1")]\nhost: String,\n}\nfn f() { TcpStream::connect((a.host, 1)); }',  # a client's --host
        "let c = '\"'; let s = \"localhost\"; connect(s);",
        'let server_url = "http://localhost:9000";\nreqwest::get(server_url);',
    ],
)
def test_quiet(source):
    assert scan_rust(source) == []


# rathole 0.5.0's src/config.rs: a listen address set in a unit test is not what the binary binds.
TEST_MODULE = (
    'fn serve(c: &Config) { TcpListener::bind(&c.bind_addr); }\n'
    '#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n'
    '        let c = ServerConfig {\n            bind_addr: "127.0.0.1:80".into(),\n        };\n    }\n}\n'
)


@pytest.mark.parametrize(
    "source",
    [
        TEST_MODULE,
        '#[test]\nfn binds() {\n    let l = TcpListener::bind("127.0.0.1:0").unwrap();\n}',
        '#[tokio::test]\nasync fn binds() {\n    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();\n}',
        '#[cfg(all(test, unix))]\nmod tests { fn f() { TcpListener::bind("127.0.0.1:0"); } }',
    ],
)
def test_unit_tests_are_not_the_binary(source):
    assert scan_rust(source) == []


def test_code_after_a_test_module_is_scanned():
    source = TEST_MODULE + 'fn main() {\n    let l = TcpListener::bind("127.0.0.1:1");\n}'
    assert lines(source) == [(len(TEST_MODULE.splitlines()) + 2, "127.0.0.1")]


def test_a_const_bound_in_another_file():
    lib, main = 'pub const ADDR: &str = "127.0.0.1:7000";', "let l = TcpListener::bind(lib::ADDR)?;"
    assert [[f.line for f in findings] for findings in scan_rust_files([lib, main])] == [[1], []]


def test_line_numbers_count_multi_line_strings_and_comments():
    source = '/* one\ntwo */\nconst HELP: &str = "a\nb";\nfn main() {\n    let l = TcpListener::bind("127.0.0.1:1");\n}'
    assert lines(source) == [(6, "127.0.0.1")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[server]\nlisten = "127.0.0.1:8080"\n', [(2, "listen")]),
        ("bind_address: localhost\n", [(1, "bind_address")]),
        ('{\n  "http": {\n    "host": "127.0.0.1",\n    "port": 8080\n  }\n}\n', [(3, "host")]),
        ("HOST=127.0.0.1\nLISTEN_ADDR=[::1]:80\n", [(1, "HOST"), (2, "LISTEN_ADDR")]),
        ("server:\n  addr: 127.0.0.1:9000\n", [(2, "addr")]),
    ],
)
def test_config_listeners(text, expected):
    assert [(f.line, f.key) for f in scan_config(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        '[database]\nhost = "localhost"\n',
        "database:\n  host: localhost\n",
        "DATABASE_HOST=localhost\nREDIS_ADDR=127.0.0.1:6379\n",
        'server_url = "http://localhost:9000"\n',
        'host = "http://127.0.0.1:9000"\n',
        '# listen = "127.0.0.1:8080"\n',
        'listen = "0.0.0.0:8080"\n',
    ],
)
def test_config_quiet(text):
    assert scan_config(text) == []


# --- whole projects ---------------------------------------------------------------------------------


def test_fixture_server_warns_with_file_line_and_what_to_do():
    found = warnings_for(MANIFESTS / "loopback-bind", "loopy-server")
    assert [w.split(";")[0] for w in found] == [
        "the app binds localhost at src/bin/server.rs:7",
        "the app binds 127.0.0.1 at src/lib.rs:4",  # the const, bound in server.rs
        "the app binds 127.0.0.1 at net/src/lib.rs:4",  # a path dependency
        "the shipped config .env:1 sets HOST to localhost",
        "the shipped config config/default.toml:3 sets listen to 127.0.0.1",
    ]
    assert all("pass 0.0.0.0 with --node-arg/--node-env" in w for w in found)


def test_other_binaries_files_are_not_scanned():
    assert not any("cli.rs" in w for w in warnings_for(MANIFESTS / "loopback-bind", "loopy-server"))
    assert any("src/bin/cli.rs:3" in w for w in warnings_for(MANIFESTS / "loopback-bind", "loopy-cli"))


def test_quiet_fixture():
    assert warnings_for(MANIFESTS / "loopback-quiet") == ()


@pytest.mark.parametrize("sample", ["raft-node", "kv-node"])
def test_quiet_on_the_sample_nodes(sample):
    # kv-node binds exactly its configured addresses; only its client defaults to 127.0.0.1.
    assert warnings_for(SAMPLES / sample) == ()


def test_size_cap(monkeypatch):
    monkeypatch.setattr(loopback, "MAX_TOTAL_BYTES", 200)
    found = warnings_for(MANIFESTS / "loopback-bind", "loopy-server")
    assert found[-1].startswith("the loopback check stopped after")
    assert len(found) < 6


def test_oversized_files_are_skipped(monkeypatch):
    monkeypatch.setattr(loopback, "MAX_FILE_BYTES", 10)
    assert warnings_for(MANIFESTS / "loopback-bind", "loopy-server") == ()


@pytest.mark.parametrize(
    "line",
    [
        '    let l = TcpListener::bind("127.0.0.1:8080")?;', "    server.listen(addr);", "    axum::serve(listener, app)",
        "let s = UdpSocket::new();", "    LISTEN_ON = 1", "    HttpServer::new(f)", "    let x = 1;", "    fn serve_http()",
        "    li\u017ften(addr)",  # the long s matches `s` case-insensitively: a non-ASCII line the words would miss
        "    Kelvin \u212a, dotless l\u0131sten",
    ],
)
def test_the_quick_bind_test_agrees_with_the_pattern(line):
    assert loopback_scan._binds(line) == (loopback_scan._BIND.search(line) is not None)


# --- the cache of findings ------------------------------------------------------------------------


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """A user cache of this test's own, and the scans that ran (a cached answer runs none)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    scans: list[int] = []
    original = loopback_scan.scan_rust_files

    def counting(texts):
        scans.append(len(texts))
        return original(texts)

    monkeypatch.setattr(loopback_scan, "scan_rust_files", counting)
    return scans


def copied_fixture(tmp_path: Path) -> Path:
    return Path(shutil.copytree(MANIFESTS / "loopback-bind", tmp_path / "loopback-bind"))


def test_a_second_check_takes_the_findings_from_the_cache(cache, tmp_path):
    crate = copied_fixture(tmp_path)
    first = warnings_for(crate, "loopy-server")
    assert cache == [3] and list((tmp_path / "xdg" / "scaffold" / "loopback").glob("*.json"))
    assert warnings_for(crate, "loopy-server") == first
    assert cache == [3]


def test_a_file_edited_in_place_is_scanned_again(cache, tmp_path):
    """Same size, same modification time: only the text says it changed."""
    crate = copied_fixture(tmp_path)
    server = crate / "src" / "bin" / "server.rs"
    before = server.stat()
    assert any("src/bin/server.rs:7" in w for w in warnings_for(crate, "loopy-server"))
    server.write_text(server.read_text().replace('"localhost:', '"otherhost:'))
    os.utime(server, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert server.stat().st_size == before.st_size
    assert not any("src/bin/server.rs" in w for w in warnings_for(crate, "loopy-server"))
    assert cache == [3, 3]


def test_an_edited_config_is_read_again(cache, tmp_path):
    crate = copied_fixture(tmp_path)
    assert any(".env:1 sets HOST" in w for w in warnings_for(crate, "loopy-server"))
    (crate / ".env").write_text("HOST=0.0.0.0\n")
    assert not any(".env" in w for w in warnings_for(crate, "loopy-server"))


def test_a_damaged_entry_is_scanned_again(cache, tmp_path):
    crate = copied_fixture(tmp_path)
    first = warnings_for(crate, "loopy-server")
    for entry in (tmp_path / "xdg" / "scaffold" / "loopback").glob("*.json"):
        entry.write_text('{"sources": [[[1, "127.0.0.1"]]], "configs": []}')  # wrong shape for these texts
    assert warnings_for(crate, "loopy-server") == first
    assert cache == [3, 3]


def test_an_entry_of_another_scanner_is_not_used(cache, tmp_path, monkeypatch):
    crate = copied_fixture(tmp_path)
    warnings_for(crate, "loopy-server")
    edited = tmp_path / "loopback_scan.py"
    edited.write_text(loopback._SCANNER.read_text() + "# edited\n")
    monkeypatch.setattr(loopback, "_SCANNER", edited)
    warnings_for(crate, "loopy-server")
    assert cache == [3, 3]


def test_a_cache_that_cannot_be_written_is_skipped(cache, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    crate = copied_fixture(tmp_path)
    assert warnings_for(crate, "loopy-server") == warnings_for(crate, "loopy-server")
    assert cache == [3, 3]


def test_node_files_are_checked_through_the_cache_too(cache):
    files = [("cluster/node-1.toml", 'listen = "127.0.0.1:7000"\n')]
    assert loopback.check_node_files(files) == loopback.check_node_files(files)
    assert loopback.check_node_files(files)[0].startswith("the node file cluster/node-1.toml:1 sets listen to 127.0.0.1")


@pytest.mark.parametrize("name", ["docker-compose.yml", "compose.yaml", "stack.yml", "docker-stack.prod.yaml"])
def test_compose_and_stack_files_are_not_the_apps_config(tmp_path, name):
    crate = Path(shutil.copytree(MANIFESTS / "loopback-quiet", tmp_path / "crate"))
    deployment = "services:\n  app:\n    environment:\n      LISTEN_ADDR: 127.0.0.1:8080\n"
    (crate / name).write_text(deployment)
    assert warnings_for(crate) == ()
    (crate / "app.yml").write_text(deployment)  # the same lines in a file the app may read
    assert [w.split(";")[0] for w in warnings_for(crate)] == ["the shipped config app.yml:4 sets LISTEN_ADDR to 127.0.0.1"]
