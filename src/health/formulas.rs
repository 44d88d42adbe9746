//! From raw snapshots to figures: rates from counter deltas, gauges, replication state.

use std::collections::HashMap;

use super::{InstanceHealth, Replication, Status, StatusSnapshot};

/// Counters whose delta per second is the QPS figure.
pub const QPS_COUNTERS: &[&str] = &["Questions"];
/// Counters whose delta per second is the TPS figure.
pub const TPS_COUNTERS: &[&str] = &["Com_commit", "Com_rollback"];

/// Follows one instance across polls, remembering the previous snapshot for rates.
#[derive(Debug, Clone)]
pub struct HealthTracker {
    instance: String,
    previous: Option<StatusSnapshot>,
}

impl HealthTracker {
    pub fn new(instance: &str) -> Self {
        HealthTracker {
            instance: instance.to_string(),
            previous: None,
        }
    }

    /// Figures for a fresh snapshot; rates need a previous one, so the first call has none.
    pub fn observe(&mut self, snapshot: StatusSnapshot) -> InstanceHealth {
        let health = health_from(&self.instance, self.previous.as_ref(), &snapshot);
        self.previous = Some(snapshot);
        health
    }

    /// A failed poll: the instance is down, and rates restart from the next good snapshot
    /// (an average across the outage would hide it).
    pub fn observe_failure(
        &mut self,
        error: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> InstanceHealth {
        self.previous = None;
        InstanceHealth::down(&self.instance, error, at)
    }
}

/// The figures for `current`, with rates over the interval since `previous`.
pub fn health_from(
    instance: &str,
    previous: Option<&StatusSnapshot>,
    current: &StatusSnapshot,
) -> InstanceHealth {
    InstanceHealth {
        instance: instance.to_string(),
        source: super::Source::Direct,
        status: Status::Up,
        error: None,
        version: current.variables.get("version").cloned(),
        uptime_s: status_u64(current, "Uptime"),
        qps: counter_rate(previous, current, QPS_COUNTERS),
        tps: counter_rate(previous, current, TPS_COUNTERS),
        threads_connected: status_u64(current, "Threads_connected"),
        threads_running: status_u64(current, "Threads_running"),
        max_connections: current
            .variables
            .get("max_connections")
            .and_then(|v| v.trim().parse().ok()),
        replication: current.replication.clone(),
        read_only: current
            .variables
            .get("read_only")
            .and_then(|v| parse_on_off(v)),
        innodb: Box::new(super::innodb::innodb_figures(previous, current)),
        dml: Box::new(super::innodb::dml_rates(previous, current)),
        monitor: Box::new(super::MonitorFigures {
            disk: current.disk.clone(),
            longest_lock_wait: current.longest_lock_wait,
            backup: current.backup.clone(),
            variables: current.variables.clone(),
        }),
        sampled_at: current.taken_at.unwrap_or_else(chrono::Utc::now),
    }
}

/// Per-second rate of the sum of `counters` between two snapshots.
///
/// After a server restart (uptime went down, or the counter did) the counters restarted at zero
/// when the server came up, so the rate is the current value over the current uptime, as long as
/// the restart happened inside the interval. `None` when it cannot be known.
pub fn counter_rate(
    previous: Option<&StatusSnapshot>,
    current: &StatusSnapshot,
    counters: &[&str],
) -> Option<f64> {
    let previous = previous?;
    let dt = (current.taken_at? - previous.taken_at?).num_milliseconds() as f64 / 1000.0;
    if dt <= 0.0 {
        return None;
    }
    let now = sum_counters(current, counters)?;
    let before = sum_counters(previous, counters)?;
    let uptime_now = status_u64(current, "Uptime");
    let restarted = now < before
        || matches!((uptime_now, status_u64(previous, "Uptime")), (Some(a), Some(b)) if a < b);
    if !restarted {
        return Some((now - before) as f64 / dt);
    }
    match uptime_now {
        // Uptime is whole seconds; allow one second of rounding against the wall-clock interval.
        Some(up) if up > 0 && (up as f64) <= dt + 1.0 => Some(now as f64 / up as f64),
        _ => None,
    }
}

fn sum_counters(snapshot: &StatusSnapshot, counters: &[&str]) -> Option<u64> {
    counters.iter().try_fold(0u64, |acc, name| {
        Some(acc.saturating_add(status_u64(snapshot, name)?))
    })
}

fn status_u64(snapshot: &StatusSnapshot, name: &str) -> Option<u64> {
    snapshot.status.get(name)?.trim().parse().ok()
}

fn parse_on_off(value: &str) -> Option<bool> {
    match value.trim().to_ascii_uppercase().as_str() {
        "ON" | "1" | "YES" | "TRUE" => Some(true),
        "OFF" | "0" | "NO" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Replication state from the rows of `SHOW ALL SLAVES STATUS` (or the one row of `SHOW SLAVE
/// STATUS`), NULL columns absent. No rows: not a replica. Several source connections: both
/// threads must run on all of them, and the lag is the worst one.
pub fn replication_from_rows(rows: &[HashMap<String, String>]) -> Option<Replication> {
    if rows.is_empty() {
        return None;
    }
    let running = |row: &HashMap<String, String>, key: &str| {
        row.get(key).is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    };
    let lags: Vec<Option<u64>> = rows
        .iter()
        .map(|r| {
            r.get("Seconds_Behind_Master")
                .and_then(|v| v.trim().parse().ok())
        })
        .collect();
    Some(Replication {
        role: "replica".into(),
        io_running: rows.iter().all(|r| running(r, "Slave_IO_Running")),
        sql_running: rows.iter().all(|r| running(r, "Slave_SQL_Running")),
        // One connection with unknown lag makes the whole figure unknown.
        lag_s: lags
            .iter()
            .copied()
            .collect::<Option<Vec<u64>>>()
            .and_then(|l| l.into_iter().max()),
    })
}
