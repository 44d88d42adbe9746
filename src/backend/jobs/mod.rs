//! The Jobs pane's backend: reads the backup history every second and carries out the pane's
//! requests (start, cancel, verify) on blocking threads, so no key press waits for them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::BackendEvent;

use crate::config::Config;
use crate::jobs::{self, History, JobRow, JobsRequest};

/// What the jobs backend reports.
#[derive(Debug, Clone, PartialEq)]
pub enum JobsEvent {
    Rows(Vec<JobRow>),
    /// The outcome of a request, one line for the pane's status line.
    Done(String),
}

/// A scheduled job that could not start is tried again after this long, not on every tick.
const RETRY_SCHEDULED: Duration = Duration::from_secs(60);

/// Run until `requests` closes. Rows are sent every `every`, and after each request; configured
/// jobs with a `schedule` are started when due.
pub async fn run(
    config: Config,
    mut requests: mpsc::UnboundedReceiver<JobsRequest>,
    backend_events: mpsc::UnboundedSender<BackendEvent>,
    every: Duration,
    cancel: CancellationToken,
    read_only: tokio::sync::watch::Receiver<crate::readonly::ReadOnlyBy>,
) {
    // Jobs events travel as BackendEvent::Jobs; the rest of this task speaks JobsEvent.
    let (events, mut jobs_events) = mpsc::unbounded_channel::<JobsEvent>();
    let forward = backend_events.clone();
    tokio::spawn(async move {
        while let Some(e) = jobs_events.recv().await {
            if forward.send(BackendEvent::Jobs(e)).is_err() {
                return;
            }
        }
    });
    let mut tick = tokio::time::interval(every);
    let mut tried: HashMap<String, Instant> = HashMap::new();
    // A due job held back by read-only is said once, not at every retry.
    let mut held_back: std::collections::HashSet<String> = Default::default();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                let rows = tokio::task::spawn_blocking(read_rows).await;
                let event = match rows {
                    Ok(Ok(rows)) => {
                        let records: Vec<_> = rows.iter().map(|r| r.record.clone()).collect();
                        for name in jobs::schedule::due(&config.backups, &records, chrono::Utc::now()) {
                            if tried.get(&name).is_some_and(|t| t.elapsed() < RETRY_SCHEDULED) {
                                continue;
                            }
                            tried.insert(name.clone(), Instant::now());
                            // A schedule is a write like a key press: read-only holds it back.
                            let by = *read_only.borrow();
                            if by.any() {
                                if !held_back.insert(name.clone()) {
                                    continue;
                                }
                                let write = crate::readonly::WriteRequest::new(
                                    crate::readonly::WriteAction::BackupRun,
                                    name.clone(),
                                );
                                let refusal = crate::readonly::refusal(write.action, by);
                                crate::readonly::log_refusal(&write, &refusal);
                                let _ = events.send(JobsEvent::Done(format!(
                                    "scheduled job `{name}`: {refusal}"
                                )));
                                continue;
                            }
                            held_back.remove(&name);
                            let (config, events) = (config.clone(), events.clone());
                            tokio::task::spawn_blocking(move || {
                                let request = JobsRequest::Start(name.clone());
                                let text = carry_out(&config, &request)
                                    .unwrap_or_else(|e| format!("scheduled job `{name}`: {e:#}"));
                                let _ = events.send(JobsEvent::Done(text));
                            });
                        }
                        JobsEvent::Rows(rows)
                    }
                    Ok(Err(e)) => JobsEvent::Done(format!("backup history: {e:#}")),
                    Err(e) => JobsEvent::Done(format!("backup history reader failed: {e}")),
                };
                if events.send(event).is_err() {
                    return;
                }
            }
            request = requests.recv() => {
                let Some(request) = request else { return };
                let config = config.clone();
                let events = events.clone();
                // Verification takes a sandbox start and a restore: never in the select loop.
                tokio::task::spawn_blocking(move || {
                    let text = match carry_out(&config, &request) {
                        Ok(t) => t,
                        Err(e) => format!("{e:#}"),
                    };
                    let _ = events.send(JobsEvent::Done(text));
                    if let Ok(rows) = read_rows() {
                        let _ = events.send(JobsEvent::Rows(rows));
                    }
                });
            }
        }
    }
}

fn read_rows() -> anyhow::Result<Vec<JobRow>> {
    let history = History::open_default()?;
    jobs::load_rows(&history)
}

/// Do one request (blocking); returns the line to show.
pub fn carry_out(config: &Config, request: &JobsRequest) -> anyhow::Result<String> {
    match request {
        JobsRequest::Start(name) => {
            let mut ids = Vec::new();
            for req in jobs::runner::requests_for_job(config, name)? {
                let mut started = jobs::start(config, &req)?;
                ids.push(started.id.to_string());
                // Reap the supervisor when it ends; it runs on if the console exits first.
                std::thread::spawn(move || {
                    let _ = started.supervisor.wait();
                });
            }
            Ok(format!("job `{name}` started: backup {}", ids.join(", ")))
        }
        JobsRequest::Cancel(id) => {
            let history = History::open_default()?;
            let rec = jobs::cancel(&history, *id)?;
            Ok(format!("backup {id}: {}", rec.state.as_str()))
        }
        JobsRequest::Verify(id) => {
            let history = History::open_default()?;
            let report = jobs::verify::verify(&history, *id)?;
            Ok(if report.ok {
                format!("backup {id} verified: {}", report.note)
            } else {
                format!("backup {id} FAILED verification: {}", report.note)
            })
        }
    }
}
