//! Shared by the server and the client.

/// Where the server listens, unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7000";
