//! The Jobs pane's deploy requests, carried out off the input path: review a file (static and
//! live rules) or apply it, reporting as `DeployEvent`s. The history is SQLite (not `Sync`), so
//! a request runs on a blocking thread with its own small runtime: call `run_blocking` from
//! `tokio::task::spawn_blocking`.

use std::path::PathBuf;

use sha2::Digest;

use super::apply::{self, Progress};
use super::live;
use crate::config::review::ReviewConfig;
use crate::config::InstanceConfig;
use crate::deploy::history::{default_path, DeployHistory};
use crate::deploy::review::{self, Finding, Review};

#[derive(Debug, Clone, PartialEq)]
pub enum DeployRequest {
    Review {
        instance: String,
        file: PathBuf,
    },
    /// Only sent after the pane's review showed no error and the instance name was typed.
    Apply {
        instance: String,
        file: PathBuf,
        read_only: bool,
    },
    /// The deploy history, for the pane's deploy list.
    History,
    /// An undo or an instance deploy, run through its CLI twin (`child`).
    Job {
        job: super::child::ChildJob,
        read_only: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeployEvent {
    Reviewed {
        file: PathBuf,
        statements: usize,
        findings: Vec<Finding>,
    },
    Progress {
        done: usize,
        total: usize,
        index: usize,
        line: usize,
        affected_rows: u64,
        error: Option<String>,
    },
    Finished {
        deploy_id: i64,
        ok: bool,
        message: String,
    },
    Failed(String),
    /// The deploy history, newest first (or why it could not be read).
    History {
        records: Vec<crate::deploy::history::DeployRecord>,
        error: Option<String>,
    },
    /// A line a `Job` printed.
    Output(String),
    /// A `Job` ended: its exit status, and its last line as the message.
    JobEnded {
        ok: bool,
        message: String,
    },
}

fn reviewed(inst: &InstanceConfig, cfg: &ReviewConfig, sql: &str) -> anyhow::Result<Review> {
    let mut r = review::review(sql, cfg);
    let targets = review::live::targets(&r, None);
    let facts = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let rec = super::log_only_recorder(&inst.name);
            let mut conn = crate::backend::connect::connect(inst).await?;
            let facts = live::read_facts(&mut conn, &rec, &targets).await;
            let _ = conn.disconnect().await;
            facts
        })?;
    let more = review::live::findings(&r, &facts, None, cfg);
    r.extend(more);
    Ok(r)
}

/// Carry out `req`, reporting through `send`. Blocking: run it on a blocking thread.
pub fn run_blocking(
    req: DeployRequest,
    inst: &InstanceConfig,
    cfg: &ReviewConfig,
    send: &mut dyn FnMut(DeployEvent),
) {
    if let Err(e) = run_inner(req, inst, cfg, send) {
        send(DeployEvent::Failed(format!("{e:#}")));
    }
}

fn run_inner(
    req: DeployRequest,
    inst: &InstanceConfig,
    cfg: &ReviewConfig,
    send: &mut dyn FnMut(DeployEvent),
) -> anyhow::Result<()> {
    let (file, apply_it, read_only) = match req {
        DeployRequest::Review { file, .. } => (file, false, false),
        DeployRequest::Apply {
            file, read_only, ..
        } => (file, true, read_only),
        DeployRequest::History | DeployRequest::Job { .. } => {
            anyhow::bail!("not a review or an apply: sent to the wrong runner")
        }
    };
    let sql = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let r = reviewed(inst, cfg, &sql)?;
    if !apply_it {
        send(DeployEvent::Reviewed {
            file,
            statements: r.statements.len(),
            findings: r.findings,
        });
        return Ok(());
    }
    if read_only {
        anyhow::bail!("refused: read-only mode; nothing was sent");
    }
    if r.errors() > 0 {
        anyhow::bail!(
            "refused: the review has {} error(s); nothing was sent",
            r.errors()
        );
    }
    let history = DeployHistory::open(&default_path()?)?;
    let sha = format!("{:x}", sha2::Sha256::digest(sql.as_bytes()));
    let mut progress = |p: &Progress| {
        send(DeployEvent::Progress {
            done: p.done,
            total: p.total,
            index: p.result.index,
            line: p.result.line,
            affected_rows: p.result.affected_rows,
            error: p.result.error.clone(),
        })
    };
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(apply::apply(
            inst,
            &r,
            &file.display().to_string(),
            &sha,
            &history,
            &mut progress,
        ))?;
    send(DeployEvent::Finished {
        deploy_id: outcome.deploy_id,
        ok: outcome.ok,
        message: outcome.message,
    });
    Ok(())
}
