//! Node-to-node messages and their line-based wire format.
//!
//! Every RPC is one short-lived TCP connection: the caller writes a single
//! request line, the callee answers with a single reply line and closes.
//!
//! ```text
//! VOTE <term> <candidate-id>
//! VOTE_REPLY <term> <0|1> <voter-id>
//! APPEND <term> <leader-id>
//! APPEND_REPLY <term> <0|1> <follower-id>
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Longest line accepted from the network.
const MAX_LINE: u64 = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    RequestVote {
        term: u64,
        candidate: String,
    },
    VoteReply {
        term: u64,
        granted: bool,
        from: String,
    },
    /// A heartbeat: AppendEntries without entries.
    AppendEntries {
        term: u64,
        leader: String,
    },
    AppendReply {
        term: u64,
        success: bool,
        from: String,
    },
}

impl Message {
    pub fn encode(&self) -> String {
        match self {
            Message::RequestVote { term, candidate } => format!("VOTE {term} {candidate}\n"),
            Message::VoteReply {
                term,
                granted,
                from,
            } => format!("VOTE_REPLY {term} {} {from}\n", u8::from(*granted)),
            Message::AppendEntries { term, leader } => format!("APPEND {term} {leader}\n"),
            Message::AppendReply {
                term,
                success,
                from,
            } => format!("APPEND_REPLY {term} {} {from}\n", u8::from(*success)),
        }
    }

    pub fn decode(line: &str) -> Result<Message, String> {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let term = |s: &str| s.parse::<u64>().map_err(|_| format!("bad term {s:?}"));
        let flag = |s: &str| match s {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(format!("bad flag {s:?}")),
        };
        match parts.as_slice() {
            ["VOTE", t, id] => Ok(Message::RequestVote {
                term: term(t)?,
                candidate: id.to_string(),
            }),
            ["VOTE_REPLY", t, g, id] => Ok(Message::VoteReply {
                term: term(t)?,
                granted: flag(g)?,
                from: id.to_string(),
            }),
            ["APPEND", t, id] => Ok(Message::AppendEntries {
                term: term(t)?,
                leader: id.to_string(),
            }),
            ["APPEND_REPLY", t, s, id] => Ok(Message::AppendReply {
                term: term(t)?,
                success: flag(s)?,
                from: id.to_string(),
            }),
            _ => Err(format!("unrecognised message {:?}", line.trim_end())),
        }
    }
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

/// Send one request to `addr` and wait for the reply.
///
/// Name resolution, connect, write and read are each bounded by `timeout`,
/// so an unreachable or not-yet-resolvable peer only costs one failed call.
pub fn call(addr: &str, request: &Message, timeout: Duration) -> io::Result<Message> {
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"));
    for sock in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sock, timeout) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                stream.set_nodelay(true)?;
                stream.write_all(request.encode().as_bytes())?;
                let line = read_line(&stream)?;
                return Message::decode(&line).map_err(invalid);
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

/// Accept RPC connections forever, answering each request with `handler`.
pub fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(Message) -> Option<Message> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let handler = Arc::clone(&handler);
        thread::spawn(move || {
            let _ = handle_connection(stream, &*handler);
        });
    }
}

fn handle_connection<H>(mut stream: TcpStream, handler: &H) -> io::Result<()>
where
    H: Fn(Message) -> Option<Message>,
{
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    stream.set_nodelay(true)?;
    let line = read_line(&stream)?;
    let request = Message::decode(&line).map_err(invalid)?;
    if let Some(reply) = handler(request) {
        stream.write_all(reply.encode().as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let messages = [
            Message::RequestVote {
                term: 5,
                candidate: "node-1".into(),
            },
            Message::VoteReply {
                term: 5,
                granted: true,
                from: "2".into(),
            },
            Message::VoteReply {
                term: 6,
                granted: false,
                from: "3".into(),
            },
            Message::AppendEntries {
                term: 9,
                leader: "1".into(),
            },
            Message::AppendReply {
                term: 9,
                success: false,
                from: "2".into(),
            },
        ];
        for m in messages {
            let line = m.encode();
            assert!(line.ends_with('\n'));
            assert_eq!(line.matches('\n').count(), 1);
            assert_eq!(Message::decode(&line).unwrap(), m);
        }
    }

    #[test]
    fn wire_format_is_stable() {
        let m = Message::VoteReply {
            term: 12,
            granted: true,
            from: "3".into(),
        };
        assert_eq!(m.encode(), "VOTE_REPLY 12 1 3\n");
        assert_eq!(
            Message::decode("APPEND 4 a\r\n").unwrap(),
            Message::AppendEntries {
                term: 4,
                leader: "a".into()
            }
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for line in [
            "",
            "HELLO",
            "VOTE x 1",
            "VOTE 1",
            "VOTE 1 a b",
            "VOTE_REPLY 1 2 a",
            "APPEND -1 a",
            "GET / HTTP/1.1",
        ] {
            assert!(Message::decode(line).is_err(), "{line:?} should not decode");
        }
    }
}
