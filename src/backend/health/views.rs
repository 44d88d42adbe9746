//! Live reads for the Health pane's expensive views (Processlist, Locks, and the inspection views
//! Replication, Disk and size, Parameters, Backup): one task reads the open view's instance at the
//! view's own interval while the view is open, and stops when it closes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::kill::{KillOutcome, KillTarget};
use super::locks::{read_locks, LocksReport};
use super::processlist::{read_processlist, MonitorConn};
use crate::backend::slow::report::ExplainTable;
use crate::backend::{BackendEvent, SqlRecorder};
use crate::config::Config;
use crate::health::backup::BackupReport;
use crate::health::params::ParamsReport;
use crate::health::processlist::ProcessRow;
use crate::health::replication::ReplicationReport;
use crate::health::sizes::SizeReport;

/// How often an open view is re-read.
pub const VIEW_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveView {
    Processlist,
    Locks,
    Replication,
    Sizes,
    Parameters,
    Backups,
}

impl LiveView {
    /// How often the open view is re-read: table sizes and backup history change slowly and
    /// cost more to read.
    pub fn interval(self) -> Duration {
        match self {
            LiveView::Processlist | LiveView::Locks | LiveView::Replication => VIEW_INTERVAL,
            LiveView::Parameters => Duration::from_secs(5),
            LiveView::Sizes | LiveView::Backups => Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthViewCommand {
    /// Read `view` of `instance` until told otherwise (replaces any previous watch).
    Watch { instance: String, view: LiveView },
    /// No expensive view is open.
    Stop,
    /// Kill a session (the Locks view's root blocker); refused when `read_only`.
    Kill {
        instance: String,
        id: u64,
        read_only: bool,
    },
    /// Kill the Processlist view's chosen sessions (one, or every one the filter shows).
    KillSessions {
        instance: String,
        ids: Vec<u64>,
        target: KillTarget,
        read_only: bool,
    },
    /// EXPLAIN a session's statement in its default database.
    Explain {
        instance: String,
        id: u64,
        db: Option<String>,
        sql: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum HealthViewEvent {
    Processlist {
        instance: String,
        rows: Vec<ProcessRow>,
        note: Option<String>,
    },
    Locks {
        instance: String,
        report: LocksReport,
    },
    /// One of the inspection views (Replication, Disk and size, Parameters, Backup).
    Inspected {
        instance: String,
        report: Inspection,
    },
    Failed {
        instance: String,
        error: String,
    },
    /// The outcome of a `Kill`: `None` when it worked, else why not.
    Killed {
        instance: String,
        id: u64,
        error: Option<String>,
    },
    /// The outcome of `KillSessions`: per session, or why nothing was sent.
    KilledSessions {
        instance: String,
        target: KillTarget,
        outcomes: Result<Vec<KillOutcome>, String>,
    },
    /// The outcome of `Explain`.
    Explained {
        instance: String,
        id: u64,
        sql: String,
        result: Result<ExplainTable, String>,
    },
}

/// A read of one of the inspection views.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspection {
    Replication(ReplicationReport),
    Sizes(SizeReport),
    Parameters(ParamsReport),
    Backups(BackupReport),
}

/// Owns the one watch task.
#[derive(Debug)]
pub struct ViewReader {
    config: Arc<Config>,
    events: UnboundedSender<BackendEvent>,
    current: Option<CancellationToken>,
    parent: CancellationToken,
}

impl ViewReader {
    pub fn new(
        config: Arc<Config>,
        events: UnboundedSender<BackendEvent>,
        parent: CancellationToken,
    ) -> Self {
        ViewReader {
            config,
            events,
            current: None,
            parent,
        }
    }

    pub fn handle(&mut self, command: HealthViewCommand) {
        if let HealthViewCommand::Kill {
            instance,
            id,
            read_only,
        } = command
        {
            self.kill(instance, id, read_only);
            return;
        }
        let command = match command {
            HealthViewCommand::KillSessions {
                instance,
                ids,
                target,
                read_only,
            } => {
                let inst = self.config.instance(&instance).cloned();
                let events = self.events.clone();
                return super::actions::spawn_kill(inst, instance, ids, target, read_only, events);
            }
            HealthViewCommand::Explain {
                instance,
                id,
                db,
                sql,
            } => {
                let inst = self.config.instance(&instance).cloned();
                let events = self.events.clone();
                return super::actions::spawn_explain(inst, instance, id, db, sql, events);
            }
            other => other,
        };
        if let Some(token) = self.current.take() {
            token.cancel();
        }
        let HealthViewCommand::Watch { instance, view } = command else {
            return;
        };
        let Some(inst) = self.config.instance(&instance).cloned() else {
            return;
        };
        let token = self.parent.child_token();
        self.current = Some(token.clone());
        let events = self.events.clone();
        let config = self.config.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = watch(config, inst, view, events) => {}
                _ = token.cancelled() => {}
            }
        });
    }
}

impl ViewReader {
    /// Kill on its own connection, so the view's reads go on; the outcome comes back as an event.
    fn kill(&self, instance: String, id: u64, read_only: bool) {
        let events = self.events.clone();
        let inst = self.config.instance(&instance).cloned();
        tokio::spawn(async move {
            let error = match inst {
                None => Some(format!("no instance named `{instance}`")),
                Some(inst) => kill_one(&inst, id, read_only, &events).await.err(),
            };
            let _ = events.send(BackendEvent::HealthView(HealthViewEvent::Killed {
                instance,
                id,
                error,
            }));
        });
    }
}

async fn kill_one(
    inst: &crate::config::InstanceConfig,
    id: u64,
    read_only: bool,
    events: &UnboundedSender<BackendEvent>,
) -> Result<(), String> {
    super::kill::refuse_if_read_only(read_only).map_err(|e| e.to_string())?;
    let recorder = SqlRecorder::new(&inst.name, events.clone());
    let mut mc = MonitorConn::open(inst, recorder)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let outcome = super::kill::kill_sessions(
        &mut mc,
        &inst.address(),
        &[id],
        super::kill::KillTarget::Connection,
        read_only,
    )
    .await;
    mc.close().await;
    match outcome {
        Ok(o) => match o.into_iter().next().and_then(|o| o.error) {
            None => Ok(()),
            Some(e) => Err(e),
        },
        Err(e) => Err(format!("{e:#}")),
    }
}

async fn watch(
    config: Arc<Config>,
    inst: crate::config::InstanceConfig,
    view: LiveView,
    events: UnboundedSender<BackendEvent>,
) {
    let send = |e: HealthViewEvent| events.send(BackendEvent::HealthView(e)).is_ok();
    let mut conn: Option<MonitorConn> = None;
    loop {
        let mc = match conn.take() {
            Some(c) => Ok(c),
            None => MonitorConn::open(&inst, SqlRecorder::new(&inst.name, events.clone())).await,
        };
        let event = match mc {
            Err(e) => HealthViewEvent::Failed {
                instance: inst.name.clone(),
                error: format!("{e:#}"),
            },
            Ok(mut mc) => {
                let event = match view {
                    LiveView::Processlist => match read_processlist(&mut mc).await {
                        Ok((rows, note)) => HealthViewEvent::Processlist {
                            instance: inst.name.clone(),
                            rows,
                            note,
                        },
                        Err(e) => HealthViewEvent::Failed {
                            instance: inst.name.clone(),
                            error: format!("{e:#}"),
                        },
                    },
                    LiveView::Locks => HealthViewEvent::Locks {
                        instance: inst.name.clone(),
                        report: read_locks(&mut mc).await,
                    },
                    other => HealthViewEvent::Inspected {
                        instance: inst.name.clone(),
                        report: inspect(&mut mc, other, &config, &inst).await,
                    },
                };
                // A failed read may leave the connection unusable: start afresh next time.
                if !matches!(event, HealthViewEvent::Failed { .. }) {
                    conn = Some(mc);
                }
                event
            }
        };
        if !send(event) {
            return;
        }
        tokio::time::sleep(view.interval()).await;
    }
}

/// One read of an inspection view.
async fn inspect(
    mc: &mut MonitorConn,
    view: LiveView,
    config: &Config,
    inst: &crate::config::InstanceConfig,
) -> Inspection {
    use super::inspect as read;
    match view {
        LiveView::Sizes => {
            Inspection::Sizes(read::read_sizes(mc, super::collect::is_local(inst)).await)
        }
        LiveView::Parameters => {
            Inspection::Parameters(read::read_parameters(mc, config, inst).await)
        }
        LiveView::Backups => Inspection::Backups(read::read_backups(mc, &inst.name).await),
        _ => Inspection::Replication(
            read::read_replication(mc, inst.heartbeat_table.as_deref()).await,
        ),
    }
}
