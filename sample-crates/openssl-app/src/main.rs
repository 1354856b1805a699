use std::process::ExitCode;

fn main() -> ExitCode {
    let name = env!("CARGO_PKG_NAME");
    match std::env::args().nth(1).as_deref() {
        None => {
            println!("{name} {}", openssl::version::version());
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

#[cfg(test)]
mod tests {
    #[test]
    fn links_openssl() {
        assert!(openssl::version::version().starts_with("OpenSSL"));
        assert!(openssl::version::number() > 0x1000_0000);
    }
}
