//! The running node: [`Core`] behind a mutex, the election timer, one sender thread per peer, and
//! persistence of the term and vote before anything that depends on them leaves the process.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::raft::{Core, Role};
use crate::rpc::{self, Message};
use crate::storage::{PersistentState, Storage};

/// Generous timings: a busy machine running several containers can stall for hundreds of
/// milliseconds, and a tighter timeout turns every stall into an election.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(150);
pub const ELECTION_TIMEOUT_MIN_MS: u64 = 1000;
pub const ELECTION_TIMEOUT_MAX_MS: u64 = 2000;
/// Bound on name resolution, connect and read for each peer RPC.
const RPC_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a SET waits for a majority before it gives up.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(10);

/// A point-in-time view for the client protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: u64,
    pub role: Role,
    pub term: u64,
    pub leader: Option<u64>,
    pub commit: usize,
}

/// The outcome of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Committed,
    NotLeader(Option<u64>),
    TimedOut,
}

#[derive(Debug, Default)]
struct PeerSlot {
    last_sent: Option<Instant>,
    /// Term in which this peer already answered our vote request.
    answered_term: Option<u64>,
    reachable: Option<bool>,
}

struct Inner {
    core: Core,
    election_deadline: Instant,
    slots: Vec<PeerSlot>,
}

pub struct Node {
    id: u64,
    /// (peer id, raft address)
    peers: Vec<(u64, String)>,
    storage: Storage,
    inner: Mutex<Inner>,
}

impl Node {
    pub fn new(id: u64, peers: Vec<(u64, String)>, storage: Storage) -> std::io::Result<Node> {
        let saved = storage.load()?;
        // Fail at start, not at the first vote, when data_dir is not writable.
        storage.save(&saved)?;
        let core = Core::new(id, peers.iter().map(|(p, _)| *p).collect(), saved);
        let slots = peers.iter().map(|_| PeerSlot::default()).collect();
        Ok(Node {
            id,
            peers,
            storage,
            inner: Mutex::new(Inner {
                core,
                election_deadline: Instant::now() + random_election_timeout(),
                slots,
            }),
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// (peer id, raft address) of every other member.
    pub fn peers(&self) -> &[(u64, String)] {
        &self.peers
    }

    pub fn log(&self, msg: &str) {
        eprintln!("kv-node {}: {msg}", self.id);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn persisted(&self) -> PersistentState {
        self.lock().core.persistent()
    }

    /// Run `f` on the core, persist if asked, log role and leader changes.
    fn apply<T>(&self, inner: &mut Inner, f: impl FnOnce(&mut Core) -> (T, bool)) -> T {
        let before = (inner.core.role, inner.core.term, inner.core.leader);
        let (out, changed) = f(&mut inner.core);
        if changed {
            if let Err(e) = self.storage.save(&inner.core.persistent()) {
                // Answering without durable state could elect two leaders.
                self.log(&format!(
                    "cannot persist state to {}: {e}",
                    self.storage.path().display()
                ));
                std::process::exit(1);
            }
        }
        let core = &inner.core;
        if (core.role, core.term) != (before.0, before.1) {
            self.log(&format!("became {} in term {}", core.role, core.term));
            inner.slots.iter_mut().for_each(|s| s.last_sent = None); // tell peers right away
        }
        if core.leader != before.2 {
            if let Some(leader) = core.leader.filter(|l| *l != self.id) {
                self.log(&format!("following leader {leader} in term {}", core.term));
            }
        }
        out
    }

    /// Answer a peer's request.
    pub fn handle(&self, request: Message) -> Option<Message> {
        let mut inner = self.lock();
        let reply = match request {
            Message::RequestVote {
                term,
                candidate,
                last_index,
                last_term,
            } => self.apply(&mut inner, |c| {
                c.on_request_vote(term, candidate, last_index, last_term)
            }),
            Message::AppendEntries {
                term,
                leader,
                prev_index,
                prev_term,
                commit,
                entries,
            } => self.apply(&mut inner, |c| {
                c.on_append_entries(term, leader, prev_index, prev_term, commit, entries)
            }),
            Message::VoteReply { .. } | Message::AppendReply { .. } => return None,
        };
        if matches!(
            reply,
            Message::VoteReply { granted: true, .. } | Message::AppendReply { success: true, .. }
        ) {
            inner.election_deadline = Instant::now() + random_election_timeout();
        }
        Some(reply)
    }

    fn handle_reply(&self, peer: usize, reply: Message) {
        let mut inner = self.lock();
        match reply {
            Message::VoteReply {
                term,
                granted,
                from,
            } => {
                if term == inner.core.term {
                    inner.slots[peer].answered_term = Some(term);
                }
                self.apply(&mut inner, |c| ((), c.on_vote_reply(term, granted, from)));
            }
            Message::AppendReply {
                term,
                success,
                from,
                index,
            } => {
                self.apply(&mut inner, |c| {
                    ((), c.on_append_reply(term, success, from, index))
                });
            }
            other => self.log(&format!("unexpected reply {other:?}")),
        }
    }

    /// What to send to `peer` now: a heartbeat (sooner when entries wait) or a vote request.
    fn next_request(&self, peer: usize) -> Option<Message> {
        let mut inner = self.lock();
        let now = Instant::now();
        let peer_id = self.peers[peer].0;
        let core = &inner.core;
        let slot = &inner.slots[peer];
        // Entries waiting for a reachable follower go out before the next heartbeat is due.
        let waiting = core.role == Role::Leader
            && slot.reachable != Some(false)
            && core
                .progress
                .get(&peer_id)
                .is_some_and(|p| p.next < core.log.len());
        let due = slot
            .last_sent
            .map_or(true, |t| now.duration_since(t) >= HEARTBEAT_INTERVAL);
        let request = match core.role {
            Role::Leader if due || waiting => core.append_request(peer_id),
            Role::Candidate if due && slot.answered_term != Some(core.term) => core.vote_request(),
            _ => return None,
        };
        inner.slots[peer].last_sent = Some(now);
        Some(request)
    }

    fn set_reachable(&self, peer: usize, ok: bool, detail: &str) {
        let mut inner = self.lock();
        if inner.slots[peer].reachable != Some(ok) {
            inner.slots[peer].reachable = Some(ok);
            drop(inner);
            let (id, addr) = &self.peers[peer];
            match ok {
                true => self.log(&format!("peer {id} at {addr} is reachable")),
                false => self.log(&format!(
                    "peer {id} at {addr} is unreachable ({detail}); will keep retrying"
                )),
            }
        }
    }

    /// One sender per peer, so a slow or unresolvable peer delays only its own RPCs.
    fn peer_loop(self: Arc<Self>, peer: usize) {
        loop {
            if let Some(request) = self.next_request(peer) {
                match rpc::call(&self.peers[peer].1, &request, RPC_TIMEOUT) {
                    Ok(reply) => {
                        self.set_reachable(peer, true, "");
                        self.handle_reply(peer, reply);
                    }
                    Err(e) => self.set_reachable(peer, false, &e.to_string()),
                }
            }
            thread::sleep(TICK);
        }
    }

    /// Spawn the peer senders and run the election timer forever.
    pub fn run(self: Arc<Self>) -> ! {
        for peer in 0..self.peers.len() {
            let node = Arc::clone(&self);
            thread::Builder::new()
                .name(format!("peer-{}", self.peers[peer].0))
                .spawn(move || node.peer_loop(peer))
                .expect("spawn peer thread");
        }
        loop {
            {
                let mut inner = self.lock();
                let now = Instant::now();
                if inner.core.role != Role::Leader && now >= inner.election_deadline {
                    self.apply(&mut inner, |c| ((), c.start_election()));
                    inner.election_deadline = now + random_election_timeout();
                }
            }
            thread::sleep(TICK);
        }
    }

    pub fn status(&self) -> Status {
        let core = &self.lock().core;
        Status {
            id: self.id,
            role: core.role,
            term: core.term,
            leader: core.leader,
            commit: core.commit,
        }
    }

    /// A committed value, as this node knows it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().core.store.get(key).cloned()
    }

    /// Append a write on the leader and wait (bounded) until a majority holds it.
    pub fn set(&self, key: String, value: String) -> Write {
        let (index, term) = {
            let mut inner = self.lock();
            match inner.core.propose(key, value) {
                Some(index) => (index, inner.core.term),
                None => return Write::NotLeader(inner.core.leader),
            }
        };
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        while Instant::now() < deadline {
            {
                let inner = self.lock();
                if inner.core.is_committed(index, term) {
                    return Write::Committed;
                }
                if inner.core.term != term {
                    return Write::NotLeader(inner.core.leader);
                }
            }
            thread::sleep(TICK);
        }
        Write::TimedOut
    }
}

/// A uniformly spread timeout in [ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS].
pub fn random_election_timeout() -> Duration {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let span = ELECTION_TIMEOUT_MAX_MS - ELECTION_TIMEOUT_MIN_MS + 1;
    Duration::from_millis(ELECTION_TIMEOUT_MIN_MS + hasher.finish() % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn election_timeout_is_in_range_and_varies() {
        let samples: Vec<u64> = (0..200)
            .map(|_| random_election_timeout().as_millis() as u64)
            .collect();
        assert!(samples
            .iter()
            .all(|t| (ELECTION_TIMEOUT_MIN_MS..=ELECTION_TIMEOUT_MAX_MS).contains(t)));
        assert!(samples.iter().any(|t| *t != samples[0]));
    }
}
