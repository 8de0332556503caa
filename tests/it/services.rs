//! Integration tests: services (filled in by its own change).
