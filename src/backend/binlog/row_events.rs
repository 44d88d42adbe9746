//! The rollback as row events, kept beside the SQL plan for `--execute`: one `BINLOG`
//! statement per source transaction (`arkc_binlog::invert`) in an unnamed temporary file,
//! found again by the transaction's binlog position (the SQL unit's label names it). The
//! server applies row events for less CPU than the same rows as SQL, and arkc sends them
//! from the one read of the binlog it already made. The SQL stays the audit record and
//! the path taken whenever row events are not right (see `usable`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::os::unix::fs::FileExt;

use anyhow::Context;
use arkc_binlog::apply_keys::TxnKeys;
use arkc_binlog::invert::RowEventSink;
use mysql_async::prelude::Queryable;

use super::in_doubt::label_span;

/// The sink that writes the statements while the plan is rendered.
pub type RowEventSpool = RowEventSink<BufWriter<File>>;

/// A new spool in the data dir's `tmp` (unnamed: gone when arkc exits, whatever happens).
pub fn spool() -> anyhow::Result<RowEventSpool> {
    let dir = crate::config::data_dir()
        .context("no XDG data dir for the row events' temporary file")?
        .join("tmp");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = tempfile::tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    Ok(RowEventSink::new(BufWriter::new(file)))
}

/// The statements of a finished spool, or why the plan cannot be sent as row events.
pub enum RowEvents {
    Ready {
        file: File,
        /// Each transaction's statements in `file` by its binlog position: (offset, length,
        /// rows, keys). The keys, read from the row images, are there for every transaction
        /// or for none (see `keyed`).
        blocks: HashMap<(String, u64), Spooled>,
        /// Every transaction's keys came from its row images.
        keyed: bool,
    },
    Unsupported(String),
}

/// One transaction's statements in the spool file, and what it writes.
pub struct Spooled {
    offset: u64,
    len: usize,
    pub rows: u64,
    pub keys: TxnKeys,
}

/// A transaction of the plan as row events: its `BINLOG` statements (the base64 of each,
/// `invert::statement_payloads`), its rows and, when the row images gave them, the rows it
/// writes.
pub struct RowEventTxn {
    pub statements: Vec<Vec<u8>>,
    pub rows: u64,
    pub keys: Option<TxnKeys>,
}

impl RowEvents {
    pub fn finish(mut spool: RowEventSpool) -> anyhow::Result<RowEvents> {
        if let Some(why) = spool.unsupported.clone() {
            return Ok(RowEvents::Unsupported(why));
        }
        let keyed = spool.keys.iter().all(Option::is_some);
        let blocks = spool
            .blocks
            .iter()
            .zip(std::mem::take(&mut spool.keys))
            .map(|(b, keys)| {
                let spooled = Spooled {
                    offset: b.offset,
                    len: b.len,
                    rows: b.rows,
                    keys: keys.unwrap_or_default(),
                };
                ((b.file.clone(), b.start_pos), spooled)
            })
            .collect();
        match spool.into_inner().into_inner() {
            Ok(file) => Ok(RowEvents::Ready {
                file,
                blocks,
                keyed,
            }),
            // The SQL path does not need the spool: a full disk here costs speed, not the restore.
            Err(e) => Ok(RowEvents::Unsupported(format!(
                "cannot write the row events' temporary file ({})",
                e.into_error()
            ))),
        }
    }

    /// The transaction of the plan that the unit labelled `label` undoes: None for a label
    /// that names no transaction of the plan (session settings) or one without row events.
    pub fn transaction(&self, label: &str) -> anyhow::Result<Option<RowEventTxn>> {
        let RowEvents::Ready {
            file,
            blocks,
            keyed,
        } = self
        else {
            return Ok(None);
        };
        let Some((name, start, _)) = label_span(label) else {
            return Ok(None);
        };
        let Some(spooled) = blocks.get(&(name, start)) else {
            return Ok(None);
        };
        let mut block = vec![0u8; spooled.len];
        file.read_exact_at(&mut block, spooled.offset)
            .context("cannot read the row events' temporary file")?;
        let statements = arkc_binlog::invert::statement_payloads(block)
            .map_err(|e| anyhow::anyhow!("the row events' temporary file is damaged ({e})"))?;
        Ok(Some(RowEventTxn {
            statements,
            rows: spooled.rows,
            keys: keyed.then(|| spooled.keys.clone()),
        }))
    }

    /// Every transaction's keys came from its row images (see `RowEventTxn::keys`).
    pub fn keyed(&self) -> bool {
        matches!(self, RowEvents::Ready { keyed: true, .. })
    }
}

/// Whether the server at `conn` applies MariaDB row events: MariaDB, and the account may
/// run `BINLOG` (BINLOG REPLAY or SUPER; the format description statement itself is the
/// test, on each connection, by `ParallelApply::start_row_events`). Err: why not.
pub async fn usable(conn: &mut mysql_async::Conn) -> Result<(), String> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| format!("cannot read the server's version: {e}"))?;
    let version = version.unwrap_or_default();
    if !version.contains("MariaDB") {
        return Err(format!("the server is not MariaDB ({version})"));
    }
    Ok(())
}
