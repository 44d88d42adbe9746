//! Verification by restore: a throwaway sandbox, the backup restored into it with the tool's own
//! loader, then every recorded table's count and `CHECKSUM TABLE ... EXTENDED` compared.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context};
use chrono::Utc;
use serde::Serialize;

use crate::config::BackupKind;
use crate::sandbox::{Sandbox, SandboxOptions};

use super::checksums::{self, TableInfo};
use super::history::{ChecksumMode, History};
use super::physical::{self, PhysicalTool};
use super::sql::SqlClient;
use super::{BackupRecord, JobState};

/// The result of one verification, as recorded in the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub id: i64,
    pub ok: bool,
    pub tables: usize,
    /// Whether checksums (not only row counts) were compared.
    pub checksums_compared: bool,
    pub note: String,
    pub differing: Vec<String>,
}

const NO_MYSQL_SANDBOX: &str = "an xtrabackup backup is a MySQL datadir: restoring it needs a \
    MySQL server of the source's version, and arkc's verification sandbox runs MariaDB's mariadbd, \
    which cannot open it";

/// Restore backup `id` into a fresh sandbox and compare; the result is recorded either way.
pub fn verify(history: &History, id: i64) -> anyhow::Result<VerifyReport> {
    let rec = history.get(id)?;
    if rec.state != JobState::Succeeded {
        bail!(
            "backup {id} is {}; only a succeeded backup can be verified",
            rec.state.as_str()
        );
    }
    if rec.deleted_at.is_some() {
        bail!("backup {id} was deleted by retention");
    }
    let path = rec
        .path
        .clone()
        .with_context(|| format!("backup {id} has no path recorded"))?;
    if !path.exists() {
        bail!("backup {id}: {} does not exist any more", path.display());
    }
    if rec.checksums.is_empty() {
        bail!("backup {id} has no per-table figures recorded at backup time: nothing to compare a restore with");
    }
    if rec.kind == BackupKind::Xtrabackup {
        bail!("backup {id}: {NO_MYSQL_SANDBOX}");
    }
    history.event(id, "verification started", Utc::now())?;
    let report = match restore_and_compare(&rec, &path) {
        Ok(r) => r,
        Err(e) => VerifyReport {
            id,
            ok: false,
            tables: rec.checksums.len(),
            checksums_compared: false,
            note: format!("restore failed: {e:#}"),
            differing: Vec::new(),
        },
    };
    history.record_verification(id, report.ok, &report.note, &report.differing, Utc::now())?;
    Ok(report)
}

fn restore_and_compare(rec: &BackupRecord, path: &Path) -> anyhow::Result<VerifyReport> {
    let mut opts = SandboxOptions {
        name: format!("verify{}", rec.id),
        ..SandboxOptions::default()
    };
    // Removed when this returns, whatever happened.
    let mut _unpacked = None;
    match rec.kind {
        BackupKind::Xtrabackup => bail!(NO_MYSQL_SANDBOX),
        BackupKind::Mariabackup => {
            let folder = if physical::is_stream(path) {
                let dir = physical::unpack_dir(path, rec.id);
                let _ = std::fs::remove_dir_all(&dir);
                _unpacked = Some(RemoveOnDrop(dir.clone()));
                physical::unpack_and_prepare(PhysicalTool::Mariabackup, path, &dir)?;
                dir
            } else {
                path.to_path_buf()
            };
            // The copy carries the source's accounts; without grant checks the verifier can read it.
            opts.restore_from = Some(folder);
            opts.extra_args.push("--skip-grant-tables".into());
        }
        BackupKind::Dump | BackupKind::Mydumper => {}
    }
    let sandbox = Sandbox::start(opts).context("starting the verification sandbox")?;
    match rec.kind {
        BackupKind::Dump => restore_dump(&sandbox, path)?,
        BackupKind::Mydumper => restore_mydumper(&sandbox, path)?,
        BackupKind::Mariabackup | BackupKind::Xtrabackup => {}
    }
    let client = SqlClient::sandbox(&sandbox);
    let present = checksums::list_tables(&client, None)?;
    let wanted: Vec<TableInfo> = rec
        .checksums
        .iter()
        .filter(|c| {
            present
                .iter()
                .any(|p| p.schema == c.schema && p.table == c.table)
        })
        .map(|c| TableInfo {
            schema: c.schema.clone(),
            table: c.table.clone(),
            data_bytes: 0,
        })
        .collect();
    let (restored, _) = checksums::take(&client, &wanted)?;
    let use_checksums = rec.checksum_mode == Some(ChecksumMode::Checksum);
    let differing = checksums::compare(&rec.checksums, &restored, use_checksums);
    let ok = differing.is_empty();
    let what = if use_checksums {
        "row counts and CHECKSUM TABLE EXTENDED"
    } else {
        "only row counts (the source's checksums were not taken at the backup's position)"
    };
    let note = if ok {
        format!("{} tables restored; {what} match", rec.checksums.len())
    } else {
        format!(
            "{} of {} tables differ ({what}): {}",
            differing.len(),
            rec.checksums.len(),
            differing.join("; ")
        )
    };
    Ok(VerifyReport {
        id: rec.id,
        ok,
        tables: rec.checksums.len(),
        checksums_compared: use_checksums,
        note,
        differing,
    })
}

/// A scratch folder removed when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pipe the (decompressed) dump into the `mariadb` client.
fn restore_dump(sandbox: &Sandbox, path: &Path) -> anyhow::Result<()> {
    let mut child = sandbox
        .client()
        .arg("--default-character-set=utf8mb4")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run the `mariadb` client")?;
    let mut stdin = child.stdin.take().context("client stdin missing")?;
    let copied = super::kinds::copy_dump(path, &mut stdin);
    let _ = stdin.flush();
    drop(stdin);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "the mariadb client failed restoring {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    copied?;
    Ok(())
}

fn restore_mydumper(sandbox: &Sandbox, dir: &Path) -> anyhow::Result<()> {
    let myloader = super::tools::Tool::probe("myloader")?;
    let out = std::process::Command::new(&myloader.path)
        .arg(format!("--directory={}", dir.display()))
        .arg(format!("--socket={}", sandbox.socket().display()))
        .args([
            "--user=root",
            "--overwrite-tables",
            "--threads=2",
            "--verbose=2",
        ])
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", myloader.path.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() || text.contains("** (myloader") && text.contains("CRITICAL") {
        bail!(
            "myloader failed ({}) restoring {}: {}",
            out.status,
            dir.display(),
            text.trim()
        );
    }
    Ok(())
}
