//! Durable Raft state: the current term and the vote cast in that term.
//!
//! The state lives in a small text file:
//!
//! ```text
//! term=3
//! voted_for=2
//! ```
//!
//! Writes go to a temporary file which is fsynced and then renamed over the
//! old one, so a crash leaves either the old or the new state on disk.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const STATE_FILE: &str = "raft-state";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersistentState {
    pub term: u64,
    pub voted_for: Option<String>,
}

impl PersistentState {
    pub fn encode(&self) -> String {
        format!(
            "term={}\nvoted_for={}\n",
            self.term,
            self.voted_for.as_deref().unwrap_or("")
        )
    }

    pub fn decode(text: &str) -> Result<PersistentState, String> {
        let mut term = None;
        let mut voted_for = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("malformed line {line:?}"))?;
            match key.trim() {
                "term" => {
                    term = Some(
                        value
                            .trim()
                            .parse::<u64>()
                            .map_err(|_| format!("bad term {value:?}"))?,
                    )
                }
                "voted_for" => {
                    let v = value.trim();
                    voted_for = if v.is_empty() {
                        None
                    } else {
                        Some(v.to_string())
                    };
                }
                _ => {} // ignore unknown keys for forward compatibility
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

    /// Load the saved state; a missing file means a fresh node (term 0, no vote).
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
        // Make the rename itself durable. Not every platform lets a
        // directory be opened, so failures here are ignored.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn temp_dir(name: &str) -> PathBuf {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!(
            "raft-node-test-{name}-{}-{nanos}",
            std::process::id()
        ))
    }

    #[test]
    fn encode_decode() {
        let s = PersistentState {
            term: 7,
            voted_for: Some("node-2".into()),
        };
        assert_eq!(PersistentState::decode(&s.encode()).unwrap(), s);
        let none = PersistentState {
            term: 0,
            voted_for: None,
        };
        assert_eq!(PersistentState::decode(&none.encode()).unwrap(), none);
        assert!(PersistentState::decode("voted_for=1\n").is_err());
        assert!(PersistentState::decode("term=x\n").is_err());
    }

    #[test]
    fn round_trip_on_disk() {
        let dir = temp_dir("roundtrip");
        let storage = Storage::open(&dir).unwrap();
        assert_eq!(storage.load().unwrap(), PersistentState::default());

        let first = PersistentState {
            term: 3,
            voted_for: Some("1".into()),
        };
        storage.save(&first).unwrap();
        assert_eq!(storage.load().unwrap(), first);

        let second = PersistentState {
            term: 4,
            voted_for: None,
        };
        storage.save(&second).unwrap();
        // A fresh handle (as after a restart) sees the latest state.
        let reopened = Storage::open(&dir).unwrap();
        assert_eq!(reopened.load().unwrap(), second);
        assert!(!dir.join("raft-state.tmp").exists());

        fs::remove_dir_all(&dir).unwrap();
    }
}
