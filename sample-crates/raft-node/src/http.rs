//! A deliberately tiny HTTP/1.x server: `GET /health` and `GET /status`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::node::{Node, Status};

const MAX_HEADER_BYTES: u64 = 8 * 1024;

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            _ => "Unknown",
        };
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.status,
            self.content_type,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }
}

/// Route a request line's method and target to a response.
pub fn route(method: &str, target: &str, status: impl FnOnce() -> Status) -> Response {
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/health") => Response::text(200, "ok"),
        ("GET", "/status") => Response {
            status: 200,
            content_type: "application/json",
            body: status_json(&status()),
        },
        _ => Response::text(404, "not found"),
    }
}

pub fn status_json(s: &Status) -> String {
    let leader = match &s.leader {
        Some(id) => json_string(id),
        None => "null".to_string(),
    };
    let seen: Vec<String> = s.peers_seen.iter().map(|p| json_string(p)).collect();
    format!(
        "{{\"id\": {}, \"term\": {}, \"role\": \"{}\", \"leader\": {}, \"peers_seen\": [{}], \"version\": \"{}\"}}",
        json_string(&s.id),
        s.term,
        s.role,
        leader,
        seen.join(", "),
        env!("CARGO_PKG_VERSION")
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn serve(listener: TcpListener, node: Arc<Node>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let node = Arc::clone(&node);
        thread::spawn(move || {
            let _ = handle_connection(stream, &node);
        });
    }
}

fn handle_connection(mut stream: TcpStream, node: &Node) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new((&stream).take(MAX_HEADER_BYTES));

    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers; none of them matter here.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }

    let mut parts = request_line.split_whitespace();
    let response = match (parts.next(), parts.next()) {
        (Some(method), Some(target)) => route(method, target, || node.status()),
        _ => Response::text(400, "bad request"),
    };
    stream.write_all(&response.to_bytes())?;
    stream.flush()
}

/// `raft-node healthcheck`: GET /health on the node's own HTTP address.
pub fn healthcheck(addr: std::net::SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let mut status_line = String::new();
    BufReader::new(&stream)
        .read_line(&mut status_line)
        .map_err(|e| e.to_string())?;
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        _ => Err(format!("unexpected response {:?}", status_line.trim_end())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Role;

    fn sample() -> Status {
        Status {
            id: "1".into(),
            term: 3,
            role: Role::Follower,
            leader: Some("2".into()),
            peers_seen: vec!["2".into(), "3".into()],
        }
    }

    #[test]
    fn health_and_404() {
        let r = route("GET", "/health", sample);
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        assert_eq!(route("GET", "/nope", sample).status, 404);
        assert_eq!(route("POST", "/health", sample).status, 404);
        assert_eq!(route("GET", "/health?x=1", sample).status, 200);
    }

    #[test]
    fn status_json_shape() {
        assert_eq!(
            status_json(&sample()),
            r#"{"id": "1", "term": 3, "role": "follower", "leader": "2", "peers_seen": ["2", "3"], "version": "0.1.0"}"#
        );
        let mut s = sample();
        s.leader = None;
        s.role = Role::Candidate;
        s.peers_seen.clear();
        s.id = "a\"b".into();
        assert_eq!(
            status_json(&s),
            r#"{"id": "a\"b", "term": 3, "role": "candidate", "leader": null, "peers_seen": [], "version": "0.1.0"}"#
        );
    }

    #[test]
    fn response_bytes() {
        let text = String::from_utf8(Response::text(200, "ok").to_bytes()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\nok"));
    }
}
