"""The probe crates tools/syspackages_check.py builds: one per system-package rule, each really using its crate.

A probe calls a C function of the library, or runs the build tool from build.rs, so that the build
needs exactly what the crate needs. A rule about what the binary reads at run time (the CA bundle) has
a probe that builds with what scaffold installs and then runs in the runtime image (`runs_without`):
once with scaffold's runtime packages and once without that one package; it exits non-zero when it
finds nothing to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    runs_without: str = ""  # a runtime package: run the binary in the runtime image with and without it


_PROTO = 'syntax = "proto3";\npackage probe;\nmessage Ping { string text = 1; }\n'
_CMAKE = (
    "cmake_minimum_required(VERSION 3.10)\nproject(probe C)\n"
    "add_library(probe STATIC probe.c)\ninstall(TARGETS probe DESTINATION lib)\n"
)

_PING_MAIN = ('mod probe { include!(concat!(env!("OUT_DIR"), "/probe.rs")); }\n'
              'fn main() { println!("{:?}", probe::Ping { text: "x".into() }); }')

_TABLE_PROBES: tuple[Probe, ...] = (
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
    Probe("prost-build", 3, 'prost = "0.13"', _PING_MAIN,
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

_EXIT = 'std::process::exit(1)'

PROBES_RUNTIME: tuple[Probe, ...] = (
    Probe("rustls-native-certs", 1, 'rustls-native-certs = "0.8"',
          "fn main() {\n    let found = rustls_native_certs::load_native_certs();\n"
          f'    if found.certs.is_empty() {{ eprintln!("error: no CA certificates: {{:?}}", found.errors); {_EXIT} }}\n'
          '    println!("found {} CA certificates", found.certs.len());\n}',
          runs_without="ca-certificates"),
    # native-tls loads its roots from what openssl-probe finds (native-tls 0.2.18 src/imp/openssl.rs):
    # the probe makes a connector, then counts the certificates in the same file.
    Probe("native-tls", 1, 'native-tls = "0.2"\nopenssl-probe = "0.2"\nopenssl = "0.10"',
          "fn main() {\n    native_tls::TlsConnector::new().unwrap();\n    let found = openssl_probe::probe();\n"
          "    let n = found.cert_file.as_ref()"
          ".map(|f| openssl::x509::X509::stack_from_pem(&std::fs::read(f).unwrap()).unwrap().len()).unwrap_or(0);\n"
          f'    if n == 0 {{ eprintln!("error: no CA bundle: file {{:?}}, dirs {{:?}}", found.cert_file, found.cert_dir); {_EXIT} }}\n'
          '    println!("found {} CA certificates in {:?}", n, found.cert_file);\n}',
          runs_without="ca-certificates"),
    # Verifier::new fails with "No CA certificates were loaded from the system" when it finds none.
    Probe("rustls-platform-verifier", 2,
          'rustls-platform-verifier = "0.6"\nrustls = { version = "0.23", default-features = false, features = ["ring", "std"] }',
          "fn main() {\n    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());\n"
          "    match rustls_platform_verifier::Verifier::new(provider) {\n"
          '        Ok(_) => println!("the platform verifier loaded the system CA certificates"),\n'
          f'        Err(e) => {{ eprintln!("error: {{e}}"); {_EXIT} }}\n    }}\n}}',
          runs_without="ca-certificates"),
)

PROBES_BUILD_TOOLS: tuple[Probe, ...] = (
    Probe("tonic-build", 2, 'prost = "0.13"', _PING_MAIN, build_dependencies='tonic-build = "0.12"',
          build_rs='fn main() { tonic_build::compile_protos("probe.proto").unwrap(); }', files={"probe.proto": _PROTO}),
    Probe("tonic-prost-build", 2, 'prost = "0.14"', _PING_MAIN, build_dependencies='tonic-prost-build = "0.14"',
          build_rs='fn main() { tonic_prost_build::compile_protos("probe.proto").unwrap(); }',
          files={"probe.proto": _PROTO}),
    # protobuf 2's generated file carries inner attributes, which include! rejects: the probe reads it as text.
    Probe("protoc-rust", 2, 'protobuf = "2"',
          'fn main() { println!("{}", include_str!(concat!(env!("OUT_DIR"), "/probe.rs")).len()); }',
          build_dependencies='protoc-rust = "2"',
          build_rs='fn main() {\n    protoc_rust::Codegen::new().out_dir(std::env::var("OUT_DIR").unwrap())'
                   '.inputs(["probe.proto"]).include(".").run().unwrap();\n}',
          files={"probe.proto": _PROTO}),
    Probe("jemalloc-sys", 8, 'jemallocator = "0.5"',
          "#[global_allocator]\nstatic A: jemallocator::Jemalloc = jemallocator::Jemalloc;\n"
          'fn main() { println!("{}", vec![1u8; 10].len()); }'),
)

PROBES: tuple[Probe, ...] = _TABLE_PROBES + PROBES_RUNTIME + PROBES_BUILD_TOOLS
