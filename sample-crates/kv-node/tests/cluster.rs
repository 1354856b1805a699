//! Three kv-node processes on loopback ports: one leader is elected, a write reaches every node,
//! the leader is killed and another takes over with the write, and the old leader rejoins as a
//! follower. Every wait is bounded.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(20);

struct Cluster {
    dir: PathBuf,
    client_ports: Vec<u16>,
    raft_ports: Vec<u16>,
    children: Vec<Option<Child>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("kv-node-cluster-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

impl Cluster {
    fn start(size: usize) -> Cluster {
        Cluster::start_with(size, false)
    }

    /// With `join`, every node starts with `cluster = "join"` and no peers.
    fn start_with(size: usize, join: bool) -> Cluster {
        let dir = temp_dir();
        let client_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let raft_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        for i in 0..size {
            let peers: String = (0..size)
                .filter(|&j| j != i && !join)
                .map(|j| format!("{} = \"127.0.0.1:{}\"\n", j + 1, raft_ports[j]))
                .collect();
            let mode = if join { "join" } else { "file" };
            let text = format!(
                "id = {}\ncluster = \"{mode}\"\nlisten = \"127.0.0.1:{}\"\nraft_listen = \"127.0.0.1:{}\"\ndata_dir = \"{}\"\n[peers]\n{peers}",
                i + 1,
                client_ports[i],
                raft_ports[i],
                dir.join(format!("data-{}", i + 1)).display()
            );
            fs::write(dir.join(format!("node-{}.toml", i + 1)), text).unwrap();
        }
        let mut cluster = Cluster {
            dir,
            client_ports,
            raft_ports,
            children: Vec::new(),
        };
        for i in 0..size {
            let child = cluster.spawn(i);
            cluster.children.push(Some(child));
        }
        cluster
    }

    fn spawn(&self, index: usize) -> Child {
        let log = fs::File::create(self.dir.join(format!("node-{}.log", index + 1))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_kv-node"))
            .arg("-c")
            .arg(self.dir.join(format!("node-{}.toml", index + 1)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn logs(&self) -> String {
        (1..=self.client_ports.len())
            .map(|id| {
                fs::read_to_string(self.dir.join(format!("node-{id}.log"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn ask(&self, index: usize, command: &str) -> Option<String> {
        send(&format!("127.0.0.1:{}", self.client_ports[index]), command)
    }

    /// Wait until exactly one running node leads and every other running node follows it.
    fn wait_for_leader(&self, what: &str) -> (usize, u64) {
        let deadline = Instant::now() + WAIT;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            let running: Vec<usize> = (0..self.children.len())
                .filter(|&i| self.children[i].is_some())
                .collect();
            last = running
                .iter()
                .map(|&i| (i, self.ask(i, "ROLE").unwrap_or_default()))
                .collect();
            let leaders: Vec<(usize, u64)> = last
                .iter()
                .filter_map(|(i, r)| r.strip_prefix("leader ").map(|t| (*i, t.parse().unwrap())))
                .collect();
            if let [(leader, term)] = leaders[..] {
                let follows = format!("follower {} {term}", leader + 1);
                if last.iter().all(|(i, r)| *i == leader || *r == follows) {
                    return (leader, term);
                }
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{what}: no single leader within {WAIT:?}; roles {last:?}\n{}",
            self.logs()
        );
    }

    fn wait_for_value(&self, index: usize, key: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        let expected = format!("VALUE {want}");
        let mut got = None;
        while Instant::now() < deadline {
            got = self.ask(index, &format!("GET {key}"));
            if got.as_deref() == Some(expected.as_str()) {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "node {} never returned {expected:?} (last {got:?})\n{}",
            index + 1,
            self.logs()
        );
    }

    fn kill(&mut self, index: usize) {
        let mut child = self.children[index].take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

fn send(addr: &str, command: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(format!("{command}\n").as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line.trim_end().to_string())
}

#[test]
fn elects_replicates_and_survives_leader_loss() {
    let mut cluster = Cluster::start(3);
    let (leader, term) = cluster.wait_for_leader("first election");

    let follower = (leader + 1) % 3;
    assert_eq!(
        cluster.ask(follower, "SET colour blue"),
        Some(format!("REDIRECT {}", leader + 1))
    );
    assert_eq!(
        cluster.ask(leader, "SET colour dark blue").as_deref(),
        Some("OK")
    );
    for i in 0..3 {
        cluster.wait_for_value(i, "colour", "dark blue");
    }
    let status = cluster.ask(leader, "STATUS").unwrap();
    assert!(
        status.starts_with(&format!(
            "id={} role=leader term={term} leader={}",
            leader + 1,
            leader + 1
        )),
        "{status}"
    );

    cluster.kill(leader);
    let (new_leader, new_term) = cluster.wait_for_leader("after the leader was killed");
    assert_ne!(new_leader, leader);
    assert!(new_term > term, "term {new_term} after {term}");
    assert_eq!(
        cluster.ask(new_leader, "GET colour").as_deref(),
        Some("VALUE dark blue")
    );
    assert_eq!(
        cluster.ask(new_leader, "SET shape round").as_deref(),
        Some("OK")
    );

    // The old leader comes back (same data_dir) and follows the new one.
    let child = cluster.spawn(leader);
    cluster.children[leader] = Some(child);
    let (again, _) = cluster.wait_for_leader("after the old leader restarted");
    assert_ne!(again, leader, "the old leader rejoined as a follower");
    cluster.wait_for_value(leader, "shape", "round");
}

#[test]
fn http_gets_an_error_line_and_pings_answer() {
    let cluster = Cluster::start(1);
    let addr = format!("127.0.0.1:{}", cluster.client_ports[0]);
    let deadline = Instant::now() + WAIT;
    while send(&addr, "PING").as_deref() != Some("PONG") {
        assert!(
            Instant::now() < deadline,
            "no PONG within {WAIT:?}\n{}",
            cluster.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let reply = send(&addr, "GET /health HTTP/1.1").unwrap();
    assert!(
        reply.starts_with("ERR this is not an HTTP server"),
        "{reply}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_node_promptly() {
    let mut cluster = Cluster::start(1);
    let addr = format!("127.0.0.1:{}", cluster.client_ports[0]);
    let deadline = Instant::now() + WAIT;
    while send(&addr, "PING").is_none() {
        assert!(
            Instant::now() < deadline,
            "node did not start\n{}",
            cluster.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let mut child = cluster.children[0].take().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{exit:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 3 s after SIGTERM");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_config_is_one_line_and_exit_1() {
    let dir = temp_dir();
    let path: &Path = &dir.join("node.toml");
    fs::write(path, "id = 0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kv-node"))
        .arg("--config")
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("node.toml: line 1: id = 0 is not allowed"),
        "{stderr}"
    );
    let none = Command::new(env!("CARGO_BIN_EXE_kv-node"))
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kv_cli_exit_codes() {
    let cluster = Cluster::start(1);
    let addr = format!("127.0.0.1:{}", cluster.client_ports[0]);
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kv-cli"))
            .args(args)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + WAIT;
    loop {
        let out = cli(&["--addr", &addr, "ROLE"]);
        if String::from_utf8_lossy(&out.stdout).starts_with("leader ") {
            assert!(out.status.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "single node never led\n{}",
            cluster.logs()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let set = cli(&["--addr", &addr, "SET", "k", "two", "words"]);
    assert_eq!(
        (
            set.status.code(),
            String::from_utf8_lossy(&set.stdout).trim()
        ),
        (Some(0), "OK")
    );
    let get = cli(&["--addr", &addr, "GET", "k"]);
    assert_eq!(
        String::from_utf8_lossy(&get.stdout).trim(),
        "VALUE two words"
    );
    assert_eq!(
        cli(&["--addr", &addr, "DEL", "k"]).status.code(),
        Some(1),
        "an ERR reply"
    );
    let closed = format!("127.0.0.1:{}", free_port());
    let down = cli(&["--addr", &closed, "PING"]);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("cannot talk to a kv-node"));
    assert_eq!(cli(&[]).status.code(), Some(2));
}

#[test]
fn join_mode_waits_for_join_forms_a_cluster_and_stays_joined() {
    let mut cluster = Cluster::start_with(3, true);
    let deadline = Instant::now() + WAIT;
    while (0..3).any(|i| cluster.ask(i, "ROLE").as_deref() != Some("unjoined")) {
        assert!(
            Instant::now() < deadline,
            "nodes never answered unjoined\n{}",
            cluster.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let members: Vec<String> = (0..3)
        .map(|i| format!("{}=127.0.0.1:{}", i + 1, cluster.raft_ports[i]))
        .collect();
    let join = |members: &[String]| {
        let mut args: Vec<String> = Vec::new();
        for port in &cluster.client_ports {
            args.push("--addr".into());
            args.push(format!("127.0.0.1:{port}"));
        }
        args.push("JOIN".into());
        args.extend(members.iter().cloned());
        Command::new(env!("CARGO_BIN_EXE_kv-cli"))
            .args(&args)
            .output()
            .unwrap()
    };
    let first = join(&members);
    assert!(first.status.success(), "{first:?}\n{}", cluster.logs());
    let (leader, _) = cluster.wait_for_leader("after JOIN");
    // Idempotent: the same JOIN again is OK on every (now joined) node; other members are refused.
    let again = join(&members);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout)
            .matches("OK joined 3 members")
            .count(),
        3
    );
    assert_eq!(join(&members[..2]).status.code(), Some(1));
    // A restarted node comes back joined, from the members it saved.
    let follower = (leader + 1) % 3;
    cluster.kill(follower);
    let child = cluster.spawn(follower);
    cluster.children[follower] = Some(child);
    cluster.wait_for_leader("after a restart");
    assert_ne!(cluster.ask(follower, "ROLE").as_deref(), Some("unjoined"));
}
