//! The audit trail: one JSON line per action that wrote (or tried to write) to a server,
//! appended to `audit.jsonl` in the data dir. The file is opened append-only and each record
//! is synced before `record` returns, so a crash right after a write still leaves its line.
//! Nothing here touches a server; the write paths call `record` once, when their action ends.

mod read;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use read::{read_since, AuditReadError};

/// One write action as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// UTC, RFC 3339 with milliseconds.
    pub time: String,
    /// The OS user that ran arkc.
    pub user: String,
    pub instance: String,
    /// `flashback apply`, `flashback execute`, `kill`, `kill query`, `deploy apply` ...
    pub action: String,
    /// sha256 of the SQL that was sent: of `sql`, or of the first of `sql_files`.
    pub sha256: String,
    /// Where that SQL is kept, first (audit SQL files, the deployed file), then its companions
    /// (the inverse a flashback saved); empty when `sql` holds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sql_files: Vec<String>,
    /// The SQL itself when it is short (a KILL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    pub rows_affected: u64,
    /// `ok`, `failed` or `partial`.
    pub result: String,
    #[serde(default)]
    pub message: String,
}

/// What a write path knows when its action ends; `record` adds the time, the user and the digest.
#[derive(Debug, Clone, Default)]
pub struct Action<'a> {
    pub instance: &'a str,
    pub action: &'a str,
    /// The SQL sent, digested; ignored when `sql_files` is set (the first file is digested).
    pub sql: Option<&'a str>,
    pub sql_files: &'a [PathBuf],
    /// The digest when the caller already has it (a deploy digests its file before applying).
    pub sha256: Option<&'a str>,
    pub rows_affected: u64,
    pub result: &'a str,
    pub message: &'a str,
}

/// The trail's file: `data_dir()/audit.jsonl`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    Ok(crate::config::data_dir()
        .context("no XDG data dir for the audit trail (set HOME, XDG_DATA_HOME or ARKC_DATA_DIR)")?
        .join("audit.jsonl"))
}

/// Append `action` to the trail, or say in the log why it could not be (the action has
/// already happened; failing it now would hide what it did). The error, naming the file, is
/// also returned for a caller that can show it.
pub fn record(action: Action<'_>) -> Option<String> {
    let outcome = default_path().and_then(|path| append_to(&path, &action));
    let e = outcome.err()?;
    tracing::error!(instance = %action.instance, action = %action.action,
        "audit trail not written: {e:#}");
    Some(format!("the audit trail was not written: {e:#}"))
}

/// Append `action` to the trail at `path`, synced to disk.
pub fn append_to(path: &Path, action: &Action<'_>) -> anyhow::Result<()> {
    let entry = AuditRecord {
        time: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        user: crate::deploy::history::os_user(),
        instance: action.instance.to_string(),
        action: action.action.to_string(),
        sha256: digest(action)?,
        sql_files: action
            .sql_files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        sql: match action.sql_files.is_empty() {
            true => action.sql.filter(|s| s.len() <= 4096).map(str::to_string),
            false => None,
        },
        rows_affected: action.rows_affected,
        result: action.result.to_string(),
        message: action.message.to_string(),
    };
    let mut line = serde_json::to_string(&entry)?;
    line.push('\n');
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open {} to append", path.display()))?;
    // One write of the whole line: O_APPEND keeps concurrent arkc processes' lines whole.
    let before = file.metadata().map(|m| m.len()).ok();
    let written = file
        .write_all(line.as_bytes())
        .and_then(|()| file.sync_data());
    if let Err(e) = written {
        // A full disk may have taken part of the line: cut it, so the trail never ends in a
        // half record that reads as corrupt.
        if let Some(len) = before {
            let _ = file.set_len(len);
        }
        return Err(e)
            .with_context(|| format!("cannot append to {} (nothing was added)", path.display()));
    }
    Ok(())
}

fn digest(action: &Action<'_>) -> anyhow::Result<String> {
    if let Some(known) = action.sha256 {
        return Ok(known.to_string());
    }
    match action.sql_files.first() {
        None => Ok(format!(
            "{:x}",
            Sha256::digest(action.sql.unwrap_or_default().as_bytes())
        )),
        Some(path) => file_digest(path),
    }
}

/// The SHA-256 of a file's content, as the trail records an action's first SQL file: a
/// caller that knows the file is final can take it early, off the critical path, and pass
/// it (`flashback_digested`).
pub fn file_digest(path: &Path) -> anyhow::Result<String> {
    let mut hash = Sha256::new();
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {} to digest it", path.display()))?;
    std::io::copy(&mut file, &mut hash)
        .with_context(|| format!("cannot read {} to digest it", path.display()))?;
    Ok(format!("{:x}", hash.finalize()))
}

/// `ok` when `ok`, else `failed`.
pub fn result_word(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "failed"
    }
}

#[cfg(test)]
mod tests;

/// A flashback that ran (or stopped part way): its audit SQL files, first the one applied.
pub fn flashback(
    instance: &str,
    action: &str,
    sql_files: &[PathBuf],
    rows_affected: u64,
    ok: bool,
    message: &str,
) -> Option<String> {
    flashback_digested(
        instance,
        action,
        (sql_files, None),
        rows_affected,
        ok,
        message,
    )
}

/// `flashback`, with the first SQL file's digest when the caller took it already
/// (`file_digest`).
pub fn flashback_digested(
    instance: &str,
    action: &str,
    (sql_files, sha256): (&[PathBuf], Option<&str>),
    rows_affected: u64,
    ok: bool,
    message: &str,
) -> Option<String> {
    record(Action {
        instance,
        action,
        sql: None,
        sql_files,
        sha256,
        rows_affected,
        result: result_word(ok),
        message,
    })
}

/// The KILLs sent to `instance` (sessions left alone are not writes and are not listed).
pub fn kills(
    instance: &str,
    query_only: bool,
    outcomes: &[crate::backend::health::kill::KillOutcome],
) {
    let verb = if query_only {
        "KILL QUERY"
    } else {
        "KILL CONNECTION"
    };
    let sent: Vec<_> = outcomes
        .iter()
        .filter(|o| o.killed || !o.error.as_deref().is_some_and(|e| e.contains("left alone")))
        .collect();
    if sent.is_empty() {
        return;
    }
    let sql: Vec<String> = sent.iter().map(|o| format!("{verb} {}", o.id)).collect();
    let killed = sent.iter().filter(|o| o.killed).count();
    let failed: Vec<String> = sent
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {e}", o.id)))
        .collect();
    let result = match (killed, failed.len()) {
        (_, 0) => "ok",
        (0, _) => "failed",
        _ => "partial",
    };
    record(Action {
        instance,
        action: if query_only { "kill query" } else { "kill" },
        sql: Some(&sql.join(";\n")),
        sql_files: &[],
        sha256: None,
        rows_affected: killed as u64,
        result,
        message: &failed.join("; "),
    });
}

/// A deploy apply that ran: its file and digest, the rows its statements changed (from the
/// deploy history, which recorded each statement).
pub fn deploy(
    instance: &str,
    file: &str,
    sha256: &str,
    history: &crate::deploy::history::DeployHistory,
    outcome: &crate::backend::deploy::apply::ApplyOutcome,
) {
    let rows = history
        .get(outcome.deploy_id)
        .ok()
        .flatten()
        .map_or(0, |d| d.statements.iter().map(|s| s.affected_rows).sum());
    let message = format!("deploy {}: {}", outcome.deploy_id, outcome.message);
    record(Action {
        instance,
        action: "deploy apply",
        sql: None,
        sql_files: &[PathBuf::from(file)],
        sha256: Some(sha256),
        rows_affected: rows,
        result: result_word(outcome.ok),
        message: &message,
    });
}
