fn main() {
    println!("cargo:rerun-if-changed=proto/node.proto");
    println!("cargo::rerun-if-changed=.env.build");
    let generated = std::env::var("OUT_DIR").unwrap();
    println!("cargo:rerun-if-changed={}", generated);
}
