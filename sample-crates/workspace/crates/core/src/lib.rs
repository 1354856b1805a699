//! Shared code for the workspace binaries.

include!(concat!(env!("OUT_DIR"), "/greeting.rs"));

/// The greeting every binary prints, prefixed with the binary's name.
pub fn banner(program: &str) -> String {
    format!("{program} {GREETING}")
}

/// `<program> <workspace version>`, as printed by `--version`.
pub fn version_line(program: &str) -> String {
    format!("{program} {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_comes_from_data_file() {
        let expected = include_str!("../data/greeting.txt").trim();
        assert_eq!(GREETING, expected);
        assert_eq!(banner("x"), format!("x {expected}"));
    }

    #[test]
    fn version_is_inherited_from_workspace() {
        assert_eq!(version_line("ws-api"), "ws-api 0.3.0");
    }
}
