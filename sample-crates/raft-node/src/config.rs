//! Node configuration: command-line options first, then environment variables, then defaults.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::args::Overrides;

pub const DEFAULT_HTTP_PORT: u16 = 8080;
pub const DEFAULT_RAFT_PORT: u16 = 9000;
pub const DEFAULT_DATA_DIR: &str = "/data";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This node's id (--id, NODE_ID). Any non-empty token without whitespace, e.g. 0 or 1.
    pub id: String,
    /// Raft addresses (`host:port`) of every other node in the cluster (--peers, PEERS).
    pub peers: Vec<String>,
    /// Address the HTTP API binds (--http-listen; 0.0.0.0 otherwise).
    pub http_host: IpAddr,
    /// Port for the HTTP API (--http-listen, --http-port, HTTP_PORT).
    pub http_port: u16,
    /// Port for node-to-node Raft traffic (--raft-port, RAFT_PORT).
    pub raft_port: u16,
    /// Directory holding the persisted term and vote (--data-dir, DATA_DIR).
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
    /// Options given on the command line, the process environment for the rest.
    pub fn from_env(overrides: &Overrides) -> Result<Config, ConfigError> {
        Config::resolve(overrides, |key| std::env::var(key).ok())
    }

    /// The configuration from the environment alone, through a lookup function
    /// (used by the tests so they never touch the real environment).
    #[cfg(test)]
    pub fn from_lookup<F>(lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        Config::resolve(&Overrides::default(), lookup)
    }

    /// Each setting from its option if given, else its variable, else its default.
    /// The options were checked while parsing; only the environment can be wrong here.
    pub fn resolve<F>(o: &Overrides, lookup: F) -> Result<Config, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let id = match &o.id {
            Some(id) => id.clone(),
            None => lookup("NODE_ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError("NODE_ID is required (or pass --id N)".into()))?,
        };
        if !valid_id(&id) {
            return Err(ConfigError(format!(
                "NODE_ID {id:?} must not contain whitespace or control characters"
            )));
        }

        let peers = without_self(
            parse_peers(
                &o.peers
                    .clone()
                    .or_else(|| lookup("PEERS"))
                    .unwrap_or_default(),
            )?,
            lookup("HOSTNAME").as_deref(),
        );
        let http_port = o
            .http_port
            .map_or_else(|| port_from(&lookup, "HTTP_PORT", DEFAULT_HTTP_PORT), Ok)?;
        let raft_port = o
            .raft_port
            .map_or_else(|| port_from(&lookup, "RAFT_PORT", DEFAULT_RAFT_PORT), Ok)?;
        let data_dir = o.data_dir.clone().unwrap_or_else(|| {
            lookup("DATA_DIR")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_DATA_DIR.to_string())
        });
        let verbose = lookup("RUST_LOG")
            .map(|v| {
                let v = v.to_ascii_lowercase();
                v.contains("debug") || v.contains("trace")
            })
            .unwrap_or(false);

        Ok(Config {
            id,
            peers,
            http_host: o.http_host.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
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

/// A peer list may name every node, this one included (one Kubernetes pod template cannot list
/// "the others"): the entry whose host is this machine's hostname, alone or as the first label of
/// a DNS name (`raft-node-0` or `raft-node-0.peers`), is this node and is dropped.
pub fn without_self(peers: Vec<String>, hostname: Option<&str>) -> Vec<String> {
    let Some(me) = hostname.map(str::trim).filter(|h| !h.is_empty()) else {
        return peers;
    };
    peers
        .into_iter()
        .filter(|entry| {
            let host = entry.rsplit_once(':').map_or(entry.as_str(), |(h, _)| h);
            host != me && host.split('.').next() != Some(me)
        })
        .collect()
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
        assert_eq!(c.http_host.to_string(), "0.0.0.0");
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

    fn with_args(args: &[&str], vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let Ok(crate::args::Command::Run(o)) = crate::args::parse(&args) else {
            panic!("{args:?} does not parse as a run");
        };
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(&o, |k| map.get(k).cloned())
    }

    #[test]
    fn options_override_the_environment() {
        let env = [
            ("NODE_ID", "0"),
            ("PEERS", "x:9000"),
            ("HTTP_PORT", "8081"),
            ("RAFT_PORT", "9001"),
            ("DATA_DIR", "/env"),
        ];
        let c = with_args(
            &[
                "--id",
                "1",
                "--peers",
                "b:9100,c:9100",
                "--http-listen",
                "127.0.0.1:7000",
                "--raft-port",
                "9100",
                "--data-dir",
                "/args",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(c.id, "1");
        assert_eq!(c.peers, vec!["b:9100", "c:9100"]);
        assert_eq!(
            (c.http_host.to_string(), c.http_port),
            ("127.0.0.1".into(), 7000)
        );
        assert_eq!(c.raft_port, 9100);
        assert_eq!(c.data_dir, PathBuf::from("/args"));
        // An option left out falls back to its variable, one by one.
        let c = with_args(&["--http-port", "7001"], &env).unwrap();
        assert_eq!((c.id.as_str(), c.http_port, c.raft_port), ("0", 7001, 9001));
        assert_eq!(c.http_host.to_string(), "0.0.0.0");
        assert_eq!(c.peers, vec!["x:9000"]);
        assert_eq!(c.data_dir, PathBuf::from("/env"));
        // An empty --peers clears PEERS: a single-node cluster.
        assert_eq!(with_args(&["--peers="], &env).unwrap().cluster_size(), 1);
    }

    #[test]
    fn options_alone_need_no_environment() {
        let c = with_args(
            &["--id", "3", "--peers", "raft-node-0:9000,raft-node-1:9000"],
            &[],
        )
        .unwrap();
        assert_eq!(c.id, "3");
        assert_eq!(c.cluster_size(), 3);
        assert_eq!(
            (c.http_port, c.raft_port),
            (DEFAULT_HTTP_PORT, DEFAULT_RAFT_PORT)
        );
        assert!(with_args(&["--http-port", "8080"], &[])
            .unwrap_err()
            .0
            .contains("--id"));
    }

    #[test]
    fn a_peer_list_with_this_node_in_it_skips_it() {
        let all = "raft-node-0.peers:9000,raft-node-1.peers:9000,raft-node-10.peers:9000";
        let c = cfg(&[("NODE_ID", "1"), ("PEERS", all), ("HOSTNAME", "raft-node-1")]).unwrap();
        assert_eq!(c.peers, vec!["raft-node-0.peers:9000", "raft-node-10.peers:9000"]);
        assert_eq!(c.cluster_size(), 3);
        let c = cfg(&[("NODE_ID", "1"), ("PEERS", "a:9000,b:9000"), ("HOSTNAME", "b")]).unwrap();
        assert_eq!(c.peers, vec!["a:9000"]);
        // Without a matching hostname nothing is dropped.
        let c = cfg(&[("NODE_ID", "1"), ("PEERS", "a:9000,b:9000"), ("HOSTNAME", "3f2a9c")]).unwrap();
        assert_eq!(c.cluster_size(), 3);
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(cfg(&[("NODE_ID", "1"), ("HTTP_PORT", "http")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("RAFT_PORT", "0")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("PEERS", "node2")]).is_err());
        assert!(cfg(&[("NODE_ID", "1"), ("PEERS", ":9000")]).is_err());
    }
}
