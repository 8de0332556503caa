//! Integration tests: llm_sim (filled in by its own change).
