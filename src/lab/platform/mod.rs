//! The reference agent platform: the system under test in the built-in lab.

pub mod cli;
pub mod llm;
