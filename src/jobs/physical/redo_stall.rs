//! mariadb-backup's redo log copy stall. Under write load, mariadb-backup of MariaDB 10.11 can stop
//! copying the redo log (its copier misreads a block the server is writing, MDEV-39468): at the
//! end of the copy it waits for the server's LSN, gives up and exits non-zero, although the
//! server and its log are intact. A new backup is not affected by the failed one, so the backup
//! job and the physical seed of `deploy instance` both back up again, a bounded number of times.
//!
//! What the tool prints (10.11.19), after `Waiting for log copy thread to read lsn N`:
//! ```text
//! [00] 2026-12-02 02:00:06 Was only able to copy log from 44864 to 3701009, not 3701264
//! [00] 2026-12-02 02:00:06 mariabackup: The required redo still fits within the log capacity, so it has not been overwritten; check whether the server and backup configuration are the same.
//! ```
//! When the log really was overwritten before it could be copied (a log too small for the write
//! rate), the second line says `mariabackup: Try increasing the innodb_log_file_size.` instead:
//! that is a configuration to fix, not this fault, and it is not retried.

/// How many times a backup runs when its redo log copy stalls.
pub const REDO_COPY_ATTEMPTS: u32 = 3;

/// The stall line, as the tool starts it (after its `[00] date time` prefix).
const STALL: &str = "Was only able to copy log from ";
/// Releases before the split verdict line end the stall line with this.
const OLD_SUFFIX: &str = "; try increasing innodb_log_file_size";
/// The tool's verdict that the redo log was overwritten: not the copier fault.
const OVERWRITTEN: &str = "Try increasing the innodb_log_file_size";

/// The LSNs of a stalled redo copy: copied `from`..`to`, while the server was at `wanted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedoCopyStall {
    pub from: u64,
    pub to: u64,
    pub wanted: u64,
}

impl RedoCopyStall {
    /// For the job's events and the seed's steps: what happened and that the source is fine.
    pub fn describe(&self) -> String {
        format!(
            "mariadb-backup's redo log copy stalled (copied LSN {} to {}, the server was at {}): \
             a known mariadb-backup 10.11 fault under write load (MDEV-39468); the source server \
             and its data are not affected",
            self.from, self.to, self.wanted
        )
    }
}

/// In the output of one failed `mariadb-backup --backup`, the redo copy stall that made it fail;
/// `None` for any other failure, and when the tool says the log was overwritten.
pub fn redo_copy_stall(tool_output: &str) -> Option<RedoCopyStall> {
    let mut found = None;
    for line in tool_output.lines() {
        let text = message(line.trim_end());
        if let Some(stall) = parse_stall(text) {
            found = Some(stall);
        } else if found.is_some()
            && text
                .strip_prefix("mariabackup: ")
                .is_some_and(|t| t.starts_with(OVERWRITTEN))
        {
            return None;
        }
    }
    found
}

/// `A to B, not C` after the stall text, with `A <= B < C` (the copy stopped short).
fn parse_stall(text: &str) -> Option<RedoCopyStall> {
    let rest = text.strip_prefix(STALL)?;
    let rest = rest.strip_suffix(OLD_SUFFIX).unwrap_or(rest);
    let (from, rest) = rest.split_once(" to ")?;
    let (to, wanted) = rest.split_once(", not ")?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let stall = RedoCopyStall {
        from: number(from)?,
        to: number(to)?,
        wanted: number(wanted)?,
    };
    (stall.from <= stall.to && stall.to < stall.wanted).then_some(stall)
}

/// A line without mariadb-backup's `[00] 2026-12-02 02:00:06 ` prefix (thread, date, time).
fn message(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('[') else {
        return line;
    };
    let Some((thread, rest)) = rest.split_once("] ") else {
        return line;
    };
    if thread.is_empty() || !thread.bytes().all(|b| b.is_ascii_digit()) {
        return line;
    }
    let mut parts = rest.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(date), Some(time), Some(text)) if is_stamp(date, b'-') && is_stamp(time, b':') => {
            text
        }
        _ => rest,
    }
}

/// `2026-12-02` (with `-`) or `02:00:06` (with `:`): digits and that separator only.
fn is_stamp(s: &str, sep: u8) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == sep) && s.contains(sep as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real output of mariadb-backup 10.11.19 (Debian) failing this way, from its last lines.
    const REAL: &str = "\
[01] 2026-12-02 02:00:01         ...done
[00] 2026-12-02 02:00:01 Finished backing up non-InnoDB tables and files
[00] 2026-12-02 02:00:01 Waiting for log copy thread to read lsn 3701264
[00] 2026-12-02 02:00:06 Was only able to copy log from 44864 to 3701009, not 3701264
[00] 2026-12-02 02:00:06 mariabackup: The required redo still fits within the log capacity, so it has not been overwritten; check whether the server and backup configuration are the same.
mariabackup: Stopping log copying thread.
2026-12-02  2:00:06 0 [Note] InnoDB: Starting shutdown...
";

    #[test]
    fn the_real_stall_is_recognised_with_its_lsns() {
        assert_eq!(
            redo_copy_stall(REAL),
            Some(RedoCopyStall {
                from: 44864,
                to: 3701009,
                wanted: 3701264
            })
        );
        // As a cold CI run's physical seed quoted it, and the older one-line form.
        assert!(redo_copy_stall(
            "step `back up`: mariadb-backup failed (exit status: 1); last output:\n[00] 2026-12-02 \
             00:22:40 Was only able to copy log from 44388 to 46527, not 46891"
        )
        .is_some());
        assert!(redo_copy_stall(
            "[00] 2025-08-04 09:15:57 Was only able to copy log from 58087 to 59916, not 68968; \
             try increasing innodb_log_file_size\nmariabackup: Stopping log copying thread."
        )
        .is_some());
        let d = redo_copy_stall(REAL).unwrap().describe();
        assert!(
            d.contains("MDEV-39468") && d.contains("not affected"),
            "{d}"
        );
    }

    #[test]
    fn other_failures_are_not_taken_for_the_stall() {
        let overwritten = REAL.replace(
            "mariabackup: The required redo still fits within the log capacity, so it has not been overwritten; check whether the server and backup configuration are the same.",
            "mariabackup: Try increasing the innodb_log_file_size.",
        );
        let near_misses = [
            // The log was overwritten: a configuration to fix, not the copier fault.
            overwritten.as_str(),
            // Short reads of a file (a disk problem), an access error, a killed tool, a full disk.
            "[00] 2026-12-02 02:00:06 InnoDB: Tried to read 65536 bytes at offset 0 of file ./ib_logfile0, but was only able to read 0",
            "[00] 2026-12-02 02:00:06 Got error: 1045: Access denied for user 'root'@'localhost' (using password: YES)",
            "[00] 2026-12-02 02:00:06 Waiting for log copy thread to read lsn 3701264\n",
            "[01] 2026-12-02 02:00:01 mariabackup: Error: write to output failed: No space left on device",
            // Cut off, or numbers that do not say the copy stopped short.
            "[00] 2026-12-02 02:00:06 Was only able to copy log from 44864 to 3701009",
            "[00] 2026-12-02 02:00:06 Was only able to copy log from 44864 to 3701264, not 3701264",
            "[00] 2026-12-02 02:00:06 Was only able to copy log from 4486x to 3701009, not 3701264",
            "[00] 2026-12-02 02:00:06 Was only able to copy log from 44864 to 3701009, not 3701264 or so",
            // The words quoted inside another message, not said by the tool.
            "[00] 2026-12-02 02:00:06 Error: table `Was only able to copy log from 1 to 2, not 3` missing",
            "",
        ];
        for text in near_misses {
            assert_eq!(redo_copy_stall(text), None, "{text}");
        }
    }

    #[test]
    fn the_prefix_is_only_taken_off_when_it_is_the_tools() {
        assert_eq!(message("[00] 2026-12-02 02:00:06 text here"), "text here");
        assert_eq!(message("[01] 2026-12-02 02:00:06 text"), "text");
        assert_eq!(message("mariabackup: Stopping"), "mariabackup: Stopping");
        assert_eq!(message("[Note] InnoDB: x"), "[Note] InnoDB: x");
        assert_eq!(message("[00] not a stamp"), "not a stamp");
    }
}
