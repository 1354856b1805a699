mod tls;

// Documented defaults, shown by `--help`.
const DEFAULTS: &str = include_str!("../.env.example");

fn main() {
    let _ = (tls::certificate(), DEFAULTS);
}
