//! kv-cli: send one command line to a kv-node and print the reply.
//!
//! `kv-cli [--addr HOST:PORT] COMMAND...` (default address 127.0.0.1:7000, the client port of a
//! node in the same container). Exit 0 on a reply, 1 on an `ERR` reply or when the node cannot
//! be reached, 2 on bad usage.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_ADDR: &str = "127.0.0.1:7000";
const TIMEOUT: Duration = Duration::from_secs(5);
const USAGE: &str =
    "usage: kv-cli [--addr HOST:PORT] COMMAND...   e.g. kv-cli ROLE, kv-cli SET colour blue";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut addr = DEFAULT_ADDR.to_string();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            println!("kv-cli {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some("--addr" | "-a") if args.len() >= 2 => {
            addr = args[1].clone();
            args.drain(..2);
        }
        Some(a) if a.starts_with("--addr=") => {
            addr = a["--addr=".len()..].to_string();
            args.remove(0);
        }
        _ => {}
    }
    if args.is_empty() || args[0].starts_with('-') {
        eprintln!("kv-cli: no command\n{USAGE}");
        return ExitCode::from(2);
    }
    match send(&addr, &args.join(" ")) {
        Ok(reply) => {
            println!("{reply}");
            if reply.starts_with("ERR") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("kv-cli: cannot talk to a kv-node at {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn send(addr: &str, command: &str) -> std::io::Result<String> {
    let sock = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))?;
    let mut stream = TcpStream::connect_timeout(&sock, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.write_all(format!("{command}\n").as_bytes())?;
    let mut reply = String::new();
    if BufReader::new(stream).read_line(&mut reply)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed without a reply",
        ));
    }
    Ok(reply.trim_end().to_string())
}
