//! arkc: a keyboard-driven terminal console for MySQL and MariaDB operations.
//!
//! Layout: `app` (state, actions, update; no I/O), `ui` (render only), `backend` (tokio tasks),
//! `health` (pure formulas), `sandbox` (throwaway MariaDB for tests and the demo), `config`, `cli`.
//! The binlog and slow-log cores are the `arkc-binlog` and `arkc-slowlog` crates (src/binlog,
//! src/slowlog), kept separate so the compiler enforces that they stay free of UI and tokio.

pub mod app;
pub mod audit;
pub mod backend;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod health;
pub mod jobs;
pub mod readonly;
pub mod recording;
pub mod sandbox;
pub mod tracking;
pub mod tui;
pub mod ui;

// The library's own unit tests run under a private home too (see `sandbox::test_home`).
#[cfg(test)]
private_test_home!();
