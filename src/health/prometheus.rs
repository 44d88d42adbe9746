//! A fleet's figures from Prometheus: the PromQL that reads mysqld_exporter series (one query per
//! figure for the whole fleet, grouped by the instance label), the API's answer, and the merge of
//! every answer into one `InstanceHealth` per instance. Pure: the backend sends the queries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{InstanceHealth, Replication, Source, Status};

/// One figure read for the whole fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    MysqlUp,
    /// Prometheus' own `up` for the exporter target (only with a selector: bare `up` is every job).
    TargetUp,
    Qps,
    Tps,
    ThreadsConnected,
    ThreadsRunning,
    MaxConnections,
    Uptime,
    BufferPoolHitPct,
    DirtyPagesPct,
    BufferPoolBytes,
    ReplicationLag,
    IoRunning,
    SqlRunning,
    Version,
}

/// A figure and the PromQL that yields it, one series per instance.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetQuery {
    pub figure: Figure,
    pub promql: String,
}

/// The queries for a fleet whose series carry `matchers` (e.g. `job="mysql"`, or "") and are
/// told apart by `label`.
pub fn fleet_queries(matchers: &str, label: &str) -> Vec<FleetQuery> {
    let sel = |extra: &str| -> String {
        let parts: Vec<&str> = [matchers, extra]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        format!("{{{}}}", parts.join(","))
    };
    let s = sel("");
    let by = |agg: &str, inner: String| format!("{agg} by ({label}) ({inner})");
    let rate = |metric: &str, extra: &str| format!("rate({metric}{}[1m])", sel(extra));
    let mut queries = vec![
        (Figure::MysqlUp, by("max", format!("mysql_up{s}"))),
        (
            Figure::Qps,
            by("sum", rate("mysql_global_status_queries", "")),
        ),
        (
            Figure::Tps,
            by(
                "sum",
                rate(
                    "mysql_global_status_commands_total",
                    "command=~\"commit|rollback\"",
                ),
            ),
        ),
        (
            Figure::ThreadsConnected,
            by("max", format!("mysql_global_status_threads_connected{s}")),
        ),
        (
            Figure::ThreadsRunning,
            by("max", format!("mysql_global_status_threads_running{s}")),
        ),
        (
            Figure::MaxConnections,
            by("max", format!("mysql_global_variables_max_connections{s}")),
        ),
        (
            Figure::Uptime,
            by("max", format!("mysql_global_status_uptime{s}")),
        ),
        (
            Figure::BufferPoolHitPct,
            format!(
                "100 * (1 - {} / {})",
                by(
                    "sum",
                    rate("mysql_global_status_innodb_buffer_pool_reads", "")
                ),
                by(
                    "sum",
                    rate("mysql_global_status_innodb_buffer_pool_read_requests", "")
                )
            ),
        ),
        (
            Figure::DirtyPagesPct,
            format!(
                "100 * {} / {}",
                by("sum", format!("mysql_global_status_buffer_pool_dirty_pages{s}")),
                by(
                    "sum",
                    // The exporter drops `_total`: data + free + misc is every page.
                    format!(
                        "mysql_global_status_buffer_pool_pages{}",
                        sel("state=~\"data|free|misc\"")
                    )
                )
            ),
        ),
        (
            Figure::BufferPoolBytes,
            by(
                "max",
                format!("mysql_global_variables_innodb_buffer_pool_size{s}"),
            ),
        ),
        // Older exporters and MariaDB say "master", MySQL 8.4's say "source": one query reads both.
        (
            Figure::ReplicationLag,
            by(
                "max",
                format!(
                    "mysql_slave_status_seconds_behind_master{s} or mysql_slave_status_seconds_behind_source{s}"
                ),
            ),
        ),
        // A stopped thread on any channel counts: the minimum over channels.
        (
            Figure::IoRunning,
            by(
                "min",
                format!(
                    "mysql_slave_status_slave_io_running{s} or mysql_slave_status_replica_io_running{s}"
                ),
            ),
        ),
        (
            Figure::SqlRunning,
            by(
                "min",
                format!(
                    "mysql_slave_status_slave_sql_running{s} or mysql_slave_status_replica_sql_running{s}"
                ),
            ),
        ),
        (Figure::Version, format!("mysql_version_info{s}")),
    ];
    if !matchers.is_empty() {
        queries.push((Figure::TargetUp, by("min", format!("up{s}"))));
    }
    queries
        .into_iter()
        .map(|(figure, promql)| FleetQuery { figure, promql })
        .collect()
}

/// The body of `/api/v1/query`.
#[derive(Debug, Deserialize)]
pub struct QueryResponse {
    pub status: String,
    #[serde(default)]
    pub data: Option<QueryData>,
    #[serde(default, rename = "errorType")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct QueryData {
    #[serde(rename = "resultType")]
    pub result_type: String,
    pub result: Vec<VectorSample>,
}

/// One series of an instant vector: its labels and `[time, "value"]`.
#[derive(Debug, Deserialize)]
pub struct VectorSample {
    pub metric: BTreeMap<String, String>,
    pub value: (f64, String),
}

impl QueryResponse {
    /// The samples, or the error Prometheus gave (as text to show in the source's rows).
    pub fn into_samples(self) -> Result<Vec<VectorSample>, String> {
        if self.status != "success" {
            return Err(format!(
                "{}: {}",
                self.error_type.as_deref().unwrap_or("error"),
                self.error.as_deref().unwrap_or("no error text")
            ));
        }
        let data = self.data.ok_or("answer without data")?;
        if data.result_type != "vector" {
            return Err(format!(
                "expected an instant vector, got a {}",
                data.result_type
            ));
        }
        Ok(data.result)
    }
}

/// The error of an instance seen only through the target's `up`.
const NO_MYSQL_UP: &str = "no mysql_up series from the exporter";

/// Every figure's samples merged into one record per instance (sorted by name).
pub fn merge(
    source_name: &str,
    label: &str,
    answers: &[(Figure, Vec<VectorSample>)],
    at: DateTime<Utc>,
) -> Vec<InstanceHealth> {
    let mut rows: BTreeMap<&str, InstanceHealth> = BTreeMap::new();
    let source = Source::Prometheus(source_name.to_string());
    // Only mysql_up and the target's up say an instance exists; the rest fill in known ones.
    for (figure, samples) in answers {
        if !matches!(figure, Figure::MysqlUp | Figure::TargetUp) {
            continue;
        }
        for sample in samples {
            let Some(name) = sample.metric.get(label) else {
                continue;
            };
            let row = rows.entry(name).or_insert_with(|| {
                let mut h = InstanceHealth::down(name, NO_MYSQL_UP, at);
                h.source = source.clone();
                h
            });
            let value = number(&sample.value.1);
            match figure {
                // Up unless the target's `up` already said otherwise.
                Figure::MysqlUp
                    if value == Some(1.0) && row.error.as_deref() == Some(NO_MYSQL_UP) =>
                {
                    row.status = Status::Up;
                    row.error = None;
                }
                Figure::MysqlUp if value != Some(1.0) => {
                    row.error =
                        Some("mysql_up = 0: mysqld_exporter cannot reach the server".into());
                }
                Figure::TargetUp if value != Some(1.0) => {
                    row.status = Status::Down;
                    row.error = Some("the exporter target is down (up = 0)".into());
                }
                _ => {}
            }
        }
    }
    for (figure, samples) in answers {
        for sample in samples {
            let Some(row) = sample
                .metric
                .get(label)
                .and_then(|n| rows.get_mut(n.as_str()))
            else {
                continue;
            };
            if row.status != Status::Up {
                continue;
            }
            apply(row, *figure, sample);
        }
    }
    rows.into_values().collect()
}

fn apply(row: &mut InstanceHealth, figure: Figure, sample: &VectorSample) {
    let value = number(&sample.value.1);
    let whole = value.filter(|v| *v >= 0.0).map(|v| v.round() as u64);
    match figure {
        Figure::MysqlUp | Figure::TargetUp => {}
        Figure::Qps => row.qps = value,
        Figure::Tps => row.tps = value,
        Figure::ThreadsConnected => row.threads_connected = whole,
        Figure::ThreadsRunning => row.threads_running = whole,
        Figure::MaxConnections => row.max_connections = whole,
        Figure::Uptime => row.uptime_s = whole,
        Figure::BufferPoolHitPct => row.innodb.buffer_pool_hit_pct = value,
        Figure::DirtyPagesPct => row.innodb.dirty_pages_pct = value,
        Figure::BufferPoolBytes => {
            if let Some(bytes) = whole {
                row.monitor
                    .variables
                    .insert("innodb_buffer_pool_size".into(), bytes.to_string());
            }
        }
        Figure::ReplicationLag => replica_of(row).lag_s = whole,
        Figure::IoRunning => replica_of(row).io_running = value == Some(1.0),
        Figure::SqlRunning => replica_of(row).sql_running = value == Some(1.0),
        Figure::Version => {
            if let Some(v) = sample.metric.get("version") {
                row.version = Some(v.clone());
            }
        }
    }
}

/// Replica state, created at the first replication series seen for the instance.
fn replica_of(row: &mut InstanceHealth) -> &mut Replication {
    row.replication.get_or_insert_with(|| Replication {
        role: "replica".into(),
        io_running: false,
        sql_running: false,
        lag_s: None,
    })
}

/// A sample value; NaN and infinities (a rate over an idle counter divided by zero) are unknown.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests;
