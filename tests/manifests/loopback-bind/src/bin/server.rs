use std::net::TcpListener;

fn main() {
    // TcpListener::bind("127.0.0.1:1") in a comment is not a listener
    let main = TcpListener::bind(loopy::DEFAULT_ADDR).unwrap();
    let admin = TcpListener::bind(
        "localhost:7001",
    )
    .unwrap();
    net::start();
    drop((main, admin));
}
