//! The server side of `arkc flashback`: `--check` (are the rows still as the binlog left
//! them?) and `--execute` (apply, one transaction at a time, with an audit trail), on the
//! server of `--url` or of a configured `--instance`. Arguments, confirmation and output
//! only: the scans, check and apply are `backend::binlog::url_flashback`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use arkc_binlog::check::RowState;
use arkc_binlog::plan::FlashbackOptions;
use arkc_binlog::txn::{Filters, TxnBuilder};

use super::binlog::SourceArgs;
use super::binlog_source::Source;
use super::progress::CliProgress;
use crate::backend::binlog::in_doubt;
use crate::backend::binlog::stream::StreamServer;
use crate::backend::binlog::url_flashback::{
    apply_file_with, check_source, render_with_inverse, settle_in_doubt, CheckedSource,
    RenderedPair,
};
use arkc_binlog::check_spill::SpilledProblem;
use arkc_binlog::BinlogError;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The server `--check` and `--execute` work on, and its name in the audit trail.
pub struct Target {
    pub server: StreamServer,
    /// The instance's name, or user@address of a `--url` (never its password).
    pub audit_name: String,
}

impl Target {
    /// `--url`, or the configured `--instance` (its address, user, password source and TLS);
    /// reached once before anything is read, so a wrong address or password is told at once
    /// (naming the instance and what to check), not after a long scan.
    pub fn resolve(src: &SourceArgs, what: &str, config: Option<&Path>) -> anyhow::Result<Target> {
        let target = match (&src.url, &src.instance) {
            (Some(url), _) => Target {
                server: StreamServer::from_url(url)?,
                audit_name: url_instance(url),
            },
            (None, Some(name)) => {
                let inst = super::binlog_source::instance_config(name, config)?;
                let server = StreamServer::from_instance(&inst).with_context(|| {
                    format!(
                        "{what}: instance `{name}`: its password cannot be read (see its \
                         password_env / password_cmd in the config; `arkc config check` \
                         shows what it resolves to)"
                    )
                })?;
                Target {
                    server,
                    audit_name: inst.name,
                }
            }
            (None, None) => bail!(
                "{what} needs the server to work on: --url mysql://user@host:port, or \
                 --instance NAME (an [[instance]] of the config)"
            ),
        };
        runtime()?
            .block_on(async {
                let conn = target.server.sql_conn().await?;
                conn.disconnect().await?;
                anyhow::Ok(())
            })
            .with_context(|| match &src.instance {
                Some(name) if src.url.is_none() => format!(
                    "{what}: cannot reach instance `{name}`: check its host, port, user, \
                     password source and tls in the config (`arkc config check`, `arkc health \
                     --instance {name}`)"
                ),
                _ => format!("{what}: cannot reach the server of --url"),
            })?;
        Ok(target)
    }
}

/// `flashback --check`: the same check as the Binlog pane's `c` (`arkc_binlog::check`), on
/// the rows the filters keep, in bounded memory; reports the rows changed since.
pub fn run_check(
    source: &Source,
    builder: &mut TxnBuilder,
    target: &Target,
) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let mut bar = super::progress::CliProgress::scan(None);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut report = |p: SpilledProblem| {
        let why = match p.state {
            RowState::KeyTaken => "a row took the deleted row's key",
            _ => "the row the binlog left is gone or changed",
        };
        let (file, offset, gtid) = &p.origin;
        let gtid = gtid
            .as_deref()
            .map(|g| format!(" GTID {g}"))
            .unwrap_or_default();
        writeln!(
            out,
            "changed since: {file}:{offset}{gtid} {}: {why} (the {:?} of this row)",
            p.row.table, p.row.kind
        )
        .map_err(BinlogError::Output)
    };
    let checked = check_source(
        source,
        builder,
        &target.server,
        &mut |s| {
            bar.set(s.bytes, |secs| {
                format!(
                    "{} events, {:.0} events/s",
                    s.events,
                    s.events as f64 / secs
                )
            })
        },
        &mut report,
    );
    bar.finish();
    let CheckedSource { rows, problems } = checked?;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "checked {rows} row(s) in {:.2}s",
            started.elapsed().as_secs_f64()
        );
    }
    writeln!(
        out,
        "{rows} row(s) checked, {problems} changed since the binlog"
    )?;
    out.flush()?;
    Ok(if problems == 0 { 0 } else { 3 })
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

/// The server of `--url` as the audit trail names it: user@address, never the password.
fn url_instance(url: &str) -> String {
    match mysql_async::Opts::from_url(url) {
        Ok(opts) => format!(
            "{}@{}",
            opts.user().unwrap_or(""),
            crate::backend::connect::opts_address(&opts)
        ),
        Err(_) => "--url (unparsable)".into(),
    }
}

/// `flashback --execute`: audit first, then apply block by block; stop at the first error.
pub fn run_execute(
    source: &Source,
    definitions: &TxnBuilder,
    filters: &Filters,
    opts: FlashbackOptions,
    target: &Target,
    (yes, connections): (bool, usize),
) -> anyhow::Result<i32> {
    let dir = audit_dir()?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let apply_path = dir.join(format!("flashback-{stamp}-apply.sql"));
    let redo_path = dir.join(format!("flashback-{stamp}-redo.sql"));
    let mut bar = CliProgress::scan(None);
    let rendered = render_with_inverse(
        source,
        definitions,
        filters,
        opts,
        (&apply_path, &redo_path),
        &mut |s| {
            bar.set(s.bytes, |secs| {
                format!(
                    "{} events, {:.0} events/s",
                    s.events,
                    s.events as f64 / secs
                )
            })
        },
    );
    bar.finish();
    let RenderedPair {
        blocks,
        stats,
        row_events,
    } = match rendered {
        Ok(r) => r,
        Err(e) => {
            // Nothing was applied: no half audit file may look like a plan that ran.
            let _ = std::fs::remove_file(&apply_path);
            let _ = std::fs::remove_file(&redo_path);
            bail!("not applied: {e:#} (the partial audit files were removed)");
        }
    };
    eprintln!(
        "saved {} and its inverse {}",
        apply_path.display(),
        redo_path.display()
    );
    // The audit trail records the applied file's digest: the file is final now, so it is
    // taken beside the apply instead of after it.
    let digest = {
        let path = apply_path.clone();
        std::thread::spawn(move || crate::audit::file_digest(&path))
    };
    let question = format!(
        "apply {} transaction(s), {} statement(s)?",
        stats.transactions, stats.statements
    );
    if !confirm(&question, yes)? {
        eprintln!("nothing applied");
        return Ok(1);
    }
    // What was acknowledged, one line per transaction as it commits, so that a stop (killed
    // server, lost connection) leaves a record of exactly what ran.
    let log_path = dir.join(format!("flashback-{stamp}-applied.log"));
    let mut log = AppliedLog::create(&log_path)?;
    let mut bar = CliProgress::apply(stats.transactions);
    let mut rows = 0;
    let mut stopped_at = None;
    let mut path_taken = String::new();
    let applied = runtime()?.block_on(apply_file_with(
        &target.server,
        (&apply_path, &blocks),
        row_events.as_ref(),
        (stats.transactions as usize, connections),
        &mut |sentence| {
            eprintln!("{sentence}");
            path_taken = sentence;
        },
        |r| {
            rows += r.rows_affected;
            match &r.error {
                None => log.line(&format!(
                    "applied {}/{} {} ({} row(s))",
                    r.index, r.total, r.label, r.rows_affected
                )),
                Some(e) => {
                    log.line(&format!("stopped {}/{} {}: {e}", r.index, r.total, r.label));
                    stopped_at = Some(r.label.clone());
                }
            }
            bar.set(r.index as u64, |_| String::new())
        },
    ));
    bar.finish();
    if !path_taken.is_empty() {
        log.line(&path_taken);
    }
    let mut message = applied.as_ref().err().map(|e| format!("{e:#}"));
    if let (Some(m), Some(label)) = (&mut message, &stopped_at) {
        if in_doubt::is_in_doubt(m) {
            let settled = settle_in_doubt(source, definitions, filters, &target.server, label);
            log.line(&settled);
            *m = format!("{m}. {settled}");
        }
    }
    log.line(
        message
            .as_deref()
            .unwrap_or("done: every transaction applied"),
    );
    // A digest that failed is taken again (and its error told) by the trail itself.
    let digest = digest.join().ok().and_then(Result::ok);
    let unaudited = crate::audit::flashback_digested(
        &target.audit_name,
        "flashback execute",
        (
            &[apply_path.clone(), redo_path.clone(), log_path.clone()],
            digest.as_deref(),
        ),
        rows,
        applied.is_ok(),
        message
            .as_deref()
            .unwrap_or(match path_taken.contains("row events (BINLOG") {
                true => "applied as row events",
                false => "applied",
            }),
    );
    if let Some(e) = unaudited {
        let what = match &message {
            Some(m) => m.clone(),
            None => format!("applied {} transaction(s)", stats.transactions),
        };
        bail!("{what}, but {e}");
    }
    if let Some(e) = log.failed {
        bail!("{e}");
    }
    if let Some(m) = message {
        bail!("{m} (applied so far: {})", log_path.display());
    }
    eprintln!("applied {} transaction(s)", stats.transactions);
    Ok(0)
}

/// The audit file of what an apply acknowledged, written line by line (no buffer: a killed
/// run leaves every line it wrote). A write that fails is kept and reported at the end naming
/// the file; the apply is not cut short by it (the server's state would then be unknown).
struct AppliedLog {
    path: PathBuf,
    file: std::fs::File,
    failed: Option<String>,
}

impl AppliedLog {
    fn create(path: &std::path::Path) -> anyhow::Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("not applied: cannot create {}", path.display()))?;
        Ok(AppliedLog {
            path: path.to_path_buf(),
            file,
            failed: None,
        })
    }

    fn line(&mut self, text: &str) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = writeln!(self.file, "{text}") {
            self.failed = Some(format!(
                "cannot write {} ({e}): it does not list every transaction applied; the audit \
                 trail and `arkc flashback --check` do",
                self.path.display()
            ));
        }
    }
}
