use std::process::ExitCode;

fn main() -> ExitCode {
    let name = env!("CARGO_PKG_NAME");
    match std::env::args().nth(1).as_deref() {
        None => {
            println!("hello from {name}");
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            println!("{name} {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("{name}: unknown argument {other:?}");
            ExitCode::from(2)
        }
    }
}
