//! Running mariadb-backup's `--backup` again when its redo log copy stalls (see `redo_stall`):
//! each attempt is said in the job's events, tool log and progress; a stalled attempt's copy is
//! removed before the next; the last one fails the job with the reason.

use std::sync::atomic::Ordering;

use anyhow::Context;

use super::redo_stall::{RedoCopyStall, REDO_COPY_ATTEMPTS};
use super::{folder_backup, stream_backup, PhysicalTool};
use crate::jobs::progress::Phase;
use crate::jobs::supervise::{JobRun, ToolEnd};
use crate::jobs::tools::Tool;

/// Back up (folder or stream, as the spec says), again after each redo copy stall of
/// mariadb-backup, up to `REDO_COPY_ATTEMPTS` runs in all.
pub(super) fn back_up(
    run: &mut JobRun,
    kind: PhysicalTool,
    tool: &Tool,
    datadir: &str,
) -> anyhow::Result<ToolEnd> {
    // Only mariadb-backup has the redo copier fault (MDEV-39468); XtraBackup's is its own code.
    let attempts = match kind {
        PhysicalTool::Mariabackup => REDO_COPY_ATTEMPTS,
        PhysicalTool::Xtrabackup => 1,
    };
    run.progress.attempts = attempts;
    let mut attempt = 1;
    loop {
        run.progress.attempt = attempt;
        run.save_progress();
        let copy = if run.spec.stream {
            stream_backup(run, kind, tool, datadir)?
        } else {
            folder_backup(run, kind, tool, datadir)?
        };
        let (why, stall) = match copy {
            CopyEnd::End(end) => {
                if attempt > 1 && matches!(end, ToolEnd::Completed { .. }) {
                    run.note(&format!(
                        "backed up on attempt {attempt} of {attempts} after the redo log copy stalls"
                    ));
                }
                return Ok(end);
            }
            CopyEnd::RedoStalled { why, stall } => (why, stall),
        };
        run.note(&format!(
            "attempt {attempt} of {attempts}: {}",
            stall.describe()
        ));
        // A cancel that came while the tool was ending: no new attempt.
        if run.cancel_requested() {
            return Ok(ToolEnd::Failed(why));
        }
        if attempt == attempts {
            return Ok(ToolEnd::Failed(format!(
                "{why}: {}; it stalled on each of {attempts} attempts, so the backup failed (a \
                 backup run again later, with less write load, can succeed)",
                stall.describe()
            )));
        }
        if let Err(e) = discard_attempt(run) {
            return Ok(ToolEnd::Failed(format!(
                "{why}: {}; not backed up again: {e:#}",
                stall.describe()
            )));
        }
        attempt += 1;
        run.note(&format!(
            "discarded the stalled copy {}; backing up again, attempt {attempt} of {attempts}",
            run.spec.partial.display()
        ));
    }
}

/// How one `--backup` run ended: a tool end, or mariadb-backup's redo copy stall (retried).
pub(super) enum CopyEnd {
    End(ToolEnd),
    RedoStalled { why: String, stall: RedoCopyStall },
}

/// Remove a stalled attempt's output before the next: a copy without its redo cannot be
/// prepared, so it is worth nothing, and keeping each attempt's full copy could fill the target
/// before the next one. The last attempt's partial output is quarantined like any failure.
fn discard_attempt(run: &mut JobRun) -> anyhow::Result<()> {
    let scratch = [
        run.spec.partial.clone(),
        run.job_dir.join("stream-target"),
        run.job_dir.join("lsn"),
    ];
    for path in scratch {
        let removed = match std::fs::symlink_metadata(&path) {
            Err(_) => Ok(()),
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
        };
        removed.with_context(|| format!("cannot remove the stalled copy {}", path.display()))?;
    }
    run.counters.bytes.store(0, Ordering::Relaxed);
    run.counters.tables.store(0, Ordering::Relaxed);
    run.progress.bytes_done = 0;
    run.progress.tables_done = 0;
    run.progress.phase = Phase::Dumping;
    run.save_progress();
    Ok(())
}
