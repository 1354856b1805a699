//! The peer protocol on `raft_listen`: one request line and one reply line per short-lived TCP
//! connection.
//!
//! ```text
//! VOTE <term> <candidate> <last-index> <last-term>
//! VOTE_REPLY <term> <0|1> <voter>
//! APPEND <term> <leader> <prev-index> <prev-term> <commit> [<entry-term> <key> <value>]...
//! APPEND_REPLY <term> <0|1> <follower> <index>
//! ```
//!
//! Keys and values are percent-encoded (`%`, whitespace and control characters), so an entry is
//! always three tokens. In APPEND_REPLY, `index` is the follower's last matching entry on success
//! and the `prev-index` to try next on failure.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Longest line accepted from a peer (a batch of entries fits easily).
const MAX_LINE: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub term: u64,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    RequestVote {
        term: u64,
        candidate: u64,
        last_index: usize,
        last_term: u64,
    },
    VoteReply {
        term: u64,
        granted: bool,
        from: u64,
    },
    AppendEntries {
        term: u64,
        leader: u64,
        prev_index: usize,
        prev_term: u64,
        commit: usize,
        entries: Vec<Entry>,
    },
    AppendReply {
        term: u64,
        success: bool,
        from: u64,
        index: usize,
    },
}

impl Message {
    pub fn encode(&self) -> String {
        match self {
            Message::RequestVote {
                term,
                candidate,
                last_index,
                last_term,
            } => {
                format!("VOTE {term} {candidate} {last_index} {last_term}\n")
            }
            Message::VoteReply {
                term,
                granted,
                from,
            } => {
                format!("VOTE_REPLY {term} {} {from}\n", u8::from(*granted))
            }
            Message::AppendEntries {
                term,
                leader,
                prev_index,
                prev_term,
                commit,
                entries,
            } => {
                let mut line = format!("APPEND {term} {leader} {prev_index} {prev_term} {commit}");
                for e in entries {
                    line.push_str(&format!(
                        " {} {} {}",
                        e.term,
                        escape(&e.key),
                        escape(&e.value)
                    ));
                }
                line + "\n"
            }
            Message::AppendReply {
                term,
                success,
                from,
                index,
            } => {
                format!(
                    "APPEND_REPLY {term} {} {from} {index}\n",
                    u8::from(*success)
                )
            }
        }
    }

    pub fn decode(line: &str) -> Result<Message, String> {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?}"));
        let idx = |s: &str| s.parse::<usize>().map_err(|_| format!("bad index {s:?}"));
        let flag = |s: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(format!("bad flag {s:?}")),
        };
        match parts.as_slice() {
            ["VOTE", t, c, i, lt] => Ok(Message::RequestVote {
                term: num(t)?,
                candidate: num(c)?,
                last_index: idx(i)?,
                last_term: num(lt)?,
            }),
            ["VOTE_REPLY", t, g, f] => Ok(Message::VoteReply {
                term: num(t)?,
                granted: flag(g)?,
                from: num(f)?,
            }),
            ["APPEND", t, l, pi, pt, c, rest @ ..] if rest.len() % 3 == 0 => {
                Ok(Message::AppendEntries {
                    term: num(t)?,
                    leader: num(l)?,
                    prev_index: idx(pi)?,
                    prev_term: num(pt)?,
                    commit: idx(c)?,
                    entries: rest
                        .chunks(3)
                        .map(|e| {
                            Ok(Entry {
                                term: num(e[0])?,
                                key: unescape(e[1])?,
                                value: unescape(e[2])?,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                })
            }
            ["APPEND_REPLY", t, s, f, i] => Ok(Message::AppendReply {
                term: num(t)?,
                success: flag(s)?,
                from: num(f)?,
                index: idx(i)?,
            }),
            _ => Err(format!("unrecognised message {:?}", line.trim_end())),
        }
    }
}

/// Percent-encode what would break a token: `%`, whitespace, control characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '%' || c.is_whitespace() || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn unescape(token: &str) -> Result<String, String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = token
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("bad escape in {token:?}"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape in {token:?}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{token:?} is not UTF-8"))
}

fn read_line<R: Read>(reader: R) -> io::Result<String> {
    let mut line = String::new();
    BufReader::new(reader.take(MAX_LINE)).read_line(&mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line)
}

fn invalid(e: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Send one request to `addr` and wait for the reply; resolve, connect and read are bounded.
pub fn call(addr: &str, request: &Message, timeout: Duration) -> io::Result<Message> {
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
    for sock in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sock, timeout) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                stream.set_nodelay(true)?;
                stream.write_all(request.encode().as_bytes())?;
                return Message::decode(&read_line(&stream)?).map_err(invalid);
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

/// Accept peer connections forever, answering each request with `handler`.
pub fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(Message) -> Option<Message> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let handler = Arc::clone(&handler);
        thread::spawn(move || -> io::Result<()> {
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            stream.set_write_timeout(Some(Duration::from_secs(1)))?;
            stream.set_nodelay(true)?;
            let request = Message::decode(&read_line(&stream)?).map_err(invalid)?;
            if let Some(reply) = handler(request) {
                stream.write_all(reply.encode().as_bytes())?;
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let messages = [
            Message::RequestVote {
                term: 5,
                candidate: 1,
                last_index: 3,
                last_term: 2,
            },
            Message::VoteReply {
                term: 5,
                granted: true,
                from: 2,
            },
            Message::AppendEntries {
                term: 9,
                leader: 1,
                prev_index: 0,
                prev_term: 0,
                commit: 0,
                entries: vec![],
            },
            Message::AppendEntries {
                term: 9,
                leader: 3,
                prev_index: 4,
                prev_term: 8,
                commit: 4,
                entries: vec![
                    Entry {
                        term: 9,
                        key: "a b".into(),
                        value: "100% sure\n\tyes".into(),
                    },
                    Entry {
                        term: 9,
                        key: "ключ".into(),
                        value: "v".into(),
                    },
                ],
            },
            Message::AppendReply {
                term: 9,
                success: false,
                from: 2,
                index: 3,
            },
        ];
        for m in messages {
            let line = m.encode();
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");
            assert_eq!(Message::decode(&line).unwrap(), m);
        }
    }

    #[test]
    fn wire_format_is_stable() {
        let m = Message::AppendEntries {
            term: 2,
            leader: 1,
            prev_index: 0,
            prev_term: 0,
            commit: 0,
            entries: vec![Entry {
                term: 2,
                key: "k".into(),
                value: "a b%".into(),
            }],
        };
        assert_eq!(m.encode(), "APPEND 2 1 0 0 0 2 k a%20b%25\n");
        assert_eq!(escape("x\u{7f}"), "x%7F");
    }

    #[test]
    fn garbage_is_rejected() {
        for line in [
            "",
            "VOTE 1 a 0 0",
            "VOTE 1 2 0",
            "VOTE_REPLY 1 2 3",
            "APPEND 1 1 0 0 0 1 k",
            "APPEND 1 1 0 0 0 1 k %zz",
            "APPEND_REPLY -1 1 1 0",
            "GET / HTTP/1.1",
        ] {
            assert!(Message::decode(line).is_err(), "{line:?} should not decode");
        }
    }
}
