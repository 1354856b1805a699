//! Command-line parsing, by hand: options override the environment, the way
//! real servers let a deployment pass settings as arguments instead of variables.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Overrides),
    Healthcheck(Overrides),
    Version,
    Help,
}

/// Settings given as options; `None` means "use the environment or the default".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overrides {
    pub id: Option<String>,
    /// Raw comma-separated list; an empty value means "no peers".
    pub peers: Option<String>,
    /// Address to bind the HTTP API on (only from `--http-listen`).
    pub http_host: Option<IpAddr>,
    pub http_port: Option<u16>,
    pub raft_port: Option<u16>,
    pub data_dir: Option<String>,
}

/// A command line that cannot be used; the process exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const OPTIONS: [&str; 6] = [
    "--id",
    "--peers",
    "--http-listen",
    "--http-port",
    "--raft-port",
    "--data-dir",
];

/// Parse the arguments after the program name.
///
/// `healthcheck` may only come first; options take their value as the next
/// argument or after `=`; each option may be given once.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let (healthcheck, rest) = match args.first().map(String::as_str) {
        Some("healthcheck") => (true, &args[1..]),
        _ => (false, args),
    };
    let mut o = Overrides::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            _ => {}
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let Some(name) = OPTIONS.iter().copied().find(|o| *o == name) else {
            return Err(if arg.starts_with('-') {
                UsageError(format!(
                    "unknown option {arg:?}; run raft-node --help for the options"
                ))
            } else {
                UsageError(format!(
                    "unexpected argument {arg:?}; run raft-node --help for the usage"
                ))
            });
        };
        if seen.contains(&name) {
            return Err(UsageError(format!(
                "{name} is given more than once; give it once"
            )));
        }
        seen.push(name);
        let value = match inline.or_else(|| it.next().cloned()) {
            Some(v) => v,
            None => {
                return Err(UsageError(format!(
                    "{name} needs a value; run raft-node --help"
                )))
            }
        };
        apply(&mut o, name, &value)?;
    }
    if o.http_host.is_some() && seen.contains(&"--http-port") {
        return Err(UsageError(
            "--http-listen and --http-port both set the HTTP port; give only one".into(),
        ));
    }
    Ok(if healthcheck {
        Command::Healthcheck(o)
    } else {
        Command::Run(o)
    })
}

fn apply(o: &mut Overrides, name: &str, value: &str) -> Result<(), UsageError> {
    match name {
        "--id" => {
            if !crate::config::valid_id(value) {
                return Err(UsageError(format!(
                    "--id {value:?}: an id is one non-empty word without whitespace, e.g. 1"
                )));
            }
            o.id = Some(value.to_string());
        }
        "--peers" => {
            crate::config::parse_peers(value).map_err(|e| UsageError(format!("--peers: {e}")))?;
            o.peers = Some(value.to_string());
        }
        "--http-listen" => {
            let addr: SocketAddr = value.parse().map_err(|_| {
                UsageError(format!(
                    "--http-listen {value:?} is not IP:PORT, e.g. 0.0.0.0:8080 or [::]:8080"
                ))
            })?;
            o.http_host = Some(addr.ip());
            o.http_port = Some(port(name, &addr.port().to_string())?);
        }
        "--http-port" => o.http_port = Some(port(name, value)?),
        "--raft-port" => o.raft_port = Some(port(name, value)?),
        "--data-dir" => {
            if value.trim().is_empty() {
                return Err(UsageError("--data-dir needs a non-empty path".into()));
            }
            o.data_dir = Some(value.to_string());
        }
        _ => unreachable!("{name} is listed in OPTIONS"),
    }
    Ok(())
}

fn port(name: &str, value: &str) -> Result<u16, UsageError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| UsageError(format!("{name} {value:?} is not a port number (1-65535)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn run(args: &[&str]) -> Overrides {
        match parse_strs(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match parse_strs(args) {
            Err(UsageError(msg)) => msg,
            other => panic!("{args:?} should be refused, gave {other:?}"),
        }
    }

    #[test]
    fn no_arguments_override_nothing() {
        assert_eq!(run(&[]), Overrides::default());
    }

    #[test]
    fn every_option_both_spellings() {
        let spaced = run(&[
            "--id",
            "1",
            "--peers",
            "b:9000,c:9000",
            "--http-listen",
            "127.0.0.1:8081",
            "--raft-port",
            "9001",
            "--data-dir",
            "/var/lib/raft",
        ]);
        assert_eq!(spaced.id.as_deref(), Some("1"));
        assert_eq!(spaced.peers.as_deref(), Some("b:9000,c:9000"));
        assert_eq!(spaced.http_host, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(spaced.http_port, Some(8081));
        assert_eq!(spaced.raft_port, Some(9001));
        assert_eq!(spaced.data_dir.as_deref(), Some("/var/lib/raft"));
        let joined = run(&[
            "--id=1",
            "--peers=b:9000,c:9000",
            "--http-listen=127.0.0.1:8081",
            "--raft-port=9001",
            "--data-dir=/var/lib/raft",
        ]);
        assert_eq!(joined, spaced);
        let port_only = run(&["--http-port", "8082"]);
        assert_eq!(
            (port_only.http_host, port_only.http_port),
            (None, Some(8082))
        );
    }

    #[test]
    fn ipv6_listen_address() {
        let o = run(&["--http-listen", "[::]:8080"]);
        assert_eq!(o.http_host, Some("::".parse().unwrap()));
        assert_eq!(o.http_port, Some(8080));
    }

    #[test]
    fn empty_peers_means_a_single_node() {
        assert_eq!(run(&["--peers", ""]).peers.as_deref(), Some(""));
    }

    #[test]
    fn healthcheck_takes_the_same_options() {
        let args = ["healthcheck", "--http-port", "8085", "--id", "2"];
        match parse_strs(&args) {
            Ok(Command::Healthcheck(o)) => assert_eq!(o.http_port, Some(8085)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_strs(&["healthcheck"]),
            Ok(Command::Healthcheck(Overrides::default()))
        );
        assert!(
            error(&["--id", "1", "healthcheck"]).contains("unexpected argument \"healthcheck\"")
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_strs(&["--help"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["--id", "1", "-h"]), Ok(Command::Help));
        assert_eq!(parse_strs(&["-V"]), Ok(Command::Version));
        assert_eq!(parse_strs(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn bad_command_lines_are_refused_with_the_reason() {
        assert!(error(&["--listen", "x"]).starts_with("unknown option \"--listen\""));
        assert!(error(&["--id"]).contains("--id needs a value"));
        assert!(error(&["serve"]).starts_with("unexpected argument \"serve\""));
        assert!(error(&["--id", "a b"]).contains("one non-empty word"));
        assert!(error(&["--id", ""]).contains("one non-empty word"));
        assert!(error(&["--id", "1", "--id=2"]).contains("more than once"));
        assert!(error(&["--raft-port", "0"]).contains("not a port number"));
        assert!(error(&["--http-port", "http"]).contains("not a port number"));
        assert!(error(&["--http-listen", "localhost:8080"]).contains("is not IP:PORT"));
        assert!(error(&["--http-listen", "0.0.0.0:0"]).contains("not a port number"));
        assert!(
            error(&["--http-listen", "0.0.0.0:1", "--http-port", "2"]).contains("give only one")
        );
        assert!(error(&["--peers", "b"]).starts_with("--peers: peer \"b\" is not host:port"));
        assert!(error(&["--data-dir="]).contains("non-empty path"));
    }
}
