//! Integration tests: platform_llm (filled in by its own change).
