//! Seeding a new replica physically (`arkc deploy instance --seed physical`): mariadb-backup of a
//! source on this host (it copies the source's datadir files, so it must be readable here),
//! prepared, then copied into the new datadir. Faster than a logical dump for a big source, and
//! the backup names its GTID position (`xtrabackup_binlog_info`).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::instance::client_defaults;
use crate::config::InstanceConfig;
use crate::sandbox::server::{self, find_program, ServerLayout};

/// How many times the backup runs when its redo log copy stalls.
const REDO_COPY_ATTEMPTS: u32 = 3;

/// mariadb-backup of MariaDB 10.11 can stop copying the redo log while the server writes (its
/// copier misreads a block being written, MDEV-39468) and gives up with this message although the
/// log is intact; a new backup is not affected by the failed one.
fn redo_copy_stalled(error: &str) -> bool {
    error.contains("Was only able to copy log from")
}

/// Run mariadb-backup with `args`; an error unless it says `completed OK!`.
fn mariadb_backup(args: &[String], what: &str) -> anyhow::Result<()> {
    let tool = find_program("mariadb-backup")?;
    let out = Command::new(&tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("step `{what}`: cannot run {}", tool.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !text.contains("completed OK!") {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        bail!(
            "step `{what}`: mariadb-backup failed ({}); last output:\n{}",
            out.status,
            lines[lines.len().saturating_sub(6)..].join("\n")
        );
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
            Err(e) if attempt < REDO_COPY_ATTEMPTS && redo_copy_stalled(&format!("{e:#}")) => {
                attempt += 1;
                step(&format!(
                    "mariadb-backup's redo log copy stalled (a known MariaDB 10.11 fault under \
                     write load, MDEV-39468; the source is not affected): backing up again, \
                     attempt {attempt} of {REDO_COPY_ATTEMPTS}"
                ));
                std::fs::remove_dir_all(&backup).with_context(|| {
                    format!(
                        "step `back up`: cannot remove the failed backup {}",
                        backup.display()
                    )
                })?;
            }
            Err(e) => return Err(e),
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
    )?;
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

#[cfg(test)]
mod tests {
    use super::redo_copy_stalled;

    #[test]
    fn only_the_redo_copy_stall_is_retried() {
        assert!(redo_copy_stalled(
            "step `back up`: mariadb-backup failed (exit status: 1); last output:\n[00] 2026-12-02 \
             00:22:40 Was only able to copy log from 44388 to 46527, not 46891"
        ));
        assert!(!redo_copy_stalled(
            "step `back up`: mariadb-backup failed (exit status: 1); last output:\nAccess denied"
        ));
    }
}
