//! `arkc flashback --check` and `--execute` against a `--url` server: the scan of a source
//! (files or the replication stream) into the rows to check or the SQL to apply, the one exact
//! check (`flashback::check_on`, as the Binlog pane's `c`), and the apply of the rendered SQL
//! with the pane's runner. The CLI keeps only arguments, confirmation and output.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use arkc_binlog::check::{CheckMode, CheckRowSink, RowState};
use arkc_binlog::pipeline::ScanStats;
use arkc_binlog::plan::{FlashbackOptions, FlashbackPlanner, FlashbackStats};
use arkc_binlog::txn::{Filters, TxnBuilder};
use mysql_async::prelude::Queryable;

use super::flashback::{check_on, run_units_of, split_units, CheckRow, RowId, TxnResult};
use super::source::{scan_source, Source};
use crate::backend::connect::{connect_to, opts_address};
use crate::backend::SqlRecorder;

/// Where a checked row came from: file, offset and GTID of its transaction.
pub type RowOrigin = (std::sync::Arc<str>, u64, Option<std::sync::Arc<str>>);

/// The rows checked (rollback order), where each came from, and each one's state.
pub struct CheckedSource {
    pub rows: Vec<CheckRow>,
    pub origins: Vec<RowOrigin>,
    pub verdicts: Vec<(RowId, RowState)>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn connect(url: &str) -> anyhow::Result<mysql_async::Conn> {
    let opts = mysql_async::Opts::from_url(url)
        .context("bad --url (expected mysql://user:pass@host:port)")?;
    let address = opts_address(&opts);
    let mut conn = connect_to(opts, &address).await?;
    conn.query_drop(arkc_binlog::plan::SESSION_SETTINGS).await?;
    Ok(conn)
}

/// Scans `source` for the rows the filters keep, in rollback order, and checks each on `url`:
/// is it still as the binlog left it?
pub fn check_source(
    source: &Source,
    builder: &mut TxnBuilder,
    url: &str,
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<CheckedSource> {
    let mut sink = CheckRowSink::new();
    scan_source(source, false, builder, &mut sink, progress)?;
    let (rows, origins) = sink.rollback_order();
    let verdicts = runtime()?.block_on(async {
        let mut conn = connect(url).await?;
        let (events, _gone) = tokio::sync::mpsc::unbounded_channel();
        let rec = SqlRecorder::new("--url", events);
        let verdicts = check_on(&mut conn, &rec, CheckMode::BeforeApply, &rows).await?;
        conn.disconnect().await?;
        anyhow::Ok(verdicts)
    })?;
    Ok(CheckedSource {
        rows,
        origins,
        verdicts,
    })
}

/// Renders the SQL of `opts.direction` into `path` (the audit file), returning each
/// transaction block's byte range, for `apply_file`.
pub fn render_to_file(
    source: &Source,
    definitions: &TxnBuilder,
    filters: &Filters,
    opts: FlashbackOptions,
    path: &Path,
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<(Vec<(usize, usize)>, FlashbackStats)> {
    let mut builder = TxnBuilder::new(filters.clone());
    builder.schema = definitions.schema.clone();
    builder.columns = definitions.columns.clone();
    let mut planner = FlashbackPlanner::new(opts)?;
    scan_source(source, false, &mut builder, &mut planner, progress)?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut ranges = Vec::new();
    let mut at = 0usize;
    let stats = planner.finish_blocks(&mut |block| {
        ranges.push((at, block.len()));
        at += block.len();
        out.write_all(block.as_bytes())
            .map_err(arkc_binlog::BinlogError::Output)
    })?;
    out.flush()?;
    Ok((ranges, stats))
}

/// Apply a file `render_to_file` wrote with the pane's runner (`flashback::run_units`),
/// reading it a few MiB at a time so memory stays flat whatever the binlog size.
pub async fn apply_file(
    url: &str,
    path: &Path,
    blocks: &[(usize, usize)],
    total: usize,
    mut progress: impl FnMut(TxnResult),
) -> anyhow::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    const PIECE: usize = 4 << 20;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut conn = connect(url).await?;
    let (events, _gone) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new("--url", events);
    let (mut done, mut next) = (0, 0);
    while next < blocks.len() {
        let start = blocks[next].0;
        let mut end = next;
        while end < blocks.len() && (end == next || blocks[end].0 + blocks[end].1 - start <= PIECE)
        {
            end += 1;
        }
        let len = blocks[end - 1].0 + blocks[end - 1].1 - start;
        let mut text = vec![0u8; len];
        file.seek(SeekFrom::Start(start as u64))?;
        file.read_exact(&mut text)?;
        let text = String::from_utf8(text)
            .with_context(|| format!("{} is not UTF-8 at byte {start}", path.display()))?;
        let units = split_units(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let (ok, message) =
            run_units_of(&mut conn, &rec, &units, (done, total), true, &mut progress).await;
        if !ok {
            bail!("{message}");
        }
        done += units.iter().filter(|u| u.transaction).count();
        next = end;
    }
    conn.disconnect().await?;
    Ok(())
}
