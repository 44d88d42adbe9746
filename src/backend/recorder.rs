//! Every statement arkc sends goes through `SqlRecorder`: it is timed, logged via `tracing` and
//! reported as `BackendEvent::SqlSent` for the `@` log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::health::outbox::PollOutbox;
use super::{BackendEvent, SqlLogEntry};

/// How long one statement may run before the poll gives up on the instance.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(2);

/// Records the statements sent to one instance.
#[derive(Debug, Clone)]
pub struct SqlRecorder {
    instance: String,
    events: UnboundedSender<BackendEvent>,
    /// The console's pollers: statements ride with the poll results instead of one event each.
    outbox: Option<Arc<PollOutbox>>,
}

impl SqlRecorder {
    pub fn new(instance: &str, events: UnboundedSender<BackendEvent>) -> Self {
        SqlRecorder {
            instance: instance.to_string(),
            events,
            outbox: None,
        }
    }

    /// Statements go to `outbox` (handed on in batches) rather than out as `SqlSent` events.
    pub fn batched(mut self, outbox: Arc<PollOutbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Run `sql` (text protocol) with a deadline and record it. On timeout the connection is in
    /// an unknown state: the caller must drop it.
    pub async fn query(
        &self,
        conn: &mut Conn,
        sql: &str,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Row>> {
        self.timed(sql, timeout, conn.query::<Row, _>(sql)).await
    }

    /// Await `sent` (the statement `sql` on its way) with a deadline and record it, timed.
    async fn timed<T>(
        &self,
        sql: &str,
        timeout: Duration,
        sent: impl std::future::Future<Output = Result<T, mysql_async::Error>>,
    ) -> anyhow::Result<T> {
        let started = Instant::now();
        let result = match tokio::time::timeout(timeout, sent).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(anyhow::Error::new(e)),
            Err(_) => Err(anyhow::anyhow!("`{sql}` got no answer within {timeout:?}")),
        };
        self.record(
            sql,
            started.elapsed(),
            result.as_ref().err().map(|e| e.to_string()),
        );
        result
    }

    /// Run a two-column statement (`SHOW STATUS`, `SHOW VARIABLES`) with a deadline, record it,
    /// and read its rows straight into name -> value: the rows are not kept in a `Vec` first and
    /// each cell's bytes become its `String` without a copy (the health poll's statement, a
    /// thousand times a second at fleet scale). As `name_value_map` over `query`'s rows.
    pub async fn query_name_values(
        &self,
        conn: &mut Conn,
        sql: &str,
        timeout: Duration,
    ) -> anyhow::Result<HashMap<String, String>> {
        let read = async {
            conn.query_iter(sql)
                .await?
                .reduce_and_drop(HashMap::with_capacity(32), |mut map, row| {
                    if let Some((name, value)) = name_value(row) {
                        map.insert(name, value);
                    }
                    map
                })
                .await
        };
        self.timed(sql, timeout, read).await
    }

    /// Run a statement whose result is not needed (DML in the demo workload).
    pub async fn execute(
        &self,
        conn: &mut Conn,
        sql: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.timed(sql, timeout, conn.query_drop(sql)).await
    }

    /// Run a prepared statement with `params` bound, whose result is not needed.
    pub async fn exec_drop(
        &self,
        conn: &mut Conn,
        sql: &str,
        params: mysql_async::Params,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        self.timed(sql, timeout, conn.exec_drop(sql, params)).await
    }

    /// Record a statement sent some other way (a prepared statement, for instance).
    /// The instance this recorder's statements go to.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn record(&self, sql: &str, elapsed: Duration, error: Option<String>) {
        match &error {
            None => tracing::debug!(instance = %self.instance, ?elapsed, sql, "sql sent"),
            Some(e) => {
                tracing::warn!(instance = %self.instance, ?elapsed, sql, error = %e, "sql failed")
            }
        }
        if self.outbox.is_none() && self.events.is_closed() {
            // Nobody will read it (a CLI apply): no copy of the SQL, which for a flashback
            // apply is every row it sends.
            return;
        }
        let entry = SqlLogEntry {
            at: chrono::Utc::now(),
            instance: self.instance.clone(),
            sql: sql.to_string(),
            elapsed,
            error,
        };
        match &self.outbox {
            Some(outbox) => outbox.push_statement(entry),
            // A closed receiver means the UI is gone; nothing left to tell.
            None => {
                let _ = self.events.send(BackendEvent::SqlSent(entry));
            }
        }
    }
}

/// A cell as text: NULL is `None`, bytes are decoded lossily (never a panic on odd encodings).
pub fn cell_text(value: &Value) -> Option<String> {
    match value {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Two-column rows (`SHOW STATUS`, `SHOW VARIABLES`) as name -> value.
pub fn name_value_map(rows: &[Row]) -> HashMap<String, String> {
    rows.iter()
        .filter_map(|r| {
            let name = cell_text(r.as_ref(0)?)?;
            let value = r.as_ref(1).and_then(cell_text).unwrap_or_default();
            Some((name, value))
        })
        .collect()
}

/// A two-column row as (name, value), taking the cells' bytes (NULL value: empty, NULL name: none).
fn name_value(mut row: Row) -> Option<(String, String)> {
    let name = owned_cell_text(row.take::<Value, _>(0)?)?;
    let value = row
        .take::<Value, _>(1)
        .and_then(owned_cell_text)
        .unwrap_or_default();
    Some((name, value))
}

/// `cell_text` of a cell owned: valid UTF-8 bytes are kept as they are.
fn owned_cell_text(value: Value) -> Option<String> {
    match value {
        Value::Bytes(bytes) => Some(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        other => cell_text(&other),
    }
}

/// Rows with named columns as column -> value, NULL columns left out.
pub fn named_rows(rows: &[Row]) -> Vec<HashMap<String, String>> {
    rows.iter()
        .map(|r| {
            r.columns_ref()
                .iter()
                .enumerate()
                .filter_map(|(i, col)| {
                    Some((col.name_str().into_owned(), cell_text(r.as_ref(i)?)?))
                })
                .collect()
        })
        .collect()
}
