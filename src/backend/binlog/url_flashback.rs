//! `arkc flashback --check` and `--execute` against a server (`--url` or `--instance`): the scan of a source
//! (files or the replication stream) into the rows to check or the SQL to apply, the one exact
//! check (the walk of `arkc_binlog::check`, as the Binlog pane's `c`, over spilled rows), and the apply of the rendered SQL
//! with the pane's runner. The CLI keeps only arguments, confirmation and output.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arkc_binlog::check_spill::{CheckSpill, SpilledProblem};
use arkc_binlog::event::QueryEvent;
use arkc_binlog::pipeline::ScanStats;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner, FlashbackStats};
use arkc_binlog::txn::{Filters, Transaction, TxnBuilder, TxnSink};
use arkc_binlog::{BinlogError, Event, RowsEvent};
use mysql_async::prelude::Queryable;

use super::apply_parallel::{ParallelApply, Work, MAX_APPLY_CONNECTIONS};
use super::flashback::{run_units_of, TxnResult};
use super::in_doubt;
use super::row_events::{self, RowEvents};
use super::source::{scan_source, Source};
use super::sql_units::{split_units, Unit};
use super::stream::StreamServer;
use crate::backend::SqlRecorder;

/// What `check_source` found: rows checked, and how many changed since the binlog.
pub struct CheckedSource {
    pub rows: u64,
    pub problems: u64,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn connect(server: &StreamServer) -> anyhow::Result<mysql_async::Conn> {
    let mut conn = server.sql_conn().await?;
    conn.query_drop(arkc_binlog::plan::SESSION_SETTINGS).await?;
    Ok(conn)
}

/// Scans `source` for the rows the filters keep and checks each on `server` (is it still as the
/// binlog left it?), in bounded memory: the rows wait in a temporary file in the data dir's
/// `tmp` while the check walks them newest first (`arkc_binlog::check_spill`). `problem` gets
/// each row changed since, in rollback order.
pub fn check_source(
    source: &Source,
    builder: &mut TxnBuilder,
    server: &StreamServer,
    progress: &mut dyn FnMut(&ScanStats),
    problem: &mut dyn FnMut(SpilledProblem) -> Result<(), BinlogError>,
) -> anyhow::Result<CheckedSource> {
    let mut sink = CheckSpill::new(&super::service::check_spill_dir()?)?;
    scan_source(source, false, builder, &mut sink, progress)?;
    let check = runtime()?.block_on(async {
        let mut conn = connect(server).await?;
        // Nobody reads the statements here: a receiver kept alive would hold every one
        // (all the SQL of a check or an apply, hundreds of MB on a large binlog).
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let rec = SqlRecorder::new(&server.label, events);
        let check = super::service::run_spilled_check(&mut conn, &rec, sink).await?;
        conn.disconnect().await?;
        anyhow::Ok(check)
    })?;
    let rows = check.rows();
    let problems = check.verdicts(problem)?;
    Ok(CheckedSource { rows, problems })
}

/// The SQL and its inverse rendered from one read of the source.
pub struct RenderedPair {
    /// Byte range of the header and of each whole transaction in the SQL file, for
    /// `apply_file`.
    pub blocks: Vec<(usize, usize)>,
    pub stats: FlashbackStats,
    /// A rollback's transactions as MariaDB row events, for `apply_file_with`.
    pub row_events: Option<RowEvents>,
}

/// Renders the SQL of `opts.direction` into `path` and its inverse into `inverse_path` (the
/// audit files) in one pass over the source: a stream is pulled once, not once per file.
pub fn render_with_inverse(
    source: &Source,
    definitions: &TxnBuilder,
    filters: &Filters,
    opts: FlashbackOptions,
    (path, inverse_path): (&Path, &Path),
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<RenderedPair> {
    let fresh_builder = || {
        let mut builder = TxnBuilder::new(filters.clone());
        builder.schema = definitions.schema.clone();
        builder.columns = definitions.columns.clone();
        builder
    };
    let inverse = FlashbackOptions {
        direction: match opts.direction {
            Direction::Rollback => Direction::Forward,
            Direction::Forward => Direction::Rollback,
        },
        ..opts
    };
    // Row events are the rollback's only: the forward direction stays SQL.
    let spool = || match opts.direction {
        Direction::Rollback => row_events::spool().map(Some),
        Direction::Forward => Ok(None),
    };
    if let Source::Files { .. } = source {
        let parallel = render_on_parallel_reads(
            source,
            &fresh_builder,
            (opts, inverse),
            spool()?,
            (path, inverse_path),
            progress,
        )?;
        if let Some(rendered) = parallel {
            return Ok(rendered);
        }
    }
    render_in_one_scan(
        source,
        &fresh_builder,
        (opts, inverse),
        spool()?,
        (path, inverse_path),
        progress,
    )
}

/// `render_with_inverse` from one read of the source (a stream is pulled once).
fn render_in_one_scan(
    source: &Source,
    fresh_builder: &(dyn Fn() -> TxnBuilder + Sync),
    (opts, inverse): (FlashbackOptions, FlashbackOptions),
    spool: Option<row_events::RowEventSpool>,
    (path, inverse_path): (&Path, &Path),
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<RenderedPair> {
    let mut builder = fresh_builder();
    let both = Both(
        FlashbackPlanner::new(opts)?,
        FlashbackPlanner::new(inverse)?,
    );
    let mut all = Both(both, MaybeSink(spool));
    scan_source(source, false, &mut builder, &mut all, progress)?;
    let Both(Both(planner, inverse), MaybeSink(spool)) = all;
    // The two files on two threads: each waits for its own fsync, and the scan left a core
    // free (the server is idle until the apply starts). The SQL file's error comes first.
    let (written, inverse_written) = std::thread::scope(|s| {
        let inverse = s.spawn(|| write_blocks(inverse, inverse_path));
        let written = write_blocks(planner, path);
        let inverse_written = joined(inverse, "writing", inverse_path);
        (written, inverse_written)
    });
    let (blocks, stats) = written?;
    inverse_written?;
    let row_events = spool.map(RowEvents::finish).transpose()?;
    Ok(RenderedPair {
        blocks,
        stats,
        row_events,
    })
}

/// `render_with_inverse` for binlog files, with the inverse rendered by a second read of the
/// files and the row events spooled by a third, each on its own thread, while this one
/// renders the SQL: the planners' work, the largest part of the scan, then takes about the
/// time of one on two cores. Binlog files only grow, so each read sees a prefix of the
/// others': the same files, bytes and events read means the same transactions. None when
/// they differ (a binlog written to between the reads): the caller renders all of it again
/// from one read.
fn render_on_parallel_reads(
    source: &Source,
    fresh_builder: &(dyn Fn() -> TxnBuilder + Sync),
    (opts, inverse): (FlashbackOptions, FlashbackOptions),
    spool: Option<row_events::RowEventSpool>,
    (path, inverse_path): (&Path, &Path),
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<Option<RenderedPair>> {
    // The row events are spooled by a third read: the three pieces of work then share the
    // two cores about evenly instead of one thread doing two of them.
    let (mine, theirs, spooled) = std::thread::scope(|s| {
        let other = s.spawn(|| {
            let mut builder = fresh_builder();
            let mut planner = FlashbackPlanner::new(inverse)?;
            let read = scan_source(source, false, &mut builder, &mut planner, &mut |_| {})?;
            anyhow::Ok((read, write_blocks(planner, inverse_path)))
        });
        let spooling = spool.map(|mut spool| {
            s.spawn(move || {
                let mut builder = fresh_builder();
                let read = scan_source(source, false, &mut builder, &mut spool, &mut |_| {})?;
                anyhow::Ok((read, spool))
            })
        });
        let mine = (|| {
            let mut builder = fresh_builder();
            let mut planner = FlashbackPlanner::new(opts)?;
            let read = scan_source(source, false, &mut builder, &mut planner, progress)?;
            anyhow::Ok((read, write_blocks(planner, path)))
        })();
        let theirs = joined(other, "rendering", inverse_path);
        let spooled = spooling
            .map(|t| joined(t, "spooling the row events of", path))
            .transpose();
        (mine, theirs, spooled)
    });
    let (read, written) = mine?;
    let (inverse_read, inverse_written) = theirs?;
    let (spool_read, spool) = spooled?.unzip();
    let (blocks, stats) = written?;
    inverse_written?;
    let seen = |r: &ScanStats| (r.files, r.bytes, r.events);
    let same =
        seen(&read) == seen(&inverse_read) && spool_read.is_none_or(|r| seen(&read) == seen(&r));
    if !same {
        return Ok(None);
    }
    let row_events = spool.map(RowEvents::finish).transpose()?;
    Ok(Some(RenderedPair {
        blocks,
        stats,
        row_events,
    }))
}

/// What a scoped thread working on `path` returned; a panic there is told as `doing` it failed.
fn joined<T>(
    thread: std::thread::ScopedJoinHandle<'_, anyhow::Result<T>>,
    doing: &str,
    path: &Path,
) -> anyhow::Result<T> {
    thread
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("{doing} {} failed", path.display())))
}

fn write_blocks(
    planner: FlashbackPlanner,
    path: &Path,
) -> anyhow::Result<(Vec<(usize, usize)>, FlashbackStats)> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut ranges = Vec::new();
    let mut at = 0usize;
    let written = planner.finish_blocks(&mut |block, closes| {
        // One range per transaction (or the header), however many pieces it came in: the
        // apply reads whole ranges, never a transaction cut in two.
        match ranges.last_mut() {
            Some((_, len, false)) => *len += block.len(),
            _ => ranges.push((at, block.len(), closes)),
        }
        if let Some(last) = ranges.last_mut() {
            last.2 = closes;
        }
        at += block.len();
        out.write_all(block.as_bytes())
            .map_err(arkc_binlog::BinlogError::Output)
    });
    let stats = match written {
        Err(arkc_binlog::BinlogError::Output(e)) => {
            return Err(e).with_context(|| format!("cannot write {}", path.display()))
        }
        other => other?,
    };
    out.flush()
        .and_then(|_| out.get_ref().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((
        ranges.into_iter().map(|(at, len, _)| (at, len)).collect(),
        stats,
    ))
}

/// Hands every transaction to two sinks (the SQL and its inverse).
struct Both<A, B>(A, B);

/// A sink that may be absent.
struct MaybeSink<S>(Option<S>);

impl<S: TxnSink> TxnSink for MaybeSink<S> {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        rows: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        match &mut self.0 {
            Some(s) => s.rows(txn, ev, rows),
            None => Ok(0),
        }
    }

    fn statement(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        match &mut self.0 {
            Some(s) => s.statement(txn, ev, q),
            None => Ok(()),
        }
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        match &mut self.0 {
            Some(s) => s.commit(txn),
            None => Ok(()),
        }
    }

    fn rollback(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        match &mut self.0 {
            Some(s) => s.rollback(txn),
            None => Ok(()),
        }
    }
}

impl<A: TxnSink, B: TxnSink> TxnSink for Both<A, B> {
    fn rows(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        rows: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        let n = self.0.rows(txn, ev, rows)?;
        self.1.rows(txn, ev, rows)?;
        Ok(n)
    }

    fn statement(
        &mut self,
        txn: &Transaction,
        ev: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        self.0.statement(txn, ev, q)?;
        self.1.statement(txn, ev, q)
    }

    fn commit(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        self.0.commit(txn)?;
        self.1.commit(txn)
    }

    fn rollback(&mut self, txn: &Transaction) -> Result<(), BinlogError> {
        self.0.rollback(txn)?;
        self.1.rollback(txn)
    }
}

/// Apply a file `render_with_inverse` wrote, reading it a few MiB at a time so memory stays
/// flat whatever the binlog size: with one connection by the pane's serial runner
/// (`flashback::run_units_of`), with more by `apply_parallel::ParallelApply` (one server
/// transaction per source transaction either way, COMMITs in plan order).
pub async fn apply_file(
    server: &StreamServer,
    path: &Path,
    blocks: &[(usize, usize)],
    (total, connections): (usize, usize),
    progress: impl FnMut(TxnResult),
) -> anyhow::Result<()> {
    let sql = (path, blocks);
    apply_file_with(
        server,
        sql,
        None,
        (total, connections),
        &mut |_| {},
        progress,
    )
    .await
}

/// `apply_file`, sending each transaction as its MariaDB row events where `row_events` has
/// them and the server takes them (`row_events::usable`); otherwise the SQL. `announce` gets
/// one sentence saying which path runs, and why not row events when they are not used.
pub async fn apply_file_with(
    server: &StreamServer,
    (path, blocks): (&Path, &[(usize, usize)]),
    row_events: Option<&RowEvents>,
    (total, connections): (usize, usize),
    announce: &mut dyn FnMut(String),
    mut progress: impl FnMut(TxnResult),
) -> anyhow::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    const PIECE: usize = 4 << 20;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut conns = Vec::new();
    for _ in 0..connections.clamp(1, MAX_APPLY_CONNECTIONS) {
        conns.push(connect(server).await?);
    }
    // Nobody reads the statements here: a receiver kept alive would hold every one
    // (all the SQL of a check or an apply, hundreds of MB on a large binlog).
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let rec = SqlRecorder::new(&server.label, events);
    let n = conns.len();
    let mut rows_path = match row_events {
        Some(RowEvents::Ready { .. }) => row_events::usable(&mut conns[0]).await,
        Some(RowEvents::Unsupported(why)) => Err(why.clone()),
        None => Err(String::new()),
    };
    let mut runner = match (n, rows_path.is_ok()) {
        (1, false) => Runner::Serial(conns.pop().expect("one connection"), 0),
        _ => Runner::Parallel(
            ParallelApply::new(&rec, conns, total)
                .await
                .map_err(anyhow::Error::msg)?,
        ),
    };
    if let (Ok(()), Runner::Parallel(apply)) = (&rows_path, &mut runner) {
        if let Err(why) = apply.start_row_events().await {
            rows_path = Err(format!("the server refused BINLOG: {why}"));
        }
    }
    match &rows_path {
        Ok(()) => announce(format!(
            "applying as MariaDB row events (BINLOG statements) on {n} connection(s)"
        )),
        Err(why) if !why.is_empty() => announce(format!(
            "applying as SQL on {n} connection(s), not as row events: {why}"
        )),
        Err(_) => {}
    }
    let rows_path = rows_path.is_ok();
    let mut next = 0;
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
        let units = || split_units(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        match &mut runner {
            Runner::Serial(conn, done) => {
                let units = units()?;
                let (ok, message) =
                    run_units_of(conn, &rec, &units, (*done, total), true, &mut progress).await;
                if !ok {
                    anyhow::bail!("{message}");
                }
                *done += units.iter().filter(|u| u.transaction).count();
            }
            Runner::Parallel(apply) if rows_path => {
                let events = row_events.expect("row events chosen");
                let text = Arc::new(text);
                let mut work = Vec::new();
                for &(at, len) in &blocks[next..end] {
                    let range = at - start..at - start + len;
                    work.extend(row_event_work(events, &text, range, path)?);
                }
                apply
                    .feed_row_events(work, &mut progress)
                    .await
                    .map_err(anyhow::Error::msg)?
            }
            Runner::Parallel(apply) => apply
                .feed(units()?, &mut progress)
                .await
                .map_err(anyhow::Error::msg)?,
        }
        next = end;
    }
    match runner {
        Runner::Serial(conn, _) => Ok(conn.disconnect().await?),
        Runner::Parallel(mut apply) => apply
            .finish(&mut progress)
            .await
            .map_err(anyhow::Error::msg),
    }
}

/// The work of one range of the plan (`RenderedPair::blocks`: the header or one whole
/// transaction) applied as row events. A transaction whose keys came from its row images is
/// not split into statements: its label is read from its first lines (`-- undo ...` then
/// `BEGIN;`), its SQL kept aside in case it has to run as SQL. Anything else is split.
fn row_event_work(
    events: &RowEvents,
    text: &Arc<String>,
    range: std::ops::Range<usize>,
    path: &Path,
) -> anyhow::Result<Vec<Work>> {
    if events.keyed() {
        if let Some(label) = transaction_label(&text[range.clone()]) {
            if let Some(txn) = events.transaction(label)? {
                let unit = Unit {
                    label: label.to_string(),
                    statements: Vec::new(),
                    transaction: true,
                };
                return Ok(vec![Work {
                    unit,
                    unsplit: Some((text.clone(), range)),
                    row_events: Some(txn.statements),
                    keys: txn.keys,
                    rows: Some(txn.rows),
                }]);
            }
        }
    }
    let units =
        split_units(&text[range]).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut work = Vec::with_capacity(units.len());
    for unit in units {
        let txn = events.transaction(&unit.label)?;
        work.push(Work {
            keys: txn.as_ref().and_then(|t| t.keys.clone()),
            rows: txn.as_ref().map(|t| t.rows),
            row_events: txn.map(|t| t.statements),
            unit,
            unsplit: None,
        });
    }
    Ok(work)
}

/// The label of a planner transaction block: its first line is `-- LABEL`, the next
/// `BEGIN;` (see `arkc_binlog::plan::txn_header`); None for any other text.
fn transaction_label(block: &str) -> Option<&str> {
    let mut lines = block.trim_start_matches('\n').splitn(3, '\n');
    let line = lines.next()?;
    // As `split_units` reads a comment: the dashes and the spaces around the text dropped.
    let label = line.strip_prefix("--")?.trim_start_matches('-').trim();
    (lines.next()?.trim() == "BEGIN;").then_some(label)
}

/// One connection and the transactions it ran, or the parallel runner.
enum Runner<'a> {
    Serial(mysql_async::Conn, usize),
    Parallel(ParallelApply<'a>),
}

/// Settle the transaction in doubt that `label` names (see `in_doubt`): read its rows from
/// `source` again (a scan that keeps that transaction only, into a temporary file: memory
/// never holds its rows), reconnect to `server` and check them both ways. The sentence to show, whatever happens: an unreachable server or an unreadable
/// source leaves it in doubt, and says so.
pub fn settle_in_doubt(
    source: &Source,
    definitions: &TxnBuilder,
    filters: &Filters,
    server: &StreamServer,
    label: &str,
) -> String {
    let settled = (|| {
        let (file, start, end) = in_doubt::label_span(label)
            .with_context(|| format!("no binlog position in its label `{label}`"))?;
        // Only that transaction is kept from the scan (its span), not the range's rows.
        let span = Filters {
            start: Some((file.clone(), start)),
            stop: Some((file.clone(), end)),
            ..filters.clone()
        };
        let mut builder = TxnBuilder::new(span);
        builder.schema = definitions.schema.clone();
        builder.columns = definitions.columns.clone();
        let mut sink = CheckSpill::new(&super::service::check_spill_dir()?)?;
        scan_source(source, false, &mut builder, &mut sink, &mut |_| {})?;
        runtime()?.block_on(async {
            let mut conn = connect(server)
                .await
                .context("cannot reconnect to settle it")?;
            let (events, _gone) = tokio::sync::mpsc::unbounded_channel();
            let rec = SqlRecorder::new(&server.label, events);
            let settled = in_doubt::settle_spilled(&mut conn, &rec, sink).await?;
            let _ = conn.disconnect().await;
            anyhow::Ok(settled)
        })
    })();
    match settled {
        Ok(s) => s.describe(label),
        Err(e) => format!(
            "{label} stays in doubt: {e:#}; when the server answers, `arkc flashback --check` \
             with the same range shows which rows are still to undo"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

    /// What `render` compares: the SQL, its inverse, and the row events described.
    type Rendered = (Vec<u8>, Vec<u8>, String);

    /// The SQL, its inverse, and the row events (described) rendered from `file`, and how
    /// many transactions were spooled as row events.
    fn render(file: &Path, dir: &Path, parallel: bool) -> Option<(Rendered, usize)> {
        let source = Source::Files {
            files: vec![file.to_path_buf()],
        };
        let opts = FlashbackOptions::default();
        let inverse = FlashbackOptions {
            direction: Direction::Forward,
            ..opts
        };
        let fresh = || TxnBuilder::new(Filters::default());
        let (path, inverse_path) = (dir.join("apply.sql"), dir.join("redo.sql"));
        let paths = (path.as_path(), inverse_path.as_path());
        let spool = arkc_binlog::invert::RowEventSink::new(std::io::BufWriter::new(
            tempfile::tempfile().expect("spool"),
        ));
        let rendered = match parallel {
            true => render_on_parallel_reads(
                &source,
                &fresh,
                (opts, inverse),
                Some(spool),
                paths,
                &mut |_| {},
            )
            .map(|r| r.expect("a file read twice reads the same")),
            false => render_in_one_scan(
                &source,
                &fresh,
                (opts, inverse),
                Some(spool),
                paths,
                &mut |_| {},
            ),
        };
        let rendered = rendered.ok()?;
        // The row events: the spool's bytes, its transactions and their rows, and whether the
        // keys came from the row images.
        let (row_events, spooled) = match rendered.row_events {
            Some(RowEvents::Ready {
                mut file,
                blocks,
                keyed,
            }) => {
                use std::io::{Read, Seek};
                let mut bytes = Vec::new();
                file.rewind().expect("spool");
                file.read_to_end(&mut bytes).expect("spool");
                let rows: u64 = blocks.values().map(|b| b.rows).sum();
                let described = format!("{} {rows} {keyed} {}", blocks.len(), sha(&bytes));
                (described, blocks.len())
            }
            Some(RowEvents::Unsupported(why)) => (why, 0),
            None => ("none".into(), 0),
        };
        let rendered = (
            std::fs::read(&path).expect("apply file"),
            std::fs::read(&inverse_path).expect("redo file"),
            format!("{} transactions, {row_events}", rendered.stats.transactions),
        );
        Some((rendered, spooled))
    }

    fn sha(bytes: &[u8]) -> String {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(bytes))
    }

    #[test]
    fn a_transaction_label_is_read_as_the_splitter_reads_it() {
        let block =
            "\n-- undo GTID 0-1-5 at bin.000001:100-200 committed 2026-01-01 00:00:00 UTC, \
                     thread 7 \nBEGIN;\nDELETE FROM `a`.`b` WHERE `id` = 1 LIMIT 1;\nCOMMIT;\n";
        let units = split_units(block).unwrap();
        assert_eq!(transaction_label(block), Some(units[0].label.as_str()));
        assert!(units[0].label.ends_with("thread 7"), "{}", units[0].label);
        // Not a transaction block: the header, a block without its comment.
        assert_eq!(
            transaction_label("-- arkc flashback\nSET NAMES utf8mb4;\n"),
            None
        );
        assert_eq!(transaction_label("BEGIN;\nCOMMIT;\n"), None);
    }

    #[test]
    fn parallel_reads_of_the_files_render_what_one_read_renders() {
        let (mut compared, mut with_row_events) = (0, 0);
        for entry in std::fs::read_dir(CORPUS).expect("corpus") {
            let file = entry.expect("entry").path();
            if file.extension().is_some_and(|e| e == "txt") {
                continue;
            }
            let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let single = render(&file, one.path(), false);
            let double = render(&file, two.path(), true);
            assert_eq!(single, double, "{}", file.display());
            with_row_events += usize::from(single.as_ref().is_some_and(|(_, n)| *n > 0));
            compared += usize::from(single.is_some_and(|((sql, _, _), _)| !sql.is_empty()));
        }
        assert!(compared >= 4, "only {compared} corpus binlog(s) rendered");
        assert!(with_row_events >= 1, "no corpus binlog with row events");
    }
}
