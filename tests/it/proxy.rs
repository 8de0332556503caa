//! Integration tests: proxy (filled in by its own change).
