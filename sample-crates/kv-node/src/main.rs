//! kv-node: a replicated key-value node with Raft-style leader election, on the standard library.
//!
//! Every setting comes from the config file named by `--config` (see `config.rs` for the format);
//! no environment variable is read. Clients speak a line protocol (`client.rs`), peers another
//! (`rpc.rs`).

mod client;
mod config;
mod join;
mod node;
mod raft;
mod rpc;
mod storage;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;

use config::Config;
use node::Node;
use storage::Storage;

const NAME: &str = env!("CARGO_PKG_NAME");
const VERSION: &str = env!("CARGO_PKG_VERSION");

const USAGE: &str = "\
usage: kv-node --config PATH     (or -c PATH)
       kv-node --version | --help

Runs one node configured entirely by the file at PATH, e.g.:
  id = 1                          # this node's id; ids start at 1
  listen = \"0.0.0.0:7000\"         # client protocol (PING, ROLE, STATUS, GET, SET)
  raft_listen = \"0.0.0.0:7100\"    # peer protocol
  data_dir = \"/data\"              # where the term and vote are persisted
  [peers]                         # the other nodes: id = \"host:raft-port\"
  2 = \"kv-node-2:7100\"
  3 = \"kv-node-3:7100\"
Talk to it with the companion client: kv-cli [--addr HOST:PORT] ROLE";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Invocation {
    Run(PathBuf),
    Version,
    Help,
}

fn parse_args(args: &[String]) -> Result<Invocation, String> {
    let mut config = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let path = match arg.as_str() {
            "--version" | "-V" => return Ok(Invocation::Version),
            "--help" | "-h" => return Ok(Invocation::Help),
            "--config" | "-c" => rest.next().ok_or(format!("{arg} needs a path"))?.clone(),
            other => match other.strip_prefix("--config=") {
                Some(path) => path.to_string(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        };
        if config.replace(PathBuf::from(path)).is_some() {
            return Err("--config is given twice".into());
        }
    }
    config
        .map(Invocation::Run)
        .ok_or_else(|| "no config file: pass --config PATH".to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Invocation::Version) => {
            println!("{NAME} {VERSION}");
            ExitCode::SUCCESS
        }
        Ok(Invocation::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Invocation::Run(path)) => run(&path),
        Err(e) => {
            eprintln!("{NAME}: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(path: &std::path::Path) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("{NAME}: {msg}");
        ExitCode::FAILURE
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let storage = match Storage::open(&config.data_dir) {
        Ok(s) => s,
        Err(e) => {
            return fail(format!(
                "cannot use data_dir {}: {e}",
                config.data_dir.display()
            ))
        }
    };
    let raft_listener = match TcpListener::bind(config.raft_listen.as_str()) {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "cannot bind raft_listen {}: {e}",
                config.raft_listen
            ))
        }
    };
    let client_listener = match TcpListener::bind(config.listen.as_str()) {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot bind listen {}: {e}", config.listen)),
    };
    signals::exit_on_term();

    let peers: Vec<(u64, String)> = if config.join {
        match join::load(&config.data_dir, config.id) {
            Ok(Some(members)) => join::peers_of(&members, config.id),
            Ok(None) => {
                eprintln!(
                    "kv-node {}: waiting for JOIN on {} (cluster = \"join\")",
                    config.id, config.listen
                );
                match join::wait_for_join(&client_listener, config.id, &config.data_dir) {
                    Ok(members) => join::peers_of(&members, config.id),
                    Err(e) => return fail(format!("cannot join: {e}")),
                }
            }
            Err(e) => return fail(format!("cannot read the saved members: {e}")),
        }
    } else {
        config.peers.clone().into_iter().collect()
    };
    let node = match Node::new(config.id, peers.clone(), storage) {
        Ok(n) => Arc::new(n),
        Err(e) => {
            return fail(format!(
                "cannot use data_dir {}: {e}",
                config.data_dir.display()
            ))
        }
    };

    let saved = node.persisted();
    let peer_list: Vec<String> = peers.iter().map(|(id, a)| format!("{id}={a}")).collect();
    node.log(&format!(
        "starting {NAME} {VERSION} as follower in term {} (voted for {}), cluster size {}, peers [{}], listen {}, raft_listen {}, data_dir {}",
        saved.term,
        saved.voted_for.map_or("nobody".to_string(), |v| v.to_string()),
        peers.len() + 1,
        peer_list.join(", "),
        config.listen,
        config.raft_listen,
        config.data_dir.display(),
    ));

    let rpc_node = Arc::clone(&node);
    thread::Builder::new()
        .name("raft".into())
        .spawn(move || rpc::serve(raft_listener, move |msg| rpc_node.handle(msg)))
        .expect("spawn raft listener");
    let client_node = Arc::clone(&node);
    thread::Builder::new()
        .name("client".into())
        .spawn(move || client::serve(client_listener, client_node))
        .expect("spawn client listener");
    node.run()
}

/// SIGTERM and SIGINT end the process at once, also as PID 1 (where the default action is to
/// ignore them). Nothing needs flushing: the term and vote are fsynced when they change.
#[cfg(unix)]
mod signals {
    use std::os::raw::c_int;

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;

    extern "C" {
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
        fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
        fn _exit(status: c_int) -> !;
    }

    extern "C" fn on_signal(_: c_int) {
        const MSG: &[u8] = b"kv-node: stopping on signal\n";
        // Only async-signal-safe calls here.
        unsafe {
            write(2, MSG.as_ptr(), MSG.len());
            _exit(0);
        }
    }

    pub fn exit_on_term() {
        unsafe {
            signal(SIGTERM, on_signal);
            signal(SIGINT, on_signal);
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub fn exit_on_term() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Invocation, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn config_path_forms() {
        let want = Ok(Invocation::Run(PathBuf::from("/etc/kv/node.toml")));
        assert_eq!(args(&["--config", "/etc/kv/node.toml"]), want);
        assert_eq!(args(&["-c", "/etc/kv/node.toml"]), want);
        assert_eq!(args(&["--config=/etc/kv/node.toml"]), want);
        assert_eq!(args(&["--version"]), Ok(Invocation::Version));
        assert_eq!(args(&["-h"]), Ok(Invocation::Help));
    }

    #[test]
    fn bad_command_lines() {
        assert!(args(&[]).unwrap_err().contains("--config PATH"));
        assert!(args(&["-c"]).unwrap_err().contains("needs a path"));
        assert!(args(&["-c", "a", "-c", "b"]).unwrap_err().contains("twice"));
        assert!(args(&["healthcheck"])
            .unwrap_err()
            .contains("unknown argument"));
    }
}
