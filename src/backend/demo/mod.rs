//! The demo's live load: a seeded workload run against a sandbox.

pub mod workload;
