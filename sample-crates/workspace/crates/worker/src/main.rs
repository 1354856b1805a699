fn main() {
    let name = env!("CARGO_BIN_NAME");
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("{}", ws_core::version_line(name));
    } else {
        println!("{}", ws_core::banner(name));
    }
}
