//! kv-cli: send one command line to a kv-node and print the reply.
//!
//! `kv-cli [--addr HOST:PORT]... COMMAND...` (default address 127.0.0.1:7000, the client port of a
//! node in the same container). With several `--addr`, the command goes to each node in turn (as a
//! cluster bootstrap sends JOIN). Exit 0 on a reply from each, 1 on an `ERR` reply or when a node
//! cannot be reached, 2 on bad usage.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_ADDR: &str = "127.0.0.1:7000";
const TIMEOUT: Duration = Duration::from_secs(5);
const USAGE: &str =
    "usage: kv-cli [--addr HOST:PORT]... COMMAND...   e.g. kv-cli ROLE, kv-cli SET colour blue";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            println!("kv-cli {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let (addrs, command) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("kv-cli: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for addr in &addrs {
        // With several nodes, each reply is prefixed with the node it came from.
        let prefix = if addrs.len() > 1 {
            format!("{addr}: ")
        } else {
            String::new()
        };
        match send(addr, &command) {
            Ok(reply) => {
                println!("{prefix}{reply}");
                failed |= reply.starts_with("ERR");
            }
            Err(e) => {
                eprintln!("kv-cli: cannot talk to a kv-node at {addr}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--addr` (repeatable: the command goes to each node in turn), then the command words.
fn parse_args(args: &[String]) -> Result<(Vec<String>, String), String> {
    let mut addrs = Vec::new();
    let mut rest = args.iter();
    let mut words: Vec<&str> = Vec::new();
    while let Some(arg) = rest.next() {
        if !words.is_empty() {
            words.push(arg);
        } else if arg == "--addr" || arg == "-a" {
            addrs.push(rest.next().ok_or("--addr needs HOST:PORT")?.clone());
        } else if let Some(addr) = arg.strip_prefix("--addr=") {
            addrs.push(addr.to_string());
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}"));
        } else {
            words.push(arg);
        }
    }
    if words.is_empty() {
        return Err("no command".into());
    }
    if addrs.is_empty() {
        addrs.push(DEFAULT_ADDR.to_string());
    }
    Ok((addrs, words.join(" ")))
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
