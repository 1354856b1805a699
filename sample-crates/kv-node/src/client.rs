//! The client protocol on `listen`: plain-text lines over TCP, one reply line per command, many
//! commands per connection.
//!
//! ```text
//! PING            -> PONG
//! ROLE            -> leader <term> | follower <leader-id|none> <term> | candidate <term>
//! STATUS          -> id=<id> role=<role> term=<term> leader=<id|none> commit=<index>
//! GET <key>       -> VALUE <value> | NOT_FOUND
//! SET <key> <value...>  -> OK | REDIRECT <leader-id> | ERR ...   (only the leader accepts writes)
//! JOIN <id>=<host:port>...  -> OK when these are this node's members (join mode: see join.rs) | ERR ...
//! QUIT            -> BYE, then the connection closes
//! ```
//!
//! Command names are case-insensitive; a key is one token, a value is the rest of the line. An
//! HTTP request gets one `ERR` line and the connection is closed: this is not an HTTP server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::node::{self, Node};
use crate::raft::Role;

/// Longest command line accepted.
pub const MAX_LINE: usize = 64 * 1024;
/// A connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ping,
    Role,
    Status,
    Get(String),
    Set(String, String),
    Join(Vec<String>),
    Quit,
}

/// A parse failure: the reply, and whether the connection should be closed after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reply: String,
    pub close: bool,
}

fn refuse(reply: impl Into<String>) -> Refusal {
    Refusal {
        reply: reply.into(),
        close: false,
    }
}

pub fn parse(line: &str) -> Result<Command, Refusal> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("").to_ascii_uppercase();
    if is_http(line) {
        return Err(Refusal {
            reply: "ERR this is not an HTTP server: kv-node speaks a line protocol (PING, ROLE, STATUS, GET, SET); try kv-cli PING".into(),
            close: true,
        });
    }
    let args: Vec<&str> = words.collect();
    match (verb.as_str(), args.as_slice()) {
        ("PING", []) => Ok(Command::Ping),
        ("ROLE", []) => Ok(Command::Role),
        ("STATUS", []) => Ok(Command::Status),
        ("QUIT", []) => Ok(Command::Quit),
        ("GET", [key]) => Ok(Command::Get(key.to_string())),
        ("GET", _) => Err(refuse("ERR usage: GET <key>")),
        ("SET", [key, _, ..]) => {
            // The value is the rest of the line after the key, inner spacing kept.
            let after_verb = line.trim_start()[3..].trim_start();
            let value = after_verb[key.len()..].trim_start().to_string();
            Ok(Command::Set(key.to_string(), value))
        }
        ("SET", _) => Err(refuse("ERR usage: SET <key> <value>")),
        ("JOIN", [_, ..]) => Ok(Command::Join(args.iter().map(|a| a.to_string()).collect())),
        ("JOIN", []) => Err(refuse("ERR usage: JOIN <id>=<host:port>...")),
        ("PING" | "ROLE" | "STATUS" | "QUIT", _) => {
            Err(refuse(format!("ERR {verb} takes no arguments")))
        }
        ("", _) => Err(refuse("ERR empty command")),
        _ => Err(refuse(format!(
            "ERR unknown command {verb:?}; commands: PING, ROLE, STATUS, GET, SET, JOIN, QUIT"
        ))),
    }
}

/// `METHOD /path HTTP/1.x`, as a health check or a browser would send.
fn is_http(line: &str) -> bool {
    let parts: Vec<&str> = line.split_whitespace().collect();
    matches!(parts.as_slice(), [_, target, version] if version.starts_with("HTTP/") && (target.starts_with('/') || target.contains("://")))
}

/// The reply to one command.
pub fn execute(node: &Node, command: Command) -> String {
    let none = |id: Option<u64>| id.map_or("none".to_string(), |i| i.to_string());
    match command {
        Command::Ping => "PONG".into(),
        Command::Quit => "BYE".into(),
        Command::Role => {
            let s = node.status();
            match s.role {
                Role::Leader => format!("leader {}", s.term),
                Role::Candidate => format!("candidate {}", s.term),
                Role::Follower => format!("follower {} {}", none(s.leader), s.term),
            }
        }
        Command::Status => {
            let s = node.status();
            format!(
                "id={} role={} term={} leader={} commit={}",
                s.id,
                s.role,
                s.term,
                none(s.leader),
                s.commit
            )
        }
        Command::Join(words) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match crate::join::parse_members(&words, node.id()) {
                Ok(m) if crate::join::same_cluster(&m, node.id(), node.peers()) => {
                    format!("OK joined {} members", m.len())
                }
                Ok(_) => {
                    "ERR already a member of another cluster; membership does not change".into()
                }
                Err(e) => format!("ERR {e}"),
            }
        }
        Command::Get(key) => node
            .get(&key)
            .map_or("NOT_FOUND".into(), |v| format!("VALUE {v}")),
        Command::Set(key, value) => match node.set(key, value) {
            node::Write::Committed => "OK".into(),
            node::Write::NotLeader(Some(leader)) => format!("REDIRECT {leader}"),
            node::Write::NotLeader(None) => "ERR no leader yet; retry in a moment".into(),
            node::Write::TimedOut => {
                "ERR not committed in time: is a majority of the nodes reachable?".into()
            }
        },
    }
}

/// Accept client connections forever, one thread each.
pub fn serve(listener: TcpListener, node: Arc<Node>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let node = Arc::clone(&node);
        thread::spawn(move || {
            let _ = session(stream, &node);
        });
    }
}

fn session(mut stream: TcpStream, node: &Node) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if (&mut reader).take(MAX_LINE as u64).read_line(&mut line)? == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') && line.len() >= MAX_LINE {
            stream.write_all(b"ERR line too long\n")?;
            return Ok(());
        }
        let (reply, close) = match parse(&line) {
            Ok(command) => {
                let close = command == Command::Quit;
                (execute(node, command), close)
            }
            Err(refusal) => (refusal.reply, refusal.close),
        };
        stream.write_all(format!("{reply}\n").as_bytes())?;
        if close {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("PING\r\n"), Ok(Command::Ping));
        assert_eq!(parse("role"), Ok(Command::Role));
        assert_eq!(parse("  Status  "), Ok(Command::Status));
        assert_eq!(parse("GET colour"), Ok(Command::Get("colour".into())));
        assert_eq!(
            parse("SET colour  dark  blue\n"),
            Ok(Command::Set("colour".into(), "dark  blue".into()))
        );
        assert_eq!(parse("set k v"), Ok(Command::Set("k".into(), "v".into())));
        assert_eq!(parse("QUIT"), Ok(Command::Quit));
    }

    #[test]
    fn bad_commands_get_one_err_line_and_keep_the_connection() {
        for (line, needle) in [
            ("", "empty"),
            ("GET", "usage: GET"),
            ("GET a b", "usage: GET"),
            ("SET k", "usage: SET"),
            ("PING now", "no arguments"),
            ("DEL k", "unknown command"),
        ] {
            let refusal = parse(line).unwrap_err();
            assert!(
                refusal.reply.starts_with("ERR ") && refusal.reply.contains(needle),
                "{line:?}: {refusal:?}"
            );
            assert!(!refusal.close, "{line:?}");
        }
    }

    #[test]
    fn http_requests_are_refused_and_closed() {
        for line in [
            "GET /health HTTP/1.1\r\n",
            "HEAD / HTTP/1.0",
            "get http://x/ HTTP/1.1",
        ] {
            let refusal = parse(line).unwrap_err();
            assert!(refusal.close, "{line:?}");
            assert!(
                refusal.reply.starts_with("ERR this is not an HTTP server"),
                "{line:?}"
            );
            assert!(!refusal.reply.starts_with("HTTP/"));
        }
        // A three-token SET whose value merely looks like a version is still a SET.
        assert_eq!(
            parse("SET k HTTP/2"),
            Ok(Command::Set("k".into(), "HTTP/2".into()))
        );
    }
}
