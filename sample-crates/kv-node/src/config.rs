//! The node's settings, read from one small TOML file named on the command line.
//!
//! Only a subset of TOML is understood, on purpose (no dependencies):
//!
//! - one `key = value` per line; blank lines and `#` comments (also after a value);
//! - values are decimal integers or basic strings in double quotes (escapes `\"`, `\\`, `\n`, `\t`);
//! - one table, `[peers]`, whose keys are peer ids (bare decimal) and whose values are the
//!   peers' raft addresses (`"host:port"` strings);
//! - top-level keys: `id` (required, 1-based), `listen`, `raft_listen`, `data_dir`, and `cluster`:
//!   `"file"` (the default: the peers are the `[peers]` table) or `"join"` (no `[peers]`: the node
//!   waits for a JOIN command naming every member, see `join.rs`).
//!
//! Anything else (an unknown key or table, a duplicate, another value type) is refused with the
//! file, the line and what to do, so a typo never starts a node with a default it did not ask for.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:7000";
pub const DEFAULT_RAFT_LISTEN: &str = "0.0.0.0:7100";
pub const DEFAULT_DATA_DIR: &str = "/data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This node's id, 1-based.
    pub id: u64,
    /// Client protocol address, bound exactly as written.
    pub listen: String,
    /// Peer protocol address, bound exactly as written.
    pub raft_listen: String,
    pub data_dir: PathBuf,
    /// The other nodes: peer id -> raft address (empty in join mode).
    pub peers: BTreeMap<u64, String>,
    /// `cluster = "join"`: the peers come from a JOIN command, not from this file.
    pub join: bool,
}

/// A problem in the file, with the line it is on (0 when it is about the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

fn err(line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError {
        line,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(u64),
    Str(String),
}

impl Config {
    /// Read and parse the file; the error names the file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut top: BTreeMap<String, (usize, Value)> = BTreeMap::new();
        let mut peers: BTreeMap<u64, String> = BTreeMap::new();
        let mut in_peers = false;
        for (index, raw) in text.lines().enumerate() {
            let n = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| err(n, format!("unclosed table header {line:?}")))?
                    .trim();
                if name != "peers" {
                    return Err(err(
                        n,
                        format!("unknown table [{name}]; the only table is [peers]"),
                    ));
                }
                if in_peers {
                    return Err(err(n, "[peers] appears twice"));
                }
                in_peers = true;
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| err(n, format!("expected `key = value`, found {line:?}")))?;
            let key = key.trim();
            let value = parse_value(value.trim()).map_err(|m| err(n, format!("{key}: {m}")))?;
            if in_peers {
                let (id, address) = peer_entry(key, value).map_err(|m| err(n, m))?;
                if peers.insert(id, address).is_some() {
                    return Err(err(n, format!("peer {id} is listed twice")));
                }
            } else if top.insert(key.to_string(), (n, value)).is_some() {
                return Err(err(n, format!("{key} is set twice")));
            }
        }
        Config::from_values(top, peers)
    }

    fn from_values(
        mut top: BTreeMap<String, (usize, Value)>,
        peers: BTreeMap<u64, String>,
    ) -> Result<Config, ConfigError> {
        let (id_line, id) = match top.remove("id") {
            None => return Err(err(0, "id is missing: add `id = 1` (ids start at 1)")),
            Some((n, Value::Int(0))) => {
                return Err(err(n, "id = 0 is not allowed: node ids start at 1"))
            }
            Some((n, Value::Int(id))) => (n, id),
            Some((n, Value::Str(_))) => return Err(err(n, "id must be an integer, e.g. `id = 1`")),
        };
        let mut string = |key: &str, default: &str| -> Result<(usize, String), ConfigError> {
            match top.remove(key) {
                None => Ok((0, default.to_string())),
                Some((n, Value::Str(s))) => Ok((n, s)),
                Some((n, Value::Int(_))) => Err(err(n, format!("{key} must be a quoted string"))),
            }
        };
        let (listen_line, listen) = string("listen", DEFAULT_LISTEN)?;
        let (raft_line, raft_listen) = string("raft_listen", DEFAULT_RAFT_LISTEN)?;
        let (data_line, data_dir) = string("data_dir", DEFAULT_DATA_DIR)?;
        let (cluster_line, cluster) = string("cluster", "file")?;
        let join = match cluster.as_str() {
            "file" => false,
            "join" => true,
            other => {
                return Err(err(
                    cluster_line,
                    format!("cluster = {other:?}: use \"file\" (peers from [peers]) or \"join\" (peers from a JOIN command)"),
                ))
            }
        };
        if join && !peers.is_empty() {
            return Err(err(
                cluster_line,
                "cluster = \"join\" takes the peers from a JOIN command: remove the [peers] table",
            ));
        }
        check_address(&listen).map_err(|m| err(listen_line, format!("listen: {m}")))?;
        check_address(&raft_listen).map_err(|m| err(raft_line, format!("raft_listen: {m}")))?;
        if listen == raft_listen {
            return Err(err(raft_line, "listen and raft_listen must differ"));
        }
        if data_dir.is_empty() {
            return Err(err(data_line, "data_dir must not be empty"));
        }
        if let Some((key, (n, _))) = top.into_iter().next() {
            return Err(err(
                n,
                format!("unknown key {key:?}; known keys: id, listen, raft_listen, data_dir, cluster and the [peers] table"),
            ));
        }
        if peers.contains_key(&id) {
            return Err(err(
                id_line,
                format!("[peers] lists this node's own id {id}: list only the other nodes"),
            ));
        }
        Ok(Config {
            id,
            listen,
            raft_listen,
            data_dir: PathBuf::from(data_dir),
            peers,
            join,
        })
    }
}

/// Drop a `#` comment that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

fn parse_value(text: &str) -> Result<Value, String> {
    if let Some(body) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    let rest: String = chars.collect();
                    return if rest.trim().is_empty() {
                        Ok(Value::Str(out))
                    } else {
                        Err(format!("unexpected text after the string: {rest:?}"))
                    };
                }
                '\\' => match chars.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    other => return Err(format!("unsupported escape \\{}", other.unwrap_or(' '))),
                },
                c => out.push(c),
            }
        }
        return Err("unterminated string".into());
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map(Value::Int)
            .map_err(|_| format!("{text} is too large"));
    }
    Err(format!(
        "expected an integer or a \"quoted string\", found {text:?}"
    ))
}

fn peer_entry(key: &str, value: Value) -> Result<(u64, String), String> {
    let id: u64 = key
        .parse()
        .map_err(|_| format!("peer key {key:?} must be a peer id (a number from 1)"))?;
    if id == 0 {
        return Err("peer id 0 is not allowed: node ids start at 1".into());
    }
    let Value::Str(address) = value else {
        return Err(format!(
            "peer {id}: the address must be a quoted \"host:port\""
        ));
    };
    check_address(&address).map_err(|m| format!("peer {id}: {m}"))?;
    Ok((id, address))
}

/// `host:port` (or `[v6]:port`) with a numeric port; the host is resolved only when used.
fn check_address(address: &str) -> Result<(), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("{address:?} is not host:port"))?;
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(format!("{address:?} has no valid host"));
    }
    port.parse::<u16>()
        .map(|_| ())
        .map_err(|_| format!("{address:?} has no valid port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# node 1 of 3
id = 1
listen = "0.0.0.0:7000"        # client protocol
raft_listen = "0.0.0.0:7100"   # peer protocol
data_dir = "/var/lib/kv"
[peers]                        # peer id -> raft address
2 = "kv-node-1:7100"
3 = "kv-node-2:7100"
"#;

    fn error(text: &str) -> ConfigError {
        Config::parse(text).expect_err("should be refused")
    }

    #[test]
    fn parses_the_documented_example() {
        let c = Config::parse(SAMPLE).unwrap();
        assert_eq!(c.id, 1);
        assert_eq!(c.listen, "0.0.0.0:7000");
        assert_eq!(c.raft_listen, "0.0.0.0:7100");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/kv"));
        assert_eq!(
            c.peers.into_iter().collect::<Vec<_>>(),
            vec![
                (2, "kv-node-1:7100".to_string()),
                (3, "kv-node-2:7100".to_string())
            ]
        );
    }

    #[test]
    fn defaults_and_single_node() {
        let c = Config::parse("id = 7\n").unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN);
        assert_eq!(c.raft_listen, DEFAULT_RAFT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert!(c.peers.is_empty());
    }

    #[test]
    fn strings_keep_hashes_and_escapes() {
        let c = Config::parse("id = 2\ndata_dir = \"/d#1/\\\"q\\\"\" # comment\n").unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/d#1/\"q\""));
    }

    #[test]
    fn id_zero_and_missing_id_are_refused() {
        let zero = error("listen = \"0.0.0.0:1\"\nid = 0\n");
        assert_eq!(zero.line, 2);
        assert!(zero.message.contains("ids start at 1"), "{zero}");
        assert!(error("listen = \"0.0.0.0:1\"\n")
            .message
            .contains("id is missing"));
        assert!(error("id = \"1\"\n").message.contains("integer"));
        assert!(error("id = 1\n[peers]\n0 = \"a:1\"\n")
            .message
            .contains("start at 1"));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("id = 1\nlisen = \"0.0.0.0:1\"\n", 2, "unknown key"),
            ("id = 1\n[server]\n", 2, "unknown table"),
            ("id = 1\nid = 2\n", 2, "set twice"),
            (
                "id = 1\n[peers]\n2 = \"a:1\"\n2 = \"b:1\"\n",
                4,
                "listed twice",
            ),
            ("id = 1\n[peers]\n1 = \"a:1\"\n", 1, "own id"),
            ("id = 1\n[peers]\nx = \"a:1\"\n", 3, "peer id"),
            ("id = 1\n[peers]\n2 = 7100\n", 3, "quoted"),
            ("id = 1\n[peers]\n2 = \"nohost\"\n", 3, "host:port"),
            ("id = 1\nlisten = \"0.0.0.0:99999\"\n", 2, "port"),
            ("id = 1\nlisten = \"0.0.0.0:7100\"\n", 0, "must differ"),
            ("id = 1\nlisten = \"0.0.0.0:1\n", 2, "unterminated"),
            ("id = 1\nlisten = 0.0.0.0:1\n", 2, "quoted string"),
            ("id = 1\nlisten = \"a:1\" x\n", 2, "after the string"),
            ("id = 1\njust text\n", 2, "key = value"),
            ("id = 1\n[peers\n", 2, "unclosed"),
        ];
        for (text, line, needle) in cases {
            let e = error(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn join_mode_has_no_peers_table() {
        let c = Config::parse("id = 2\ncluster = \"join\"\n").unwrap();
        assert!(c.join && c.peers.is_empty());
        assert!(!Config::parse("id = 2\n").unwrap().join);
        let both = error("id = 2\ncluster = \"join\"\n[peers]\n1 = \"a:1\"\n");
        assert!(both.message.contains("remove the [peers]"), "{both}");
        assert!(error("id = 2\ncluster = \"mesh\"\n")
            .message
            .contains("\"join\""));
    }

    #[test]
    fn load_names_the_file() {
        let missing = Config::load(Path::new("/nonexistent/kv/node.toml")).unwrap_err();
        assert!(missing.contains("/nonexistent/kv/node.toml"), "{missing}");
    }
}
