//! Transactions and filters: groups decoded events into transactions (GTID, positions,
//! commit time, thread id, tables, per-type counts, annotate text) and applies the
//! user's filters, per transaction and per rows event.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::decoder::{Event, EventBody};
use crate::error::BinlogError;
use crate::event::{redact_statement, Gtid, QueryEvent, QueryKind};
use crate::rows::{RowsEvent, RowsKind};

/// One transaction as seen in the binlog (after filtering).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Transaction {
    pub gtid: Option<String>,
    pub file: String,
    pub start_pos: u64,
    pub end_pos: u64,
    /// Unix seconds of the transaction's first event (its commit time on the source).
    pub timestamp: u32,
    pub thread_id: Option<u32>,
    pub schema: Option<String>,
    /// `schema.table` names touched by the kept rows events, in first-seen order.
    pub tables: Vec<String>,
    pub inserts: u64,
    pub updates: u64,
    pub deletes: u64,
    pub annotate: Vec<String>,
    pub ddl: Vec<String>,
}

impl Transaction {
    /// "file:start-end" for comments and messages.
    pub fn position(&self) -> String {
        format!("{}:{}-{}", self.file, self.start_pos, self.end_pos)
    }

    pub fn time_utc(&self) -> String {
        let mut s = String::new();
        crate::render::push_timestamp(self.timestamp, 0, 0, &mut s);
        s
    }

    pub fn is_empty(&self) -> bool {
        self.inserts + self.updates + self.deletes == 0 && self.ddl.is_empty()
    }
}

/// A GTID set: MySQL `uuid[:tag]:1-5:7` entries or MariaDB `domain-server-seq`
/// (optionally `domain-server-first-last`), comma separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet {
    mysql: Vec<(String, Option<String>, u64, u64)>,
    mariadb: Vec<(u32, u32, u64, u64)>,
}

impl GtidSet {
    pub fn parse(s: &str) -> Result<GtidSet, String> {
        let mut set = GtidSet::default();
        for item in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            if item.contains(':') {
                set.parse_mysql(item)?;
            } else {
                let parts: Vec<&str> = item.split('-').collect();
                let num = |x: &str| x.parse::<u64>().map_err(|_| format!("bad GTID `{item}`"));
                let (first, last) = match parts.len() {
                    3 => (num(parts[2])?, num(parts[2])?),
                    4 => (num(parts[2])?, num(parts[3])?),
                    _ => return Err(format!("bad GTID `{item}` (expected domain-server-seq)")),
                };
                set.mariadb
                    .push((num(parts[0])? as u32, num(parts[1])? as u32, first, last));
            }
        }
        Ok(set)
    }

    fn parse_mysql(&mut self, item: &str) -> Result<(), String> {
        let mut parts = item.split(':');
        let uuid = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut tag = None;
        for p in parts {
            let range: Vec<&str> = p.split('-').collect();
            let num = |x: &str| x.parse::<u64>().ok();
            match (range.len(), num(range[0])) {
                (1, Some(n)) => self.mysql.push((uuid.clone(), tag.clone(), n, n)),
                (2, Some(a)) => {
                    let b = num(range[1]).ok_or_else(|| format!("bad GTID range `{p}`"))?;
                    self.mysql.push((uuid.clone(), tag.clone(), a, b));
                }
                (1, None) => tag = Some(p.to_string()),
                _ => return Err(format!("bad GTID interval `{p}` in `{item}`")),
            }
        }
        Ok(())
    }

    pub fn contains(&self, g: &Gtid) -> bool {
        match g {
            Gtid::MySql { sid, tag, gno } => {
                let uuid = crate::event::uuid_text(sid);
                self.mysql
                    .iter()
                    .any(|(u, t, a, b)| *u == uuid && t == tag && (*a..=*b).contains(gno))
            }
            Gtid::MariaDb {
                domain,
                server_id,
                seq,
            } => self
                .mariadb
                .iter()
                .any(|(d, s, a, b)| d == domain && s == server_id && (*a..=*b).contains(seq)),
            Gtid::Anonymous => false,
        }
    }
}

/// What to keep. Empty lists mean "everything".
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub start: Option<(String, u64)>,
    pub stop: Option<(String, u64)>,
    pub start_time: Option<u32>,
    pub stop_time: Option<u32>,
    pub gtid_include: Option<GtidSet>,
    pub gtid_exclude: Option<GtidSet>,
    pub databases: Vec<String>,
    /// (schema, table); schema None matches any schema.
    pub tables: Vec<(Option<String>, String)>,
    pub sql_types: Vec<RowsKind>,
    pub thread_ids: Vec<u32>,
}

impl Filters {
    /// Adds a `--table` value: `db.table` or `table`.
    pub fn add_table(&mut self, spec: &str) {
        match spec.split_once('.') {
            Some((db, t)) => self.tables.push((Some(db.to_string()), t.to_string())),
            None => self.tables.push((None, spec.to_string())),
        }
    }

    fn pos_ge(a: (&str, u64), b: &(String, u64)) -> bool {
        (a.0, a.1) >= (b.0.as_str(), b.1)
    }

    /// Transaction-level filters, decided at the transaction's first event.
    pub fn keeps_transaction(
        &self,
        file: &str,
        pos: u64,
        timestamp: u32,
        gtid: Option<&Gtid>,
    ) -> bool {
        if self
            .start
            .as_ref()
            .is_some_and(|s| !Self::pos_ge((file, pos), s))
        {
            return false;
        }
        if self
            .stop
            .as_ref()
            .is_some_and(|s| Self::pos_ge((file, pos), s))
        {
            return false;
        }
        if self.start_time.is_some_and(|t| timestamp < t)
            || self.stop_time.is_some_and(|t| timestamp >= t)
        {
            return false;
        }
        if let Some(inc) = &self.gtid_include {
            if !gtid.is_some_and(|g| inc.contains(g)) {
                return false;
            }
        }
        if let (Some(exc), Some(g)) = (&self.gtid_exclude, gtid) {
            if exc.contains(g) {
                return false;
            }
        }
        true
    }

    pub fn keeps_thread(&self, thread: Option<u32>) -> bool {
        self.thread_ids.is_empty() || thread.is_some_and(|t| self.thread_ids.contains(&t))
    }

    pub fn keeps_table(&self, schema: &str, table: &str) -> bool {
        (self.databases.is_empty() || self.databases.iter().any(|d| d == schema))
            && (self.tables.is_empty()
                || self
                    .tables
                    .iter()
                    .any(|(d, t)| t == table && d.as_deref().is_none_or(|d| d == schema)))
    }

    pub fn keeps_kind(&self, kind: RowsKind) -> bool {
        self.sql_types.is_empty() || self.sql_types.contains(&kind)
    }

    /// Whether a DDL statement run in `schema` concerns the filtered objects.
    pub fn keeps_ddl(&self, schema: &str, query: &str) -> bool {
        if self.databases.is_empty() && self.tables.is_empty() {
            return true;
        }
        let q = query.to_ascii_lowercase();
        let mentions = |name: &str| q.contains(&name.to_ascii_lowercase());
        self.databases.iter().any(|d| d == schema || mentions(d))
            || self.tables.iter().any(|(_, t)| mentions(t))
    }
}

/// What a prepared XA transaction is called in refusals.
const XA_PREPARED: &str =
    "XA PREPARE of an XA transaction (committed or rolled back later, separately)";

/// Receives the kept parts of each transaction, in binlog order.
pub trait TxnSink {
    /// A rows event that passed the filters; returns how many rows it held.
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        rows: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError>;
    /// A DDL (or other non-transactional statement) inside the kept range. Sinks that only
    /// care about row changes keep this default.
    fn statement(
        &mut self,
        _txn: &Transaction,
        _ev: &Event<'_>,
        _q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        Ok(())
    }
    /// The transaction committed; `txn` has its final counts and end position.
    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError>;
    /// The transaction was rolled back in the binlog: drop what `rows` received.
    fn rollback(&mut self, txn: &Transaction) -> Result<(), BinlogError>;
}

/// Groups events into transactions and feeds a sink.
#[derive(Default)]
pub struct TxnBuilder {
    pub filters: Filters,
    /// Column names for table maps without them (from information_schema).
    pub schema: Option<std::sync::Arc<crate::schema::SchemaInfo>>,
    /// Column definitions asked for as each table's first TABLE_MAP arrives.
    pub columns: Option<std::sync::Arc<dyn crate::schema::ColumnSource>>,
    file: String,
    cur: Option<Transaction>,
    /// BEGIN seen: the transaction ends at XID/COMMIT, not after one statement.
    explicit: bool,
    keep: bool,
    pending_gtid: Option<(Gtid, u64, u32)>,
    tables_seen: BTreeSet<String>,
}

impl std::fmt::Debug for TxnBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnBuilder")
            .field("filters", &self.filters)
            .field("file", &self.file)
            .field("cur", &self.cur)
            .finish_non_exhaustive()
    }
}

impl TxnBuilder {
    pub fn new(filters: Filters) -> Self {
        TxnBuilder {
            filters,
            ..Default::default()
        }
    }

    /// Names the file the following events come from (file name only, no directory).
    pub fn set_file(&mut self, name: &str) {
        self.file = name.to_string();
    }

    fn start(&mut self, ev: &Event<'_>) {
        let (gtid, pos, ts) = match self.pending_gtid.take() {
            Some((g, pos, ts)) => (Some(g), pos, ts),
            None => (None, ev.offset, ev.header.timestamp),
        };
        self.keep = self
            .filters
            .keeps_transaction(&self.file, pos, ts, gtid.as_ref());
        self.cur = Some(Transaction {
            gtid: gtid
                .filter(|g| *g != Gtid::Anonymous)
                .map(|g| g.to_string()),
            file: self.file.clone(),
            start_pos: pos,
            end_pos: ev.end,
            timestamp: ts,
            ..Default::default()
        });
        self.tables_seen.clear();
    }

    fn finish<S: TxnSink>(
        &mut self,
        ev: &Event<'_>,
        sink: &mut S,
        committed: bool,
    ) -> Result<(), BinlogError> {
        self.explicit = false;
        if let Some(mut t) = self.cur.take() {
            t.end_pos = ev.end;
            if !self.keep || !self.filters.keeps_thread(t.thread_id) {
                return Ok(());
            }
            if committed {
                sink.commit(&t)?;
            } else {
                sink.rollback(&t)?;
            }
        }
        Ok(())
    }

    /// Feeds one decoded event.
    pub fn push<S: TxnSink>(&mut self, ev: &Event<'_>, sink: &mut S) -> Result<(), BinlogError> {
        match &ev.body {
            EventBody::Gtid(g) => {
                self.pending_gtid = Some((g.gtid.clone(), ev.offset, ev.header.timestamp));
                // A MariaDB GTID without the standalone flag opens a transaction (no BEGIN follows
                // in some versions, and the thread id only comes from a later QUERY).
                if matches!(g.gtid, Gtid::MariaDb { .. }) && !g.standalone {
                    self.start(ev);
                    self.explicit = true;
                }
            }
            EventBody::Query(q) => self.query(ev, q, sink)?,
            EventBody::Xid(_) => self.finish(ev, sink, true)?,
            EventBody::XaPrepare => {
                // MariaDB logs a prepared XA transaction as its rows and this event; whether it
                // committed comes later, in a separate XA COMMIT / XA ROLLBACK: refused by name.
                if let Some(t) = self.cur.as_ref().filter(|_| self.keep) {
                    let q = QueryEvent {
                        thread_id: t.thread_id.unwrap_or(0),
                        exec_time: 0,
                        error_code: 0,
                        schema: "".into(),
                        query: XA_PREPARED.as_bytes().into(),
                    };
                    sink.statement(t, ev, &q)?;
                }
                self.finish(ev, sink, true)?
            }
            EventBody::Annotate(text) => {
                if self.cur.is_none() {
                    self.start(ev);
                }
                if let Some(t) = self.cur.as_mut() {
                    t.annotate.push(text.trim().to_string());
                }
            }
            EventBody::Rows(r) => self.rows(ev, r, sink)?,
            EventBody::TableMap(_) if self.cur.is_none() => self.start(ev),
            _ => {}
        }
        Ok(())
    }

    fn query<S: TxnSink>(
        &mut self,
        ev: &Event<'_>,
        q: &QueryEvent<'_>,
        sink: &mut S,
    ) -> Result<(), BinlogError> {
        // An XA transaction is prepared (XA END, XA PREPARE) and committed or rolled back by a
        // later, separate XA COMMIT / XA ROLLBACK: its rows may never have happened. Refused
        // by name (the sinks refuse any statement they are handed).
        if q.is_xa() && self.keep && self.filters.keeps_thread(Some(q.thread_id)) {
            if let Some(t) = self.cur.as_ref() {
                sink.statement(t, ev, q)?;
            }
        }
        match q.kind() {
            QueryKind::Begin => {
                if !(self.explicit && self.cur.is_some()) {
                    self.start(ev);
                }
                self.explicit = true;
                if let Some(t) = self.cur.as_mut() {
                    t.thread_id = Some(q.thread_id);
                    t.schema = Some(q.schema.to_string()).filter(|s| !s.is_empty());
                }
            }
            QueryKind::Commit => self.finish(ev, sink, true)?,
            QueryKind::Rollback => self.finish(ev, sink, false)?,
            QueryKind::Savepoint => {}
            QueryKind::Statement => {
                if self.cur.is_none() {
                    self.start(ev);
                }
                let text = q.query_text();
                let keep_ddl = self.keep && self.filters.keeps_ddl(&q.schema, &text);
                if let Some(t) = self.cur.as_mut() {
                    t.thread_id.get_or_insert(q.thread_id);
                    if keep_ddl {
                        t.ddl.push(redact_statement(text.trim()).into_owned());
                    }
                }
                if keep_ddl && self.filters.keeps_thread(Some(q.thread_id)) {
                    if let Some(t) = self.cur.as_ref() {
                        sink.statement(t, ev, q)?;
                    }
                }
                if !self.explicit {
                    self.finish(ev, sink, true)?;
                }
            }
        }
        Ok(())
    }

    fn rows<S: TxnSink>(
        &mut self,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
        sink: &mut S,
    ) -> Result<(), BinlogError> {
        if self.cur.is_none() {
            self.start(ev);
        }
        let keep = self.keep
            && self.filters.keeps_table(&r.table.schema, &r.table.table)
            && self.filters.keeps_kind(r.kind);
        let Some(t) = self.cur.as_mut() else {
            return Ok(());
        };
        if !keep {
            return Ok(());
        }
        if !self.filters.keeps_thread(t.thread_id) {
            return Ok(());
        }
        let n = sink.rows(t, ev, r)?;
        match r.kind {
            RowsKind::Insert => t.inserts += n,
            RowsKind::Update => t.updates += n,
            RowsKind::Delete => t.deletes += n,
        }
        let name = format!("{}.{}", r.table.schema, r.table.table);
        if self.tables_seen.insert(name.clone()) {
            t.tables.push(name);
        }
        Ok(())
    }
}

/// A `TxnSink` keeping only transaction summaries (no rows): what a browsing pane lists.
/// With `limit`, only the newest `limit` transactions are kept.
#[derive(Debug, Default)]
pub struct TransactionCollector {
    pub transactions: std::collections::VecDeque<Transaction>,
    pub limit: Option<usize>,
}

impl TransactionCollector {
    pub fn new(limit: Option<usize>) -> Self {
        TransactionCollector {
            transactions: Default::default(),
            limit,
        }
    }
}

impl TxnSink for TransactionCollector {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        r.count_rows()
            .map(|n| n as u64)
            .map_err(|e| BinlogError::Decode {
                path: txn.file.clone().into(),
                offset: ev.offset,
                event: "ROWS",
                reason: e.0,
            })
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        if txn.is_empty() {
            return Ok(());
        }
        if self.limit.is_some_and(|l| self.transactions.len() >= l) {
            self.transactions.pop_front();
        }
        self.transactions.push_back(txn.clone());
        Ok(())
    }

    fn rollback(&mut self, _: &Transaction) -> Result<(), BinlogError> {
        Ok(())
    }
}
