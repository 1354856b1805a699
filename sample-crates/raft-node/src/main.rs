//! raft-node: a small Raft leader-election node using only the standard library.
//!
//! Configuration comes from command-line options, each overriding its
//! environment variable: --id/NODE_ID (required), --peers/PEERS,
//! --http-listen or --http-port/HTTP_PORT (8080), --raft-port/RAFT_PORT (9000),
//! --data-dir/DATA_DIR (/data); RUST_LOG sets the log level.

mod args;
mod config;
mod http;
mod node;
mod rpc;
mod storage;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use args::{Command, Overrides};
use config::Config;
use node::Node;
use storage::Storage;

const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

const USAGE: &str = "\
usage: raft-node [OPTIONS]
       raft-node healthcheck [OPTIONS]
       raft-node --version | --help

Runs a node. Each option overrides its environment variable:
  --id ID                  NODE_ID    this node's id, one word, e.g. 1 (required)
  --peers HOST:PORT,...    PEERS      raft addresses of the other nodes
  --http-listen IP:PORT               HTTP API address (default 0.0.0.0:$HTTP_PORT)
  --http-port PORT         HTTP_PORT  HTTP API port on 0.0.0.0 (default 8080):
                                      GET /health, GET /status
  --raft-port PORT         RAFT_PORT  node-to-node port on 0.0.0.0 (default 9000)
  --data-dir PATH          DATA_DIR   where the term and vote are persisted (default /data)
                           RUST_LOG   set to debug or trace for more logging
Options take their value as the next argument or after '=' (--id=1).

healthcheck  GET /health on the HTTP port (127.0.0.1, or the --http-listen
             address if it is not 0.0.0.0 or ::); exit 0 on 200, else 1";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match args::parse(&argv) {
        Ok(Command::Run(o)) => run(&o),
        Ok(Command::Healthcheck(o)) => healthcheck(&o),
        Ok(Command::Version) => {
            println!("{NAME} {VERSION}");
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{NAME}: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where `healthcheck` connects: the bound address, or loopback for a wildcard bind.
fn probe_target(o: &Overrides, port: u16) -> SocketAddr {
    let host = match o.http_host {
        Some(IpAddr::V6(h)) if h.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Some(h) if !h.is_unspecified() => h,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    SocketAddr::new(host, port)
}

fn healthcheck(o: &Overrides) -> ExitCode {
    let lookup = |k: &str| std::env::var(k).ok();
    let port = match o.http_port.map_or_else(
        || config::port_from(&lookup, "HTTP_PORT", config::DEFAULT_HTTP_PORT),
        Ok,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{NAME} healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match http::healthcheck(probe_target(o, port), Duration::from_secs(2)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME} healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(overrides: &Overrides) -> ExitCode {
    let config = match Config::from_env(overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::FAILURE;
        }
    };

    let node = match Storage::open(&config.data_dir)
        .and_then(|s| Node::new(&config.id, config.peers.clone(), s, config.verbose))
    {
        Ok(n) => Arc::new(n),
        Err(e) => {
            eprintln!(
                "{NAME}: cannot use DATA_DIR {}: {e}",
                config.data_dir.display()
            );
            return ExitCode::FAILURE;
        }
    };

    let raft_listener = match TcpListener::bind(("0.0.0.0", config.raft_port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{NAME}: cannot bind raft port {}: {e}", config.raft_port);
            return ExitCode::FAILURE;
        }
    };
    let http_addr = SocketAddr::new(config.http_host, config.http_port);
    let http_listener = match TcpListener::bind(http_addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{NAME}: cannot bind http address {http_addr}: {e}");
            return ExitCode::FAILURE;
        }
    };

    let saved = node.persisted();
    node.log(&format!(
        "starting {NAME} {VERSION} as follower in term {} (voted for {}), cluster size {}, peers [{}], http {}, raft 0.0.0.0:{}, data {}",
        saved.term,
        saved.voted_for.as_deref().unwrap_or("nobody"),
        config.cluster_size(),
        config.peers.join(", "),
        http_addr,
        config.raft_port,
        config.data_dir.display(),
    ));

    let rpc_node = Arc::clone(&node);
    thread::Builder::new()
        .name("raft-rpc".into())
        .spawn(move || rpc::serve(raft_listener, move |msg| rpc_node.handle(msg)))
        .expect("spawn raft listener");

    let http_node = Arc::clone(&node);
    thread::Builder::new()
        .name("http".into())
        .spawn(move || http::serve(http_listener, http_node))
        .expect("spawn http listener");

    node.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthcheck_probes_the_bound_address() {
        let on = |host: Option<&str>| {
            let o = Overrides {
                http_host: host.map(|h| h.parse().unwrap()),
                ..Overrides::default()
            };
            probe_target(&o, 8080).to_string()
        };
        assert_eq!(on(None), "127.0.0.1:8080");
        assert_eq!(on(Some("0.0.0.0")), "127.0.0.1:8080");
        assert_eq!(on(Some("::")), "[::1]:8080");
        assert_eq!(on(Some("10.1.2.3")), "10.1.2.3:8080");
    }
}
