//! Integration tests: platform (filled in by its own change).
