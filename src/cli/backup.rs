//! `arkc backup ...`: run, list, verify, cancel and prune backups (arguments and output only; the
//! work is in `crate::jobs`, which the Jobs pane calls too).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::config::{BackupKind, Compression, Config};
use crate::jobs::progress::{human_bytes, Progress};
use crate::jobs::runner::{BackupRequest, PROGRESS_FILE};
use crate::jobs::{self, retention, verify, BackupRecord, History, JobState};

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Start a backup and follow its progress on stderr; prints the job id. Exit 0 only on success.
    Run(RunArgs),
    /// The backup history, newest first.
    List(ListArgs),
    /// Restore a backup into a throwaway sandbox and compare every table with the source's figures.
    Verify { id: i64 },
    /// Stop a running backup; its partial output goes to the quarantine folder.
    Cancel { id: i64 },
    /// Delete verified-good backups beyond each job's `keep`.
    Prune {
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configured instance to back up (default: the job's).
    #[arg(long)]
    pub instance: Option<String>,
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Directory to write the backup to.
    #[arg(long)]
    pub to: Option<std::path::PathBuf>,
    /// Only this schema.
    #[arg(long)]
    pub database: Option<String>,
    /// A `[[backup]]` job from the config, or the name to record an ad-hoc backup under.
    #[arg(long)]
    pub job: Option<String>,
    #[arg(long, value_enum)]
    pub compress: Option<CompressArg>,
    /// mydumper threads.
    #[arg(long)]
    pub threads: Option<u32>,
    /// mariabackup/xtrabackup: stream xbstream into one compressed file (unpacked and prepared
    /// when verified) instead of a prepared folder.
    #[arg(long)]
    pub stream: bool,
    /// Print the id and return at once; the backup keeps running.
    #[arg(long)]
    pub detach: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Dump,
    Mydumper,
    Mariabackup,
    Xtrabackup,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompressArg {
    Zstd,
    Gzip,
    None,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn run(cmd: BackupCommand, config: &Config) -> anyhow::Result<i32> {
    match cmd {
        BackupCommand::Run(args) => run_backup(args, config),
        BackupCommand::List(args) => list(args.format),
        BackupCommand::Verify { id } => run_verify(id),
        BackupCommand::Cancel { id } => {
            let history = History::open_default()?;
            let rec = jobs::cancel(&history, id)?;
            println!(
                "backup {id}: {}{}",
                rec.state.as_str(),
                rec.path
                    .map(|p| format!(", partial output in {}", p.display()))
                    .unwrap_or_default()
            );
            Ok(if rec.state == JobState::Cancelled {
                0
            } else {
                1
            })
        }
        BackupCommand::Prune { dry_run } => prune(config, dry_run),
    }
}

/// The requests a `run` stands for: one, or one per instance of a tag job.
fn requests(args: &RunArgs, config: &Config) -> anyhow::Result<Vec<BackupRequest>> {
    let job = args.job.as_deref().and_then(|j| config.backups.job(j));
    let kind = args
        .kind
        .map(|k| match k {
            KindArg::Dump => BackupKind::Dump,
            KindArg::Mydumper => BackupKind::Mydumper,
            KindArg::Mariabackup => BackupKind::Mariabackup,
            KindArg::Xtrabackup => BackupKind::Xtrabackup,
        })
        .or(job.map(|j| j.kind))
        .context("--kind is required (or --job naming a [[backup]] job)")?;
    let to = args
        .to
        .clone()
        .or(job.map(|j| j.to.clone()))
        .context("--to is required (or --job naming a [[backup]] job)")?;
    let compress = args
        .compress
        .map(|c| match c {
            CompressArg::Zstd => Compression::Zstd,
            CompressArg::Gzip => Compression::Gzip,
            CompressArg::None => Compression::None,
        })
        .or(job.map(|j| j.compress))
        .unwrap_or_default();
    let instances: Vec<String> = match (&args.instance, job) {
        (Some(i), _) => vec![i.clone()],
        (None, Some(j)) => match (&j.instance, &j.tag) {
            (Some(i), _) => vec![i.clone()],
            (None, Some(tag)) => config
                .instances
                .iter()
                .filter(|i| i.tags.contains(tag))
                .map(|i| i.name.clone())
                .collect(),
            (None, None) => Vec::new(),
        },
        (None, None) => bail!("--instance is required (or --job naming a [[backup]] job)"),
    };
    Ok(instances
        .into_iter()
        .map(|instance| BackupRequest {
            job: args.job.clone().unwrap_or_else(|| "adhoc".into()),
            instance,
            kind,
            to: to.clone(),
            database: args
                .database
                .clone()
                .or(job.and_then(|j| j.database.clone())),
            compress,
            threads: args.threads.or(job.and_then(|j| j.threads)).unwrap_or(4),
            stream: args.stream || job.is_some_and(|j| j.stream),
        })
        .collect())
}

fn run_backup(args: RunArgs, config: &Config) -> anyhow::Result<i32> {
    let reqs = requests(&args, config)?;
    if reqs.is_empty() {
        bail!("the job names no instance");
    }
    let mut started = Vec::new();
    for req in &reqs {
        let job =
            jobs::start(config, req).with_context(|| format!("backup of `{}`", req.instance))?;
        println!("{}", job.id);
        started.push(job);
    }
    if args.detach {
        return Ok(0);
    }
    let history = History::open_default()?;
    let mut all_ok = true;
    for mut job in started {
        let rec = follow(&history, job.id, &mut job.supervisor)?;
        all_ok &= rec.state == JobState::Succeeded;
        report_end(&rec);
    }
    Ok(if all_ok { 0 } else { 1 })
}

/// Show progress on stderr until the job leaves `running`.
fn follow(
    history: &History,
    id: i64,
    supervisor: &mut std::process::Child,
) -> anyhow::Result<BackupRecord> {
    let tty = std::io::stderr().is_terminal();
    let mut last_line = Instant::now() - Duration::from_secs(60);
    loop {
        let _ = supervisor.try_wait();
        jobs::refresh_running(history)?;
        let rec = history.get(id)?;
        if rec.state != JobState::Running {
            if tty {
                eprintln!();
            }
            return Ok(rec);
        }
        if let Some(p) = Progress::load(&rec.job_dir.join(PROGRESS_FILE)) {
            let line = format!("backup {id}: {}", p.summary(Utc::now()));
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else if last_line.elapsed() >= Duration::from_secs(5) {
                eprintln!("{line}");
                last_line = Instant::now();
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn report_end(rec: &BackupRecord) {
    match rec.state {
        JobState::Succeeded => eprintln!(
            "backup {} succeeded: {} ({}){}",
            rec.id,
            rec.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            human_bytes(rec.bytes.unwrap_or(0)),
            position_text(rec)
                .map(|p| format!(", position {p}"))
                .unwrap_or_default()
        ),
        state => eprintln!(
            "backup {} {}: {}",
            rec.id,
            state.as_str(),
            rec.error.as_deref().unwrap_or("no reason recorded")
        ),
    }
}

fn position_text(rec: &BackupRecord) -> Option<String> {
    let p = rec.position.as_ref()?;
    let mut s = match (&p.file, p.pos) {
        (Some(f), Some(pos)) => format!("{f}:{pos}"),
        _ => String::new(),
    };
    if let Some(g) = &p.gtid {
        s.push_str(&format!(" gtid {g}"));
    }
    Some(s.trim().to_string())
}

/// One history row as the JSON twin prints it.
pub fn record_json(rec: &BackupRecord) -> serde_json::Value {
    let progress = (rec.state == JobState::Running)
        .then(|| Progress::load(&rec.job_dir.join(PROGRESS_FILE)))
        .flatten()
        .map(|p| {
            json!({
                "phase": p.phase.as_str(),
                "fraction": p.fraction(),
                "bytes_done": p.bytes_done,
                "tables_done": p.tables_done,
                "tables_total": p.tables_total,
                "stalled": p.stalled(Utc::now()),
                "attempt": p.attempt,
                "attempts": p.attempts,
            })
        });
    json!({
        "id": rec.id,
        "job": rec.job,
        "instance": rec.instance,
        "kind": rec.kind.as_str(),
        "streamed": rec.kind.is_physical() && rec.path.as_deref().is_some_and(jobs::physical::is_stream),
        "state": rec.state.as_str(),
        "started_at": rec.started_at.to_rfc3339(),
        "finished_at": rec.finished_at.map(|t| t.to_rfc3339()),
        "bytes": rec.bytes,
        "path": rec.path.as_ref().map(|p| p.display().to_string()),
        "position": rec.position.as_ref().map(|p| json!({"file": p.file, "pos": p.pos, "gtid": p.gtid})),
        "verified": rec.verified,
        "verify_note": rec.verify_note,
        "verify_diff": rec.verify_diff,
        "checksum_mode": rec.checksum_mode,
        "tables": rec.checksums.len(),
        "error": rec.error,
        "deleted_at": rec.deleted_at.map(|t| t.to_rfc3339()),
        "progress": progress,
    })
}

fn list(format: ListFormat) -> anyhow::Result<i32> {
    let history = History::open_default()?;
    jobs::refresh_running(&history)?;
    let rows = history.list()?;
    if format == ListFormat::Json {
        let all: Vec<serde_json::Value> = rows.iter().map(record_json).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    println!(
        "{:>5}  {:<14} {:<12} {:<11} {:<10} {:<20} {:>10}  {:<8}  PATH",
        "ID", "JOB", "INSTANCE", "KIND", "STATE", "STARTED", "BYTES", "VERIFIED"
    );
    for r in &rows {
        let verified = match r.verified {
            Some(true) => "yes",
            Some(false) => "FAILED",
            None => "-",
        };
        let state = if r.deleted_at.is_some() {
            "deleted"
        } else {
            r.state.as_str()
        };
        println!(
            "{:>5}  {:<14} {:<12} {:<11} {:<10} {:<20} {:>10}  {:<8}  {}",
            r.id,
            r.job,
            r.instance,
            r.kind.as_str(),
            state,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.bytes.map(human_bytes).unwrap_or_default(),
            verified,
            r.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(0)
}

fn run_verify(id: i64) -> anyhow::Result<i32> {
    let history = History::open_default()?;
    let report = verify::verify(&history, id)?;
    if report.ok {
        println!("backup {id} verified: {}", report.note);
        Ok(0)
    } else {
        println!("backup {id} FAILED verification: {}", report.note);
        for d in &report.differing {
            println!("  {d}");
        }
        Ok(1)
    }
}

fn prune(config: &Config, dry_run: bool) -> anyhow::Result<i32> {
    let history = History::open_default()?;
    jobs::refresh_running(&history)?;
    let items = retention::plan(&history.list()?, &config.backups);
    if items.is_empty() {
        println!("nothing to prune");
        return Ok(0);
    }
    for item in &items {
        println!(
            "{} backup {} {}: {}",
            if dry_run { "would delete" } else { "deleting" },
            item.id,
            item.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            item.reason
        );
    }
    if !dry_run {
        retention::apply(&history, &items)?;
    }
    Ok(0)
}
