//! Which health figures deserve a DBA's attention. Kept small and explicit so the status bar's
//! alert count and the Health pane's colours always agree.

use crate::health::{InstanceHealth, Status};

/// Replication lag from which a replica counts as lagging.
pub const LAG_WARN_S: u64 = 30;
/// Share of `max_connections` in use from which connections count as nearly exhausted.
pub const CONNECTIONS_WARN_RATIO: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Alert,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthAlert {
    pub severity: Severity,
    pub text: String,
}

fn alert(severity: Severity, text: String) -> HealthAlert {
    HealthAlert { severity, text }
}

/// Everything wrong with one instance, worst first.
pub fn alerts_for(h: &InstanceHealth) -> Vec<HealthAlert> {
    let mut out = Vec::new();
    if h.status == Status::Down {
        let why = h.error.as_deref().unwrap_or("no answer");
        out.push(alert(Severity::Alert, format!("down: {why}")));
        return out;
    }
    if let Some(r) = &h.replication {
        if !r.io_running || !r.sql_running {
            let stopped = match (r.io_running, r.sql_running) {
                (false, false) => "IO and SQL threads",
                (false, true) => "IO thread",
                _ => "SQL thread",
            };
            out.push(alert(
                Severity::Alert,
                format!("replication {stopped} stopped"),
            ));
        }
        if let Some(lag) = r.lag_s.filter(|l| *l >= LAG_WARN_S) {
            out.push(alert(Severity::Warning, format!("replica {lag}s behind")));
        }
    }
    if let Some(share) = connection_share(h).filter(|s| *s >= CONNECTIONS_WARN_RATIO) {
        out.push(alert(
            Severity::Warning,
            format!("{:.0}% of max_connections in use", share * 100.0),
        ));
    }
    out
}

/// Connected threads as a share of `max_connections`, when both are known.
pub fn connection_share(h: &InstanceHealth) -> Option<f64> {
    match (h.threads_connected, h.max_connections) {
        (Some(c), Some(m)) if m > 0 => Some(c as f64 / m as f64),
        _ => None,
    }
}

/// The worst severity for an instance, if anything is wrong.
pub fn worst(h: &InstanceHealth) -> Option<Severity> {
    alerts_for(h).iter().map(|a| a.severity).max()
}
