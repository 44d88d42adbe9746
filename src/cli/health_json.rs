//! The JSON row of `arkc health` (live, streaming and replayed): one shape for scripts.

use serde::Serialize;

use crate::health::backup::BackupStatus;
use crate::health::{Alert, DiskFigures, InnodbFigures, InstanceHealth, Replication, Status};

/// The JSON shape promised to scripts: exactly these keys, in this order.
#[derive(Debug, Serialize)]
pub struct HealthJson<'a> {
    instance: &'a str,
    source: &'a crate::health::Source,
    /// Its `[[instance]]` entry's and its `[[prometheus]]` source's tags (a replay: as recorded).
    tags: Vec<String>,
    status: Status,
    error: Option<&'a str>,
    version: Option<&'a str>,
    uptime_s: Option<u64>,
    qps: Option<f64>,
    tps: Option<f64>,
    threads_connected: Option<u64>,
    threads_running: Option<u64>,
    max_connections: Option<u64>,
    replication: Option<&'a Replication>,
    innodb: Option<InnodbFigures>,
    disk: Option<&'a DiskFigures>,
    backup: Option<&'a BackupStatus>,
    alerts: Vec<AlertJson<'a>>,
}

/// One alert in `alerts`.
#[derive(Debug, Serialize)]
pub struct AlertJson<'a> {
    rule: &'static str,
    severity: &'static str,
    state: &'static str,
    since: chrono::DateTime<chrono::Utc>,
    summary: &'a str,
}

impl<'a> HealthJson<'a> {
    pub fn new(h: &'a InstanceHealth, alerts: &'a [Alert]) -> Self {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let up = h.status == Status::Up;
        HealthJson {
            instance: &h.instance,
            source: &h.source,
            tags: Vec::new(),
            status: h.status,
            error: h.error.as_deref(),
            version: h.version.as_deref(),
            uptime_s: h.uptime_s,
            qps: h.qps.map(round),
            tps: h.tps.map(round),
            threads_connected: h.threads_connected,
            threads_running: h.threads_running,
            max_connections: h.max_connections,
            replication: h.replication.as_ref(),
            innodb: up.then(|| InnodbFigures {
                buffer_pool_hit_pct: h.innodb.buffer_pool_hit_pct.map(round),
                dirty_pages_pct: h.innodb.dirty_pages_pct.map(round),
                checkpoint_age_pct: h.innodb.checkpoint_age_pct.map(round),
                ..(*h.innodb).clone()
            }),
            disk: up.then_some(&h.monitor.disk),
            backup: h.monitor.backup.as_ref().and_then(|b| b.newest.as_ref()),
            alerts: alerts
                .iter()
                .map(|a| AlertJson {
                    rule: a.rule.id(),
                    severity: a.severity.as_str(),
                    state: a.state.as_str(),
                    since: a.since,
                    summary: &a.summary,
                })
                .collect(),
        }
    }
}

impl HealthJson<'_> {
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }
}

impl<'a> From<&'a InstanceHealth> for HealthJson<'a> {
    fn from(h: &'a InstanceHealth) -> Self {
        HealthJson::new(h, &[])
    }
}
