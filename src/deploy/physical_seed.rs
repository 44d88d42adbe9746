//! Seeding a new replica physically (`arkc deploy instance --seed physical`): mariadb-backup of a
//! source on this host (it copies the source's datadir files, so it must be readable here),
//! prepared, then copied into the new datadir. Faster than a logical dump for a big source, and
//! the backup names its GTID position (`xtrabackup_binlog_info`).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::instance::client_defaults;
use crate::config::InstanceConfig;
use crate::jobs::physical::redo_stall::{redo_copy_stall, RedoCopyStall, REDO_COPY_ATTEMPTS};
use crate::sandbox::server::{self, find_program, ServerLayout};

/// A failed mariadb-backup run: the error to report, and the redo copy stall when that was why
/// (read from its whole output, not only the lines the error quotes).
struct BackupFailed {
    error: anyhow::Error,
    stall: Option<RedoCopyStall>,
}

impl From<anyhow::Error> for BackupFailed {
    fn from(error: anyhow::Error) -> BackupFailed {
        BackupFailed { error, stall: None }
    }
}

/// Run mariadb-backup with `args`; a failure unless it says `completed OK!`.
fn mariadb_backup(args: &[String], what: &str) -> Result<(), BackupFailed> {
    let tool = find_program("mariadb-backup")?;
    let out = Command::new(&tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("step `{what}`: cannot run {}", tool.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !text.contains("completed OK!") {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        return Err(BackupFailed {
            error: anyhow::anyhow!(
                "step `{what}`: mariadb-backup failed ({}); last output:\n{}",
                out.status,
                lines[lines.len().saturating_sub(6)..].join("\n")
            ),
            stall: (!out.status.success())
                .then(|| redo_copy_stall(&text))
                .flatten(),
        });
    }
    Ok(())
}

/// The source's datadir, as the server names it.
fn source_datadir(defaults_arg: &str) -> anyhow::Result<String> {
    let out = Command::new(find_program("mariadb")?)
        .args([
            defaults_arg,
            "--batch",
            "--skip-column-names",
            "-e",
            "SELECT @@datadir",
        ])
        .stdin(Stdio::null())
        .output()
        .context("step `back up`: cannot run the client")?;
    if !out.status.success() {
        bail!(
            "step `back up`: cannot ask the source for its datadir: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Back up `src`, prepare, copy into `layout.datadir`; returns the backup's GTID position.
pub fn seed(
    layout: &ServerLayout,
    src: &InstanceConfig,
    root: &Path,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<String> {
    step(&format!("back up {} with mariadb-backup", src.name));
    let defaults = client_defaults(src, root)?;
    // mariadb-backup reads an extra defaults file only as its first option.
    let defaults_arg = format!("--defaults-extra-file={}", defaults.display());
    let datadir = source_datadir(&defaults_arg)?;
    if std::fs::read_dir(&datadir).is_err() {
        bail!(
            "step `back up`: {}'s datadir {datadir} is not readable here: a physical seed runs on the source's host as a user that can read it (or use --seed logical)",
            src.name
        );
    }
    let backup = root.join("seed-backup");
    let args = [
        defaults_arg,
        "--backup".into(),
        format!("--target-dir={}", backup.display()),
        format!("--datadir={datadir}"),
    ];
    let mut attempt = 1;
    loop {
        match mariadb_backup(&args, "back up") {
            Ok(()) => break,
            Err(BackupFailed {
                stall: Some(stall),
                error,
            }) if attempt < REDO_COPY_ATTEMPTS => {
                tracing::warn!("physical seed of {}: {error:#}", src.name);
                attempt += 1;
                step(&format!(
                    "{}: backing up again, attempt {attempt} of {REDO_COPY_ATTEMPTS}",
                    stall.describe()
                ));
                std::fs::remove_dir_all(&backup).with_context(|| {
                    format!(
                        "step `back up`: cannot remove the failed backup {}",
                        backup.display()
                    )
                })?;
            }
            Err(BackupFailed {
                stall: Some(stall),
                error,
            }) => {
                return Err(error.context(format!(
                    "{}; it stalled on each of {REDO_COPY_ATTEMPTS} attempts",
                    stall.describe()
                )))
            }
            Err(BackupFailed { error, .. }) => return Err(error),
        }
    }
    drop(defaults);
    step("prepare the backup");
    mariadb_backup(
        &[
            "--no-defaults".into(),
            "--prepare".into(),
            format!("--target-dir={}", backup.display()),
        ],
        "prepare the backup",
    )
    .map_err(|f| f.error)?;
    step("copy the backup into the datadir");
    server::copy_back(layout, &backup).context("step `copy the backup into the datadir`")?;
    let info = std::fs::read_to_string(backup.join("xtrabackup_binlog_info"))
        .or_else(|_| std::fs::read_to_string(backup.join("mariadb_backup_binlog_info")))
        .unwrap_or_default();
    let gtid = info
        .split_whitespace()
        .nth(2)
        .map(str::to_string)
        .context("step `back up`: the backup names no GTID position (xtrabackup_binlog_info; is the source's binary log on?)")?;
    let _ = std::fs::remove_dir_all(&backup);
    Ok(gtid)
}
