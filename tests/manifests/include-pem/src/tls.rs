// The test certificate is compiled in, so the server starts without any file next to it.
// include_bytes!("../certs/commented-out.pem") is only a comment.
const CERT: &[u8] = include_bytes!("../certs/test.pem");
const KEY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/certs/", "test.key"));
const BANNER: &str = include_str!("banner.txt");

pub fn certificate() -> (&'static [u8], &'static str, &'static str) {
    (CERT, KEY, BANNER)
}
