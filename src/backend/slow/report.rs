//! What the slow-SQL sources report to the UI, and what the UI asks of them. Plain values: the
//! leaderboard rows are computed here in the backend so the UI only stores and renders them.

use arkc_slowlog::{Digest, QueryClass};

use crate::backend::recorder::cell_text;
use crate::tracking::{TrackStatus, Tracking};

/// Where an instance's slow statements come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlowSourceKind {
    /// The slow query log: the file named by `slow_log` in the config, followed live, or the
    /// `mysql.slow_log` table when the server logs to a table.
    Log,
    /// `performance_schema.events_statements_summary_by_digest`, polled as deltas.
    Digest,
}

impl SlowSourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SlowSourceKind::Log => "slow log",
            SlowSourceKind::Digest => "performance_schema",
        }
    }

    pub fn other(self) -> SlowSourceKind {
        match self {
            SlowSourceKind::Log => SlowSourceKind::Digest,
            SlowSourceKind::Digest => SlowSourceKind::Log,
        }
    }
}

/// Whether a source is delivering, and if not, what a DBA can do about it.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    /// Reading; `origin` says what (a file path, `mysql.slow_log`, `performance_schema`).
    Live { origin: String },
    /// Reading, but arkc's own statements could not be kept out by turning off instrumentation
    /// for its session, so they are left out by their digest text; `note` says so and the fix.
    Filtered { origin: String, note: String },
    /// Not available on this instance, with the reason and the fix.
    Off(String),
    /// Failed for now; retried on the next poll.
    Failed(String),
}

/// The statement with the worst latency of a class, literals included.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowSample {
    pub query: String,
    pub database: Option<String>,
    pub query_time: Option<f64>,
    pub unix_time: Option<i64>,
}

/// One leaderboard row: a query class's aggregates from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowClass {
    /// pt-query-digest's query ID (the tracking key).
    pub query_id: String,
    pub fingerprint: String,
    pub count: u64,
    /// Executions per second over the observed window.
    pub qps: f64,
    pub time_sum: f64,
    pub time_avg: f64,
    pub time_max: f64,
    /// None when the source has no distribution (performance_schema on MariaDB).
    pub time_p95: Option<f64>,
    pub lock_sum: f64,
    pub rows_sent: f64,
    pub rows_examined: f64,
    pub no_index: u64,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    /// Databases with counts, most frequent first.
    pub databases: Vec<(String, u64)>,
    pub sample: Option<SlowSample>,
    /// Counts per latency decade: 1 us, 10 us, ... 1 s, 10 s+ (pt-query-digest's distribution).
    pub distribution: Option<[u64; 8]>,
}

impl SlowClass {
    /// The row for a class of a slow-log digest.
    pub fn from_digest(digest: &Digest, class: &QueryClass) -> SlowClass {
        let qt = class.query_time_stats();
        SlowClass {
            query_id: class.query_id.clone(),
            fingerprint: class.fingerprint.clone(),
            count: class.count,
            qps: digest.qps(class),
            time_sum: qt.sum,
            time_avg: qt.avg,
            time_max: qt.max,
            time_p95: Some(qt.p95),
            lock_sum: class.lock_time_sum,
            rows_sent: class.rows_sent_sum,
            rows_examined: class.rows_examined_sum,
            no_index: class.no_index_count,
            first_seen: class.first_seen,
            last_seen: class.last_seen,
            databases: merged_databases(class.databases.sorted()),
            sample: class.sample.as_ref().map(|s| SlowSample {
                query: s.query.clone(),
                database: s.database.as_deref().map(unquote),
                query_time: s.query_time,
                unix_time: s.unix_time,
            }),
            distribution: Some(decades(class.query_time_buckets())),
        }
    }
}

/// pt-query-digest's `Query_time distribution` from the class's 5% buckets: counts in the decades
/// from 1 us up to 10 s+ (below 1 us counts in the first).
fn decades(buckets: impl Iterator<Item = (f64, u32)>) -> [u64; 8] {
    let mut out = [0u64; 8];
    for (lower_bound, hits) in buckets {
        // A bucket's lower bound sits up to 5% below its members: nudge before taking the log.
        let decade = ((lower_bound * 1.05).max(1e-6) / 1e-6).log10().floor() as i64;
        out[decade.clamp(0, 7) as usize] += u64::from(hits);
    }
    out
}

/// Logs write `use db;` or ``use `db`;`` depending on how the client chose it; one database is
/// one name here.
fn unquote(db: &str) -> String {
    db.trim().trim_matches('`').replace("``", "`")
}

fn merged_databases(counts: Vec<(&str, u64)>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for (db, n) in counts {
        let db = unquote(db);
        match out.iter_mut().find(|(d, _)| *d == db) {
            Some((_, total)) => *total += n,
            None => out.push((db, n)),
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// A source's full current leaderboard for one instance. Sent when something changed.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowReport {
    pub instance: String,
    pub source: SlowSourceKind,
    pub status: SourceStatus,
    pub classes: Vec<SlowClass>,
    /// Entries (or executions) aggregated so far.
    pub entries: u64,
}

/// `EXPLAIN` output as text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl ExplainTable {
    /// The cells of `EXPLAIN`'s answer as text, `NULL` for SQL NULL.
    pub fn from_rows(rows: &[mysql_async::Row]) -> ExplainTable {
        let columns = rows
            .first()
            .map(|r| {
                r.columns_ref()
                    .iter()
                    .map(|c| c.name_str().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let rows = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.as_ref(i)
                            .and_then(cell_text)
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect()
            })
            .collect();
        ExplainTable { columns, rows }
    }
}

/// What the slow-SQL side of the backend reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SlowUpdate {
    Report(SlowReport),
    /// Every tracked class, after start-up and after each change.
    Tracking(Vec<Tracking>),
    Explain {
        instance: String,
        query_id: String,
        result: Result<ExplainTable, String>,
    },
    /// Something the DBA should know (shown in the status bar), e.g. tracking is unavailable.
    Problem(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_count_each_entry_once_in_its_decade() {
        let mut digest = Digest::default();
        let log: String = [
            0.0, 0.000_002, 0.000_05, 0.0005, 0.005, 0.05, 0.5, 5.0, 50.0, 500.0,
        ]
        .iter()
        .map(|t| format!("# Query_time: {t}\nselect 1;\n"))
        .collect();
        digest
            .add_reader(log.as_bytes(), std::path::Path::new("t"))
            .unwrap();
        let class = digest.classes().next().unwrap();
        assert_eq!(class.count, 10);
        assert_eq!(
            decades(class.query_time_buckets()),
            [2, 1, 1, 1, 1, 1, 1, 2]
        );
    }

    #[test]
    fn quoted_and_plain_database_names_are_one_database() {
        assert_eq!(unquote("`shop`"), "shop");
        assert_eq!(unquote("we``ird"), "we`ird");
        assert_eq!(
            merged_databases(vec![("shop", 2), ("crm", 2), ("`shop`", 1)]),
            vec![("shop".to_string(), 3), ("crm".to_string(), 2)]
        );
    }
}

/// What the UI asks of the slow-SQL side.
#[derive(Debug, Clone, PartialEq)]
pub enum SlowCommand {
    /// Run `EXPLAIN sql` (in `database`) on `instance`; the answer comes back as `Explain`.
    Explain {
        instance: String,
        query_id: String,
        database: Option<String>,
        sql: String,
    },
    /// Persist a class's tracking status and note.
    Track {
        query_id: String,
        status: TrackStatus,
        note: String,
    },
    /// What the Slow SQL pane shows now, so a large fleet's sources read only that.
    Demand(SlowDemand),
}

/// Whose slow-SQL sources are read. A fleet of up to `sources::ALWAYS_READ_UP_TO` instances reads
/// them all, always; a larger one only what the Slow SQL pane shows (the selected instance, or
/// every one with the all-instances scope), so no instance holds a second connection for a pane
/// nobody looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlowDemand {
    Everything,
    Instance(String),
    Nothing,
}

impl SlowDemand {
    pub fn wants(&self, instance: &str) -> bool {
        match self {
            SlowDemand::Everything => true,
            SlowDemand::Instance(name) => name == instance,
            SlowDemand::Nothing => false,
        }
    }
}
