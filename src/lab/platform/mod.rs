//! Placeholder: filled in by its own change.

pub mod cli;
