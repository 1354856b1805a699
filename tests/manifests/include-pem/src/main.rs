mod tls;

fn main() {
    let _ = tls::certificate();
}
