//! Instance health: what one poll of a server yields, and the formulas that turn two polls into
//! rates. Pure: no I/O here (the backend's poller fills `StatusSnapshot`s).

pub mod alert_state;
pub mod alerts;
pub mod backup;
pub mod deadlock;
mod formulas;
pub mod innodb;
pub mod locks;
pub mod params;
pub mod processlist;
pub mod prometheus;
pub mod replication;
pub mod rules;
pub mod sizes;
pub mod sources;
mod variables;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use alert_state::{Alert, AlertBook, AlertState};
pub use innodb::{DmlRates, InnodbFigures, LogSection};
pub use rules::{AlertFacts, RuleId, RuleSettings, Severity};
pub use variables::Variables;

pub use formulas::{
    counter_rate, health_from, replication_from_rows, HealthTracker, QPS_COUNTERS, TPS_COUNTERS,
};

/// The `SHOW GLOBAL STATUS` rows the formulas and views read; a poll asks for these only.
/// A formula that reads a new counter must add it here (a test checks the formulas' names).
pub const STATUS_VARIABLES: &[&str] = &[
    "Uptime",
    "Questions",
    "Com_commit",
    "Com_rollback",
    "Com_select",
    "Com_insert",
    "Com_update",
    "Com_delete",
    "Threads_connected",
    "Threads_running",
    "Innodb_buffer_pool_read_requests",
    "Innodb_buffer_pool_reads",
    "Innodb_buffer_pool_pages_dirty",
    "Innodb_buffer_pool_pages_total",
    "Innodb_history_list_length",
    "Innodb_checkpoint_age",
    "Innodb_redo_log_current_lsn",
    "Innodb_redo_log_checkpoint_lsn",
    "Innodb_row_lock_waits",
    "Innodb_row_lock_current_waits",
    "Innodb_deadlocks",
];

/// Raw counters and variables read from one instance at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusSnapshot {
    /// When the snapshot was taken (monotonic seconds are derived from this).
    pub taken_at: Option<DateTime<Utc>>,
    /// `SHOW GLOBAL STATUS`, names as the server spells them.
    pub status: HashMap<String, String>,
    /// Selected `SHOW GLOBAL VARIABLES` (version, max_connections, read_only, ...).
    pub variables: Variables,
    /// Replication state if the server is a replica.
    pub replication: Option<Replication>,
    /// Selected `information_schema.INNODB_METRICS` counters (where status variables lack them).
    pub innodb_metrics: HashMap<String, u64>,
    /// The LOG section of `SHOW ENGINE INNODB STATUS`, read only where nothing else gives the
    /// checkpoint age.
    pub innodb_log: Option<LogSection>,
    pub disk: DiskFigures,
    /// The session waiting longest for a row lock: (connection id, seconds).
    pub longest_lock_wait: Option<(u64, u64)>,
    /// Read at a slower cadence; `None` when not read yet.
    pub backup: Option<backup::BackupLookup>,
}

/// The monitoring center's figures besides InnoDB's, for one poll.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorFigures {
    pub disk: DiskFigures,
    /// The session waiting longest for a row lock: (connection id, seconds).
    pub longest_lock_wait: Option<(u64, u64)>,
    pub backup: Option<backup::BackupLookup>,
    /// The variables last read (version, limits, and the watched parameters): a fleet poller
    /// reads them every 10 s, the polls in between carry the same read.
    pub variables: Variables,
}

/// The `disk` object of `arkc health --format json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskFigures {
    /// Free space on the datadir's filesystem, for an instance on this host.
    pub datadir_free_pct: Option<f64>,
    /// Sum of `SHOW BINARY LOGS` sizes.
    pub binlog_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    /// Answered, but the server took longer than the slow threshold (arkc's own queueing is
    /// reported for the fleet as its pace, never as a slow instance).
    Slow,
    /// Refused, reset, or silent past its own timeout.
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Slow => "slow",
            Status::Down => "down",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    /// "replica" (the only role reported today; a primary has `replication: null`).
    pub role: String,
    pub io_running: bool,
    pub sql_running: bool,
    /// `Seconds_Behind_Master`; `None` when the server reports NULL (threads stopped).
    pub lag_s: Option<u64>,
}

/// Where an instance's figures come from; JSON spells it `"direct"` or `"prometheus:NAME"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Source {
    /// arkc's own connection to the server.
    #[default]
    Direct,
    /// The `[[prometheus]]` source of this name (mysqld_exporter series).
    Prometheus(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Direct => f.write_str("direct"),
            Source::Prometheus(name) => write!(f, "prometheus:{name}"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.strip_prefix("prometheus:") {
            Some(name) => Ok(Source::Prometheus(name.to_string())),
            None if text == "direct" => Ok(Source::Direct),
            None => Err(serde::de::Error::custom(format!(
                "unknown source `{text}`; expected \"direct\" or \"prometheus:NAME\""
            ))),
        }
    }
}

/// One instance's figures, as the Health pane and `arkc health --format json` show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceHealth {
    pub instance: String,
    /// Where the figures come from: a direct connection or a Prometheus source.
    #[serde(default)]
    pub source: Source,
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
    // Boxed: a Health event per instance per poll travels through channels, kept small.
    pub innodb: Box<InnodbFigures>,
    pub dml: Box<DmlRates>,
    pub monitor: Box<MonitorFigures>,
    /// When this was computed.
    pub sampled_at: DateTime<Utc>,
}

impl InstanceHealth {
    /// What the alert rules look at; `baseline` is the parameter baseline for this instance.
    pub fn alert_facts(
        &self,
        baseline: Option<&std::collections::BTreeMap<String, String>>,
    ) -> AlertFacts {
        // A slow instance answered (or has not been asked yet): its figures stand, it is not down.
        let up = self.status != Status::Down;
        fn known<T>(up: bool, v: T) -> Option<T> {
            up.then_some(v)
        }
        AlertFacts {
            up,
            error: self.error.clone(),
            uptime_s: self.uptime_s,
            threads_connected: self.threads_connected,
            threads_running: self.threads_running,
            max_connections: self.max_connections,
            replication: known(up, self.replication.clone()),
            history_list_length: self.innodb.history_list_length,
            checkpoint_age_pct: self.innodb.checkpoint_age_pct,
            deadlocks_total: self.innodb.deadlocks,
            // No waiter (or no PROCESS privilege, which the Locks view reports) counts as none.
            longest_lock_wait: known(up, self.monitor.longest_lock_wait.unwrap_or((0, 0))),
            datadir_free_pct: self.monitor.disk.datadir_free_pct,
            backup: self.monitor.backup.as_ref().map(|b| b.fact()),
            parameter_drift: baseline.filter(|_| up).map(|b| {
                params::diff_against_baseline(b, self.monitor.variables.iter())
                    .into_iter()
                    .map(|d| d.name)
                    .collect()
            }),
        }
    }

    /// This record marked slow with `why`, figures kept (they are the latest known).
    pub fn into_slow(mut self, why: impl Into<String>) -> Self {
        self.status = Status::Slow;
        self.error = Some(why.into());
        self
    }

    /// A "down" record carrying the error that made it so.
    pub fn down(instance: &str, error: impl Into<String>, at: DateTime<Utc>) -> Self {
        InstanceHealth {
            instance: instance.to_string(),
            source: Source::Direct,
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
            innodb: Box::default(),
            dml: Box::default(),
            monitor: Box::default(),
            sampled_at: at,
        }
    }
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: ages in views and summaries.
pub fn format_age(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod monitor_tests;
#[cfg(test)]
mod tests;
