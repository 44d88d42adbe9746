//! Which backend commands write (`crate::readonly`'s list), and the gate at the command entry
//! that refuses them while the console is read-only. Every variant is matched by name: a new
//! command does not compile until it is classified here.

use super::binlog::scan::BinlogCommand;
use super::deploy::child::ChildJob;
use super::deploy::task::DeployRequest;
use super::health::kill::KillTarget;
use super::health::views::HealthViewCommand;
use super::slow::report::SlowCommand;
use super::BackendCommand;
use crate::jobs::JobsRequest;
use crate::readonly::{WriteAction, WriteRequest};

impl BackendCommand {
    /// The write this command would perform, if it writes to a server or a backup target.
    pub fn write_request(&self) -> Option<WriteRequest> {
        match self {
            // Polling, the replay cursor and the console's own recording file change no server.
            BackendCommand::RefreshNow
            | BackendCommand::SetInterval(_)
            | BackendCommand::Shutdown
            | BackendCommand::SetReadOnly(_)
            | BackendCommand::Replay(_)
            | BackendCommand::Record(_) => None,
            BackendCommand::Binlog(c) => binlog_write(c),
            BackendCommand::Slow(c) => slow_write(c),
            BackendCommand::HealthView(c) => health_view_write(c),
            BackendCommand::Jobs(r) => jobs_write(r),
            BackendCommand::Deploy(r) => deploy_write(r),
        }
    }
}

fn binlog_write(command: &BinlogCommand) -> Option<WriteRequest> {
    match command {
        BinlogCommand::Apply(r) => Some(WriteRequest::new(
            WriteAction::FlashbackApply,
            r.instance.clone(),
        )),
        // A check only reads the rows (SELECTs); an export writes a local file.
        BinlogCommand::ListInstanceLogs { .. }
        | BinlogCommand::ListPath { .. }
        | BinlogCommand::Scan(_)
        | BinlogCommand::CancelScan
        | BinlogCommand::Check(_)
        | BinlogCommand::Export { .. } => None,
    }
}

fn slow_write(command: &SlowCommand) -> Option<WriteRequest> {
    match command {
        // EXPLAIN does not run the statement; tracking is arkc's own local store; a demand only
        // says which sources to read.
        SlowCommand::Explain { .. } | SlowCommand::Track { .. } | SlowCommand::Demand(_) => None,
    }
}

fn health_view_write(command: &HealthViewCommand) -> Option<WriteRequest> {
    match command {
        HealthViewCommand::Kill { instance, .. } => {
            Some(WriteRequest::new(WriteAction::Kill, instance.clone()))
        }
        HealthViewCommand::KillSessions {
            instance,
            ids,
            target,
            ..
        } => {
            let action = match (ids.len() > 1, target) {
                (true, _) => WriteAction::BulkKill,
                (false, KillTarget::Query) => WriteAction::KillQuery,
                (false, KillTarget::Connection) => WriteAction::Kill,
            };
            Some(WriteRequest::new(action, instance.clone()))
        }
        HealthViewCommand::Watch { .. }
        | HealthViewCommand::Stop
        | HealthViewCommand::Explain { .. } => None,
    }
}

fn jobs_write(request: &JobsRequest) -> Option<WriteRequest> {
    match request {
        JobsRequest::Start(job) => Some(WriteRequest::new(WriteAction::BackupRun, job.clone())),
        // Cancel stops a write already under way (refusing it would keep the write going);
        // verify restores into a throwaway sandbox and changes neither the source nor the backup.
        JobsRequest::Cancel(_) | JobsRequest::Verify(_) => None,
    }
}

fn deploy_write(request: &DeployRequest) -> Option<WriteRequest> {
    match request {
        DeployRequest::Apply { instance, .. } => Some(WriteRequest::new(
            WriteAction::DeployApply,
            instance.clone(),
        )),
        DeployRequest::Job { job, .. } => Some(match job {
            ChildJob::Undo { .. } => WriteRequest::new(WriteAction::DeployUndo, ""),
            ChildJob::Instance(form) => {
                WriteRequest::new(WriteAction::DeployInstance, form.name.clone())
            }
        }),
        DeployRequest::Review { .. } | DeployRequest::History => None,
    }
}

/// One command for each write the console can send, and what it must be classified as.
#[cfg(test)]
pub(crate) fn console_writes() -> Vec<(BackendCommand, WriteAction)> {
    use crate::backend::binlog::flashback::ApplyRequest;
    use std::path::PathBuf;
    let kill = |ids: Vec<u64>, target| {
        BackendCommand::HealthView(HealthViewCommand::KillSessions {
            instance: "db".into(),
            ids,
            target,
            read_only: false,
        })
    };
    vec![
        (
            BackendCommand::Binlog(BinlogCommand::Apply(ApplyRequest {
                instance: "db".into(),
                sql: "DELETE FROM t".into(),
                generated: String::new(),
                redo: String::new(),
                edited: false,
                read_only: false,
                audit_dir: None,
            })),
            WriteAction::FlashbackApply,
        ),
        (
            BackendCommand::HealthView(HealthViewCommand::Kill {
                instance: "db".into(),
                id: 7,
                read_only: false,
            }),
            WriteAction::Kill,
        ),
        (kill(vec![7], KillTarget::Connection), WriteAction::Kill),
        (kill(vec![7], KillTarget::Query), WriteAction::KillQuery),
        (
            kill(vec![7, 8], KillTarget::Connection),
            WriteAction::BulkKill,
        ),
        (
            BackendCommand::Deploy(DeployRequest::Apply {
                instance: "db".into(),
                file: PathBuf::from("change.sql"),
                read_only: false,
            }),
            WriteAction::DeployApply,
        ),
        (
            BackendCommand::Deploy(DeployRequest::Job {
                job: ChildJob::Undo { id: 3 },
                read_only: false,
            }),
            WriteAction::DeployUndo,
        ),
        (
            BackendCommand::Deploy(DeployRequest::Job {
                job: ChildJob::Instance(crate::backend::deploy::child::InstanceForm {
                    name: "new".into(),
                    port: 3400,
                    datadir: PathBuf::from("/srv/new"),
                    replica_of: None,
                    physical_seed: false,
                }),
                read_only: false,
            }),
            WriteAction::DeployInstance,
        ),
        (
            BackendCommand::Jobs(JobsRequest::Start("nightly".into())),
            WriteAction::BackupRun,
        ),
    ]
}
#[cfg(test)]
mod tests {

    use std::collections::HashSet;
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn every_console_write_is_classified_as_its_action() {
        for (command, action) in console_writes() {
            let got = command.write_request().map(|w| w.action);
            assert_eq!(got, Some(action), "{command:?}");
        }
    }

    #[test]
    fn reads_and_local_work_are_not_writes() {
        for command in [
            BackendCommand::RefreshNow,
            BackendCommand::Shutdown,
            BackendCommand::SetReadOnly(Default::default()),
            BackendCommand::Binlog(BinlogCommand::CancelScan),
            BackendCommand::Binlog(BinlogCommand::Export {
                path: PathBuf::from("x.sql"),
                text: String::new(),
            }),
            BackendCommand::HealthView(HealthViewCommand::Stop),
            BackendCommand::Jobs(JobsRequest::Cancel(1)),
            BackendCommand::Jobs(JobsRequest::Verify(1)),
            BackendCommand::Deploy(DeployRequest::History),
        ] {
            assert_eq!(command.write_request(), None, "{command:?}");
        }
    }

    /// The console can send every server write of the list except the CLI-only ones.
    #[test]
    fn the_console_covers_the_list_but_the_cli_only_actions() {
        let sent: HashSet<WriteAction> = console_writes().into_iter().map(|(_, a)| a).collect();
        let cli_only = [
            WriteAction::FlashbackExecute,
            WriteAction::DeployRemove,
            WriteAction::BackupPrune,
        ];
        for action in WriteAction::ALL {
            assert!(
                sent.contains(&action) || cli_only.contains(&action),
                "{action:?} is neither sent by the console nor CLI-only"
            );
        }
    }

    /// The command entry itself refuses, whoever sent the command: from the config's
    /// `read_only` at once, and after `SetReadOnly` (what `:readonly on` sends).
    #[tokio::test]
    async fn the_command_entry_refuses_writes_in_read_only_mode() {
        let data = crate::readonly::test_data_dir();
        for (config_says, by) in [
            (true, None),
            (
                false,
                Some(crate::readonly::ReadOnlyBy {
                    palette: true,
                    ..Default::default()
                }),
            ),
        ] {
            let config = crate::config::Config {
                read_only: config_says,
                ..Default::default()
            };
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let backend = crate::backend::spawn_with(std::sync::Arc::new(config), tx, None);
            if let Some(by) = by {
                backend.send(BackendCommand::SetReadOnly(by));
            }
            backend.send(BackendCommand::HealthView(HealthViewCommand::Kill {
                instance: "db".into(),
                id: 7,
                read_only: false,
            }));
            // Generous: the refusal is the claim, not how soon it comes on a loaded machine.
            let deadline = std::time::Duration::from_secs(60);
            let refusal = tokio::time::timeout(deadline, async {
                loop {
                    match rx.recv().await {
                        Some(crate::backend::BackendEvent::Refused(text)) => return Some(text),
                        Some(_) => continue,
                        None => return None,
                    }
                }
            })
            .await
            .ok()
            .flatten()
            .expect("the kill was not refused within 60 s");
            assert!(
                refusal.starts_with("kill refused: arkc is read-only"),
                "{refusal}"
            );
            backend.shutdown().await;
        }
        let trail = std::fs::read_to_string(data.path().join("audit.jsonl")).unwrap();
        assert_eq!(
            trail.matches("\"result\":\"refused\"").count(),
            2,
            "{trail}"
        );
    }
}
