//! The workspace root package: it exists so that `tests/` and `benches/` are Cargo targets.
