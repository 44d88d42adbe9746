//! The async side: tokio tasks that talk to servers and report back to the UI by channel.
//! Nothing here is awaited from the input path; the UI sends `BackendCommand`s and receives
//! `BackendEvent`s.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub mod binlog;
pub mod connect;
pub mod demo;
pub mod deploy;
pub mod health;
pub mod jobs;
pub mod record;
pub mod record_reads;
pub mod record_toggle;
pub mod recorder;
pub mod replay;
pub mod slow;
pub mod tls;
pub(crate) mod write_gate;

pub use health::InstancePoller;
pub use recorder::SqlRecorder;

use crate::config::Config;
use health::fleet::{Fleet, Next};
use health::PollSettings;

use crate::health::InstanceHealth;

/// What the UI asks of the backend. Fire-and-forget: answers arrive as `BackendEvent`s.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendCommand {
    /// Poll every instance now instead of waiting for the next tick.
    RefreshNow,
    /// Change the polling interval.
    SetInterval(Duration),
    /// Stop all tasks and close connections.
    Shutdown,
    /// Work for the Binlog pane (scans, check, apply, export).
    Binlog(binlog::scan::BinlogCommand),
    /// For the slow-SQL sources (EXPLAIN, tracking).
    Slow(slow::report::SlowCommand),
    /// Which expensive Health view (processlist, locks) is open, if any.
    HealthView(health::views::HealthViewCommand),
    /// The Jobs pane's requests: start a configured backup, cancel, verify.
    Jobs(crate::jobs::JobsRequest),
    /// The Jobs pane's deploy flow: review a change file, or apply it after the typed name.
    Deploy(deploy::task::DeployRequest),
    /// Move the time cursor of a replay (`arkc --replay FILE`).
    Replay(replay::ReplayCommand),
    /// Start or stop recording what the console polls.
    Record(record_toggle::RecordCommand),
    /// Read-only mode as the console has it now (`--read-only`, the config, `:readonly`): while
    /// on, the command entry refuses every command `write_request` classifies as a write.
    SetReadOnly(crate::readonly::ReadOnlyBy),
}

/// What the backend reports.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    /// A fresh health figure for one instance (up or down).
    Health(InstanceHealth),
    /// A statement the console sent, for the `@` SQL log.
    SqlSent(SqlLogEntry),
    /// The console's poll results and poll statements since the last batch (`spawn_console`).
    Polled(Box<health::outbox::PollBatch>),
    /// Results of the Binlog pane's work.
    Binlog(binlog::scan::BinlogEvent),
    /// Leaderboards, tracking and EXPLAIN results from the slow-SQL sources.
    Slow(slow::report::SlowUpdate),
    /// Reads for the open Health view.
    HealthView(health::views::HealthViewEvent),
    /// The backup history and the outcome of the Jobs pane's requests.
    Jobs(jobs::JobsEvent),
    /// The review, each applied statement and the outcome of a deploy.
    Deploy(deploy::task::DeployEvent),
    /// A replay's cursor moved: the recorded frame to show.
    Replay(Box<replay::ReplayFrame>),
    /// A console recording started, stopped or failed.
    Recording(record_toggle::RecordingStatus),
    /// Whether the fleet's polls keep up with the interval (every second while polling).
    FleetPace(health::schedule::FleetPace),
    /// The command entry refused a write in read-only mode: the refusal, for the status line.
    Refused(String),
}

/// One statement arkc sent to a server: shown by `@`, also written to the log file.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlLogEntry {
    pub at: DateTime<Utc>,
    pub instance: String,
    pub sql: String,
    pub elapsed: Duration,
    pub error: Option<String>,
}

/// The UI's side of the backend: send commands; events arrive on the channel given to `spawn`.
#[derive(Debug)]
pub struct BackendHandle {
    commands: mpsc::UnboundedSender<BackendCommand>,
    coordinator: tokio::task::JoinHandle<()>,
}

impl BackendHandle {
    /// Never blocks; a backend that has shut down ignores the command.
    pub fn send(&self, command: BackendCommand) {
        let _ = self.commands.send(command);
    }

    /// Stop every poller, close connections and wait for the tasks to end.
    pub async fn shutdown(self) {
        self.send(BackendCommand::Shutdown);
        let _ = self.coordinator.await;
    }
}

/// Every configured instance polled by one bounded fleet task, results sent as `Health` events,
/// or left in `outbox` (with the poll statements) to go out in batches.
fn run_fleet(
    config: &Config,
    watched: &[String],
    interval: Duration,
    settings: watch::Receiver<PollSettings>,
    cancel: CancellationToken,
    events: mpsc::UnboundedSender<BackendEvent>,
    outbox: Option<Arc<health::outbox::PollOutbox>>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let polling = &config.fleet.polling;
    let slow_after = Duration::from_millis(polling.slow_ms);
    let pollers = config
        .instances
        .iter()
        .map(|i| {
            let poller = InstancePoller::new(i.clone(), events.clone())
                .with_watched_variables(watched)
                .with_variables_cadence(health::poller::VARIABLES_CADENCE)
                .with_slow_after(slow_after);
            match &outbox {
                Some(outbox) => poller.with_outbox(outbox.clone()),
                None => poller,
            }
        })
        .collect();
    let fleet = Fleet::new(pollers, health::fleet::plan_for(interval, polling));
    let pace_events = events.clone();
    let pace: health::fleet::PaceReport = Box::new(move |pace| {
        let _ = pace_events.send(BackendEvent::FleetPace(pace));
    });
    fleet.run(Some(settings), cancel, Some(pace), move |result| {
        let sent = match &outbox {
            Some(outbox) => {
                outbox.push_health(result.health);
                !events.is_closed()
            }
            None => events.send(BackendEvent::Health(result.health)).is_ok(),
        };
        match sent {
            true => Next::Continue,
            false => Next::Stop,
        }
    })
}

/// Fastest polling the backend accepts, whatever is asked.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The slow-SQL sources, for the console (not for `arkc health`).
#[derive(Debug, Clone, Default)]
pub struct SlowSqlOptions {
    /// The tracking store; `None` turns tracking off (and says so).
    pub tracking_path: Option<std::path::PathBuf>,
}

/// Start one poller task per configured instance, polling every `refresh_ms`. Must be called
/// inside a tokio runtime. Dropping the handle (or `Shutdown`) stops them.
pub fn spawn(config: Arc<Config>, events: mpsc::UnboundedSender<BackendEvent>) -> BackendHandle {
    spawn_with(config, events, None)
}

/// The console's backend: the pollers plus the slow-SQL sources, tracking in the XDG data dir.
pub fn spawn_console(
    config: Arc<Config>,
    events: mpsc::UnboundedSender<BackendEvent>,
) -> BackendHandle {
    let slow = SlowSqlOptions {
        tracking_path: crate::tracking::TrackingStore::default_path(),
    };
    spawn_batched(config, events, Some(slow))
}

/// The pollers, and the slow-SQL sources when `slow` is given (tests pass a private store).
pub fn spawn_with(
    config: Arc<Config>,
    events: mpsc::UnboundedSender<BackendEvent>,
    slow: Option<SlowSqlOptions>,
) -> BackendHandle {
    spawn_backend(config, events, slow, false)
}

/// As `spawn_with`, but poll results and poll statements arrive as `Polled` batches (the
/// console's way: one event and one redraw wake-up for many results).
pub fn spawn_batched(
    config: Arc<Config>,
    events: mpsc::UnboundedSender<BackendEvent>,
    slow: Option<SlowSqlOptions>,
) -> BackendHandle {
    spawn_backend(config, events, slow, true)
}

fn spawn_backend(
    config: Arc<Config>,
    events: mpsc::UnboundedSender<BackendEvent>,
    slow: Option<SlowSqlOptions>,
    batched: bool,
) -> BackendHandle {
    let (commands, mut command_rx) = mpsc::unbounded_channel::<BackendCommand>();
    // Every task reports through the tee, so a recording sees what the UI sees.
    let (events, mut record_switch) = record_toggle::tee(config.clone(), events);
    let interval = Duration::from_millis(config.ui.refresh_ms).max(MIN_INTERVAL);
    let (settings_tx, settings_rx) = watch::channel(PollSettings {
        interval,
        refresh: 0,
    });
    let cancel = CancellationToken::new();
    let mut pollers = JoinSet::new();
    // The baseline's variables are read with the others (every 10 s), so drift and changes
    // are judged.
    let watched = health::alerting::AlertContext::from_config(&config, &config.instances)
        .map(|c| c.watched_variables(&config))
        .unwrap_or_else(|_| config.parameters.watch.clone());
    let outbox = batched.then(|| Arc::new(health::outbox::PollOutbox::default()));
    if let Some(outbox) = &outbox {
        pollers.spawn(health::outbox::deliver(
            outbox.clone(),
            health::outbox::BATCH_EVERY,
            cancel.child_token(),
            events.clone(),
        ));
    }
    pollers.spawn(health::fleet::on_own_thread(run_fleet(
        &config,
        &watched,
        interval,
        settings_rx.clone(),
        cancel.child_token(),
        events.clone(),
        outbox,
    )));
    for source in &config.prometheus {
        let every = source
            .refresh_ms
            .map(Duration::from_millis)
            .unwrap_or(interval)
            .max(MIN_INTERVAL);
        match health::prometheus::PrometheusReader::new(source.clone()) {
            Ok(reader) => {
                pollers.spawn(health::prometheus::run(
                    reader,
                    every,
                    cancel.child_token(),
                    events.clone(),
                ));
            }
            Err(e) => tracing::error!("{e:#}"),
        }
    }
    let mut binlog = binlog::scan::BinlogService::new(config.clone(), events.clone());
    let mut views =
        health::views::ViewReader::new(config.clone(), events.clone(), cancel.child_token());
    let slow = slow.map(|opts| {
        slow::sources::spawn(
            config.clone(),
            opts.tracking_path,
            settings_rx.clone(),
            events.clone(),
            cancel.child_token(),
            &mut pollers,
        )
    });
    // The jobs task reads the backup history: the console's (with the slow-SQL sources), not tests'.
    // The config's `read_only` holds from the start; the console sends its full state at once.
    let (read_only_tx, read_only_rx) = watch::channel(crate::readonly::ReadOnlyBy {
        config: config.read_only,
        ..Default::default()
    });
    let jobs = slow.is_some().then(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        pollers.spawn(jobs::run(
            (*config).clone(),
            rx,
            events.clone(),
            Duration::from_secs(1),
            cancel.child_token(),
            read_only_rx,
        ));
        tx
    });
    let coordinator = tokio::spawn(async move {
        // The pollers run on their own thread: a runtime shut down without `Shutdown` (the
        // coordinator dropped) still stops them.
        let _stop_pollers = cancel.clone().drop_guard();
        while let Some(command) = command_rx.recv().await {
            // The gate no pane can go around: a write is refused here whatever sent it.
            let read_only = *read_only_tx.borrow();
            if let Some(write) = command.write_request().filter(|_| read_only.any()) {
                let refusal = crate::readonly::refusal(write.action, read_only);
                crate::readonly::log_refusal(&write, &refusal);
                let _ = events.send(BackendEvent::Refused(refusal));
                continue;
            }
            match command {
                BackendCommand::SetReadOnly(by) => {
                    read_only_tx.send_replace(by);
                }
                BackendCommand::RefreshNow => settings_tx.send_modify(|s| s.refresh += 1),
                BackendCommand::SetInterval(d) => {
                    settings_tx.send_modify(|s| s.interval = d.max(MIN_INTERVAL))
                }
                BackendCommand::Binlog(c) => binlog.handle(c),
                BackendCommand::HealthView(c) => views.handle(c),
                BackendCommand::Shutdown => break,
                BackendCommand::Slow(command) => {
                    if let Some(slow) = &slow {
                        let _ = slow.send(command);
                    }
                }
                BackendCommand::Jobs(request) => {
                    if let Some(jobs) = &jobs {
                        let _ = jobs.send(request);
                    }
                }
                BackendCommand::Deploy(request) => {
                    deploy::spawn_request(&config, request, events.clone());
                }
                // Only the replay backend has a time cursor.
                BackendCommand::Replay(_) => {}
                BackendCommand::Record(command) => record_switch.handle(command),
            }
        }
        cancel.cancel();
        while pollers.join_next().await.is_some() {}
    });
    BackendHandle {
        commands,
        coordinator,
    }
}
