use std::net::{SocketAddr, TcpListener, TcpStream};

const USAGE: &str = "\
usage: quiet [healthcheck]

healthcheck  GET http://127.0.0.1:8080/health, listening nowhere";

/// Binds 0.0.0.0; `TcpListener::bind("127.0.0.1:8080")` would not be reachable.
fn main() {
    let listener = TcpListener::bind(("0.0.0.0", 8080)).unwrap();
    println!("listening on 0.0.0.0:8080, try curl http://localhost:8080 ({USAGE})");
    let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let _ = TcpStream::connect(addr);
    let upstream = r#"http://127.0.0.1:9000"#;
    let _ = TcpStream::connect(upstream);
    drop(listener);
}
