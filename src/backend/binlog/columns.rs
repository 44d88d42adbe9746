//! Column definitions read from the server while a scan runs: the first TABLE_MAP of a table
//! asks information_schema for its columns once (cached), so a scan of files or of the
//! replication stream is a single pass. Shared by the Binlog pane and `arkc flashback`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arkc_binlog::schema::{ColumnInfo, ColumnSource};
use arkc_binlog::txn::Filters;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use tokio::runtime::Runtime;

use crate::backend::SqlRecorder;

type Columns = Option<Arc<Vec<ColumnInfo>>>;

/// A connection kept for the scan's lookups, on its own small runtime: the scan runs on a
/// plain thread and calls in synchronously.
pub struct ServerColumns {
    label: String,
    /// Tables the scan keeps; others are not looked up (their rows are dropped anyway).
    filters: Filters,
    recorder: Option<SqlRecorder>,
    inner: Mutex<Inner>,
}

struct Inner {
    runtime: Option<Runtime>,
    conn: Option<Conn>,
    cache: HashMap<(String, String), Columns>,
    /// The first lookup that failed; later tables are then not asked for.
    error: Option<String>,
}

impl ServerColumns {
    /// Connects now, so a server that cannot be reached is reported before the scan starts.
    pub fn connect(
        opts: Opts,
        label: &str,
        filters: Filters,
        recorder: Option<SqlRecorder>,
    ) -> anyhow::Result<Arc<ServerColumns>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let conn = runtime.block_on(async {
            let mut conn = crate::backend::connect::connect_to(opts, label).await?;
            conn.query_drop(arkc_binlog::plan::SESSION_SETTINGS).await?;
            anyhow::Ok(conn)
        });
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                runtime.shutdown_background();
                return Err(e.context(format!("reading column definitions from {label}")));
            }
        };
        Ok(Arc::new(ServerColumns {
            label: label.to_string(),
            filters,
            recorder,
            inner: Mutex::new(Inner {
                runtime: Some(runtime),
                conn: Some(conn),
                cache: HashMap::new(),
                error: None,
            }),
        }))
    }

    /// `connect` to a configured instance (its password resolved here, on the caller's thread).
    pub fn for_instance(
        inst: &crate::config::InstanceConfig,
        filters: Filters,
        recorder: Option<SqlRecorder>,
    ) -> anyhow::Result<Arc<ServerColumns>> {
        let password = crate::config::resolve_password(inst)?;
        let opts = Opts::from(crate::backend::connect::opts_for(inst, password)?);
        ServerColumns::connect(opts, &inst.address(), filters, recorder)
    }

    /// Why a lookup failed, if one did (the scan then went on without that definition).
    pub fn error(&self) -> Option<String> {
        self.inner.lock().ok()?.error.clone()
    }

    /// How many tables were looked up.
    pub fn tables_looked_up(&self) -> usize {
        self.inner.lock().map(|i| i.cache.len()).unwrap_or(0)
    }
}

impl ColumnSource for ServerColumns {
    fn columns(&self, schema: &str, table: &str) -> Columns {
        if !self.filters.keeps_table(schema, table) {
            return None;
        }
        let mut guard = self.inner.lock().ok()?;
        let inner = &mut *guard;
        let key = (schema.to_string(), table.to_string());
        if let Some(found) = inner.cache.get(&key) {
            return found.clone();
        }
        if inner.error.is_some() {
            return None;
        }
        let (Some(runtime), Some(conn)) = (inner.runtime.as_ref(), inner.conn.as_mut()) else {
            return None;
        };
        let tables = [key.clone()];
        let loaded = runtime.block_on(super::schema_info::load_schema_info(
            conn,
            &tables,
            self.recorder.as_ref(),
        ));
        let found = match loaded {
            Ok(mut info) => info.tables.remove(&key).map(Arc::new),
            Err(e) => {
                tracing::warn!(server = %self.label, "no column definitions: {e:#}");
                inner.error = Some(format!("{e:#}"));
                None
            }
        };
        inner.cache.insert(key, found.clone());
        found
    }
}

impl Drop for ServerColumns {
    /// Disconnects on a thread of its own: a plain thread may block on the runtime whatever
    /// context the last reference was dropped in (a scan thread, tokio's blocking pool).
    fn drop(&mut self) {
        let Ok(inner) = self.inner.get_mut() else {
            return;
        };
        let (Some(runtime), conn) = (inner.runtime.take(), inner.conn.take()) else {
            return;
        };
        let closing = std::thread::Builder::new()
            .name("arkc-columns-close".into())
            .spawn(move || {
                if let Some(conn) = conn {
                    let _ = runtime.block_on(conn.disconnect());
                }
                runtime.shutdown_background();
            });
        if closing.is_err() {
            tracing::warn!(server = %self.label, "could not close the column lookup connection");
        }
    }
}
