//! One instance's health poller: keeps a connection, reads status, variables and replica state,
//! and turns them into `InstanceHealth` with a deadline so a dead or hung server reports "down".

use std::collections::HashMap;
use std::time::Duration;

use mysql_async::Conn;
use tokio::sync::mpsc::UnboundedSender;

use super::collect::{is_local, DetailReader};
use super::session::{guard_session, SessionGuards};
use crate::backend::connect::connect;
use crate::backend::recorder::{named_rows, SqlRecorder, STATEMENT_TIMEOUT};
use crate::backend::BackendEvent;
use crate::config::InstanceConfig;
use crate::health::{
    replication_from_rows, HealthTracker, InstanceHealth, Status, StatusSnapshot, Variables,
};

/// A safety net over a whole poll (connect included); past it the instance is "down". Each step
/// has its own, shorter deadline (connect and every statement: 2 s): a server silent that long
/// is down, while one that keeps answering, however slowly, is only slow.
pub const POLL_BUDGET: Duration = Duration::from_secs(10);
/// Polls waiting for a free slot this long after their turn mean arkc is behind (see `FleetPace`).
pub const QUEUE_BUDGET: Duration = Duration::from_millis(2500);
/// The console's fleet reads variables (version, limits, read_only, watched parameters) again
/// after this long, not every poll (a lone poller reads them every poll).
pub const VARIABLES_CADENCE: Duration = Duration::from_secs(10);
/// A server that was not a replica is asked again after this long.
pub const REPLICA_RECHECK: Duration = Duration::from_secs(10);
/// A poll answered later than this marks the instance "slow" (unless configured otherwise).
pub const DEFAULT_SLOW_AFTER: Duration = Duration::from_millis(1000);

/// `SHOW GLOBAL STATUS` narrowed to the counters the views and formulas read (about 25 of the
/// server's 500 rows: less for the server to send and for arkc to parse, every poll).
pub fn status_sql() -> String {
    let list: Vec<String> = crate::health::STATUS_VARIABLES
        .iter()
        .map(|n| format!("'{n}'"))
        .collect();
    format!(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ({})",
        list.join(", ")
    )
}

/// Variables every poll reads: identity, limits, and what the InnoDB formulas need.
const BASE_VARIABLES: &[&str] = &[
    "version",
    "version_comment",
    "max_connections",
    "read_only",
    "server_id",
    "log_bin",
    "hostname",
    "datadir",
    "innodb_log_file_size",
    "innodb_log_files_in_group",
    "innodb_redo_log_capacity",
];

/// `SHOW GLOBAL VARIABLES` for the base set plus `watched` (names are checked to be identifiers,
/// so nothing from a config file reaches the SQL unquoted).
pub fn variables_sql(watched: &[String]) -> String {
    let mut names: Vec<&str> = BASE_VARIABLES.to_vec();
    for w in watched {
        let ok = !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok && !names.contains(&w.as_str()) {
            names.push(w);
        }
    }
    let list: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ({})",
        list.join(", ")
    )
}

/// Which statement reports replica state on this server (found by trying, newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplicaQuery {
    /// MariaDB: every source connection, multi-source included.
    AllSlaves,
    /// MySQL before 8.4.
    Slave,
    /// MySQL 8.4+ (`Replica_*` / `*_Source` column names).
    Replica,
    /// Not permitted or not understood: replication is not reported.
    Unavailable,
}

impl ReplicaQuery {
    fn sql(self) -> Option<&'static str> {
        match self {
            ReplicaQuery::AllSlaves => Some("SHOW ALL SLAVES STATUS"),
            ReplicaQuery::Slave => Some("SHOW SLAVE STATUS"),
            ReplicaQuery::Replica => Some("SHOW REPLICA STATUS"),
            ReplicaQuery::Unavailable => None,
        }
    }

    fn next(self) -> Self {
        match self {
            ReplicaQuery::AllSlaves => ReplicaQuery::Slave,
            ReplicaQuery::Slave => ReplicaQuery::Replica,
            _ => ReplicaQuery::Unavailable,
        }
    }
}

/// Polls one instance; owns its connection between polls.
#[derive(Debug)]
pub struct InstancePoller {
    instance: InstanceConfig,
    conn: Option<Conn>,
    recorder: SqlRecorder,
    tracker: HealthTracker,
    replica_query: ReplicaQuery,
    variables_sql: String,
    guards: Option<SessionGuards>,
    details: DetailReader,
    local: bool,
    status_sql: String,
    slow_after: Duration,
    /// The variables last read, and when.
    variables: Option<(std::time::Instant, Variables)>,
    variables_cadence: Duration,
    /// When replica status was last asked, and whether it had rows.
    replica_checked: Option<(std::time::Instant, bool)>,
}

impl InstancePoller {
    pub fn new(instance: InstanceConfig, events: UnboundedSender<BackendEvent>) -> Self {
        InstancePoller {
            recorder: SqlRecorder::new(&instance.name, events),
            tracker: HealthTracker::new(&instance.name),
            local: is_local(&instance),
            instance,
            conn: None,
            replica_query: ReplicaQuery::AllSlaves,
            variables_sql: variables_sql(&crate::config::alerts::default_watch()),
            guards: None,
            details: DetailReader::default(),
            status_sql: status_sql(),
            slow_after: DEFAULT_SLOW_AFTER,
            variables: None,
            variables_cadence: Duration::ZERO,
            replica_checked: None,
        }
    }

    /// Statements go to the console's outbox, in batches with the results (see `outbox`).
    pub fn with_outbox(mut self, outbox: std::sync::Arc<super::outbox::PollOutbox>) -> Self {
        self.recorder = self.recorder.batched(outbox);
        self
    }

    /// Read the variables at most every `cadence` (the fleet: less for each server to answer).
    pub fn with_variables_cadence(mut self, cadence: Duration) -> Self {
        self.variables_cadence = cadence;
        self
    }

    /// Answers later than `after` mark the instance slow.
    pub fn with_slow_after(mut self, after: Duration) -> Self {
        self.slow_after = after;
        self
    }

    /// Read these variables too (parameter monitoring), instead of the default watch list.
    pub fn with_watched_variables(mut self, names: &[String]) -> Self {
        self.variables_sql = variables_sql(names);
        self
    }

    /// The guards set on the current connection (`None` before the first connect).
    pub fn guards(&self) -> Option<&SessionGuards> {
        self.guards.as_ref()
    }

    pub fn name(&self) -> &str {
        &self.instance.name
    }

    /// One poll: figures if the instance answers within `POLL_BUDGET`, else a "down" record.
    /// "Slow" is judged on the time the server took to answer this poll's statements, not on a
    /// new connection's handshake nor on the wait for a free poll slot (arkc's own queueing).
    pub async fn poll(&mut self) -> InstanceHealth {
        match tokio::time::timeout(POLL_BUDGET, self.snapshot()).await {
            Ok(Ok((snapshot, answered_in))) => {
                let health = self.tracker.observe(snapshot);
                match health.status == Status::Up && answered_in > self.slow_after {
                    true => {
                        let why = format!(
                            "answered in {:.1} s (slow above {} ms)",
                            answered_in.as_secs_f64(),
                            self.slow_after.as_millis()
                        );
                        health.into_slow(why)
                    }
                    false => health,
                }
            }
            Ok(Err(e)) => self
                .tracker
                .observe_failure(&format!("{e:#}"), chrono::Utc::now()),
            Err(_) => {
                // The half-finished exchange leaves the connection unusable.
                self.conn = None;
                let msg = format!(
                    "no answer from {} within {POLL_BUDGET:?}",
                    self.instance.address()
                );
                self.tracker.observe_failure(&msg, chrono::Utc::now())
            }
        }
    }

    /// Close the connection politely.
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.disconnect()).await;
        }
    }

    /// The figures, and how long the server took to answer the statements that read them.
    async fn snapshot(&mut self) -> anyhow::Result<(StatusSnapshot, Duration)> {
        // Taken out so that a poll cut short by the deadline drops it.
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => {
                let mut conn = connect(&self.instance).await?;
                crate::backend::connect::quiet_for_slow_log(&mut conn).await;
                self.guards = Some(guard_session(&mut conn, &self.recorder).await?);
                conn
            }
        };
        let result = self.read_snapshot(&mut conn).await;
        // Kept for the next poll unless the exchange broke it (a server error leaves it usable).
        if result
            .as_ref()
            .err()
            .is_none_or(|e| server_error_code(e).is_some())
        {
            self.conn = Some(conn);
        }
        result
    }

    /// The figures, and how long the server took to answer the core reads (status, variables,
    /// replica state; the slower-cadence details and arkc's own history file are left out).
    async fn read_snapshot(
        &mut self,
        conn: &mut Conn,
    ) -> anyhow::Result<(StatusSnapshot, Duration)> {
        let reads_started = tokio::time::Instant::now();
        let status = self
            .recorder
            .query_name_values(conn, &self.status_sql, STATEMENT_TIMEOUT)
            .await?;
        let taken_at = chrono::Utc::now();
        // Each skipped statement is one less for the server at fleet scale.
        let variables = match &self.variables {
            Some((at, v)) if at.elapsed() < self.variables_cadence => v.clone(),
            _ => {
                let v: Variables = self
                    .recorder
                    .query_name_values(conn, &self.variables_sql, STATEMENT_TIMEOUT)
                    .await?
                    .into_iter()
                    .collect();
                self.variables = Some((std::time::Instant::now(), v.clone()));
                v
            }
        };
        let ask_replica = match self.replica_checked {
            Some((at, had_rows)) => had_rows || at.elapsed() >= REPLICA_RECHECK,
            None => true,
        };
        let replication = if ask_replica {
            let rows = self.replica_rows(conn).await?;
            let had_rows = rows.as_ref().is_some_and(|r| !r.is_empty());
            self.replica_checked = Some((std::time::Instant::now(), had_rows));
            rows.as_deref().and_then(replication_from_rows)
        } else {
            None
        };
        let answered_in = reads_started.elapsed();
        let mut snapshot = StatusSnapshot {
            taken_at: Some(taken_at),
            status,
            variables,
            replication,
            ..StatusSnapshot::default()
        };
        if let Some(guards) = &self.guards {
            self.details
                .read(
                    conn,
                    &self.recorder,
                    &guards.flavor,
                    &self.instance.name,
                    self.local,
                    &mut snapshot,
                )
                .await;
        }
        Ok((snapshot, answered_in))
    }

    /// Replica status rows, trying the statement variants this server understands.
    async fn replica_rows(
        &mut self,
        conn: &mut Conn,
    ) -> anyhow::Result<Option<Vec<HashMap<String, String>>>> {
        while let Some(sql) = self.replica_query.sql() {
            match self.recorder.query(conn, sql, STATEMENT_TIMEOUT).await {
                Ok(rows) => {
                    return Ok(Some(
                        named_rows(&rows)
                            .into_iter()
                            .map(normalize_replica_names)
                            .collect(),
                    ))
                }
                Err(e) => match server_error_code(&e) {
                    // Syntax not known here: try the next variant.
                    Some(1064) => self.replica_query = self.replica_query.next(),
                    // No REPLICATION CLIENT / SLAVE MONITOR privilege: stop asking.
                    Some(1227) | Some(1142) => self.replica_query = ReplicaQuery::Unavailable,
                    _ => return Err(e),
                },
            }
        }
        Ok(None)
    }
}

fn server_error_code(e: &anyhow::Error) -> Option<u16> {
    match e.downcast_ref::<mysql_async::Error>()? {
        mysql_async::Error::Server(se) => Some(se.code),
        _ => None,
    }
}

/// MySQL 8.4 column names mapped onto the classic ones the health formulas read.
fn normalize_replica_names(row: HashMap<String, String>) -> HashMap<String, String> {
    row.into_iter()
        .map(|(k, v)| {
            let k = match k.as_str() {
                "Replica_IO_Running" => "Slave_IO_Running".to_string(),
                "Replica_SQL_Running" => "Slave_SQL_Running".to_string(),
                "Seconds_Behind_Source" => "Seconds_Behind_Master".to_string(),
                _ => k,
            };
            (k, v)
        })
        .collect()
}

/// Polling cadence shared by all pollers; a bump of `refresh` means "poll now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    pub interval: Duration,
    pub refresh: u64,
}
