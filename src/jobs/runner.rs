//! Starting, cancelling and reattaching to backup jobs. The job itself runs in a supervisor
//! process (see `supervise`); everything here only writes requests and reads state.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::config::{BackupKind, Compression, Config, InstanceConfig};

use super::credentials::DefaultsFile;
use super::history::{History, Outcome};
use super::physical::{self, PhysicalTool};
use super::{tools, BackupRecord, JobState};

/// Everything the supervisor needs to run one backup; stored as `spec.json` in the job folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupSpec {
    pub job: String,
    pub instance: String,
    pub kind: BackupKind,
    pub to: PathBuf,
    pub database: Option<String>,
    pub compress: Compression,
    pub threads: u32,
    /// Physical kinds: xbstream into one file instead of a prepared folder.
    #[serde(default)]
    pub stream: bool,
    pub stall_after_s: u64,
    /// The finished backup (file or folder).
    pub output: PathBuf,
    /// Where the tool writes while running; renamed to `output` only on success.
    pub partial: PathBuf,
}

/// What to back up, before an id and paths are assigned.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub job: String,
    pub instance: String,
    pub kind: BackupKind,
    pub to: PathBuf,
    pub database: Option<String>,
    pub compress: Compression,
    pub threads: u32,
    pub stream: bool,
}

/// The backups a configured `[[backup]]` job stands for: one, or one per instance of its tag.
pub fn requests_for_job(config: &Config, name: &str) -> anyhow::Result<Vec<BackupRequest>> {
    let job = config
        .backups
        .job(name)
        .with_context(|| format!("no [[backup]] job named `{name}` in the config"))?;
    let instances: Vec<String> = match (&job.instance, &job.tag) {
        (Some(i), _) => vec![i.clone()],
        (None, Some(tag)) => config
            .instances
            .iter()
            .filter(|i| i.tags.contains(tag))
            .map(|i| i.name.clone())
            .collect(),
        (None, None) => Vec::new(),
    };
    Ok(instances
        .into_iter()
        .map(|instance| BackupRequest {
            job: job.name.clone(),
            instance,
            kind: job.kind,
            to: job.to.clone(),
            database: job.database.clone(),
            compress: job.compress,
            threads: job.threads.unwrap_or(4),
            stream: job.stream,
        })
        .collect())
}

/// A job whose supervisor was just started.
#[derive(Debug)]
pub struct StartedJob {
    pub id: i64,
    /// The supervisor; wait on it (or drop it) — it keeps running either way.
    pub supervisor: Child,
}

pub const SPEC_FILE: &str = "spec.json";
pub const CREDENTIALS_FILE: &str = "client.cnf";
pub const PROGRESS_FILE: &str = "progress.json";
pub const TOOL_LOG: &str = "tool.log";
pub const QUARANTINE_DIR: &str = ".quarantine";

/// Start a backup: record it as running, write its spec and credentials, and launch the
/// supervisor in its own session. Returns once the supervisor runs.
pub fn start(config: &Config, req: &BackupRequest) -> anyhow::Result<StartedJob> {
    let inst = config.instance(&req.instance).with_context(|| {
        format!(
            "no [[instance]] named `{}` in {}",
            req.instance,
            config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the config (none found)".into())
        )
    })?;
    tools::check_kind(req.kind, inst)?;
    if req.stream && !req.kind.is_physical() {
        bail!(
            "--stream is for the physical kinds (mariabackup, xtrabackup), not {}",
            req.kind
        );
    }
    // xtrabackup cannot read MariaDB 10.3+: say so by name before anything else.
    physical::check_instance(req.kind, inst)?;
    match PhysicalTool::for_kind(req.kind) {
        Some(tool) => tool.probe().map(|_| ())?,
        None if req.kind == BackupKind::Dump => tools::dump_tool().map(|_| ())?,
        None => tools::Tool::probe("mydumper").map(|_| ())?,
    }
    std::fs::create_dir_all(&req.to)
        .with_context(|| format!("cannot create the backup directory {}", req.to.display()))?;
    let mut history = History::open_default()?;
    refresh_running(&history)?;
    let now = Utc::now();
    let id = match history.begin(
        &req.job,
        &req.instance,
        req.kind,
        config.backups.settings.max_concurrent,
        now,
    )? {
        Ok(id) => id,
        Err(why) => bail!("not started: {why}"),
    };
    match launch(
        &history,
        id,
        inst,
        req,
        config.backups.settings.stall_after_s,
    ) {
        Ok(child) => Ok(StartedJob {
            id,
            supervisor: child,
        }),
        Err(e) => {
            let failed = Outcome {
                state: JobState::Failed,
                error: Some(format!("could not start: {e:#}")),
                ..Outcome::default()
            };
            history.finish(id, &failed, Utc::now())?;
            Err(e)
        }
    }
}

fn launch(
    history: &History,
    id: i64,
    inst: &InstanceConfig,
    req: &BackupRequest,
    stall_after_s: u64,
) -> anyhow::Result<Child> {
    let job_dir = super::jobs_root()?.join(id.to_string());
    std::fs::create_dir_all(&job_dir)
        .with_context(|| format!("cannot create {}", job_dir.display()))?;
    history.set_job_dir(id, &job_dir)?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!(
        "{}-{}-{stamp}-{id}",
        file_safe(&req.instance),
        file_safe(&req.job)
    );
    let name = match (req.kind, req.compress) {
        (kind, compress) if kind.is_physical() && req.stream => {
            physical::stream_name(&base, compress)
        }
        (BackupKind::Dump, Compression::Zstd) => format!("{base}.sql.zst"),
        (BackupKind::Dump, Compression::Gzip) => format!("{base}.sql.gz"),
        (BackupKind::Dump, Compression::None) => format!("{base}.sql"),
        _ => base,
    };
    let output = req.to.join(&name);
    let spec = BackupSpec {
        job: req.job.clone(),
        instance: req.instance.clone(),
        kind: req.kind,
        to: req.to.clone(),
        database: req.database.clone(),
        compress: req.compress,
        threads: req.threads.max(1),
        stream: req.stream,
        stall_after_s,
        partial: req.to.join(format!("{name}.partial")),
        output,
    };
    std::fs::write(job_dir.join(SPEC_FILE), serde_json::to_vec_pretty(&spec)?)?;
    history.set_path(id, &spec.partial)?;
    DefaultsFile::write(&job_dir.join(CREDENTIALS_FILE), inst)?.hand_over();
    let exe = std::env::current_exe().context("cannot find the arkc executable")?;
    let log = std::fs::File::create(job_dir.join("supervisor.log"))?;
    let data_dir = crate::config::data_dir().context("no data directory")?;
    let mut cmd = Command::new(exe);
    cmd.arg("__backup-supervise")
        .arg(id.to_string())
        .env("ARKC_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid(2) only, between fork and exec; it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().context("cannot start the backup supervisor")?;
    history.set_pid(id, child.id() as i32)?;
    Ok(child)
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `pid` is the live supervisor of backup `id` (not a zombie, not a reused pid).
pub fn supervisor_alive(pid: i32, id: i64) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    if !matches!(state, Some(s) if s != "Z" && s != "X") {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.iter().any(|a| *a == b"__backup-supervise")
        && args.iter().any(|a| *a == id.to_string().as_bytes())
}

/// Mark `running` rows whose supervisor is gone as `lost` (their partial output is quarantined).
/// This is how a new arkc reattaches: a live supervisor keeps its row running.
pub fn refresh_running(history: &History) -> anyhow::Result<()> {
    for rec in history.list()? {
        if rec.state != JobState::Running {
            continue;
        }
        let gone = match rec.pid {
            Some(pid) => !supervisor_alive(pid, rec.id),
            // Between the row's insert and the supervisor's start: give it a minute.
            None => (Utc::now() - rec.started_at).num_seconds() > 60,
        };
        if gone {
            let fresh = history.get(rec.id)?;
            if fresh.state == JobState::Running {
                finish_without_supervisor(
                    history,
                    &fresh,
                    JobState::Lost,
                    "the supervisor process ended without recording a result",
                )?;
            }
        }
    }
    Ok(())
}

/// Record a final state for a job whose supervisor is gone, quarantining its partial output.
fn finish_without_supervisor(
    history: &History,
    rec: &BackupRecord,
    state: JobState,
    why: &str,
) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(rec.job_dir.join(CREDENTIALS_FILE));
    let spec = load_spec(&rec.job_dir).ok();
    let quarantined = spec
        .as_ref()
        .and_then(|s| quarantine(s, rec.id).ok().flatten());
    let outcome = Outcome {
        state,
        path: quarantined,
        error: Some(why.to_string()),
        ..Outcome::default()
    };
    history.finish(rec.id, &outcome, Utc::now())?;
    Ok(())
}

pub fn load_spec(job_dir: &Path) -> anyhow::Result<BackupSpec> {
    let path = job_dir.join(SPEC_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is not a job spec", path.display()))
}

/// Move a job's partial output into `<to>/.quarantine/`, so nothing partial sits next to the good
/// backups. Returns where it went (None when the tool wrote nothing).
pub fn quarantine(spec: &BackupSpec, id: i64) -> anyhow::Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(&spec.partial).is_err() {
        return Ok(None);
    }
    let dir = spec.to.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = spec
        .partial
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("backup-{id}.partial"));
    let target = dir.join(name);
    std::fs::rename(&spec.partial, &target).with_context(|| {
        format!(
            "cannot move {} to {}",
            spec.partial.display(),
            target.display()
        )
    })?;
    Ok(Some(target))
}

/// Cancel a running job: stop the tool's process group (TERM, then KILL), and wait until the job
/// is recorded as cancelled with its partial output quarantined.
pub fn cancel(history: &History, id: i64) -> anyhow::Result<BackupRecord> {
    let rec = history.get(id)?;
    if rec.state != JobState::Running {
        bail!(
            "backup {id} is {} already; only a running backup can be cancelled",
            rec.state.as_str()
        );
    }
    history.request_cancel(id)?;
    history.event(id, "cancel requested", Utc::now())?;
    let started = Instant::now();
    let mut killed = false;
    let mut supervisor_signalled = false;
    loop {
        let now = history.get(id)?;
        if now.state != JobState::Running {
            return Ok(now);
        }
        let supervisor = now.pid.filter(|p| supervisor_alive(*p, id));
        if supervisor.is_none() {
            finish_without_supervisor(history, &now, JobState::Cancelled, "cancelled by request")?;
            return Ok(history.get(id)?);
        }
        if let Some(tool) = now.tool_pid {
            let signal = if started.elapsed() > Duration::from_secs(5) {
                killed = true;
                libc::SIGKILL
            } else {
                libc::SIGTERM
            };
            // SAFETY: kill(2) on the tool's own process group; no memory is touched.
            unsafe { libc::kill(-tool, signal) };
        } else if started.elapsed() > Duration::from_secs(10) && !supervisor_signalled {
            // Still before the tool started (taking checksums): stop the supervisor's session.
            if let Some(pid) = supervisor {
                // SAFETY: as above, the supervisor's own process group.
                unsafe { libc::kill(-pid, libc::SIGTERM) };
                supervisor_signalled = true;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "backup {id} still running 30 s after cancel{}; see {}",
                if killed { " (SIGKILL sent)" } else { "" },
                now.job_dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
