//! `arkc processlist`, `arkc locks` and `arkc kill`: the Processlist and Locks views' figures and
//! the kill action without the console.

use anyhow::Context;
use tokio::sync::mpsc;

use crate::backend::health::kill::{kill_sessions, refuse_if_read_only, KillTarget};
use crate::backend::health::locks::{read_locks, LocksReport};
use crate::backend::health::processlist::{read_processlist, MonitorConn};
use crate::backend::SqlRecorder;
use crate::config::{Config, InstanceConfig};
use crate::health::processlist::{sort_processes, ProcessRow, ProcessSort};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewFormat {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ProcesslistArgs {
    /// The configured instance to read.
    #[arg(long, value_name = "NAME")]
    pub instance: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ViewFormat,
}

#[derive(Debug, clap::Args)]
pub struct LocksArgs {
    /// The configured instance to read.
    #[arg(long, value_name = "NAME")]
    pub instance: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ViewFormat,
}

#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// The configured instance.
    #[arg(long, value_name = "NAME")]
    pub instance: String,
    /// Session ids (the processlist's `id`).
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<u64>,
    /// Stop only the running statement (KILL QUERY); default: end the session.
    #[arg(long)]
    pub query: bool,
}

fn instance_of(config: &Config, name: &str) -> anyhow::Result<InstanceConfig> {
    let found = super::health::select_instances(config, &[name.to_string()])?;
    found.into_iter().next().context("no instance")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn open(inst: &InstanceConfig) -> anyhow::Result<MonitorConn> {
    let (events, _ignored) = mpsc::unbounded_channel();
    MonitorConn::open(inst, SqlRecorder::new(&inst.name, events)).await
}

pub fn run_processlist(config: Config, args: ProcesslistArgs) -> anyhow::Result<i32> {
    let inst = instance_of(&config, &args.instance)?;
    let (mut rows, note) = runtime()?.block_on(async {
        let mut mc = open(&inst).await?;
        let result = read_processlist(&mut mc).await;
        mc.close().await;
        result
    })?;
    sort_processes(&mut rows, ProcessSort::Time);
    if let Some(note) = &note {
        eprintln!("note: {note}");
    }
    match args.format {
        ViewFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ViewFormat::Table => print!("{}", processlist_table(&rows)),
    }
    Ok(0)
}

pub fn processlist_table(rows: &[ProcessRow]) -> String {
    let mut out = format!(
        "{:>8} {:<12} {:<18} {:<10} {:<8} {:>6} {:>7} {:>6} {:<24} {}\n",
        "ID", "USER", "HOST", "DB", "COMMAND", "TIME", "TRX_AGE", "LOCKED", "STATE", "INFO"
    );
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    for r in rows {
        out.push_str(&format!(
            "{:>8} {:<12} {:<18} {:<10} {:<8} {:>6} {:>7} {:>6} {:<24} {}\n",
            r.id,
            r.user,
            r.host,
            r.db.as_deref().unwrap_or("-"),
            r.command,
            r.time_s,
            opt(r.trx_age_s),
            opt(r.rows_locked),
            r.state.as_deref().unwrap_or("-"),
            r.info.as_deref().unwrap_or("").replace('\n', " ")
        ));
    }
    out
}

pub fn run_locks(config: Config, args: LocksArgs) -> anyhow::Result<i32> {
    let inst = instance_of(&config, &args.instance)?;
    let report = runtime()?.block_on(async {
        let mut mc = open(&inst).await?;
        let report = read_locks(&mut mc).await;
        mc.close().await;
        anyhow::Ok(report)
    })?;
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    match args.format {
        ViewFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ViewFormat::Table => print!("{}", locks_table(&report)),
    }
    Ok(0)
}

pub fn locks_table(r: &LocksReport) -> String {
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    let mut out = String::from("ROW LOCK WAITS\n");
    if r.waits.is_empty() {
        out.push_str("  none\n");
    }
    for w in &r.waits {
        out.push_str(&format!(
            "  {} waits {}s on {} (root blocker {}) {} {}: {}\n",
            w.waiting_id,
            opt(w.wait_s),
            w.blocking_id,
            opt(w.root_blocker_id),
            w.table.as_deref().unwrap_or("?"),
            w.lock_mode.as_deref().unwrap_or("?"),
            w.waiting_query.as_deref().unwrap_or("-")
        ));
    }
    for root in &r.root_blockers {
        out.push_str(&format!(
            "ROOT BLOCKER {} blocks {} session(s), trx age {}s, running: {}\n",
            root.id,
            root.blocked_sessions,
            opt(root.trx_age_s),
            root.query.as_deref().unwrap_or("(idle in transaction)")
        ));
    }
    out.push_str("METADATA LOCK WAITS\n");
    if r.metadata_waits.is_empty() {
        out.push_str("  none\n");
    }
    for m in &r.metadata_waits {
        let by: Vec<String> = m.blocking_ids.iter().map(u64::to_string).collect();
        out.push_str(&format!(
            "  {} waits {}s ({}) blocked by [{}]: {}\n",
            m.waiting_id,
            opt(m.wait_s),
            m.state,
            by.join(", "),
            m.waiting_query.as_deref().unwrap_or("-")
        ));
    }
    out.push_str("LATEST DEADLOCK\n");
    match &r.deadlock {
        None => out.push_str("  none since the server started\n"),
        Some(d) => {
            out.push_str(&format!("  at {}\n", d.at));
            for t in &d.transactions {
                out.push_str(&format!(
                    "  ({}) session {} {}waiting for {} {}: {}\n",
                    t.number,
                    opt(t.connection_id),
                    if t.rolled_back { "ROLLED BACK, " } else { "" },
                    t.waiting_table.as_deref().unwrap_or("?"),
                    t.waiting_lock_mode.as_deref().unwrap_or(""),
                    t.query.as_deref().unwrap_or("-")
                ));
            }
        }
    }
    for note in &r.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// Exit code when a session could not be killed.
pub const EXIT_KILL_FAILED: i32 = 4;

pub fn run_kill(config: Config, args: KillArgs, read_only_flag: bool) -> anyhow::Result<i32> {
    let inst = instance_of(&config, &args.instance)?;
    let read_only = read_only_flag || config.read_only;
    // Refused before connecting: read-only means nothing at all is sent.
    refuse_if_read_only(read_only)?;
    let target = if args.query {
        KillTarget::Query
    } else {
        KillTarget::Connection
    };
    let outcomes = runtime()?.block_on(async {
        let mut mc = open(&inst).await?;
        let result = kill_sessions(&mut mc, &inst.address(), &args.ids, target, read_only).await;
        mc.close().await;
        result
    })?;
    let mut failed = false;
    for o in &outcomes {
        match &o.error {
            None => println!(
                "killed {} {} on {}",
                if args.query { "query of" } else { "session" },
                o.id,
                inst.name
            ),
            Some(e) => {
                failed = true;
                eprintln!("cannot kill {} on {}: {e}", o.id, inst.name);
            }
        }
    }
    Ok(if failed { EXIT_KILL_FAILED } else { 0 })
}
