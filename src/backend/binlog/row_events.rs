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
use arkc_binlog::invert::RowEventSink;
use mysql_async::prelude::Queryable;

use super::in_doubt::label_span;
use super::sql_units::Unit;

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
        blocks: HashMap<(String, u64), (u64, usize)>,
    },
    Unsupported(String),
}

impl RowEvents {
    pub fn finish(spool: RowEventSpool) -> anyhow::Result<RowEvents> {
        if let Some(why) = spool.unsupported.clone() {
            return Ok(RowEvents::Unsupported(why));
        }
        let blocks = spool
            .blocks
            .iter()
            .map(|b| ((b.file.clone(), b.start_pos), (b.offset, b.len)))
            .collect();
        match spool.into_inner().into_inner() {
            Ok(file) => Ok(RowEvents::Ready { file, blocks }),
            // The SQL path does not need the spool: a full disk here costs speed, not the restore.
            Err(e) => Ok(RowEvents::Unsupported(format!(
                "cannot write the row events' temporary file ({})",
                e.into_error()
            ))),
        }
    }

    /// The `BINLOG` statements of the transaction `unit` undoes; None for a unit that is
    /// not a transaction of the plan (session settings) or has no row events.
    pub fn statements(&self, unit: &Unit) -> anyhow::Result<Option<Vec<String>>> {
        let RowEvents::Ready { file, blocks } = self else {
            return Ok(None);
        };
        let Some((name, start, _)) = label_span(&unit.label) else {
            return Ok(None);
        };
        let Some(&(offset, len)) = blocks.get(&(name, start)) else {
            return Ok(None);
        };
        let mut text = vec![0u8; len];
        file.read_exact_at(&mut text, offset)
            .context("cannot read the row events' temporary file")?;
        let text = String::from_utf8(text).context("row events' temporary file is damaged")?;
        // Base64 holds no `;`: the separator is unambiguous.
        Ok(Some(text.split(";\n").map(str::to_string).collect()))
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
