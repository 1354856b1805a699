//! Raft leader election.
//!
//! [`Core`] holds the election rules and performs no I/O, so it can be tested
//! directly. [`Node`] wraps it in a mutex, persists state through
//! [`Storage`] before anything that depends on it leaves the process, runs
//! the election timer and talks to peers.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::rpc::{self, Message};
use crate::storage::{PersistentState, Storage};

/// Generous timings: containers on a busy shared machine can stall for hundreds of milliseconds,
/// and a tighter election timeout then turns every stall into a new election.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(150);
pub const ELECTION_TIMEOUT_MIN_MS: u64 = 1000;
pub const ELECTION_TIMEOUT_MAX_MS: u64 = 2000;
/// Bound on name resolution, connect and read for each RPC.
pub const RPC_TIMEOUT: Duration = Duration::from_millis(500);
/// A peer counts as "seen" if we heard from it within this window.
pub const SEEN_WINDOW: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}

/// Votes needed to win an election in a cluster of `cluster_size` voters.
pub fn majority(cluster_size: usize) -> usize {
    cluster_size / 2 + 1
}

/// The election state machine. Methods return `true` when the persistent
/// part (term, voted_for) changed and must be saved before replying.
#[derive(Debug, Clone)]
pub struct Core {
    pub id: String,
    pub cluster_size: usize,
    pub term: u64,
    pub voted_for: Option<String>,
    pub role: Role,
    pub leader: Option<String>,
    votes: HashSet<String>,
}

impl Core {
    /// A node always (re)starts as a follower with its persisted term and vote.
    pub fn new(id: &str, cluster_size: usize, saved: PersistentState) -> Core {
        Core {
            id: id.to_string(),
            cluster_size,
            term: saved.term,
            voted_for: saved.voted_for,
            role: Role::Follower,
            leader: None,
            votes: HashSet::new(),
        }
    }

    pub fn persistent(&self) -> PersistentState {
        PersistentState {
            term: self.term,
            voted_for: self.voted_for.clone(),
        }
    }

    /// Any message carrying a newer term turns us into a follower of that term.
    fn observe_term(&mut self, term: u64) -> bool {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.role = Role::Follower;
            self.leader = None;
            self.votes.clear();
            true
        } else {
            false
        }
    }

    /// Election timeout fired: vote for ourselves in a new term.
    pub fn start_election(&mut self) -> bool {
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.id.clone());
        self.leader = None;
        self.votes.clear();
        self.votes.insert(self.id.clone());
        self.check_won();
        true
    }

    fn check_won(&mut self) {
        if self.role == Role::Candidate && self.votes.len() >= majority(self.cluster_size) {
            self.role = Role::Leader;
            self.leader = Some(self.id.clone());
        }
    }

    /// RequestVote. Grant at most one vote per term, never to an older term.
    /// (There is no log, so the log up-to-date check is trivially true.)
    /// Returns the reply and whether persistent state changed.
    pub fn on_request_vote(&mut self, term: u64, candidate: &str) -> (Message, bool) {
        let mut changed = self.observe_term(term);
        let granted = term == self.term
            && match &self.voted_for {
                None => true,
                Some(v) => v == candidate,
            };
        if granted && self.voted_for.is_none() {
            self.voted_for = Some(candidate.to_string());
            changed = true;
        }
        let reply = Message::VoteReply {
            term: self.term,
            granted,
            from: self.id.clone(),
        };
        (reply, changed)
    }

    /// AppendEntries (heartbeat). Accept any leader whose term is not stale.
    pub fn on_append_entries(&mut self, term: u64, leader: &str) -> (Message, bool) {
        let changed = self.observe_term(term);
        let success = term == self.term;
        if success {
            // A candidate that hears from the leader of its own term steps down.
            self.role = Role::Follower;
            self.leader = Some(leader.to_string());
            self.votes.clear();
        }
        let reply = Message::AppendReply {
            term: self.term,
            success,
            from: self.id.clone(),
        };
        (reply, changed)
    }

    pub fn on_vote_reply(&mut self, term: u64, granted: bool, from: &str) -> bool {
        if self.observe_term(term) {
            return true;
        }
        if granted && term == self.term && self.role == Role::Candidate {
            self.votes.insert(from.to_string());
            self.check_won();
        }
        false
    }

    pub fn on_append_reply(&mut self, term: u64) -> bool {
        self.observe_term(term)
    }
}

/// Bookkeeping for one peer address.
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
    seen: HashMap<String, Instant>,
}

/// A point-in-time view of the node for the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: String,
    pub term: u64,
    pub role: Role,
    pub leader: Option<String>,
    pub peers_seen: Vec<String>,
}

pub struct Node {
    id: String,
    peers: Vec<String>,
    verbose: bool,
    storage: Storage,
    inner: Mutex<Inner>,
}

impl Node {
    pub fn new(
        id: &str,
        peers: Vec<String>,
        storage: Storage,
        verbose: bool,
    ) -> std::io::Result<Node> {
        let saved = storage.load()?;
        let core = Core::new(id, peers.len() + 1, saved.clone());
        // Fail early if DATA_DIR is not writable rather than at the first vote.
        storage.save(&saved)?;
        let slots = peers.iter().map(|_| PeerSlot::default()).collect();
        Ok(Node {
            id: id.to_string(),
            peers,
            verbose,
            storage,
            inner: Mutex::new(Inner {
                core,
                election_deadline: Instant::now() + random_election_timeout(),
                slots,
                seen: HashMap::new(),
            }),
        })
    }

    pub fn log(&self, msg: &str) {
        eprintln!("node {}: {msg}", self.id);
    }

    pub fn debug(&self, msg: &str) {
        if self.verbose {
            self.log(msg);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` against the core, persist if needed, and log role/term changes.
    fn apply<T>(&self, inner: &mut Inner, f: impl FnOnce(&mut Core) -> (T, bool)) -> T {
        let before = (inner.core.role, inner.core.term, inner.core.leader.clone());
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
        if core.role != before.0 || core.term != before.1 {
            self.log(&format!("became {} in term {}", core.role, core.term));
            // New role: next heartbeat / vote request goes out right away.
            for slot in &mut inner.slots {
                slot.last_sent = None;
            }
        }
        if core.leader != before.2 {
            if let Some(leader) = &core.leader {
                if leader != &self.id {
                    self.log(&format!("following leader {leader} in term {}", core.term));
                }
            }
        }
        out
    }

    fn saw(inner: &mut Inner, me: &str, peer: &str) {
        if peer != me {
            inner.seen.insert(peer.to_string(), Instant::now());
        }
    }

    /// Answer an incoming RPC.
    pub fn handle(&self, request: Message) -> Option<Message> {
        let mut inner = self.lock();
        match request {
            Message::RequestVote { term, candidate } => {
                Self::saw(&mut inner, &self.id, &candidate);
                let reply = self.apply(&mut inner, |c| c.on_request_vote(term, &candidate));
                if let Message::VoteReply { granted: true, .. } = reply {
                    inner.election_deadline = Instant::now() + random_election_timeout();
                    self.debug(&format!("voted for {candidate} in term {term}"));
                }
                Some(reply)
            }
            Message::AppendEntries { term, leader } => {
                Self::saw(&mut inner, &self.id, &leader);
                let reply = self.apply(&mut inner, |c| c.on_append_entries(term, &leader));
                if let Message::AppendReply { success: true, .. } = reply {
                    inner.election_deadline = Instant::now() + random_election_timeout();
                }
                Some(reply)
            }
            // Replies are never sent as requests.
            Message::VoteReply { .. } | Message::AppendReply { .. } => None,
        }
    }

    fn handle_reply(&self, peer: usize, reply: Message) {
        let mut inner = self.lock();
        match reply {
            Message::VoteReply {
                term,
                granted,
                from,
            } => {
                Self::saw(&mut inner, &self.id, &from);
                if term == inner.core.term {
                    inner.slots[peer].answered_term = Some(term);
                }
                self.apply(&mut inner, |c| ((), c.on_vote_reply(term, granted, &from)));
            }
            Message::AppendReply { term, from, .. } => {
                Self::saw(&mut inner, &self.id, &from);
                self.apply(&mut inner, |c| ((), c.on_append_reply(term)));
            }
            other => self.debug(&format!("unexpected reply {other:?}")),
        }
    }

    /// What (if anything) should be sent to `peer` right now.
    fn next_request(&self, peer: usize) -> Option<Message> {
        let mut inner = self.lock();
        let now = Instant::now();
        let (role, term) = (inner.core.role, inner.core.term);
        let slot = &mut inner.slots[peer];
        let due = match slot.last_sent {
            None => true,
            Some(t) => now.duration_since(t) >= HEARTBEAT_INTERVAL,
        };
        let request = match role {
            Role::Leader if due => Message::AppendEntries {
                term,
                leader: self.id.clone(),
            },
            Role::Candidate if due && slot.answered_term != Some(term) => Message::RequestVote {
                term,
                candidate: self.id.clone(),
            },
            _ => return None,
        };
        slot.last_sent = Some(now);
        Some(request)
    }

    fn set_reachable(&self, peer: usize, ok: bool, detail: &str) {
        let mut inner = self.lock();
        let slot = &mut inner.slots[peer];
        if slot.reachable != Some(ok) {
            slot.reachable = Some(ok);
            drop(inner);
            let addr = &self.peers[peer];
            if ok {
                self.log(&format!("peer {addr} is reachable"));
            } else {
                self.log(&format!(
                    "peer {addr} is unreachable ({detail}); will keep retrying"
                ));
            }
        } else if !ok {
            self.debug(&format!(
                "peer {} still unreachable: {detail}",
                self.peers[peer]
            ));
        }
    }

    /// One sender thread per peer, so a slow or unresolvable peer only
    /// delays its own RPCs.
    fn peer_loop(self: Arc<Self>, peer: usize) {
        loop {
            if let Some(request) = self.next_request(peer) {
                match rpc::call(&self.peers[peer], &request, RPC_TIMEOUT) {
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

    /// Start an election when the timeout passes without hearing from a leader.
    fn tick(&self) {
        let mut inner = self.lock();
        let now = Instant::now();
        if inner.core.role != Role::Leader && now >= inner.election_deadline {
            self.apply(&mut inner, |c| ((), c.start_election()));
            inner.election_deadline = now + random_election_timeout();
        }
    }

    /// Spawn the peer senders and run the election timer forever.
    pub fn run(self: Arc<Self>) -> ! {
        for peer in 0..self.peers.len() {
            let node = Arc::clone(&self);
            thread::Builder::new()
                .name(format!("peer-{peer}"))
                .spawn(move || node.peer_loop(peer))
                .expect("spawn peer thread");
        }
        loop {
            self.tick();
            thread::sleep(TICK);
        }
    }

    pub fn status(&self) -> Status {
        let inner = self.lock();
        let now = Instant::now();
        let mut peers_seen: Vec<String> = inner
            .seen
            .iter()
            .filter(|(_, t)| now.duration_since(**t) <= SEEN_WINDOW)
            .map(|(id, _)| id.clone())
            .collect();
        peers_seen.sort();
        Status {
            id: self.id.clone(),
            term: inner.core.term,
            role: inner.core.role,
            leader: inner.core.leader.clone(),
            peers_seen,
        }
    }

    pub fn persisted(&self) -> PersistentState {
        self.lock().core.persistent()
    }
}

/// A uniformly spread timeout in [ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS].
pub fn random_election_timeout() -> Duration {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    let span = ELECTION_TIMEOUT_MAX_MS - ELECTION_TIMEOUT_MIN_MS + 1;
    Duration::from_millis(ELECTION_TIMEOUT_MIN_MS + hasher.finish() % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(id: &str, size: usize, term: u64, voted_for: Option<&str>) -> Core {
        Core::new(
            id,
            size,
            PersistentState {
                term,
                voted_for: voted_for.map(String::from),
            },
        )
    }

    fn granted(reply: &Message) -> bool {
        matches!(reply, Message::VoteReply { granted: true, .. })
    }

    #[test]
    fn majority_math() {
        assert_eq!(majority(1), 1);
        assert_eq!(majority(2), 2);
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
        assert_eq!(majority(7), 4);
    }

    #[test]
    fn restart_comes_back_as_follower_with_saved_term() {
        let c = core("1", 3, 7, Some("2"));
        assert_eq!(c.role, Role::Follower);
        assert_eq!(c.term, 7);
        assert_eq!(c.voted_for.as_deref(), Some("2"));
        assert_eq!(c.leader, None);
    }

    #[test]
    fn grants_vote_in_newer_term_and_persists() {
        let mut c = core("1", 3, 2, Some("1"));
        let (reply, changed) = c.on_request_vote(3, "2");
        assert!(granted(&reply));
        assert!(changed);
        assert_eq!(c.term, 3);
        assert_eq!(c.voted_for.as_deref(), Some("2"));
        assert_eq!(
            reply,
            Message::VoteReply {
                term: 3,
                granted: true,
                from: "1".into()
            }
        );
    }

    #[test]
    fn rejects_stale_term() {
        let mut c = core("1", 3, 5, None);
        let (reply, changed) = c.on_request_vote(4, "2");
        assert!(!granted(&reply));
        assert!(!changed);
        assert_eq!(c.term, 5);
        assert_eq!(c.voted_for, None);
    }

    #[test]
    fn one_vote_per_term() {
        let mut c = core("1", 3, 5, None);
        assert!(granted(&c.on_request_vote(5, "2").0));
        // Same candidate asking again (retry) still gets the vote, no re-persist.
        let (again, changed) = c.on_request_vote(5, "2");
        assert!(granted(&again));
        assert!(!changed);
        // A different candidate in the same term does not.
        assert!(!granted(&c.on_request_vote(5, "3").0));
        // But it can in the next term.
        assert!(granted(&c.on_request_vote(6, "3").0));
    }

    #[test]
    fn vote_survives_restart() {
        let mut c = core("1", 3, 5, None);
        assert!(granted(&c.on_request_vote(5, "2").0));
        let mut restarted = Core::new("1", 3, c.persistent());
        assert!(!granted(&restarted.on_request_vote(5, "3").0));
    }

    #[test]
    fn candidate_does_not_vote_for_rival_in_same_term() {
        let mut c = core("1", 3, 0, None);
        c.start_election();
        assert_eq!(c.role, Role::Candidate);
        assert_eq!(c.term, 1);
        assert!(!granted(&c.on_request_vote(1, "2").0));
        assert_eq!(c.role, Role::Candidate);
    }

    #[test]
    fn election_needs_a_majority() {
        let mut c = core("1", 5, 0, None);
        assert!(c.start_election());
        assert_eq!(c.voted_for.as_deref(), Some("1"));
        c.on_vote_reply(1, true, "2");
        assert_eq!(c.role, Role::Candidate);
        c.on_vote_reply(1, false, "3");
        // Duplicate vote from the same peer does not count twice.
        c.on_vote_reply(1, true, "2");
        assert_eq!(c.role, Role::Candidate);
        c.on_vote_reply(1, true, "4");
        assert_eq!(c.role, Role::Leader);
        assert_eq!(c.leader.as_deref(), Some("1"));
    }

    #[test]
    fn single_node_elects_itself() {
        let mut c = core("solo", 1, 0, None);
        c.start_election();
        assert_eq!(c.role, Role::Leader);
        assert_eq!(c.term, 1);
    }

    #[test]
    fn late_votes_from_old_term_are_ignored() {
        let mut c = core("1", 3, 0, None);
        c.start_election(); // term 1
        c.start_election(); // term 2, nobody answered
        c.on_vote_reply(1, true, "2");
        assert_eq!(c.role, Role::Candidate);
        c.on_vote_reply(2, true, "2");
        assert_eq!(c.role, Role::Leader);
    }

    #[test]
    fn higher_term_reply_steps_down() {
        let mut c = core("1", 3, 0, None);
        c.start_election();
        c.on_vote_reply(1, true, "2");
        assert_eq!(c.role, Role::Leader);
        assert!(c.on_append_reply(4));
        assert_eq!(c.role, Role::Follower);
        assert_eq!(c.term, 4);
        assert_eq!(c.voted_for, None);
        assert_eq!(c.leader, None);
    }

    #[test]
    fn heartbeat_sets_leader_and_stops_candidate() {
        let mut c = core("2", 3, 0, None);
        c.start_election(); // term 1, candidate
        let (reply, changed) = c.on_append_entries(1, "1");
        assert!(!changed);
        assert_eq!(c.role, Role::Follower);
        assert_eq!(c.leader.as_deref(), Some("1"));
        assert_eq!(
            reply,
            Message::AppendReply {
                term: 1,
                success: true,
                from: "2".into()
            }
        );
        // A stale leader is told the current term.
        let (stale, _) = c.on_append_entries(0, "3");
        assert_eq!(
            stale,
            Message::AppendReply {
                term: 1,
                success: false,
                from: "2".into()
            }
        );
        assert_eq!(c.leader.as_deref(), Some("1"));
    }

    #[test]
    fn election_timeout_is_in_range() {
        for _ in 0..200 {
            let t = random_election_timeout().as_millis() as u64;
            assert!((ELECTION_TIMEOUT_MIN_MS..=ELECTION_TIMEOUT_MAX_MS).contains(&t));
        }
    }
}
