//! `arkc inspect VIEW --instance NAME`: the Replication, Disk and size, Parameters and Backup
//! views' figures without the console, read by the same code the Health pane uses.

use anyhow::Context;
use tokio::sync::mpsc;

use super::monitor_views::ViewFormat;
use crate::backend::health::inspect::{
    read_backups, read_parameters, read_replication, read_sizes,
};
use crate::backend::health::processlist::MonitorConn;
use crate::backend::SqlRecorder;
use crate::config::Config;
use crate::health::format_age;
use crate::health::sizes::human_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectView {
    /// Channels (IO/SQL threads, lag, GTID positions, last errors), replicas, heartbeat lag.
    Replication,
    /// Datadir free space (local instances), schema and table sizes, binlog count and bytes.
    Disk,
    /// Watched variables against the `[parameters]` baseline, with the differences.
    Parameters,
    /// The last successful backup and the newest entries of each backup history.
    Backup,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    #[arg(value_enum)]
    pub view: InspectView,
    /// The configured instance to read.
    #[arg(long, value_name = super::completions::INSTANCE_VALUE)]
    pub instance: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ViewFormat,
}

pub fn run(config: Config, args: InspectArgs) -> anyhow::Result<i32> {
    let inst = super::health::select_instances(&config, std::slice::from_ref(&args.instance))?
        .into_iter()
        .next()
        .context("no instance")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (json, text) = runtime.block_on(async {
        let (events, _ignored) = mpsc::unbounded_channel();
        let mut mc = MonitorConn::open(&inst, SqlRecorder::new(&inst.name, events)).await?;
        let out = match args.view {
            InspectView::Replication => {
                let r = read_replication(&mut mc, inst.heartbeat_table.as_deref()).await;
                (serde_json::to_value(&r)?, replication_text(&r))
            }
            InspectView::Disk => {
                let local = crate::backend::health::collect::is_local(&inst);
                let r = read_sizes(&mut mc, local).await;
                (serde_json::to_value(&r)?, sizes_text(&r))
            }
            InspectView::Parameters => {
                let r = read_parameters(&mut mc, &config, &inst).await;
                (serde_json::to_value(&r)?, parameters_text(&r))
            }
            InspectView::Backup => {
                let r = read_backups(&mut mc, &inst.name).await;
                (serde_json::to_value(&r)?, backup_text(&r))
            }
        };
        mc.close().await;
        anyhow::Ok(out)
    })?;
    match args.format {
        ViewFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        ViewFormat::Table => print!("{text}"),
    }
    Ok(0)
}

fn notes(out: &mut String, notes: &[String]) {
    for n in notes {
        out.push_str(&format!("note: {n}\n"));
    }
}

fn replication_text(r: &crate::health::replication::ReplicationReport) -> String {
    let mut out = String::new();
    if r.channels.is_empty() {
        out.push_str("no replication channels (not a replica)\n");
    }
    for c in &r.channels {
        let lag = c.lag_s.map_or("NULL".into(), |s| format!("{s}s"));
        out.push_str(&format!(
            "channel '{}' from {}: IO {} SQL {} lag {lag} gtid executed {}\n",
            c.name, c.source, c.io_running, c.sql_running, c.gtid_executed
        ));
        for (what, e) in [("IO", &c.last_io_error), ("SQL", &c.last_sql_error)] {
            if let Some(e) = e {
                out.push_str(&format!("  last {what} error {}: {}\n", e.errno, e.message));
            }
        }
    }
    if let Some(h) = &r.heartbeat {
        let lag = h.lag_s.map_or("unknown".into(), |s| format!("{s:.1} s"));
        out.push_str(&format!("heartbeat {}: {lag} behind\n", h.table));
    }
    for h in &r.replicas {
        out.push_str(&format!(
            "replica server_id {} at {}\n",
            h.server_id, h.host
        ));
    }
    for d in &r.dump_threads {
        out.push_str(&format!(
            "replica connection {} {}@{}\n",
            d.id, d.user, d.host
        ));
    }
    notes(&mut out, &r.notes);
    out
}

fn sizes_text(r: &crate::health::sizes::SizeReport) -> String {
    let mut out = String::new();
    if let Some(fs) = &r.filesystem {
        out.push_str(&format!(
            "datadir {}: {:.1}% free ({} of {})\n",
            r.datadir.as_deref().unwrap_or("?"),
            fs.free_pct(),
            human_bytes(fs.avail_bytes),
            human_bytes(fs.total_bytes)
        ));
    }
    if let Some(b) = &r.binlogs {
        out.push_str(&format!(
            "binlogs: {} files, {}\n",
            b.count,
            human_bytes(b.bytes)
        ));
    }
    for s in &r.schemas {
        out.push_str(&format!(
            "schema {:<24} {:>6} tables {:>10}\n",
            s.schema,
            s.tables,
            human_bytes(s.total())
        ));
    }
    for t in &r.tables {
        out.push_str(&format!(
            "table {:<40} {:>10}\n",
            format!("{}.{}", t.schema, t.table),
            human_bytes(t.total())
        ));
    }
    notes(&mut out, &r.notes);
    out
}

fn parameters_text(r: &crate::health::params::ParamsReport) -> String {
    let mut out = format!(
        "baseline: {}\n",
        r.baseline_source.as_deref().unwrap_or("none")
    );
    for d in &r.diffs {
        out.push_str(&format!(
            "DIFFERS {} = {} (baseline {})\n",
            d.name,
            d.actual.as_deref().unwrap_or("(absent)"),
            d.expected
        ));
    }
    for (k, v) in r.variables.iter().filter(|(k, _)| !r.differs(k)) {
        out.push_str(&format!("{k} = {v}\n"));
    }
    notes(&mut out, &r.notes);
    out
}

fn backup_text(r: &crate::health::backup::BackupReport) -> String {
    let mut out = format!("{}\n", r.lookup.describe());
    for e in &r.recent {
        let end = e
            .ended_at
            .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        let age = e
            .ended_at
            .map(|t| format_age((chrono::Utc::now() - t).num_seconds().max(0) as u64))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {} ended {end} ({age} ago) {}\n",
            e.source, e.tool, e.detail
        ));
    }
    notes(&mut out, &r.notes);
    out
}
