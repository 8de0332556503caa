//! Placeholder: the platform's LLM layer (breakers, provider clients, failover),
//! filled in by its own change.
