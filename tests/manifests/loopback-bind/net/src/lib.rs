use std::net::{SocketAddr, TcpListener};

pub fn start() {
    let addr = SocketAddr::from(([127, 0, 0, 1], 3000));
    let _listener = TcpListener::bind(addr);
}
