//! Placeholder: the typed async Toxiproxy client, filled in by its own change.
