//! Alert rules: stable ids, defaults from common practice (the awesome-prometheus-alerts MySQL
//! rules and Percona PMM's templates), and the test each rule applies to one instance's facts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Replication;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    InstanceDown,
    Restarted,
    ConnectionsHigh,
    ThreadsRunningHigh,
    ReplicationIoStopped,
    ReplicationSqlStopped,
    ReplicationLag,
    HistoryListLong,
    CheckpointAgeHigh,
    Deadlocks,
    LockWaits,
    DiskLow,
    BackupStale,
    ParameterDrift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// How one rule applies to one instance (defaults, overridden by `[alerts.RULE]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSettings {
    pub enabled: bool,
    /// The rule's number, in the unit `RuleId::threshold_unit` names; unused by on/off rules.
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub for_duration: Duration,
    pub severity: Severity,
}

impl RuleId {
    pub const ALL: [RuleId; 14] = [
        RuleId::InstanceDown,
        RuleId::Restarted,
        RuleId::ConnectionsHigh,
        RuleId::ThreadsRunningHigh,
        RuleId::ReplicationIoStopped,
        RuleId::ReplicationSqlStopped,
        RuleId::ReplicationLag,
        RuleId::HistoryListLong,
        RuleId::CheckpointAgeHigh,
        RuleId::Deadlocks,
        RuleId::LockWaits,
        RuleId::DiskLow,
        RuleId::BackupStale,
        RuleId::ParameterDrift,
    ];

    /// The stable id used in config, JSON and `on_alert` payloads.
    pub fn id(self) -> &'static str {
        match self {
            RuleId::InstanceDown => "instance_down",
            RuleId::Restarted => "restarted",
            RuleId::ConnectionsHigh => "connections_high",
            RuleId::ThreadsRunningHigh => "threads_running_high",
            RuleId::ReplicationIoStopped => "replication_io_stopped",
            RuleId::ReplicationSqlStopped => "replication_sql_stopped",
            RuleId::ReplicationLag => "replication_lag",
            RuleId::HistoryListLong => "history_list_long",
            RuleId::CheckpointAgeHigh => "checkpoint_age_high",
            RuleId::Deadlocks => "deadlocks",
            RuleId::LockWaits => "lock_waits",
            RuleId::DiskLow => "disk_low",
            RuleId::BackupStale => "backup_stale",
            RuleId::ParameterDrift => "parameter_drift",
        }
    }

    pub fn from_id(id: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.id() == id)
    }

    /// What `threshold` measures, for the config documentation and messages.
    pub fn threshold_unit(self) -> &'static str {
        match self {
            RuleId::InstanceDown | RuleId::ReplicationIoStopped | RuleId::ReplicationSqlStopped => {
                "(unused)"
            }
            RuleId::Restarted => "uptime seconds below which it fires",
            RuleId::ConnectionsHigh => "% of max_connections connected",
            RuleId::ThreadsRunningHigh => "% of max_connections running",
            RuleId::ReplicationLag => "seconds behind the source",
            RuleId::HistoryListLong => "undo history list length",
            RuleId::CheckpointAgeHigh => "% of redo log capacity",
            RuleId::Deadlocks => "new deadlocks in 5 minutes above which it fires",
            RuleId::LockWaits => "seconds a session waits for a row lock",
            RuleId::DiskLow => "% free on the datadir filesystem below which it fires",
            RuleId::BackupStale => "hours since the last successful backup",
            RuleId::ParameterDrift => "variables differing from the baseline above which it fires",
        }
    }

    /// Defaults: thresholds and `for` durations as the common MySQL alert sets use them.
    pub fn defaults(self) -> RuleSettings {
        let (threshold, for_s, severity) = match self {
            RuleId::InstanceDown => (0.0, 0, Severity::Critical),
            RuleId::Restarted => (60.0, 0, Severity::Info),
            RuleId::ConnectionsHigh => (80.0, 120, Severity::Warning),
            RuleId::ThreadsRunningHigh => (60.0, 120, Severity::Warning),
            RuleId::ReplicationIoStopped => (0.0, 0, Severity::Critical),
            RuleId::ReplicationSqlStopped => (0.0, 0, Severity::Critical),
            RuleId::ReplicationLag => (30.0, 60, Severity::Critical),
            RuleId::HistoryListLong => (50_000.0, 300, Severity::Warning),
            RuleId::CheckpointAgeHigh => (80.0, 300, Severity::Warning),
            RuleId::Deadlocks => (0.0, 0, Severity::Warning),
            RuleId::LockWaits => (30.0, 0, Severity::Warning),
            RuleId::DiskLow => (10.0, 120, Severity::Critical),
            RuleId::BackupStale => (26.0, 0, Severity::Warning),
            RuleId::ParameterDrift => (0.0, 0, Severity::Info),
        };
        RuleSettings {
            enabled: true,
            threshold,
            for_duration: Duration::from_secs(for_s),
            severity,
        }
    }
}

/// Backup facts: no source at all (the rule stays silent), or the newest success if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupFact {
    #[default]
    NoSource,
    NeverSucceeded,
    LastSuccessAge(u64),
}

/// What the rules look at for one instance at one moment. `None`: not known this time (the rule
/// keeps its state rather than resolving on missing data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFacts {
    pub up: bool,
    pub error: Option<String>,
    pub uptime_s: Option<u64>,
    pub threads_connected: Option<u64>,
    pub threads_running: Option<u64>,
    pub max_connections: Option<u64>,
    /// `None` when not known; `Some(None)` for a primary (no replication).
    pub replication: Option<Option<Replication>>,
    pub history_list_length: Option<u64>,
    pub checkpoint_age_pct: Option<f64>,
    /// Deadlocks since the server started (the book turns it into "new in the window").
    pub deadlocks_total: Option<u64>,
    pub longest_lock_wait: Option<(u64, u64)>,
    pub datadir_free_pct: Option<f64>,
    pub backup: Option<BackupFact>,
    /// Variables that differ from the baseline (`None`: no baseline).
    pub parameter_drift: Option<Vec<String>>,
}

/// A rule's verdict: the condition holds (with a one-line summary), does not, or is unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Active(String),
    Clear,
    Unknown,
}

/// Apply `rule` to `facts`; `new_deadlocks` is the book's count for the window.
pub fn judge(rule: RuleId, t: f64, facts: &AlertFacts, new_deadlocks: Option<u64>) -> Verdict {
    use Verdict::*;
    let when = |cond: bool, summary: String| if cond { Active(summary) } else { Clear };
    if rule == RuleId::InstanceDown {
        let why = facts.error.clone().unwrap_or_else(|| "no answer".into());
        return when(!facts.up, format!("instance down: {why}"));
    }
    if !facts.up {
        return Unknown;
    }
    let pct_of_max = |n: Option<u64>| -> Option<(u64, u64, f64)> {
        let (n, max) = (n?, facts.max_connections?);
        (max > 0).then(|| (n, max, 100.0 * n as f64 / max as f64))
    };
    match rule {
        RuleId::InstanceDown => Unknown,
        RuleId::Restarted => match facts.uptime_s {
            Some(up) => when((up as f64) < t, format!("restarted {up} s ago")),
            None => Unknown,
        },
        RuleId::ConnectionsHigh => match pct_of_max(facts.threads_connected) {
            Some((n, max, pct)) => when(
                pct > t,
                format!("{n} of max_connections {max} connected ({pct:.0}% > {t}%)"),
            ),
            None => Unknown,
        },
        RuleId::ThreadsRunningHigh => match pct_of_max(facts.threads_running) {
            Some((n, max, pct)) => when(
                pct > t,
                format!("{n} threads running, {pct:.0}% of max_connections {max} (> {t}%)"),
            ),
            None => Unknown,
        },
        RuleId::ReplicationIoStopped => match &facts.replication {
            Some(Some(r)) => when(!r.io_running, "replication IO thread not running".into()),
            Some(None) => Clear,
            None => Unknown,
        },
        RuleId::ReplicationSqlStopped => match &facts.replication {
            Some(Some(r)) => when(!r.sql_running, "replication SQL thread not running".into()),
            Some(None) => Clear,
            None => Unknown,
        },
        RuleId::ReplicationLag => match &facts.replication {
            Some(Some(r)) => match r.lag_s {
                Some(lag) => when(lag as f64 > t, format!("replica {lag} s behind (> {t} s)")),
                // Stopped threads report no lag: the *_stopped rules say so.
                None => Unknown,
            },
            Some(None) => Clear,
            None => Unknown,
        },
        RuleId::HistoryListLong => match facts.history_list_length {
            Some(h) => when(h as f64 > t, format!("history list length {h} (> {t})")),
            None => Unknown,
        },
        RuleId::CheckpointAgeHigh => match facts.checkpoint_age_pct {
            Some(p) => when(
                p > t,
                format!("checkpoint age {p:.0}% of redo capacity (> {t}%)"),
            ),
            None => Unknown,
        },
        RuleId::Deadlocks => match new_deadlocks {
            Some(n) => when(
                n as f64 > t,
                format!("{n} new deadlock(s) in the last 5 minutes"),
            ),
            None => Unknown,
        },
        RuleId::LockWaits => match facts.longest_lock_wait {
            Some((id, wait)) => when(
                wait as f64 > t,
                format!("session {id} waits {wait} s for a row lock (> {t} s)"),
            ),
            None => Unknown,
        },
        RuleId::DiskLow => match facts.datadir_free_pct {
            Some(p) => when(p < t, format!("datadir filesystem {p:.1}% free (< {t}%)")),
            None => Unknown,
        },
        RuleId::BackupStale => match facts.backup {
            Some(BackupFact::NoSource) | None => Unknown,
            Some(BackupFact::NeverSucceeded) => Active("no successful backup recorded".into()),
            Some(BackupFact::LastSuccessAge(age)) => {
                let hours = age as f64 / 3600.0;
                when(
                    hours > t,
                    format!("last successful backup {hours:.1} h ago (> {t} h)"),
                )
            }
        },
        RuleId::ParameterDrift => match &facts.parameter_drift {
            Some(names) => when(
                names.len() as f64 > t,
                format!(
                    "{} variable(s) differ from the baseline: {}",
                    names.len(),
                    names.join(", ")
                ),
            ),
            None => Unknown,
        },
    }
}
