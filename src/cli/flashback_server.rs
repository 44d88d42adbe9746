//! The server side of `arkc flashback`: `--check` (are the rows still as the binlog left
//! them?) and `--execute` (apply, one transaction at a time, with an audit trail).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use arkc_binlog::check::{CheckMode, CheckRowSink, RowState};
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner};
use arkc_binlog::schema::SchemaInfo;
use arkc_binlog::txn::{BothSinks, Filters, TxnBuilder};
use mysql_async::prelude::Queryable;

use crate::backend::connect::{connect_to, opts_address};

use super::binlog::scan;
use super::binlog_source::Source;
use crate::backend::binlog::flashback::{check_on, run_units_of, split_units, TxnResult};
use crate::backend::SqlRecorder;

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

/// `flashback --check`: the same check as the Binlog pane's `c` (`backend::binlog::flashback::
/// check_on`), on the rows the filters keep; reports the rows changed since.
pub fn run_check(source: &Source, builder: &mut TxnBuilder, url: &str) -> anyhow::Result<i32> {
    let mut sink = CheckRowSink::new();
    scan(source, builder, &mut sink)?;
    let (rows, origins) = sink.rollback_order();
    let verdicts = runtime()?.block_on(async {
        let mut conn = connect(url).await?;
        let (events, _gone) = tokio::sync::mpsc::unbounded_channel();
        let rec = SqlRecorder::new("--url", events);
        let verdicts = check_on(&mut conn, &rec, CheckMode::BeforeApply, &rows).await?;
        conn.disconnect().await?;
        anyhow::Ok(verdicts)
    })?;
    let mut out = std::io::stdout().lock();
    let mut changed = 0;
    for ((row, (file, offset, gtid)), (_, state)) in rows.iter().zip(&origins).zip(&verdicts) {
        let why = match state {
            RowState::ChangedSince => "the row the binlog left is gone or changed",
            RowState::KeyTaken => "a row took the deleted row's key",
            _ => continue,
        };
        changed += 1;
        let gtid = gtid
            .as_deref()
            .map(|g| format!(" GTID {g}"))
            .unwrap_or_default();
        writeln!(
            out,
            "changed since: {file}:{offset}{gtid} {}: {why} (the {:?} of this row)",
            row.table, row.kind
        )?;
    }
    writeln!(
        out,
        "{} row(s) checked, {changed} changed since the binlog",
        rows.len()
    )?;
    Ok(if changed == 0 { 0 } else { 3 })
}

/// Renders the SQL of `opts` and of its inverse into the two audit files, from one scan of
/// the binlogs; returns each block's byte range in the first, and its stats.
fn render_to_audit(
    source: &Source,
    schema: &Option<std::sync::Arc<SchemaInfo>>,
    filters: &Filters,
    (opts, inverse): (FlashbackOptions, FlashbackOptions),
    (path, inverse_path): (&std::path::Path, &std::path::Path),
) -> anyhow::Result<(Vec<(usize, usize)>, arkc_binlog::plan::FlashbackStats)> {
    let mut builder = TxnBuilder::new(filters.clone());
    builder.schema = schema.clone();
    let mut planner = FlashbackPlanner::new(opts)?;
    let mut inverse_planner = FlashbackPlanner::new(inverse)?;
    scan(
        source,
        &mut builder,
        &mut BothSinks(&mut planner, &mut inverse_planner),
    )?;
    let written = write_blocks(planner, path)?;
    write_blocks(inverse_planner, inverse_path)?;
    Ok(written)
}

fn write_blocks(
    planner: FlashbackPlanner,
    path: &std::path::Path,
) -> anyhow::Result<(Vec<(usize, usize)>, arkc_binlog::plan::FlashbackStats)> {
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

fn audit_dir() -> anyhow::Result<PathBuf> {
    let dir = crate::config::data_dir()
        .context("no XDG data dir for the audit folder (set HOME or XDG_DATA_HOME)")?
        .join("audit");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without --yes: stdin is not a terminal to confirm on");
    }
    eprint!("{question} [y/N] ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// `flashback --execute`: audit first, then apply block by block; stop at the first error.
pub fn run_execute(
    source: &Source,
    schema: &Option<std::sync::Arc<SchemaInfo>>,
    filters: &Filters,
    opts: FlashbackOptions,
    url: &str,
    yes: bool,
) -> anyhow::Result<i32> {
    let dir = audit_dir()?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let apply_path = dir.join(format!("flashback-{stamp}-apply.sql"));
    let redo_path = dir.join(format!("flashback-{stamp}-redo.sql"));
    let inverse = FlashbackOptions {
        direction: match opts.direction {
            Direction::Rollback => Direction::Forward,
            Direction::Forward => Direction::Rollback,
        },
        ..opts
    };
    let (blocks, stats) = render_to_audit(
        source,
        schema,
        filters,
        (opts, inverse),
        (&apply_path, &redo_path),
    )?;
    eprintln!(
        "saved {} and its inverse {}",
        apply_path.display(),
        redo_path.display()
    );
    let question = format!(
        "apply {} transaction(s), {} statement(s)?",
        stats.transactions, stats.statements
    );
    if !confirm(&question, yes)? {
        eprintln!("nothing applied");
        return Ok(1);
    }
    runtime()?.block_on(apply_file(
        url,
        &apply_path,
        &blocks,
        stats.transactions as usize,
    ))?;
    eprintln!("applied {} transaction(s)", stats.transactions);
    Ok(0)
}

/// Apply the saved plan with the pane's runner (`backend::binlog::flashback::run_units`),
/// reading it a few MiB at a time so memory stays flat whatever the binlog size.
async fn apply_file(
    url: &str,
    path: &std::path::Path,
    blocks: &[(usize, usize)],
    total: usize,
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
        let mut progress = |_: TxnResult| {};
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

/// Column definitions from information_schema (see `backend::binlog::schema_info`).
pub fn load_schema_info_from(
    opts: mysql_async::Opts,
    tables: &[(String, String)],
) -> anyhow::Result<SchemaInfo> {
    runtime()?.block_on(async {
        let address = opts_address(&opts);
        let mut conn = connect_to(opts, &address)
            .await
            .context("reading column definitions from information_schema")?;
        conn.query_drop(arkc_binlog::plan::SESSION_SETTINGS).await?;
        let info =
            crate::backend::binlog::schema_info::load_schema_info(&mut conn, tables, None).await?;
        conn.disconnect().await?;
        anyhow::Ok(info)
    })
}
