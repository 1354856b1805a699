//! A library with no binaries: there is nothing here for a container to run.

/// Sum of the integers 1..=n.
pub fn triangular(n: u64) -> u64 {
    n * (n + 1) / 2
}

#[cfg(test)]
mod tests {
    use super::triangular;

    #[test]
    fn small_values() {
        assert_eq!(triangular(0), 0);
        assert_eq!(triangular(1), 1);
        assert_eq!(triangular(10), 55);
    }
}
