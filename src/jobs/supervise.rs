//! The supervisor: `arkc __backup-supervise ID`, one process per job in its own session. It takes
//! the checksums, runs the tool in its own process group, keeps `progress.json` current and writes
//! the result to the history. Success is strict: exit 0 and the tool's own completion marker.

use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;

use crate::config::BackupKind;

use super::checksums::{self, TableInfo};
use super::credentials::DefaultsFile;
use super::history::{ChecksumMode, History, Outcome};
use super::kinds;
use super::physical;
use super::progress::{Phase, Progress};
use super::runner::{self, BackupSpec, CREDENTIALS_FILE, PROGRESS_FILE, TOOL_LOG};
use super::snapshot::{Figures, SnapshotPool, ToolSnapshot};
use super::sql::SqlClient;
use super::{JobState, SnapshotPosition};

/// How a tool run ended, before the strict success check turns it into a state.
pub(super) enum ToolEnd {
    Completed { position: Option<SnapshotPosition> },
    Failed(String),
}

/// One running job, as the supervisor sees it.
pub(super) struct JobRun {
    pub id: i64,
    pub spec: BackupSpec,
    pub history: History,
    pub creds: DefaultsFile,
    pub job_dir: PathBuf,
    pub progress: Progress,
    /// Bytes produced and the time of the last output (ms since epoch), shared with pump threads.
    pub counters: Arc<Counters>,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub bytes: AtomicU64,
    pub tables: AtomicU64,
    pub last_activity_ms: AtomicI64,
    /// The snapshot position the tool recorded, once it has (a dump's header).
    pub tool_position: Mutex<Option<SnapshotPosition>>,
    /// `TOOL_RUNNING`, `TOOL_ENDED` or `TOOL_FAILED`.
    pub tool_state: AtomicU8,
}

pub(super) const TOOL_RUNNING: u8 = 0;
pub(super) const TOOL_ENDED: u8 = 1;
pub(super) const TOOL_FAILED: u8 = 2;

/// What `SnapshotPool::follow` waits for: the tool's recorded position (from `counters` for a
/// dump, from mydumper's `metadata` in `dir`), or a dump's word that it has its snapshot.
fn tool_snapshot(counters: &Counters, kind: BackupKind, dir: &Path, log: &Path) -> ToolSnapshot {
    let known = match kind {
        BackupKind::Mydumper => kinds::mydumper_position(dir),
        _ => counters
            .tool_position
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    };
    match (known, counters.tool_state.load(Ordering::Relaxed)) {
        (_, TOOL_FAILED) => ToolSnapshot::Never,
        (Some(p), _) => ToolSnapshot::At(p),
        (None, TOOL_RUNNING) if kind == BackupKind::Dump && kinds::dump_snapshot_taken(log) => {
            ToolSnapshot::Taken
        }
        (None, TOOL_RUNNING) => ToolSnapshot::Pending,
        (None, _) => ToolSnapshot::Never,
    }
}

impl Counters {
    pub fn touch(&self) {
        self.last_activity_ms
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }
}

/// Run job `id` to its end; the process exit code is 0 when it succeeded.
pub fn supervise(id: i64) -> anyhow::Result<i32> {
    let history = History::open_default()?;
    let rec = history.get(id)?;
    if rec.state != JobState::Running {
        bail!("backup {id} is {} already", rec.state.as_str());
    }
    history.set_pid(id, std::process::id() as i32)?;
    let spec = runner::load_spec(&rec.job_dir)?;
    let creds = DefaultsFile::adopt(&rec.job_dir.join(CREDENTIALS_FILE));
    let counters = Arc::new(Counters::default());
    counters.touch();
    let mut run = JobRun {
        id,
        progress: Progress::new(Utc::now(), spec.stall_after_s),
        spec,
        history,
        creds,
        job_dir: rec.job_dir.clone(),
        counters,
    };
    let outcome = run.execute();
    let state = outcome.state;
    run.history.finish(id, &outcome, Utc::now())?;
    Ok(if state == JobState::Succeeded { 0 } else { 1 })
}

impl JobRun {
    fn execute(&mut self) -> Outcome {
        let source = SqlClient::with_defaults_file(self.creds.path(), &self.spec.instance);
        self.progress.phase = Phase::Checksumming;
        self.save_progress();
        let tables = match self.list_tables(&source) {
            Ok(t) => t,
            Err(e) => return self.failed(format!("before the backup: {e:#}")),
        };
        // Logical dumps: figures in a snapshot at the tool's own position (see `snapshot`).
        // Physical ones: just before the copy starts, equal to it only without writes.
        let mut following = None;
        let mut taken = None;
        if matches!(self.spec.kind, BackupKind::Dump | BackupKind::Mydumper) {
            match SnapshotPool::open(&source) {
                Ok(pool) => {
                    let (counters, kind) = (Arc::clone(&self.counters), self.spec.kind);
                    let (dir, tables) = (self.spec.partial.clone(), tables.clone());
                    let log = self.tool_log();
                    following = Some(std::thread::spawn(move || {
                        pool.follow(|| tool_snapshot(&counters, kind, &dir, &log), &tables)
                    }));
                }
                Err(e) => {
                    let _ = self.history.event(
                        self.id,
                        &format!(
                            "no snapshot on the source ({e:#}); figures taken before the dump"
                        ),
                        Utc::now(),
                    );
                }
            }
        }
        if following.is_none() {
            match checksums::take(&source, &tables) {
                Ok(f) => taken = Some(f),
                Err(e) => return self.failed(format!("before the backup: {e:#}")),
            }
        }
        if self.cancel_requested() {
            self.counters
                .tool_state
                .store(TOOL_FAILED, Ordering::Relaxed);
            return self.cancelled();
        }
        self.progress.phase = Phase::Dumping;
        self.progress.tables_total = tables.len() as u64;
        self.progress.bytes_estimate = Some(tables.iter().map(|t| t.data_bytes).sum());
        self.save_progress();
        let end = match self.spec.kind {
            BackupKind::Dump => kinds::run_dump(self),
            BackupKind::Mydumper => kinds::run_mydumper(self, &tables),
            BackupKind::Mariabackup | BackupKind::Xtrabackup => {
                physical::run_physical(self, &source)
            }
        };
        let done = match &end {
            Ok(ToolEnd::Completed { .. }) => TOOL_ENDED,
            _ => TOOL_FAILED,
        };
        self.counters.tool_state.store(done, Ordering::Relaxed);
        if self.cancel_requested() || done == TOOL_FAILED {
            // The figures no longer matter; the snapshot sessions end with this process.
            return match end {
                Err(e) => self.failed(format!("{e:#}")),
                Ok(ToolEnd::Failed(why)) => self.failed(why),
                Ok(ToolEnd::Completed { .. }) => self.cancelled(),
            };
        }
        let figures = match (following, taken) {
            (Some(thread), _) => thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the checksum thread panicked"))),
            (None, Some((checksums, position))) => Ok(Figures {
                checksums,
                position,
                stats: None,
            }),
            (None, None) => Ok(Figures {
                checksums: Vec::new(),
                position: None,
                stats: None,
            }),
        };
        if self.cancel_requested() {
            return self.cancelled();
        }
        let figures = match figures {
            Ok(f) => f,
            Err(e) => return self.failed(format!("the source's checksums: {e:#}")),
        };
        match end {
            Err(e) => self.failed(format!("{e:#}")),
            Ok(ToolEnd::Failed(why)) => self.failed(why),
            Ok(ToolEnd::Completed { position }) => self.completed(position, figures),
        }
    }

    fn list_tables(&mut self, source: &SqlClient) -> anyhow::Result<Vec<TableInfo>> {
        self.check_encrypted(source)?;
        let tables = checksums::list_tables(source, self.spec.database.as_deref())?;
        if let Some(db) = &self.spec.database {
            let exists = source.scalar(&format!(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                super::sql::literal(db)
            ))?;
            if exists.trim() == "0" {
                bail!("schema `{db}` does not exist on `{}`", self.spec.instance);
            }
        }
        Ok(tables)
    }

    /// With `tls` on, the tools' client library encrypts only when the server offers TLS
    /// (`ssl` alone never refuses a plain server), so a session with the tools' own settings
    /// must show a cipher before any tool runs.
    fn check_encrypted(&self, source: &SqlClient) -> anyhow::Result<()> {
        let tls = self.creds.tls_policy();
        if !tls.is_on() {
            return Ok(());
        }
        let cipher = source.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")?;
        let cipher = cipher.first().and_then(|row| row.get(1)).cloned();
        if cipher.unwrap_or_default().trim().is_empty() {
            bail!(
                "tls = \"{}\" but the connection is not encrypted: the server offers no TLS",
                tls.mode
            );
        }
        Ok(())
    }

    fn completed(&mut self, position: Option<SnapshotPosition>, figures: Figures) -> Outcome {
        let Figures {
            checksums,
            position: snapshot,
            stats,
        } = figures;
        self.progress.phase = Phase::Finishing;
        self.save_progress();
        if let Err(e) = std::fs::rename(&self.spec.partial, &self.spec.output) {
            return self.failed(format!(
                "the tool finished but {} could not be renamed to {}: {e}",
                self.spec.partial.display(),
                self.spec.output.display()
            ));
        }
        // The figures are comparable only if they were taken at the backup's own position.
        let same_point = match (&position, &snapshot) {
            (Some(a), Some(b)) => a.file.is_some() && a.file == b.file && a.pos == b.pos,
            _ => false,
        };
        let _ = self.history.event(
            self.id,
            &figures_note(&position, &snapshot, same_point),
            Utc::now(),
        );
        if let Some(stats) = stats {
            let _ =
                self.history
                    .event(self.id, &format!("checksum snapshots: {stats}"), Utc::now());
        }
        Outcome {
            state: JobState::Succeeded,
            bytes: Some(size_of(&self.spec.output)),
            path: Some(self.spec.output.clone()),
            position: position.or(snapshot),
            checksums,
            checksum_mode: Some(if same_point {
                ChecksumMode::Checksum
            } else {
                ChecksumMode::Count
            }),
            error: None,
        }
    }

    fn failed(&mut self, why: String) -> Outcome {
        if self.cancel_requested() {
            return self.cancelled();
        }
        let tail = log_tail(&self.job_dir.join(TOOL_LOG), 12);
        let mut error = if tail.is_empty() {
            why
        } else {
            format!("{why}\nlast lines of {}:\n{tail}", TOOL_LOG)
        };
        let tls = self.creds.tls_policy();
        if let Some(hint) = crate::backend::tls::failure_hint(&tls, &error) {
            error = format!("instance `{}`: {hint}\n{error}", self.spec.instance);
        }
        let quarantined = runner::quarantine(&self.spec, self.id).ok().flatten();
        Outcome {
            state: JobState::Failed,
            path: quarantined,
            error: Some(error),
            ..Outcome::default()
        }
    }

    fn cancelled(&mut self) -> Outcome {
        let quarantined = runner::quarantine(&self.spec, self.id).ok().flatten();
        Outcome {
            state: JobState::Cancelled,
            path: quarantined,
            error: Some("cancelled by request".into()),
            ..Outcome::default()
        }
    }

    pub fn cancel_requested(&self) -> bool {
        self.history
            .get(self.id)
            .map(|r| r.cancel_requested)
            .unwrap_or(false)
    }

    pub fn save_progress(&mut self) {
        let c = &self.counters;
        self.progress.bytes_done = self
            .progress
            .bytes_done
            .max(c.bytes.load(Ordering::Relaxed));
        self.progress.tables_done = self
            .progress
            .tables_done
            .max(c.tables.load(Ordering::Relaxed));
        let last = c.last_activity_ms.load(Ordering::Relaxed);
        if let Some(t) = chrono::DateTime::from_timestamp_millis(last) {
            self.progress.last_activity_at = t;
        }
        self.progress.updated_at = Utc::now();
        let _ = self.progress.save(&self.job_dir.join(PROGRESS_FILE));
    }

    /// Say `what` in the job's events and in its tool log, between the tool's own lines.
    pub fn note(&self, what: &str) {
        let _ = self.history.event(self.id, what, Utc::now());
        if let Ok(mut log) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.tool_log())
        {
            let _ = writeln!(log, "arkc: {what}");
        }
    }

    pub fn tool_log(&self) -> PathBuf {
        self.job_dir.join(TOOL_LOG)
    }

    /// Start `program` in its own process group, stderr (and stdout unless piped) to the tool log.
    pub fn spawn_tool(
        &mut self,
        program: &Path,
        args: &[String],
        version: &str,
        pipe_stdout: bool,
    ) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.tool_log())?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            // glib tools (mydumper) convert arguments from the locale's charset: names are UTF-8.
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .stderr(log.try_clone()?)
            .process_group(0);
        if pipe_stdout {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(log);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let pid = child.id() as i32;
        self.history.set_tool(self.id, pid, version)?;
        self.history.event(
            self.id,
            &format!("started {} {}", program.display(), args.join(" ")),
            Utc::now(),
        )?;
        // A cancel that arrived before the tool's pid was recorded would have missed it.
        if self.cancel_requested() {
            // SAFETY: kill(2) on the process group we just created.
            unsafe { libc::kill(-pid, libc::SIGTERM) };
        }
        Ok(child)
    }

    /// Wait for the tool, refreshing progress; `poll` adds kind-specific figures each second.
    pub fn wait_tool(
        &mut self,
        child: &mut Child,
        mut poll: impl FnMut(&mut JobRun),
    ) -> anyhow::Result<ExitStatus> {
        let mut log_len = 0;
        loop {
            if let Some(status) = child.try_wait()? {
                poll(self);
                self.save_progress();
                return Ok(status);
            }
            let len = std::fs::metadata(self.tool_log())
                .map(|m| m.len())
                .unwrap_or(0);
            if len != log_len {
                log_len = len;
                self.counters.touch();
            }
            poll(self);
            self.save_progress();
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// What the recorded figures can prove, for the history.
fn figures_note(
    backup: &Option<SnapshotPosition>,
    figures: &Option<SnapshotPosition>,
    same_point: bool,
) -> String {
    let at = |p: &Option<SnapshotPosition>| match p {
        Some(SnapshotPosition {
            file: Some(f),
            pos: Some(n),
            ..
        }) => format!("{f}:{n}"),
        _ => "an unknown position".into(),
    };
    if same_point {
        format!(
            "checksums: taken in a snapshot at the backup's own position {}; verify compares CHECKSUM TABLE",
            at(backup)
        )
    } else {
        format!(
            "checksums: the backup is at {}, the figures' snapshot at {} (writes in between, or no \
             position): verify compares only row counts",
            at(backup),
            at(figures)
        )
    }
}

/// Bytes of a file, or of every file under a folder.
pub(super) fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum::<u64>())
        .unwrap_or(0)
}

/// The last `n` non-empty lines of a log (reading at most its last 64 KiB).
pub fn log_tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(65_536)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let lines: Vec<String> = buf
        .lines()
        .map_while(Result::ok)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
