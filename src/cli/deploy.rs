//! `arkc deploy review|apply|list|undo`: arguments and output. The rules live in
//! `deploy::review`, applying in `backend::deploy`, undo reuses `arkc flashback`'s check and
//! execute path over the deploy's recorded binlog range.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use sha2::Digest;

use crate::backend::deploy::{apply, live, log_only_recorder};
use crate::config::{Config, InstanceConfig};
use crate::deploy::history::{default_path, DeployHistory, DeployRecord};
use crate::deploy::review::{self, Finding, Review};

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Review a SQL change: every finding with its rule id, severity, statement and line.
    Review(ReviewArgs),
    /// Review, then apply a SQL change statement by statement, recording it in the history.
    Apply(ApplyArgs),
    /// The deploy history.
    List(ListArgs),
    /// Roll back a deploy: flashback of exactly its binlog range, checked first.
    Undo(UndoArgs),
    /// Settle a deploy's statement left in doubt (connection lost while it was in flight),
    /// from the server as it is now. Reads only.
    Settle(SettleArgs),
    /// Deploy a new persistent MariaDB instance (optionally a replica of a configured one).
    Instance(super::deploy_instance::InstanceArgs),
    /// Stop an instance deployed by `deploy instance` and remove it from the config.
    Remove(super::deploy_instance::RemoveArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The SQL change file.
    pub file: PathBuf,
    /// Also run the live rules against this configured instance (table/column existence,
    /// EXPLAIN row estimates, table sizes). Read-only.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Database for unqualified tables before the file's first USE.
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// table: one line per finding; json: an array of {index, line, rule, severity, message}.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The SQL change file.
    pub file: PathBuf,
    /// The configured instance to apply it to.
    #[arg(long, value_name = "NAME")]
    pub instance: String,
    /// Database for unqualified tables before the file's first USE.
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// Apply despite warnings without asking (errors always refuse).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The deploy id (`arkc deploy list`).
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The deploy id (`arkc deploy list`).
    pub id: i64,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Undo even when rows the deploy changed were changed again since (overwrites them).
    #[arg(long)]
    pub force: bool,
}

pub fn run(cmd: DeployCommand, read_only: bool, config: Option<&Path>) -> anyhow::Result<i32> {
    // Writes to servers are logged (XDG state dir, `ARKC_LOG` for the level); a log that
    // cannot be opened does not stop a deploy.
    if !matches!(cmd, DeployCommand::Review(_) | DeployCommand::List(_)) {
        let _ = crate::tui::logging::init();
    }
    match cmd {
        DeployCommand::Review(a) => run_review(&a, config),
        DeployCommand::Apply(a) => run_apply(&a, read_only, config),
        DeployCommand::List(a) => run_list(&a),
        DeployCommand::Undo(a) => run_undo(&a, read_only, config),
        DeployCommand::Settle(a) => run_settle(&a, config),
        DeployCommand::Instance(a) => super::deploy_instance::run_instance(&a, read_only, config),
        DeployCommand::Remove(a) => super::deploy_instance::run_remove(&a, read_only, config),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn instance<'a>(cfg: &'a Config, name: &str) -> anyhow::Result<&'a InstanceConfig> {
    cfg.instance(name).with_context(|| {
        let known: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
        format!(
            "no instance `{name}` in {} (known: {})",
            cfg.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the config".into()),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )
    })
}

/// Static review, plus the live rules when an instance is given.
fn review_file(
    sql: &str,
    cfg: &Config,
    inst: Option<&InstanceConfig>,
    database: Option<&str>,
) -> anyhow::Result<Review> {
    let mut r = review::review(sql, &cfg.review);
    if let Some(inst) = inst {
        let targets = review::live::targets(&r, database);
        let facts = runtime()?.block_on(async {
            let rec = log_only_recorder(&inst.name);
            let mut conn = crate::backend::connect::connect(inst).await?;
            let facts = live::read_facts(&mut conn, &rec, &targets).await;
            let _ = conn.disconnect().await;
            facts
        })?;
        let more = review::live::findings(&r, &facts, database, &cfg.review);
        r.extend(more);
    }
    Ok(r)
}

fn read_change(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the change file {}", path.display()))
}

fn print_findings(out: &mut dyn Write, file: &Path, findings: &[Finding]) -> std::io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{}:{}: statement {}: {} [{}] {}",
            file.display(),
            f.line,
            f.index,
            f.severity,
            f.rule,
            f.message
        )?;
    }
    Ok(())
}

fn run_review(a: &ReviewArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let cfg = Config::load_located(config)?;
    let inst = a
        .instance
        .as_deref()
        .map(|n| instance(&cfg, n))
        .transpose()?;
    let sql = read_change(&a.file)?;
    let r = review_file(&sql, &cfg, inst, a.database.as_deref())?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&r.findings)?)?,
        Format::Table => {
            print_findings(&mut out, &a.file, &r.findings)?;
            writeln!(
                out,
                "{} statement(s): {} error(s), {} warning(s)",
                r.statements.len(),
                r.errors(),
                r.warnings()
            )?;
        }
    }
    Ok(i32::from(r.errors() > 0))
}

/// Ask for the instance name on the terminal.
fn confirm_by_typing(question: &str, name: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{question}: refusing without --yes (stdin is not a terminal to confirm on)");
    }
    eprint!("{question}: type the instance name `{name}` to go on: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim() == name)
}

fn run_apply(a: &ApplyArgs, read_only: bool, config: Option<&Path>) -> anyhow::Result<i32> {
    if read_only {
        bail!("deploy apply refused: arkc is read-only (--read-only or read_only = true in the config); nothing was sent");
    }
    let cfg = Config::load_located(config)?;
    let inst = instance(&cfg, &a.instance)?;
    let sql = read_change(&a.file)?;
    let r = review_file(&sql, &cfg, Some(inst), a.database.as_deref())?;
    print_findings(&mut std::io::stderr(), &a.file, &r.findings)?;
    if r.errors() > 0 {
        bail!(
            "deploy apply refused: the review has {} error(s) (listed above); nothing was sent",
            r.errors()
        );
    }
    if r.warnings() > 0 && !a.yes {
        let q = format!("the review has {} warning(s)", r.warnings());
        if !confirm_by_typing(&q, &inst.name)? {
            eprintln!("not confirmed; nothing was sent");
            return Ok(1);
        }
    }
    let history = DeployHistory::open(&default_path()?)?;
    let sha = format!("{:x}", sha2::Sha256::digest(sql.as_bytes()));
    let file = std::fs::canonicalize(&a.file).unwrap_or_else(|_| a.file.clone());
    tracing::info!(instance = %inst.name, file = %file.display(), sha256 = %sha, warnings = r.warnings(), "deploy apply starts");
    let mut progress = |p: &apply::Progress| {
        let r = &p.result;
        tracing::info!(statement = r.index, line = r.line, status = %r.status, affected_rows = r.affected_rows, gtid = ?r.gtid, error = ?r.error, "deploy statement");
        let first_line: String = r
            .sql
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        match &r.error {
            None => eprintln!(
                "[{}/{}] statement {} (line {}): {} row(s), {} ms  {first_line}",
                p.done, p.total, r.index, r.line, r.affected_rows, r.elapsed_ms
            ),
            Some(e) => eprintln!(
                "[{}/{}] statement {} (line {}) FAILED: {e}  {first_line}",
                p.done, p.total, r.index, r.line
            ),
        }
    };
    let outcome = runtime()?.block_on(apply::apply(
        inst,
        &r,
        &file.display().to_string(),
        &sha,
        &history,
        &mut progress,
    ))?;
    tracing::info!(deploy_id = outcome.deploy_id, ok = outcome.ok, message = %outcome.message, "deploy apply ends");
    println!("{}", outcome.deploy_id);
    eprintln!("deploy {}: {}", outcome.deploy_id, outcome.message);
    Ok(if outcome.ok { 0 } else { 1 })
}

fn run_list(a: &ListArgs) -> anyhow::Result<i32> {
    let history = DeployHistory::open(&default_path()?)?;
    let all = history.list()?;
    let mut out = std::io::stdout().lock();
    match a.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?,
        Format::Table => {
            writeln!(out, "ID\tSTARTED\tINSTANCE\tUSER\tSTATUS\tSTATEMENTS\tFILE")?;
            for d in &all {
                let applied = d
                    .statements
                    .iter()
                    .filter(|s| s.status == "applied")
                    .count();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}/{}\t{}",
                    d.id,
                    d.started_at,
                    d.instance,
                    d.os_user,
                    d.status,
                    applied,
                    d.statements.len(),
                    d.file
                )?;
            }
        }
    }
    Ok(0)
}

fn run_undo(a: &UndoArgs, read_only: bool, config: Option<&Path>) -> anyhow::Result<i32> {
    if read_only {
        bail!("deploy undo refused: arkc is read-only (--read-only or read_only = true in the config); nothing was sent");
    }
    let history = DeployHistory::open(&default_path()?)?;
    let d = history
        .get(a.id)?
        .with_context(|| format!("no deploy {} in {}", a.id, history.path().display()))?;
    let cfg = Config::load_located(config)?;
    let inst = instance(&cfg, &d.instance)?;
    tracing::info!(deploy_id = d.id, instance = %inst.name, force = a.force, "deploy undo starts");
    let code = super::deploy_undo::undo(&d, inst, config, a.yes, a.force)?;
    tracing::info!(deploy_id = d.id, code, "deploy undo ends");
    if code == 0 {
        history.set_status(
            d.id,
            "undone",
            &format!(
                "undone at {}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )?;
        eprintln!("deploy {} undone", d.id);
    }
    Ok(code)
}

fn run_settle(a: &SettleArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let history = DeployHistory::open(&default_path()?)?;
    let d = history
        .get(a.id)?
        .with_context(|| format!("no deploy {} in {}", a.id, history.path().display()))?;
    let cfg = Config::load_located(config)?;
    let inst = instance(&cfg, &d.instance)?;
    let sentences = runtime()?.block_on(crate::backend::deploy::settle::settle_deploy(
        inst,
        &history,
        d.id,
        crate::backend::deploy::settle::SETTLE_WAIT,
    ))?;
    if sentences.is_empty() {
        eprintln!("deploy {}: no statement is in doubt", d.id);
    }
    for s in &sentences {
        tracing::info!(deploy_id = d.id, "{s}");
        eprintln!("deploy {}: {s}", d.id);
    }
    let still = history
        .get(d.id)?
        .is_some_and(|d| d.statements.iter().any(|s| s.status == "in doubt"));
    Ok(if still { 1 } else { 0 })
}

/// For the undo module: what a deploy must have recorded to be undone.
pub(super) fn undo_range(
    d: &DeployRecord,
) -> anyhow::Result<(
    &crate::deploy::history::BinlogPoint,
    &crate::deploy::history::BinlogPoint,
)> {
    if d.status == "undone" {
        bail!("deploy {} is already undone", d.id);
    }
    if d.statements.iter().all(|s| s.status != "applied") {
        bail!("deploy {} applied nothing: nothing to undo", d.id);
    }
    if let Some(why) = crate::deploy::in_doubt::blocks_undo(d) {
        bail!("{why}");
    }
    match (&d.before, &d.after) {
        (Some(b), Some(a)) => Ok((b, a)),
        _ => bail!("deploy {} has no recorded binlog range (before and after positions): it cannot be undone", d.id),
    }
}
