//! Durable election state: the current term and the vote cast in it, in `<data_dir>/raft-state`.
//!
//! ```text
//! term=3
//! voted_for=2
//! ```
//!
//! Writes go to a temporary file which is fsynced and renamed over the old one, so a crash leaves
//! either the old or the new state. The key-value log itself lives in memory (see the README).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const STATE_FILE: &str = "raft-state";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersistentState {
    pub term: u64,
    pub voted_for: Option<u64>,
}

impl PersistentState {
    pub fn encode(&self) -> String {
        let vote = self.voted_for.map(|v| v.to_string()).unwrap_or_default();
        format!("term={}\nvoted_for={vote}\n", self.term)
    }

    pub fn decode(text: &str) -> Result<PersistentState, String> {
        let mut term = None;
        let mut voted_for = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("malformed line {line:?}"))?;
            let number = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("bad {key} {v:?}"))
            };
            match key.trim() {
                "term" => term = Some(number(value)?),
                "voted_for" if value.trim().is_empty() => voted_for = None,
                "voted_for" => voted_for = Some(number(value)?),
                _ => {} // unknown keys are ignored for forward compatibility
            }
        }
        Ok(PersistentState {
            term: term.ok_or("missing term")?,
            voted_for,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Storage {
    dir: PathBuf,
}

impl Storage {
    /// Open (and create if needed) the data directory.
    pub fn open(dir: &Path) -> io::Result<Storage> {
        fs::create_dir_all(dir)?;
        Ok(Storage {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The saved state; a missing file means a fresh node (term 0, no vote).
    pub fn load(&self) -> io::Result<PersistentState> {
        match fs::read_to_string(self.path()) {
            Ok(text) => PersistentState::decode(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", self.path().display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(PersistentState::default()),
            Err(e) => Err(e),
        }
    }

    /// Atomically replace the saved state: temp file, fsync, rename, fsync dir.
    pub fn save(&self, state: &PersistentState) -> io::Result<()> {
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        {
            let mut file = File::create(&tmp)?;
            file.write_all(state.encode().as_bytes())?;
            file.sync_all()?;
        }
        fs::rename(&tmp, self.path())?;
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all(); // not every platform lets a directory be synced
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn encode_decode() {
        let s = PersistentState {
            term: 7,
            voted_for: Some(2),
        };
        assert_eq!(s.encode(), "term=7\nvoted_for=2\n");
        assert_eq!(PersistentState::decode(&s.encode()).unwrap(), s);
        let none = PersistentState::default();
        assert_eq!(PersistentState::decode(&none.encode()).unwrap(), none);
        assert!(PersistentState::decode("voted_for=1\n").is_err());
        assert!(PersistentState::decode("term=x\n").is_err());
        assert!(PersistentState::decode("term=1\nvoted_for=two\n").is_err());
    }

    #[test]
    fn round_trip_on_disk() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("kv-node-storage-{}-{nanos}", std::process::id()));
        let storage = Storage::open(&dir).unwrap();
        assert_eq!(storage.load().unwrap(), PersistentState::default());
        let state = PersistentState {
            term: 4,
            voted_for: Some(3),
        };
        storage.save(&state).unwrap();
        assert_eq!(Storage::open(&dir).unwrap().load().unwrap(), state);
        assert!(!dir.join("raft-state.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
