//! The async side: tokio tasks that talk to servers and report back to the UI by channel.
//! Nothing here is awaited from the input path; the UI sends `BackendCommand`s and receives
//! `BackendEvent`s.

use std::time::Duration;

use chrono::{DateTime, Utc};

pub mod ps_digest;

use crate::health::InstanceHealth;

/// What the UI asks of the backend. Fire-and-forget: answers arrive as `BackendEvent`s.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendCommand {
    /// Poll every instance now instead of waiting for the next tick.
    RefreshNow,
    /// Change the polling interval.
    SetInterval(Duration),
    /// Stop all tasks and close connections.
    Shutdown,
}

/// What the backend reports.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    /// A fresh health figure for one instance (up or down).
    Health(InstanceHealth),
    /// A statement the console sent, for the `@` SQL log.
    SqlSent(SqlLogEntry),
}

/// One statement arkc sent to a server: shown by `@`, also written to the log file.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlLogEntry {
    pub at: DateTime<Utc>,
    pub instance: String,
    pub sql: String,
    pub elapsed: Duration,
    pub error: Option<String>,
}
