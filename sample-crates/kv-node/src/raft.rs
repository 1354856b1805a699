//! Raft-style leader election and log replication, without I/O, so every rule is unit-tested.
//!
//! Methods that change the term or the vote return `true`: the caller persists those before any
//! reply leaves the process. The log and the key-value map live in memory; an entry is applied to
//! the map once the leader has it on a majority (committed).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::rpc::{Entry, Message};
use crate::storage::PersistentState;

/// Most entries sent in one APPEND.
pub const MAX_BATCH: usize = 64;

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

/// Votes needed to win in a cluster of `size` voters.
pub fn majority(size: usize) -> usize {
    size / 2 + 1
}

/// What the leader knows of one follower: `next` = entries it is believed to hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub next: usize,
    pub matched: usize,
}

#[derive(Debug, Clone)]
pub struct Core {
    pub id: u64,
    pub peers: Vec<u64>,
    pub term: u64,
    pub voted_for: Option<u64>,
    pub role: Role,
    pub leader: Option<u64>,
    votes: BTreeSet<u64>,
    pub log: Vec<Entry>,
    pub commit: usize,
    pub store: HashMap<String, String>,
    applied: usize,
    pub progress: BTreeMap<u64, Progress>,
}

impl Core {
    /// A node always (re)starts as a follower in its persisted term, with an empty log.
    pub fn new(id: u64, peers: Vec<u64>, saved: PersistentState) -> Core {
        Core {
            id,
            peers,
            term: saved.term,
            voted_for: saved.voted_for,
            role: Role::Follower,
            leader: None,
            votes: BTreeSet::new(),
            log: Vec::new(),
            commit: 0,
            store: HashMap::new(),
            applied: 0,
            progress: BTreeMap::new(),
        }
    }

    pub fn persistent(&self) -> PersistentState {
        PersistentState {
            term: self.term,
            voted_for: self.voted_for,
        }
    }

    fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    fn last_term(&self) -> u64 {
        self.log.last().map_or(0, |e| e.term)
    }

    fn term_at(&self, index: usize) -> Option<u64> {
        match index {
            0 => Some(0),
            i => self.log.get(i - 1).map(|e| e.term),
        }
    }

    /// A newer term turns us into a follower of that term.
    fn observe_term(&mut self, term: u64) -> bool {
        if term <= self.term {
            return false;
        }
        self.term = term;
        self.voted_for = None;
        self.role = Role::Follower;
        self.leader = None;
        self.votes.clear();
        true
    }

    /// The election timeout fired: vote for ourselves in a new term.
    pub fn start_election(&mut self) -> bool {
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.id);
        self.leader = None;
        self.votes = BTreeSet::from([self.id]);
        self.check_won();
        true
    }

    pub fn vote_request(&self) -> Message {
        Message::RequestVote {
            term: self.term,
            candidate: self.id,
            last_index: self.log.len(),
            last_term: self.last_term(),
        }
    }

    fn check_won(&mut self) {
        if self.role == Role::Candidate && self.votes.len() >= majority(self.cluster_size()) {
            self.role = Role::Leader;
            self.leader = Some(self.id);
            let next = self.log.len();
            self.progress = self
                .peers
                .iter()
                .map(|&p| (p, Progress { next, matched: 0 }))
                .collect();
        }
    }

    /// One vote per term, only for a candidate whose log is at least as up to date as ours.
    pub fn on_request_vote(
        &mut self,
        term: u64,
        candidate: u64,
        last_index: usize,
        last_term: u64,
    ) -> (Message, bool) {
        let mut changed = self.observe_term(term);
        let up_to_date = (last_term, last_index) >= (self.last_term(), self.log.len());
        let granted =
            term == self.term && up_to_date && self.voted_for.map_or(true, |v| v == candidate);
        if granted && self.voted_for.is_none() {
            self.voted_for = Some(candidate);
            changed = true;
        }
        (
            Message::VoteReply {
                term: self.term,
                granted,
                from: self.id,
            },
            changed,
        )
    }

    pub fn on_vote_reply(&mut self, term: u64, granted: bool, from: u64) -> bool {
        if self.observe_term(term) {
            return true;
        }
        if granted && term == self.term && self.role == Role::Candidate {
            self.votes.insert(from);
            self.check_won();
        }
        false
    }

    /// The APPEND for `peer`: the entries after what it is believed to hold, plus our commit.
    pub fn append_request(&self, peer: u64) -> Message {
        let prev_index = self
            .progress
            .get(&peer)
            .map_or(self.log.len(), |p| p.next.min(self.log.len()));
        let end = (prev_index + MAX_BATCH).min(self.log.len());
        Message::AppendEntries {
            term: self.term,
            leader: self.id,
            prev_index,
            prev_term: self.term_at(prev_index).unwrap_or(0),
            commit: self.commit,
            entries: self.log[prev_index..end].to_vec(),
        }
    }

    /// Accept a leader whose term is not stale; keep entries only after a matching predecessor.
    pub fn on_append_entries(
        &mut self,
        term: u64,
        leader: u64,
        prev_index: usize,
        prev_term: u64,
        commit: usize,
        entries: Vec<Entry>,
    ) -> (Message, bool) {
        let changed = self.observe_term(term);
        let reply = |core: &Core, success, index| Message::AppendReply {
            term: core.term,
            success,
            from: core.id,
            index,
        };
        if term < self.term {
            return (reply(self, false, 0), changed);
        }
        self.role = Role::Follower;
        self.leader = Some(leader);
        self.votes.clear();
        if self.term_at(prev_index) != Some(prev_term) {
            // Ask for an earlier starting point; never below what is committed.
            let retry = prev_index
                .saturating_sub(1)
                .min(self.log.len())
                .max(self.commit);
            return (reply(self, false, retry), changed);
        }
        let matched = prev_index + entries.len();
        for (offset, entry) in entries.into_iter().enumerate() {
            let at = prev_index + offset;
            match self.log.get(at) {
                Some(mine) if mine.term == entry.term => {}
                Some(_) => {
                    self.log.truncate(at);
                    self.log.push(entry);
                }
                None => self.log.push(entry),
            }
        }
        self.advance_commit(commit.min(matched));
        (reply(self, true, matched), changed)
    }

    pub fn on_append_reply(&mut self, term: u64, success: bool, from: u64, index: usize) -> bool {
        if self.observe_term(term) {
            return true;
        }
        if self.role != Role::Leader || term != self.term {
            return false;
        }
        if let Some(p) = self.progress.get_mut(&from) {
            if success {
                p.matched = p.matched.max(index);
                p.next = index;
            } else {
                p.next = index.min(p.next.saturating_sub(1));
            }
        }
        // The highest index of this term held by a majority is committed.
        for n in (self.commit + 1..=self.log.len()).rev() {
            let holders = 1 + self.progress.values().filter(|p| p.matched >= n).count();
            if self.log[n - 1].term == self.term && holders >= majority(self.cluster_size()) {
                self.advance_commit(n);
                break;
            }
        }
        false
    }

    /// The leader appends a write to its log; returns its index (committed later).
    pub fn propose(&mut self, key: String, value: String) -> Option<usize> {
        if self.role != Role::Leader {
            return None;
        }
        self.log.push(Entry {
            term: self.term,
            key,
            value,
        });
        if self.peers.is_empty() {
            self.advance_commit(self.log.len());
        }
        Some(self.log.len())
    }

    /// Whether the entry at `index` proposed in `term` is committed.
    pub fn is_committed(&self, index: usize, term: u64) -> bool {
        self.commit >= index && self.term_at(index) == Some(term)
    }

    fn advance_commit(&mut self, commit: usize) {
        if commit > self.commit {
            self.commit = commit;
        }
        while self.applied < self.commit {
            let e = &self.log[self.applied];
            self.store.insert(e.key.clone(), e.value.clone());
            self.applied += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(id: u64, peers: &[u64], term: u64, voted_for: Option<u64>) -> Core {
        Core::new(id, peers.to_vec(), PersistentState { term, voted_for })
    }

    fn granted(reply: &Message) -> bool {
        matches!(reply, Message::VoteReply { granted: true, .. })
    }

    fn leader_of_three() -> Core {
        let mut c = core(1, &[2, 3], 0, None);
        c.start_election();
        c.on_vote_reply(1, true, 2);
        assert_eq!(c.role, Role::Leader);
        c
    }

    /// Deliver the leader's APPEND to `f` and its reply back to the leader.
    fn exchange(leader: &mut Core, f: &mut Core) {
        let Message::AppendEntries {
            term,
            leader: l,
            prev_index,
            prev_term,
            commit,
            entries,
        } = leader.append_request(f.id)
        else {
            panic!("not an APPEND")
        };
        let (reply, _) = f.on_append_entries(term, l, prev_index, prev_term, commit, entries);
        let Message::AppendReply {
            term,
            success,
            from,
            index,
        } = reply
        else {
            panic!("not a reply")
        };
        leader.on_append_reply(term, success, from, index);
    }

    #[test]
    fn majority_math() {
        assert_eq!([1, 2, 3, 4, 5, 7].map(majority), [1, 2, 2, 3, 3, 4]);
    }

    #[test]
    fn restart_is_a_follower_in_the_saved_term() {
        let c = core(1, &[2, 3], 7, Some(2));
        assert_eq!(
            (c.role, c.term, c.voted_for, c.leader),
            (Role::Follower, 7, Some(2), None)
        );
    }

    #[test]
    fn one_vote_per_term_and_never_for_a_stale_term() {
        let mut c = core(1, &[2, 3], 5, None);
        assert!(!granted(&c.on_request_vote(4, 2, 0, 0).0));
        let (reply, changed) = c.on_request_vote(5, 2, 0, 0);
        assert!(granted(&reply) && changed);
        assert!(
            granted(&c.on_request_vote(5, 2, 0, 0).0),
            "a retry from the same candidate"
        );
        assert!(!granted(&c.on_request_vote(5, 3, 0, 0).0));
        assert!(granted(&c.on_request_vote(6, 3, 0, 0).0));
        let mut restarted = Core::new(1, vec![2, 3], c.persistent());
        assert!(
            !granted(&restarted.on_request_vote(6, 2, 0, 0).0),
            "the vote survives a restart"
        );
    }

    #[test]
    fn no_vote_for_a_candidate_with_an_older_log() {
        let mut c = core(2, &[1, 3], 1, None);
        c.log.push(Entry {
            term: 1,
            key: "k".into(),
            value: "v".into(),
        });
        assert!(!granted(&c.on_request_vote(2, 3, 0, 0).0));
        assert_eq!(c.term, 2, "the newer term is still adopted");
        assert!(granted(&c.on_request_vote(3, 3, 1, 1).0));
    }

    #[test]
    fn election_needs_a_majority_of_distinct_voters() {
        let mut c = core(1, &[2, 3, 4, 5], 0, None);
        assert!(c.start_election());
        c.on_vote_reply(1, true, 2);
        c.on_vote_reply(1, true, 2);
        c.on_vote_reply(1, false, 3);
        assert_eq!(c.role, Role::Candidate);
        c.on_vote_reply(1, true, 4);
        assert_eq!((c.role, c.leader), (Role::Leader, Some(1)));
    }

    #[test]
    fn single_node_leads_and_commits_alone() {
        let mut c = core(1, &[], 0, None);
        c.start_election();
        assert_eq!(c.role, Role::Leader);
        let at = c.propose("k".into(), "v".into()).unwrap();
        assert!(c.is_committed(at, 1));
        assert_eq!(c.store.get("k").map(String::as_str), Some("v"));
    }

    #[test]
    fn higher_term_makes_the_leader_step_down() {
        let mut c = leader_of_three();
        assert!(c.on_append_reply(4, false, 2, 0));
        assert_eq!(
            (c.role, c.term, c.voted_for, c.leader),
            (Role::Follower, 4, None, None)
        );
        assert_eq!(
            c.propose("k".into(), "v".into()),
            None,
            "a follower refuses writes"
        );
    }

    #[test]
    fn heartbeat_stops_a_candidate_and_stale_leaders_are_refused() {
        let mut c = core(2, &[1, 3], 0, None);
        c.start_election();
        let (reply, _) = c.on_append_entries(1, 1, 0, 0, 0, vec![]);
        assert_eq!(
            reply,
            Message::AppendReply {
                term: 1,
                success: true,
                from: 2,
                index: 0
            }
        );
        assert_eq!((c.role, c.leader), (Role::Follower, Some(1)));
        let (stale, _) = c.on_append_entries(0, 3, 0, 0, 0, vec![]);
        assert!(matches!(
            stale,
            Message::AppendReply {
                term: 1,
                success: false,
                ..
            }
        ));
        assert_eq!(c.leader, Some(1));
    }

    #[test]
    fn a_write_commits_on_a_majority_and_reaches_followers() {
        let mut leader = leader_of_three();
        let mut f2 = core(2, &[1, 3], 1, Some(1));
        let at = leader.propose("colour".into(), "blue".into()).unwrap();
        assert!(!leader.is_committed(at, 1));
        exchange(&mut leader, &mut f2);
        assert!(
            leader.is_committed(at, 1),
            "leader + one follower is a majority of three"
        );
        assert_eq!(leader.store.get("colour").map(String::as_str), Some("blue"));
        assert!(
            f2.store.is_empty(),
            "the follower applies only what it knows is committed"
        );
        exchange(&mut leader, &mut f2);
        assert_eq!(f2.store.get("colour").map(String::as_str), Some("blue"));
    }

    #[test]
    fn a_lagging_follower_is_backed_up_and_a_conflict_is_overwritten() {
        let mut leader = leader_of_three();
        for i in 0..3 {
            leader.propose(format!("k{i}"), "new".into());
        }
        let mut f3 = core(3, &[1, 2], 1, None);
        // f3 holds one entry of an old term that the leader does not have at that place.
        f3.log.push(Entry {
            term: 0,
            key: "k0".into(),
            value: "old".into(),
        });
        leader.progress.get_mut(&3).unwrap().next = 2;
        for _ in 0..4 {
            exchange(&mut leader, &mut f3);
        }
        assert_eq!(f3.log, leader.log);
        assert_eq!(
            leader.progress[&3],
            Progress {
                next: 3,
                matched: 3
            }
        );
        assert_eq!(leader.commit, 3);
    }
}
