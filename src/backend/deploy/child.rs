//! The Jobs pane's undo and instance deploys run their CLI twins (`arkc deploy undo ID --yes`,
//! `arkc deploy instance ...`) as child processes. One code path for both surfaces: the undo's
//! binlog range scan, check and execute are the CLI's flashback path, and the instance steps
//! print as `[n] step`. The child runs in its own process group, reads the config itself (no
//! password on its command line), and its result comes from its exit status and its output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::task::DeployEvent;
use crate::backend::BackendEvent;
use crate::deploy::history::{default_path, DeployHistory};

/// What the pane's form asks `arkc deploy instance` for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceForm {
    pub name: String,
    pub port: u16,
    pub datadir: PathBuf,
    pub replica_of: Option<String>,
    /// `--seed physical` (mariadb-backup of a local source) instead of a logical dump.
    pub physical_seed: bool,
}

/// A deploy job the pane runs through the CLI twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildJob {
    /// `arkc deploy undo ID --yes` (without `--force`: rows changed since refuse the undo).
    Undo {
        id: i64,
    },
    Instance(InstanceForm),
}

impl ChildJob {
    /// The child's arguments after `arkc [--config PATH]`.
    pub fn args(&self) -> Vec<OsString> {
        match self {
            ChildJob::Undo { id } => ["deploy", "undo", &id.to_string(), "--yes"]
                .iter()
                .map(OsString::from)
                .collect(),
            ChildJob::Instance(f) => {
                let mut a: Vec<OsString> = vec![
                    "deploy".into(),
                    "instance".into(),
                    "--name".into(),
                    f.name.clone().into(),
                    "--port".into(),
                    f.port.to_string().into(),
                    "--datadir".into(),
                    f.datadir.clone().into(),
                ];
                if let Some(src) = &f.replica_of {
                    a.push("--replica-of".into());
                    a.push(src.into());
                }
                if f.physical_seed {
                    a.push("--seed".into());
                    a.push("physical".into());
                }
                a
            }
        }
    }
}

/// The deploy history, newest first, as an event.
pub fn history_event() -> DeployEvent {
    match default_path().and_then(|p| DeployHistory::open(&p)?.list()) {
        Ok(mut records) => {
            records.reverse();
            DeployEvent::History {
                records,
                error: None,
            }
        }
        Err(e) => DeployEvent::History {
            records: Vec::new(),
            error: Some(format!("cannot read the deploy history: {e:#}")),
        },
    }
}

/// Run `job` with the binary `exe`, sending each output line as `Output`, then `JobEnded`
/// and the refreshed history. `read_only` refuses before anything starts.
pub async fn run(
    exe: PathBuf,
    config: Option<PathBuf>,
    job: ChildJob,
    read_only: bool,
    events: mpsc::UnboundedSender<BackendEvent>,
) {
    let send = |e: DeployEvent| {
        let _ = events.send(BackendEvent::Deploy(e));
    };
    let ended = if read_only {
        DeployEvent::JobEnded {
            ok: false,
            message: "refused: read-only mode (:readonly off to deploy); nothing was started"
                .into(),
        }
    } else {
        match run_child(&exe, config.as_deref(), &job, &send).await {
            Ok(e) => e,
            Err(e) => DeployEvent::JobEnded {
                ok: false,
                message: format!("could not run {}: {e:#}", exe.display()),
            },
        }
    };
    tracing::info!(job = ?job, outcome = ?ended, "deploy job from the Jobs pane");
    send(ended);
    send(
        tokio::task::spawn_blocking(history_event)
            .await
            .unwrap_or(DeployEvent::History {
                records: Vec::new(),
                error: Some("reading the deploy history failed".into()),
            }),
    );
}

async fn run_child(
    exe: &Path,
    config: Option<&Path>,
    job: &ChildJob,
    send: &(dyn Fn(DeployEvent) + Sync),
) -> anyhow::Result<DeployEvent> {
    let mut cmd = tokio::process::Command::new(exe);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.args(job.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: a signal meant for the console does not stop it half way.
        .process_group(0);
    let mut child = cmd.spawn()?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        anyhow::bail!("the child's output was not piped");
    };
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let (mut out_open, mut err_open) = (true, true);
    let mut last_error_line = String::new();
    while out_open || err_open {
        tokio::select! {
            line = out.next_line(), if out_open => match line? {
                Some(l) => send(DeployEvent::Output(l)),
                None => out_open = false,
            },
            line = err.next_line(), if err_open => match line? {
                Some(l) => {
                    if !l.trim().is_empty() {
                        last_error_line = l.clone();
                    }
                    send(DeployEvent::Output(l));
                }
                None => err_open = false,
            },
        }
    }
    let status = child.wait().await?;
    let message = match (status.success(), last_error_line.is_empty()) {
        (true, false) => last_error_line,
        (true, true) => "done".into(),
        (false, true) => format!("failed ({status})"),
        (false, false) => last_error_line,
    };
    Ok(DeployEvent::JobEnded {
        ok: status.success(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_gets_the_cli_twins_arguments() {
        let undo = ChildJob::Undo { id: 7 }.args();
        assert_eq!(undo, ["deploy", "undo", "7", "--yes"].map(OsString::from));
        let inst = ChildJob::Instance(InstanceForm {
            name: "rep".into(),
            port: 3407,
            datadir: "/srv/rep".into(),
            replica_of: Some("primary".into()),
            physical_seed: true,
        })
        .args();
        let joined: Vec<String> = inst
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            joined.join(" "),
            "deploy instance --name rep --port 3407 --datadir /srv/rep --replica-of primary --seed physical"
        );
    }
}
