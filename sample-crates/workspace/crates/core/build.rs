//! Turns data/greeting.txt into a `GREETING` constant in $OUT_DIR/greeting.rs.

use std::env;
use std::fs;
use std::path::Path;

fn main() {
    let input = Path::new("data/greeting.txt");
    println!("cargo:rerun-if-changed={}", input.display());

    let text = fs::read_to_string(input).expect("read data/greeting.txt");
    let greeting = text.trim();

    let out_dir = env::var("OUT_DIR").expect("OUT_DIR is set by cargo");
    let generated = format!("pub const GREETING: &str = {greeting:?};\n");
    fs::write(Path::new(&out_dir).join("greeting.rs"), generated).expect("write greeting.rs");
}
