//! The scenario stage: a YAML game-day file becomes a validated [`Scenario`].
//!
//! This module only reads and checks text; it never touches the system under
//! test. Every problem is reported with its file, line and column.
//!
//! - [`model`]: the typed scenario the rest of the pipeline consumes.

pub mod model;

pub use model::*;
