//! Join mode (`cluster = "join"` in the config): the node starts without peers and waits, answering
//! only PING, ROLE, STATUS and JOIN on its client port, until a JOIN names every member:
//!
//! ```text
//! JOIN 1=kv-node-0:7100 2=kv-node-1:7100 3=kv-node-2:7100   -> OK joined 3 members
//! ```
//!
//! The member list (this node's own id included) is written to `<data_dir>/members` before the
//! reply, so a restarted node comes back joined. JOIN is idempotent: sent again with the same
//! members, a joined node answers `OK`; with other members, `ERR` (membership never changes).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::MAX_LINE;

const MEMBERS_FILE: &str = "members";
/// A connection that says nothing this long is dropped, so one idle client cannot stall the wait.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Every member of the cluster: id -> raft address.
pub type Members = BTreeMap<u64, String>;

/// `1=host:port 2=host:port ...`: at least this node's id, each id once.
pub fn parse_members(words: &[&str], own_id: u64) -> Result<Members, String> {
    let mut members = Members::new();
    for word in words {
        let (id, address) = word
            .split_once('=')
            .ok_or_else(|| format!("{word:?} is not <id>=<host:port>"))?;
        let id: u64 = id
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("{word:?}: ids are numbers from 1"))?;
        let port_ok = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!("{word:?}: the address is not host:port"));
        }
        if members.insert(id, address.to_string()).is_some() {
            return Err(format!("member {id} is listed twice"));
        }
    }
    if !members.contains_key(&own_id) {
        return Err(format!(
            "the members do not include this node (id {own_id})"
        ));
    }
    Ok(members)
}

/// The peers of `own_id`: every member but itself.
pub fn peers_of(members: &Members, own_id: u64) -> Vec<(u64, String)> {
    members
        .iter()
        .filter(|(id, _)| **id != own_id)
        .map(|(id, a)| (*id, a.clone()))
        .collect()
}

/// Whether `members` describes the cluster a node with these peers is in (its own address aside).
pub fn same_cluster(members: &Members, own_id: u64, peers: &[(u64, String)]) -> bool {
    members.contains_key(&own_id) && peers_of(members, own_id) == peers
}

fn members_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MEMBERS_FILE)
}

fn encode(members: &Members) -> String {
    members
        .iter()
        .map(|(id, a)| format!("{id}={a}\n"))
        .collect()
}

/// The members saved by an earlier JOIN, if any.
pub fn load(data_dir: &Path, own_id: u64) -> io::Result<Option<Members>> {
    let path = members_path(data_dir);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            parse_members(&words, own_id).map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn save(data_dir: &Path, members: &Members) -> io::Result<()> {
    let tmp = data_dir.join(format!("{MEMBERS_FILE}.tmp"));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(encode(members).as_bytes())?;
        file.sync_all()?;
    }
    fs::rename(&tmp, members_path(data_dir))
}

/// The reply of an un-joined node to one line, and the members when it was a valid JOIN.
fn answer(line: &str, own_id: u64) -> (String, Option<Members>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.split_first() {
        Some((verb, rest)) if verb.eq_ignore_ascii_case("JOIN") => {
            match parse_members(rest, own_id) {
                Ok(members) => (
                    format!("OK joined {} members", members.len()),
                    Some(members),
                ),
                Err(e) => (format!("ERR {e}"), None),
            }
        }
        Some((verb, [])) if verb.eq_ignore_ascii_case("PING") => ("PONG".into(), None),
        Some((verb, [])) if verb.eq_ignore_ascii_case("ROLE") => ("unjoined".into(), None),
        Some((verb, [])) if verb.eq_ignore_ascii_case("STATUS") => (
            format!("id={own_id} role=unjoined term=0 leader=none commit=0"),
            None,
        ),
        _ => (
            "ERR not joined yet: send JOIN <id>=<host:raft-port> for every member first".into(),
            None,
        ),
    }
}

/// Serve the client port until a JOIN arrives; persist its members, answer, and return them.
pub fn wait_for_join(listener: &TcpListener, own_id: u64, data_dir: &Path) -> io::Result<Members> {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if stream.set_read_timeout(Some(READ_TIMEOUT)).is_err() {
            continue;
        }
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        let mut reader = BufReader::new(clone).take(MAX_LINE as u64);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let (reply, members) = answer(&line, own_id);
            if let Some(members) = members {
                save(data_dir, &members)?;
                let _ = stream.write_all(format!("{reply}\n").as_bytes());
                return Ok(members);
            }
            if stream.write_all(format!("{reply}\n").as_bytes()).is_err() {
                break;
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::Other,
        "the client listener closed",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_and_must_include_this_node() {
        let m = parse_members(&["1=a:7100", "2=b:7100", "3=c:7100"], 2).unwrap();
        assert_eq!(
            peers_of(&m, 2),
            vec![(1, "a:7100".to_string()), (3, "c:7100".to_string())]
        );
        assert!(same_cluster(&m, 2, &peers_of(&m, 2)));
        assert!(!same_cluster(&m, 2, &[(1, "a:7100".to_string())]));
        for (words, needle) in [
            (vec!["1=a:7100"], "do not include this node"),
            (vec!["2=b:7100", "2=c:7100"], "twice"),
            (vec!["0=a:1", "2=b:1"], "from 1"),
            (vec!["2=nohost"], "host:port"),
            (vec!["2"], "<id>=<host:port>"),
        ] {
            let e = parse_members(&words, 2).unwrap_err();
            assert!(e.contains(needle), "{words:?}: {e}");
        }
    }

    #[test]
    fn an_unjoined_node_answers_probes_and_waits_for_join() {
        assert_eq!(answer("PING\n", 1).0, "PONG");
        assert_eq!(
            answer("status", 1).0,
            "id=1 role=unjoined term=0 leader=none commit=0"
        );
        assert!(answer("SET k v", 1).0.starts_with("ERR not joined"));
        assert!(answer("JOIN 2=a:1", 1).0.starts_with("ERR"));
        let (reply, members) = answer("join 1=a:1 2=b:1", 1);
        assert_eq!(reply, "OK joined 2 members");
        assert_eq!(members.unwrap().len(), 2);
    }

    #[test]
    fn members_are_saved_and_loaded() {
        let dir = std::env::temp_dir().join(format!("kv-node-join-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir, 1).unwrap(), None);
        let m = parse_members(&["1=a:7100", "2=b:7100"], 1).unwrap();
        save(&dir, &m).unwrap();
        assert_eq!(load(&dir, 1).unwrap(), Some(m));
        assert!(load(&dir, 3).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
