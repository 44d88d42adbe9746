//! Physical backups: `mariadb-backup` (and Percona `xtrabackup`, which works the same way) copy a
//! local server's datadir, either into a folder that is then `--prepare`d, or streamed as xbstream
//! into one compressed file that is extracted and prepared only when it is verified.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{bail, Context};

use crate::config::{BackupKind, InstanceConfig};

mod attempts;
pub mod redo_stall;

use super::kinds::{copy_dump, pump, Sink, Watch};
use super::progress::Phase;
use super::sql::SqlClient;
use super::supervise::{size_of, JobRun, ToolEnd};
use super::tools::Tool;
use super::SnapshotPosition;
use attempts::CopyEnd;
use redo_stall::redo_copy_stall;

/// Which physical backup program a kind runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhysicalTool {
    Mariabackup,
    Xtrabackup,
}

impl PhysicalTool {
    pub fn for_kind(kind: BackupKind) -> Option<PhysicalTool> {
        match kind {
            BackupKind::Mariabackup => Some(PhysicalTool::Mariabackup),
            BackupKind::Xtrabackup => Some(PhysicalTool::Xtrabackup),
            BackupKind::Dump | BackupKind::Mydumper => None,
        }
    }

    pub fn program(self) -> &'static str {
        match self {
            PhysicalTool::Mariabackup => "mariadb-backup",
            PhysicalTool::Xtrabackup => "xtrabackup",
        }
    }

    /// The program that unpacks this tool's xbstream.
    pub fn extractor(self) -> &'static str {
        match self {
            PhysicalTool::Mariabackup => "mbstream",
            PhysicalTool::Xtrabackup => "xbstream",
        }
    }

    fn package_hint(self) -> &'static str {
        match self {
            PhysicalTool::Mariabackup => "install the `mariadb-backup` package",
            PhysicalTool::Xtrabackup => {
                "install Percona XtraBackup for the server's version (package `percona-xtrabackup-80` \
                 for MySQL 8.0, `percona-xtrabackup-24` for 5.7, from Percona's repository)"
            }
        }
    }

    /// The installed tool (version probed once), or what to install.
    pub fn probe(self) -> anyhow::Result<Tool> {
        Tool::probe(self.program()).map_err(|e| anyhow::anyhow!("{e}: {}", self.package_hint()))
    }

    /// The installed stream extractor, or what to install.
    pub fn probe_extractor(self) -> anyhow::Result<Tool> {
        Tool::probe(self.extractor()).map_err(|e| {
            anyhow::anyhow!(
                "{e}: it unpacks a streamed {} backup; {}",
                self.program(),
                self.package_hint()
            )
        })
    }
}

/// Whether `tool` can back up a server that reports `server_version` (`SELECT VERSION()`);
/// `tool_numbers` is the tool's own version. From Percona's documentation: XtraBackup 2.4 covers
/// MySQL 5.1 to 5.7 (and MariaDB before 10.3), 8.0 covers 8.0 (at the server's release or later),
/// 8.4 covers 8.4; no release reads MariaDB 10.3 or later, whose redo log format differs.
pub fn server_refusal(
    tool: PhysicalTool,
    server_version: &str,
    tool_numbers: Option<(u32, u32, u32)>,
) -> Option<String> {
    if tool != PhysicalTool::Xtrabackup {
        return None;
    }
    let server = leading_numbers(server_version);
    if server_version.contains("MariaDB") {
        if server.is_none_or(|v| v >= (10, 3, 0)) {
            return Some(format!(
                "the server is MariaDB {server_version}: xtrabackup does not support MariaDB 10.3 and \
                 later (their redo log format differs); use kind mariabackup (`mariadb-backup`)"
            ));
        }
        if tool_numbers.is_some_and(|t| t.0 != 2) {
            return Some(format!(
                "the server is MariaDB {server_version}: only XtraBackup 2.4 reads MariaDB before 10.3; \
                 use kind mariabackup"
            ));
        }
        return None;
    }
    let (Some(s), Some(t)) = (server, tool_numbers) else {
        return None;
    };
    let wanted = match (s.0, s.1) {
        (5, _) => t.0 == 2,
        (major, minor) => (t.0, t.1) == (major, minor) && t >= s,
    };
    (!wanted).then(|| {
        let want = match s.0 {
            5 => "XtraBackup 2.4".to_string(),
            major => format!(
                "XtraBackup {major}.{} at {}.{}.{} or later",
                s.1, s.0, s.1, s.2
            ),
        };
        format!(
            "xtrabackup {}.{}.{} cannot back up MySQL {server_version}: it needs {want}",
            t.0, t.1, t.2
        )
    })
}

/// `8.0.35` from `8.0.35-27` or `10.11.19-MariaDB-log`.
fn leading_numbers(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// For xtrabackup, refuse a server it cannot read before anything is recorded or run.
pub fn check_server(kind: BackupKind, client: &SqlClient) -> anyhow::Result<()> {
    let Some(tool) = PhysicalTool::for_kind(kind).filter(|t| *t == PhysicalTool::Xtrabackup) else {
        return Ok(());
    };
    let version = client.scalar("SELECT VERSION()")?;
    if let Some(why) = server_refusal(tool, &version, None) {
        bail!("{why}");
    }
    let probed = tool.probe()?;
    match server_refusal(tool, &version, probed.numbers) {
        Some(why) => bail!("{why}"),
        None => Ok(()),
    }
}

/// Check that `inst`'s server can be read by the kind's tool, through a short-lived defaults file.
pub fn check_instance(kind: BackupKind, inst: &InstanceConfig) -> anyhow::Result<()> {
    if kind != BackupKind::Xtrabackup {
        return Ok(());
    }
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let creds = super::credentials::DefaultsFile::write(&dir.path().join("client.cnf"), inst)?;
    check_server(
        kind,
        &SqlClient::with_defaults_file(creds.path(), &inst.name),
    )
}

/// Files the tool has started copying or streaming, from its log: mariadb-backup and XtraBackup
/// 2.4 write `[01] Copying ./db/t.ibd to ...` / `[01] Streaming ./db/t.ibd` (then `...done`);
/// XtraBackup 8.0 writes `[Xtrabackup] Copying ...` and later `[Xtrabackup] Done: Copying ...`.
pub fn files_started(log: &str) -> u64 {
    log.lines()
        .filter(|l| (l.contains(" Copying ") || l.contains(" Streaming ")) && !l.contains("Done: "))
        .count() as u64
}

/// Whether the log's last lines hold the tool's own `completed OK!`.
pub fn completed_ok(log_tail: &str) -> bool {
    log_tail
        .lines()
        .any(|l| l.trim_end().ends_with("completed OK!"))
}

/// The snapshot position the tool logs at the end of `--backup`:
/// `MySQL binlog position: filename 'mariadb-bin.000001', position '783', GTID of the last change '0-5-3'`.
pub fn position_from_log(log: &str) -> Option<SnapshotPosition> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("MySQL binlog position:"))?;
    let quoted = |label: &str| {
        let label = format!("{label} '");
        let rest = &line[line.find(&label)? + label.len()..];
        Some(rest[..rest.find('\'')?].to_string())
    };
    let file = quoted("filename")?;
    Some(SnapshotPosition {
        pos: quoted("position").and_then(|p| p.parse().ok()),
        gtid: quoted("GTID of the last change").filter(|g| !g.is_empty()),
        file: Some(file),
    })
}

/// `xtrabackup_binlog_info`: `file<TAB>pos[<TAB>gtid]`.
pub fn position_from_binlog_info(text: &str) -> Option<SnapshotPosition> {
    let mut fields = text.split_whitespace();
    let file = fields.next()?;
    let pos = fields.next()?.parse().ok()?;
    Some(SnapshotPosition {
        file: Some(file.to_string()),
        pos: Some(pos),
        gtid: fields.next().map(String::from),
    })
}

/// `backup_type` in `xtrabackup_checkpoints`.
pub fn backup_type(checkpoints: &str) -> Option<String> {
    checkpoints.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "backup_type").then(|| value.trim().to_string())
    })
}

/// Prepared: XtraBackup writes `full-prepared`, mariadb-backup 10.11 `log-applied`.
pub fn is_prepared(checkpoints: &str) -> bool {
    matches!(
        backup_type(checkpoints).as_deref(),
        Some("full-prepared" | "log-applied")
    )
}

/// Run the physical backup of job `run` into its partial folder or stream file.
pub(super) fn run_physical(run: &mut JobRun, source: &SqlClient) -> anyhow::Result<ToolEnd> {
    let kind = PhysicalTool::for_kind(run.spec.kind).context("not a physical backup kind")?;
    let tool = kind.probe()?;
    let version = source.scalar("SELECT VERSION()")?;
    if let Some(why) = server_refusal(kind, &version, tool.numbers) {
        return Ok(ToolEnd::Failed(why));
    }
    let datadir = source.scalar("SELECT @@datadir")?;
    let datadir_bytes = size_of(Path::new(&datadir));
    if datadir_bytes == 0 {
        bail!(
            "the server's datadir {datadir} is not readable here: {} must run on the server's host \
             as a user that can read it",
            kind.program()
        );
    }
    run.progress.bytes_estimate = Some(datadir_bytes);
    run.progress.tables_total = count_files(Path::new(&datadir));
    attempts::back_up(run, kind, &tool, &datadir)
}

/// `--backup` into the partial folder, then `--prepare` it.
fn folder_backup(
    run: &mut JobRun,
    kind: PhysicalTool,
    tool: &Tool,
    datadir: &str,
) -> anyhow::Result<CopyEnd> {
    let args = vec![
        run.creds.arg(),
        "--backup".into(),
        format!("--target-dir={}", run.spec.partial.display()),
        format!("--datadir={datadir}"),
    ];
    let dir = run.spec.partial.clone();
    let log = run.tool_log();
    let log_start = file_len(&log);
    let mut child = run.spawn_tool(&tool.path, &args, &tool.version, false)?;
    let status = run.wait_tool(&mut child, |r| {
        r.counters.bytes.store(size_of(&dir), Ordering::Relaxed);
        r.counters
            .tables
            .store(files_in_log(&log, log_start), Ordering::Relaxed);
    })?;
    if let Some(failed) = check_backup_end(kind, status, &log, log_start) {
        return Ok(failed);
    }
    let position = position_from_binlog_info(
        &std::fs::read_to_string(run.spec.partial.join("xtrabackup_binlog_info"))
            .unwrap_or_default(),
    )
    .or_else(|| position_from_log(&std::fs::read_to_string(&log).unwrap_or_default()));
    run.progress.phase = Phase::Preparing;
    run.save_progress();
    let dir = run.spec.partial.clone();
    if let Some(why) = prepare(run, tool, &dir)? {
        return Ok(CopyEnd::End(ToolEnd::Failed(why)));
    }
    Ok(CopyEnd::End(ToolEnd::Completed { position }))
}

/// `--backup --stream=xbstream` through the configured compression into the partial file.
fn stream_backup(
    run: &mut JobRun,
    kind: PhysicalTool,
    tool: &Tool,
    datadir: &str,
) -> anyhow::Result<CopyEnd> {
    // Checkpoints land outside the stream too, so the end can be checked without unpacking it.
    let lsn_dir = run.job_dir.join("lsn");
    let scratch = run.job_dir.join("stream-target");
    let args = vec![
        run.creds.arg(),
        "--backup".into(),
        "--stream=xbstream".into(),
        format!("--target-dir={}", scratch.display()),
        format!("--extra-lsndir={}", lsn_dir.display()),
        format!("--datadir={datadir}"),
    ];
    let out = File::create(&run.spec.partial)
        .with_context(|| format!("cannot create {}", run.spec.partial.display()))?;
    let sink = Sink::new(out, run.spec.compress)?;
    let log = run.tool_log();
    let log_start = file_len(&log);
    let mut child = run.spawn_tool(&tool.path, &args, &tool.version, true)?;
    let stdout = child.stdout.take().context("stream stdout missing")?;
    let counters = Arc::clone(&run.counters);
    let tool_pid = child.id() as i32;
    let pumping = std::thread::spawn(move || pump(stdout, sink, &counters, tool_pid, Watch::Bytes));
    let status = run.wait_tool(&mut child, |r| {
        r.counters
            .tables
            .store(files_in_log(&log, log_start), Ordering::Relaxed);
    })?;
    let pumped = pumping
        .join()
        .map_err(|_| anyhow::anyhow!("the stream writer thread panicked"))?;
    if let Some(err) = pumped.write_error {
        return Ok(CopyEnd::End(ToolEnd::Failed(format!(
            "writing {}: {err} ({} exited with {status})",
            run.spec.partial.display(),
            tool.path.display()
        ))));
    }
    if let Some(failed) = check_backup_end(kind, status, &log, log_start) {
        return Ok(failed);
    }
    let checkpoints =
        std::fs::read_to_string(lsn_dir.join("xtrabackup_checkpoints")).unwrap_or_default();
    if backup_type(&checkpoints).as_deref() != Some("full-backuped") {
        return Ok(CopyEnd::End(ToolEnd::Failed(format!(
            "{} exited 0 but {} does not say backup_type = full-backuped: the stream is incomplete",
            tool.path.display(),
            lsn_dir.join("xtrabackup_checkpoints").display()
        ))));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(CopyEnd::End(ToolEnd::Completed {
        position: position_from_log(&std::fs::read_to_string(&log).unwrap_or_default()),
    }))
}

/// Exit 0 and `completed OK!`, or why not: mariadb-backup's redo copy stall when its output
/// since `log_start` (this run's) says so, any other failure as it is.
fn check_backup_end(
    kind: PhysicalTool,
    status: std::process::ExitStatus,
    log: &Path,
    log_start: u64,
) -> Option<CopyEnd> {
    if !status.success() {
        let why = format!("{} --backup exited with {status}", kind.program());
        let stall = (kind == PhysicalTool::Mariabackup)
            .then(|| redo_copy_stall(&log_since(log, log_start)))
            .flatten();
        return Some(match stall {
            Some(stall) => CopyEnd::RedoStalled { why, stall },
            None => CopyEnd::End(ToolEnd::Failed(why)),
        });
    }
    if !completed_ok(&super::supervise::log_tail(log, 3)) {
        return Some(CopyEnd::End(ToolEnd::Failed(format!(
            "{} --backup exited 0 without `completed OK!`",
            kind.program()
        ))));
    }
    None
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The log from byte `start` on: one run's output when several append to it.
fn log_since(path: &Path, start: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = (start as usize).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// `--prepare` the folder under the supervisor; `Some(why)` when it is not prepared.
fn prepare(run: &mut JobRun, tool: &Tool, dir: &Path) -> anyhow::Result<Option<String>> {
    let log = run.tool_log();
    let before = count_in(&log, "completed OK!");
    let args = vec![
        "--prepare".to_string(),
        format!("--target-dir={}", dir.display()),
    ];
    let mut child = run.spawn_tool(&tool.path, &args, &tool.version, false)?;
    let status = run.wait_tool(&mut child, |_| {})?;
    if !status.success() {
        return Ok(Some(format!(
            "{} --prepare exited with {status}",
            tool.path.display()
        )));
    }
    let checkpoints =
        std::fs::read_to_string(dir.join("xtrabackup_checkpoints")).unwrap_or_default();
    if count_in(&log, "completed OK!") <= before || !is_prepared(&checkpoints) {
        return Ok(Some(format!(
            "{} --prepare exited 0 but the backup is not prepared (no `completed OK!` or \
             xtrabackup_checkpoints without backup_type = full-prepared or log-applied)",
            tool.path.display()
        )));
    }
    Ok(None)
}

/// For verification: unpack a streamed backup into `into` (`mbstream -x`) and `--prepare` it.
pub fn unpack_and_prepare(kind: PhysicalTool, stream: &Path, into: &Path) -> anyhow::Result<()> {
    let extractor = kind.probe_extractor()?;
    std::fs::create_dir_all(into).with_context(|| format!("cannot create {}", into.display()))?;
    let mut child = Command::new(&extractor.path)
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", extractor.path.display()))?;
    let mut stdin = child.stdin.take().context("extractor stdin missing")?;
    let copied = copy_dump(stream, &mut stdin);
    let _ = stdin.flush();
    drop(stdin);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{} -x failed on {}: {}",
            extractor.path.display(),
            stream.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    copied?;
    let tool = kind.probe()?;
    let out = Command::new(&tool.path)
        .arg("--no-defaults")
        .arg("--prepare")
        .arg(format!("--target-dir={}", into.display()))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", tool.path.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let checkpoints =
        std::fs::read_to_string(into.join("xtrabackup_checkpoints")).unwrap_or_default();
    if !out.status.success() || !completed_ok(&text) || !is_prepared(&checkpoints) {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        bail!(
            "{} --prepare of the unpacked {} failed ({}): {}",
            tool.path.display(),
            stream.display(),
            out.status,
            lines[lines.len().saturating_sub(6)..].join("\n")
        );
    }
    Ok(())
}

/// Whether a recorded backup path is a stream file (a folder otherwise), by its name.
pub fn is_stream(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    [".xbstream", ".xbstream.zst", ".xbstream.gz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// `NAME.xbstream` plus the compression's suffix.
pub fn stream_name(base: &str, compress: crate::config::Compression) -> String {
    match compress {
        crate::config::Compression::Zstd => format!("{base}.xbstream.zst"),
        crate::config::Compression::Gzip => format!("{base}.xbstream.gz"),
        crate::config::Compression::None => format!("{base}.xbstream"),
    }
}

fn count_files(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

fn files_in_log(path: &Path, start: u64) -> u64 {
    files_started(&log_since(path, start))
}

fn count_in(path: &Path, what: &str) -> u64 {
    std::fs::read_to_string(path)
        .map(|t| t.matches(what).count() as u64)
        .unwrap_or(0)
}

/// Where verification unpacks a stream: next to it, hidden, removed afterwards.
pub fn unpack_dir(stream: &Path, id: i64) -> PathBuf {
    let parent = stream.parent().unwrap_or(Path::new("."));
    parent.join(format!(".verify-{id}-unpacked"))
}

#[cfg(test)]
mod tests;
