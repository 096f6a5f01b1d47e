//! Repository-level tests.
