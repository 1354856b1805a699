"""scaffold: container files for Rust projects, generated from what the project declares."""

__version__ = "0.1.0"
