//! Instance health: what one poll of a server yields, and the formulas that turn two polls into
//! rates. Pure: no I/O here (the backend's poller fills `StatusSnapshot`s).

pub mod alerts;
mod formulas;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use formulas::{
    counter_rate, health_from, replication_from_rows, HealthTracker, QPS_COUNTERS, TPS_COUNTERS,
};

/// Raw counters and variables read from one instance at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusSnapshot {
    /// When the snapshot was taken (monotonic seconds are derived from this).
    pub taken_at: Option<DateTime<Utc>>,
    /// `SHOW GLOBAL STATUS`, names as the server spells them.
    pub status: HashMap<String, String>,
    /// Selected `SHOW GLOBAL VARIABLES` (version, max_connections, read_only, ...).
    pub variables: HashMap<String, String>,
    /// Replication state if the server is a replica.
    pub replication: Option<Replication>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    Down,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replication {
    /// "replica" (the only role reported today; a primary has `replication: null`).
    pub role: String,
    pub io_running: bool,
    pub sql_running: bool,
    /// `Seconds_Behind_Master`; `None` when the server reports NULL (threads stopped).
    pub lag_s: Option<u64>,
}

/// One instance's figures, as the Health pane and `arkc health --format json` show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceHealth {
    pub instance: String,
    pub status: Status,
    pub error: Option<String>,
    pub version: Option<String>,
    pub uptime_s: Option<u64>,
    pub qps: Option<f64>,
    pub tps: Option<f64>,
    pub threads_connected: Option<u64>,
    pub threads_running: Option<u64>,
    pub max_connections: Option<u64>,
    pub replication: Option<Replication>,
    /// `read_only` variable, for the status bar's RO/RW.
    pub read_only: Option<bool>,
    /// When this was computed.
    pub sampled_at: DateTime<Utc>,
}

impl InstanceHealth {
    /// A "down" record carrying the error that made it so.
    pub fn down(instance: &str, error: impl Into<String>, at: DateTime<Utc>) -> Self {
        InstanceHealth {
            instance: instance.to_string(),
            status: Status::Down,
            error: Some(error.into()),
            version: None,
            uptime_s: None,
            qps: None,
            tps: None,
            threads_connected: None,
            threads_running: None,
            max_connections: None,
            replication: None,
            read_only: None,
            sampled_at: at,
        }
    }
}

#[cfg(test)]
mod tests;
