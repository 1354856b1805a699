//! Node configuration, read from environment variables.

use std::fmt;
use std::path::PathBuf;

pub const DEFAULT_HTTP_PORT: u16 = 8080;
pub const DEFAULT_RAFT_PORT: u16 = 9000;
pub const DEFAULT_DATA_DIR: &str = "/data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This node's id (NODE_ID). Any non-empty token without whitespace.
    pub id: String,
    /// Raft addresses (`host:port`) of every other node in the cluster (PEERS).
    pub peers: Vec<String>,
    /// Port for the HTTP API (HTTP_PORT).
    pub http_port: u16,
    /// Port for node-to-node Raft traffic (RAFT_PORT).
    pub raft_port: u16,
    /// Directory holding the persisted term and vote (DATA_DIR).
    pub data_dir: PathBuf,
    /// Extra logging, enabled when RUST_LOG mentions debug or trace.
    pub verbose: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|key| std::env::var(key).ok())
    }

    /// Read the configuration through an arbitrary lookup function
    /// (used by the tests so they never touch the real environment).
    pub fn from_lookup<F>(lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let id = lookup("NODE_ID")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConfigError("NODE_ID is required".into()))?;
        if !valid_id(&id) {
            return Err(ConfigError(format!(
                "NODE_ID {id:?} must not contain whitespace or control characters"
            )));
        }

        let peers = parse_peers(&lookup("PEERS").unwrap_or_default())?;
        let http_port = port_from(&lookup, "HTTP_PORT", DEFAULT_HTTP_PORT)?;
        let raft_port = port_from(&lookup, "RAFT_PORT", DEFAULT_RAFT_PORT)?;
        let data_dir = lookup("DATA_DIR")
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATA_DIR.to_string());
        let verbose = lookup("RUST_LOG")
            .map(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("debug") || v.contains("trace")
            })
            .unwrap_or(false);

        Ok(Config {
            id,
            peers,
            http_port,
            raft_port,
            data_dir: PathBuf::from(data_dir),
            verbose,
        })
    }

    /// Number of voting members, this node included.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }
}

/// Ids travel in a space-separated text protocol, so they must be one token.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Parse HTTP_PORT (or another port variable) with a default.
pub fn port_from<F>(lookup: &F, key: &str, default: u16) -> Result<u16, ConfigError>
where
    F: Fn(&str) -> Option<String>,
{
    match lookup(key) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| ConfigError(format!("{key} must be a port number, got {v:?}"))),
    }
}

/// Parse a comma-separated list of `host:port` entries. Empty entries are skipped.
pub fn parse_peers(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut peers = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, port) = entry
            .rsplit_once(':')
            .ok_or_else(|| ConfigError(format!("peer {entry:?} is not host:port")))?;
        if host.is_empty() || !matches!(port.parse::<u16>(), Ok(p) if p != 0) {
            return Err(ConfigError(format!("peer {entry:?} is not host:port")));
        }
        peers.push(entry.to_string());
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = cfg(&[("NODE_ID", "1")]).unwrap();
        assert_eq!(c.id, "1");
        assert!(c.peers.is_empty());
        assert_eq!(c.http_port, 8080);
        assert_eq!(c.raft_port, 9000);
        assert_eq!(c.data_dir, PathBuf::from("/data"));
        assert!(!c.verbose);
        assert_eq!(c.cluster_size(), 1);
    }

    #[test]
    fn node_id_is_required() {
        assert!(cfg(&[]).is_err());
        assert!(cfg(&[("NODE_ID", "  ")]).is_err());
        assert!(cfg(&[("NODE_ID", "a b")]).is_err());
    }

    #[test]
    fn peers_and_ports() {
        let c = cfg(&[
            ("NODE_ID", "node-a"),
            ("PEERS", "node2:9000, node3:9000,"),
            ("HTTP_PORT", "8081"),
            ("RAFT_PORT", "9001"),
            ("DATA_DIR", "/tmp/x"),
            ("RUST_LOG", "info,raft_node=debug"),
        ])
        .unwrap();
        assert_eq!(c.peers, vec!["node2:9000", "node3:9000"]);
        assert_eq!(c.cluster_size(), 3);
        assert_eq!(c.http_port, 8081);
        assert_eq!(c.raft_port, 9001);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert!(c.verbose);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(cfg(&[("NODE_ID", "1"), ("HTTP_PORT", "http")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("RAFT_PORT", "0")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("PEERS", "node2")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("PEERS", ":9000")]).is_err());
    }
}
