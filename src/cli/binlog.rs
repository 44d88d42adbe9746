//! `arkc binlog events` and `arkc flashback`: binlog files in, transactions or rollback SQL out.

use super::output_file::OutputFile;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use arkc_binlog::listing::{EventLister, ListFormat};
use arkc_binlog::pipeline::ScanStats;

use super::binlog_source::{resolve, scan_source, Source};
use crate::backend::binlog::columns::ServerColumns;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner, WhereColumns};
use arkc_binlog::txn::TxnSink;
use arkc_binlog::txn::{Filters, GtidSet, TxnBuilder};
use arkc_binlog::RowsKind;
use clap::{Args, ValueEnum};

/// Where the events come from: files, or a live server over the replication protocol
/// (with --from-server, or when --url/--instance is given without files).
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Binlog files, in order (rotation is followed by listing them all).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read every binlog in this directory (by its .index file, else by name order).
    #[arg(long, value_name = "DIR")]
    pub binlog_dir: Option<PathBuf>,
    /// Stream the binlogs from the server at --url/--instance with arkc's own replication
    /// client, from this file (default: --start-file, else the first one) to the current end.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub from_server: Option<String>,
    /// Server: mysql://user:pass@host:port. Without files it is the source (streamed);
    /// with files it is used for --check, --execute and missing column names.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Stream from this configured instance (see --config) instead of --url.
    #[arg(long, value_name = super::completions::INSTANCE_VALUE, conflicts_with = "url")]
    pub instance: Option<String>,
    /// Replica id announced when streaming. Default 4026531840, or the next id up when the
    /// server or a registered replica (SHOW SLAVE HOSTS) already uses it: two replication
    /// connections with one id clash, and the server drops one of them. An id in use is refused.
    /// The stream registers itself (host `arkc`), so concurrent arkc streams get distinct ids.
    #[arg(long, value_name = "ID")]
    pub server_id: Option<u32>,
}

/// Which transactions and rows to keep; filters apply per rows event.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Start at this file (name as in SHOW BINARY LOGS).
    #[arg(long, value_name = "NAME")]
    pub start_file: Option<String>,
    /// Keep transactions starting at or after this byte position (of --start-file, else the first file).
    #[arg(long, value_name = "POS")]
    pub start_position: Option<u64>,
    /// Stop at this file.
    #[arg(long, value_name = "NAME")]
    pub stop_file: Option<String>,
    /// Keep transactions starting before this byte position (of --stop-file, else the last file).
    #[arg(long, value_name = "POS")]
    pub stop_position: Option<u64>,
    /// Keep transactions at or after this UTC time ("YYYY-MM-DD HH:MM:SS").
    #[arg(long, value_name = "DATETIME")]
    pub start_datetime: Option<String>,
    /// Keep transactions before this UTC time ("YYYY-MM-DD HH:MM:SS").
    #[arg(long, value_name = "DATETIME")]
    pub stop_datetime: Option<String>,
    /// Only these GTIDs: MySQL `uuid:1-5:7` or MariaDB `0-1-5` / `0-1-5-9` (comma separated).
    #[arg(long, value_name = "SET")]
    pub gtid: Option<String>,
    /// Skip these GTIDs (same syntax as --gtid).
    #[arg(long, value_name = "SET")]
    pub exclude_gtid: Option<String>,
    /// Only rows of this schema (repeatable).
    #[arg(long = "database", short = 'd', value_name = "DB")]
    pub databases: Vec<String>,
    /// Only rows of this table, `db.table` or `table` (repeatable).
    #[arg(long = "table", short = 't', value_name = "TABLE")]
    pub tables: Vec<String>,
    /// Only these row changes: insert,update,delete.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub sql_type: Vec<SqlType>,
    /// Only transactions of this connection id (repeatable).
    #[arg(long = "thread-id", value_name = "ID")]
    pub thread_ids: Vec<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SqlType {
    Insert,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EventsFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FlashbackFormat {
    Sql,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WhereArg {
    Pk,
    All,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// text: a readable record per transaction; json: one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub format: EventsFormat,
    /// Keep reading as the server writes: wait at the end of the last file (or stay on the
    /// replication stream), follow rotation. Stop with Ctrl-C.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct FlashbackArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Emit the original changes as SQL, in order, instead of their rollback.
    #[arg(long)]
    pub forward: bool,
    /// sql: statements to pipe into `mariadb`; json: the affected transactions and rows.
    #[arg(long, value_enum, default_value = "sql")]
    pub format: FlashbackFormat,
    /// WHERE on the primary key when the binlog names it (pk), or on every column (all).
    #[arg(long, value_enum, default_value = "pk")]
    pub where_columns: WhereArg,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print no SQL: check on the server (--url or --instance) that every row the rollback
    /// would touch is still as the binlog left it; exit 3 and list the rows changed since.
    #[arg(long)]
    pub check: bool,
    /// Apply the SQL to the server (--url or --instance), one transaction at a time, stopping
    /// at the first error; the SQL and its inverse are first saved to the audit folder.
    #[arg(long, conflicts_with = "check")]
    pub execute: bool,
    /// With --execute: do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// With --execute: connections to apply on. Above 1, transactions that write no common
    /// row run at the same time, COMMITs still in plan order (see the README); 1 (the
    /// default) applies one transaction after another on one connection.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub apply_connections: u8,
}

fn parse_utc(s: &str) -> anyhow::Result<u32> {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .with_context(|| format!("bad datetime `{s}` (expected \"YYYY-MM-DD HH:MM:SS\", UTC)"))?;
    u32::try_from(t.and_utc().timestamp())
        .with_context(|| format!("datetime `{s}` out of the binlog's range"))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A `TxnBuilder` for the filters, with column definitions from the server (the streamed
/// one, or `--url` with files) for every kept table: names where the binlog has none,
/// generated columns. Each table is looked up when its first TABLE_MAP arrives (one pass).
/// Files of an `--instance` take the definitions from that instance.
pub(super) fn builder_for(
    src: &SourceArgs,
    f: &FilterArgs,
    source: &Source,
    config: Option<&Path>,
) -> anyhow::Result<TxnBuilder> {
    let mut builder = TxnBuilder::new(build_filters(f, &source.names())?);
    if let (Source::Files { .. }, None, Some(name)) = (source, &src.url, &src.instance) {
        let inst = super::binlog_source::instance_config(name, config)?;
        builder.columns = Some(ServerColumns::for_instance(
            &inst,
            builder.filters.clone(),
            None,
        )?);
        return Ok(builder);
    }
    let (opts, label) = match (source, &src.url) {
        (Source::Server { server, .. }, _) => (server.opts.clone(), server.label.clone()),
        (Source::Files { .. }, Some(url)) => {
            let opts = mysql_async::Opts::from_url(url)
                .context("bad --url (expected mysql://user:pass@host:port)")?;
            let label = crate::backend::connect::opts_address(&opts);
            (opts, label)
        }
        (Source::Files { .. }, None) => return Ok(builder),
    };
    let columns = ServerColumns::connect(opts, &label, builder.filters.clone(), None)?;
    builder.columns = Some(columns);
    Ok(builder)
}

/// Turns the command-line filters into the core's `Filters`.
pub fn build_filters(f: &FilterArgs, files: &[PathBuf]) -> anyhow::Result<Filters> {
    let first = files.first().map(|p| file_name(p)).unwrap_or_default();
    let last = files.last().map(|p| file_name(p)).unwrap_or_default();
    let start = match (&f.start_file, f.start_position) {
        (None, None) => None,
        (file, pos) => Some((file.clone().unwrap_or(first), pos.unwrap_or(0))),
    };
    let stop = match (&f.stop_file, f.stop_position) {
        (None, None) => None,
        (Some(file), None) => Some((file.clone(), u64::MAX)),
        (file, Some(pos)) => Some((file.clone().unwrap_or(last), pos)),
    };
    let gtid = |s: &Option<String>| -> anyhow::Result<Option<GtidSet>> {
        s.as_deref()
            .map(GtidSet::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!(e))
    };
    let mut filters = Filters {
        start,
        stop,
        start_time: f.start_datetime.as_deref().map(parse_utc).transpose()?,
        stop_time: f.stop_datetime.as_deref().map(parse_utc).transpose()?,
        gtid_include: gtid(&f.gtid)?,
        gtid_exclude: gtid(&f.exclude_gtid)?,
        databases: f.databases.clone(),
        tables: Vec::new(),
        sql_types: f
            .sql_type
            .iter()
            .map(|t| match t {
                SqlType::Insert => RowsKind::Insert,
                SqlType::Update => RowsKind::Update,
                SqlType::Delete => RowsKind::Delete,
            })
            .collect(),
        thread_ids: f.thread_ids.clone(),
    };
    for t in &f.tables {
        filters.add_table(t);
    }
    Ok(filters)
}

/// Scans with progress on stderr (bytes, events/s, ETA) when it is a terminal and the scan
/// runs for over a second.
pub(super) fn scan<S: TxnSink>(
    source: &Source,
    builder: &mut TxnBuilder,
    sink: &mut S,
) -> anyhow::Result<ScanStats> {
    let started = Instant::now();
    let total = match source {
        Source::Files { files } => Some(
            files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum(),
        ),
        Source::Server { .. } => None,
    };
    let mut bar = super::progress::CliProgress::scan(total);
    let mut progress = |s: &ScanStats| {
        bar.set(s.bytes, |secs| {
            format!(
                "{} events, {:.0} events/s",
                s.events,
                s.events as f64 / secs
            )
        })
    };
    let stats = scan_source(source, false, builder, sink, &mut progress);
    bar.finish();
    let stats = stats?;
    report(&stats, started);
    Ok(stats)
}

fn report(stats: &ScanStats, started: Instant) {
    if std::io::stderr().is_terminal() {
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        eprintln!(
            "read {} file(s), {:.1} MiB, {} events in {:.2}s ({:.1} MiB/s)",
            stats.files,
            stats.bytes as f64 / 1048576.0,
            stats.events,
            secs,
            stats.bytes as f64 / 1048576.0 / secs
        );
    }
}

fn open_output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        )),
    })
}

pub fn run_events(args: EventsArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let source = resolve(&args.source, args.filters.start_file.as_deref(), config)?;
    let mut builder = builder_for(&args.source, &args.filters, &source, config)?;
    let format = match args.format {
        EventsFormat::Text => ListFormat::Text,
        EventsFormat::Json => ListFormat::Json,
    };
    if args.follow {
        // Line-buffered stdout, so each transaction shows as soon as it commits.
        let mut lister = EventLister::new(std::io::stdout(), format);
        scan_source(&source, true, &mut builder, &mut lister, &mut |_| {})?;
        return Ok(0);
    }
    let mut lister = EventLister::new(open_output(None)?, format);
    scan(&source, &mut builder, &mut lister)?;
    lister.into_inner().flush()?;
    Ok(0)
}

pub fn run_flashback(
    args: FlashbackArgs,
    read_only: bool,
    config: Option<&Path>,
) -> anyhow::Result<i32> {
    if args.execute && read_only {
        bail!(
            "--execute refused: arkc is read-only (--read-only or read_only = true in the config)"
        );
    }
    let target = match (args.check, args.execute) {
        (false, false) => None,
        (check, _) => Some(super::flashback_server::Target::resolve(
            &args.source,
            if check { "--check" } else { "--execute" },
            config,
        )?),
    };
    let source = resolve(&args.source, args.filters.start_file.as_deref(), config)?;
    let mut builder = builder_for(&args.source, &args.filters, &source, config)?;
    if let FlashbackFormat::Json = args.format {
        let out = OutputFile::create(args.output.as_deref())?;
        let mut lister = EventLister::new(out, ListFormat::Json);
        let scanned = scan(&source, &mut builder, &mut lister);
        let mut out = lister.into_inner();
        if let Err(e) = scanned.and_then(|_| Ok(out.flush()?)) {
            return Err(out.failed(format!("{e:#}")));
        }
        out.commit()?;
        return Ok(0);
    }
    if let (true, Some(target)) = (args.check, &target) {
        return super::flashback_server::run_check(&source, &mut builder, target);
    }
    let opts = FlashbackOptions {
        direction: if args.forward {
            Direction::Forward
        } else {
            Direction::Rollback
        },
        where_columns: match args.where_columns {
            WhereArg::Pk => WhereColumns::PrimaryKey,
            WhereArg::All => WhereColumns::All,
        },
        ..Default::default()
    };
    if let (true, Some(target)) = (args.execute, &target) {
        let mut filters = builder.filters.clone();
        if filters.stop.is_none() {
            filters.stop = source.pinned_stop();
        }
        return super::flashback_server::run_execute(
            &source,
            &builder,
            &filters,
            opts,
            target,
            (args.yes, args.apply_connections.into()),
        );
    }
    let mut planner = FlashbackPlanner::new(opts)?;
    scan(&source, &mut builder, &mut planner)?;
    let note = planner.generated_note();
    let mut out = OutputFile::create(args.output.as_deref())?;
    let plan = match planner.finish(&mut out) {
        Ok(plan) => plan,
        Err(e @ arkc_binlog::BinlogError::Output(_)) => return Err(out.failed(e)),
        Err(e) => return Err(e.into()),
    };
    out.commit()?;
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    if std::io::stderr().is_terminal() {
        eprintln!(
            "{} transaction(s), {} statement(s)",
            plan.transactions, plan.statements
        );
    }
    Ok(0)
}
