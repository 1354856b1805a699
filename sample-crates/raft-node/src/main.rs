//! raft-node: a small Raft leader-election node using only the standard library.
//!
//! Configuration comes from the environment: NODE_ID (required), PEERS,
//! HTTP_PORT (8080), RAFT_PORT (9000), DATA_DIR (/data) and RUST_LOG.

mod config;
mod http;
mod node;
mod rpc;
mod storage;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use config::Config;
use node::Node;
use storage::Storage;

const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

const USAGE: &str = "\
usage: raft-node [--version | --help | healthcheck]

With no arguments, runs a node configured from the environment:
  NODE_ID    this node's id (required)
  PEERS      comma-separated host:port raft addresses of the other nodes
  HTTP_PORT  HTTP API port (default 8080): GET /health, GET /status
  RAFT_PORT  node-to-node port (default 9000)
  DATA_DIR   where the term and vote are persisted (default /data)
  RUST_LOG   set to debug or trace for more logging

healthcheck  GET http://127.0.0.1:$HTTP_PORT/health; exit 0 on 200, else 1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => run(),
        Some("--version" | "-V") => {
            println!("{NAME} {VERSION}");
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("healthcheck") => healthcheck(),
        Some(other) => {
            eprintln!("{NAME}: unknown argument {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn healthcheck() -> ExitCode {
    let lookup = |k: &str| std::env::var(k).ok();
    let port = match config::port_from(&lookup, "HTTP_PORT", config::DEFAULT_HTTP_PORT) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{NAME} healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match http::healthcheck(port, Duration::from_secs(2)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{NAME} healthcheck: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> ExitCode {
    let config = match Config::from_env() {
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
    let http_listener = match TcpListener::bind(("0.0.0.0", config.http_port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{NAME}: cannot bind http port {}: {e}", config.http_port);
            return ExitCode::FAILURE;
        }
    };

    let saved = node.persisted();
    node.log(&format!(
        "starting {NAME} {VERSION} as follower in term {} (voted for {}), cluster size {}, peers [{}], http 0.0.0.0:{}, raft 0.0.0.0:{}, data {}",
        saved.term,
        saved.voted_for.as_deref().unwrap_or("nobody"),
        config.cluster_size(),
        config.peers.join(", "),
        config.http_port,
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
