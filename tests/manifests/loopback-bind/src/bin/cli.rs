fn main() {
    let _ = std::net::TcpStream::connect(loopy::DEFAULT_ADDR);
    let _ = std::net::TcpListener::bind("127.0.0.1:0"); // another binary: not scanned for loopy-server
}
