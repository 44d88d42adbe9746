//! The slow-SQL side of the backend: per instance, one task polling its slow log (the file from
//! the config, followed live, else the `mysql.slow_log` table) and its performance_schema
//! digests; one tracking store shared by all; EXPLAIN on demand. Results go to the UI as
//! `BackendEvent::Slow`; nothing here is awaited by the input path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arkc_slowlog::{Digest, DigestFilter};
use chrono::{DateTime, TimeZone, Utc};
use mysql_async::Conn;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ps::DigestSource;
use super::ps_digest::{DigestReader, DigestRow, DigestSourceError};
use super::report::{
    ExplainTable, SlowClass, SlowCommand, SlowDemand, SlowReport, SlowSourceKind, SlowUpdate,
    SourceStatus,
};
use super::table::{TablePoll, TableTail};
use super::tail::LogTail;
use crate::backend::connect::connect;
use crate::backend::health::PollSettings;
use crate::backend::recorder::SqlRecorder;
use crate::backend::BackendEvent;
use crate::config::{Config, InstanceConfig};
use crate::tracking::{TrackStatus, TrackingStore};

/// Fleets up to this size read every instance's slow-SQL sources all the time (tracking sees every
/// run); larger ones read only what the Slow SQL pane shows (see `SlowDemand`).
pub const ALWAYS_READ_UP_TO: usize = 32;

/// How long an EXPLAIN may take before the pane is told it gave up.
const EXPLAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The tracking store, shared by the source tasks (reappearance) and the command handler.
#[derive(Clone)]
struct Tracker {
    store: Arc<Mutex<Option<TrackingStore>>>,
    events: UnboundedSender<BackendEvent>,
}

impl Tracker {
    fn open(path: Option<PathBuf>, events: UnboundedSender<BackendEvent>) -> Tracker {
        let store = match path.as_deref().map(TrackingStore::open) {
            Some(Ok(store)) => Some(store),
            Some(Err(e)) => {
                let text = format!("slow SQL tracking is off: {e}");
                tracing::warn!("{text}");
                let _ = events.send(BackendEvent::Slow(SlowUpdate::Problem(text)));
                None
            }
            None => {
                let text = "slow SQL tracking is off: no XDG data dir (set XDG_DATA_HOME or HOME)";
                tracing::warn!("{text}");
                let _ = events.send(BackendEvent::Slow(SlowUpdate::Problem(text.into())));
                None
            }
        };
        Tracker {
            store: Arc::new(Mutex::new(store)),
            events,
        }
    }

    /// Run `f` on the store off the async threads, then send the whole table to the UI.
    async fn with_store<F>(&self, f: F)
    where
        F: FnOnce(&TrackingStore) -> Result<bool, crate::tracking::TrackingError> + Send + 'static,
    {
        let store = self.store.clone();
        let all = tokio::task::spawn_blocking(move || {
            let guard = store.lock().ok()?;
            let store = guard.as_ref()?;
            match f(store) {
                Ok(true) => store
                    .all()
                    .map_err(|e| tracing::warn!("tracking: {e}"))
                    .ok(),
                Ok(false) => None,
                Err(e) => {
                    tracing::warn!("tracking: {e}");
                    None
                }
            }
        })
        .await
        .ok()
        .flatten();
        if let Some(all) = all {
            let _ = self
                .events
                .send(BackendEvent::Slow(SlowUpdate::Tracking(all)));
        }
    }

    async fn send_all(&self) {
        self.with_store(|_| Ok(true)).await;
    }

    async fn set(&self, query_id: String, status: TrackStatus, note: String) {
        self.with_store(move |s| s.set(&query_id, status, &note, Utc::now()).map(|_| true))
            .await;
    }

    /// Flag fixed classes seen again after their fix.
    async fn observe(&self, seen: Vec<(String, DateTime<Utc>)>) {
        if seen.is_empty() {
            return;
        }
        self.with_store(move |s| {
            // One read of the table instead of one lookup per class.
            let watched: std::collections::HashSet<String> = s
                .all()?
                .into_iter()
                .filter(|t| t.status == TrackStatus::Fixed && t.reappeared_at.is_none())
                .map(|t| t.query_id)
                .collect();
            let mut flagged = false;
            for (id, at) in seen.iter().filter(|(id, _)| watched.contains(id)) {
                flagged |= s.observe(id, *at)?;
            }
            Ok(flagged)
        })
        .await;
    }
}

/// Start the slow-SQL tasks into `tasks`; returns where to send `SlowCommand`s.
pub fn spawn(
    config: Arc<Config>,
    tracking_path: Option<PathBuf>,
    settings: watch::Receiver<PollSettings>,
    events: UnboundedSender<BackendEvent>,
    cancel: CancellationToken,
    tasks: &mut JoinSet<()>,
) -> UnboundedSender<SlowCommand> {
    let tracker = Tracker::open(tracking_path, events.clone());
    // Bounded like the health polls: at most `[health] max_inflight` slow-SQL reads at once,
    // each instance starting at its own offset in the interval (no storm at fleet size).
    let slots = Arc::new(tokio::sync::Semaphore::new(
        config.fleet.polling.max_inflight.max(1),
    ));
    let n = config.instances.len();
    let always = n <= ALWAYS_READ_UP_TO;
    let (demand_tx, demand) = watch::channel(match always {
        true => SlowDemand::Everything,
        false => SlowDemand::Nothing,
    });
    let interval = settings.borrow().interval;
    for (i, instance) in config.instances.iter().enumerate() {
        let task = InstanceSlowTask::new(instance.clone(), events.clone(), tracker.clone());
        let offset = crate::backend::health::schedule::spread_offset(i, n, interval);
        tasks.spawn(task.run(
            settings.clone(),
            demand.clone(),
            cancel.child_token(),
            slots.clone(),
            offset,
        ));
    }
    let (commands, mut receiver) = mpsc::unbounded_channel::<SlowCommand>();
    tasks.spawn(async move {
        tracker.send_all().await;
        loop {
            let command = tokio::select! {
                c = receiver.recv() => match c { Some(c) => c, None => break },
                _ = cancel.cancelled() => break,
            };
            match command {
                SlowCommand::Track {
                    query_id,
                    status,
                    note,
                } => tracker.set(query_id, status, note).await,
                SlowCommand::Demand(wanted) => {
                    if !always {
                        demand_tx.send_if_modified(|d| {
                            let changed = *d != wanted;
                            *d = wanted;
                            changed
                        });
                    }
                }
                SlowCommand::Explain {
                    instance,
                    query_id,
                    database,
                    sql,
                } => {
                    let Some(inst) = config.instances.iter().find(|i| i.name == instance) else {
                        continue;
                    };
                    // Its own task: a slow EXPLAIN never holds up tracking or other EXPLAINs.
                    let (inst, events) = (inst.clone(), events.clone());
                    tokio::spawn(async move {
                        let recorder = SqlRecorder::new(&inst.name, events.clone());
                        let result = explain(&inst, &recorder, database.as_deref(), &sql).await;
                        let update = SlowUpdate::Explain {
                            instance: inst.name.clone(),
                            query_id,
                            result: result.map_err(|e| format!("{e:#}")),
                        };
                        let _ = events.send(BackendEvent::Slow(update));
                    });
                }
            }
        }
    });
    commands
}

/// `EXPLAIN sql` in `database` on a connection of its own.
async fn explain(
    inst: &InstanceConfig,
    recorder: &SqlRecorder,
    database: Option<&str>,
    sql: &str,
) -> anyhow::Result<ExplainTable> {
    // The pane checks this too; the backend is the last line before the server.
    if !arkc_slowlog::statement::is_single_statement(sql) {
        anyhow::bail!("refusing to EXPLAIN more than one statement");
    }
    let mut conn = connect(inst).await?;
    if let Some(db) = database.filter(|d| !d.is_empty()) {
        let use_db = format!("USE `{}`", db.replace('`', "``"));
        recorder
            .execute(&mut conn, &use_db, EXPLAIN_TIMEOUT)
            .await?;
    }
    let rows = recorder
        .query(&mut conn, &format!("EXPLAIN {sql}"), EXPLAIN_TIMEOUT)
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.disconnect()).await;
    let rows = rows?;
    Ok(ExplainTable::from_rows(&rows))
}

/// The sources of one instance.
struct InstanceSlowTask {
    instance: InstanceConfig,
    events: UnboundedSender<BackendEvent>,
    recorder: SqlRecorder,
    tracker: Tracker,
    conn: Option<Conn>,
    /// What `conn`'s server offers for digests; asked once per connection.
    digest_reader: Option<DigestReader>,
    log: LogSource,
    digest_source: DigestSource,
    last_digest_status: Option<SourceStatus>,
}

/// The slow log: a followed file, or the table.
struct LogSource {
    digest: Digest,
    tail: Option<LogTail>,
    table: TableTail,
    last_status: Option<SourceStatus>,
}

impl InstanceSlowTask {
    fn new(
        instance: InstanceConfig,
        events: UnboundedSender<BackendEvent>,
        tracker: Tracker,
    ) -> Self {
        let tail = instance.slow_log.as_deref().map(LogTail::new);
        InstanceSlowTask {
            recorder: SqlRecorder::new(&instance.name, events.clone()),
            instance,
            events,
            tracker,
            conn: None,
            digest_reader: None,
            log: LogSource {
                digest: Digest::new(DigestFilter::default()),
                tail,
                table: TableTail::default(),
                last_status: None,
            },
            digest_source: DigestSource::default(),
            last_digest_status: None,
        }
    }

    /// Poll on the pollers' cadence while `demand` wants this instance; `r` (refresh now) and
    /// interval changes apply here too. Not wanted: no reads, and no connection kept.
    async fn run(
        mut self,
        mut settings: watch::Receiver<PollSettings>,
        mut demand: watch::Receiver<SlowDemand>,
        cancel: CancellationToken,
        slots: Arc<tokio::sync::Semaphore>,
        offset: Duration,
    ) {
        tokio::select! {
            _ = tokio::time::sleep(offset) => {}
            _ = cancel.cancelled() => return,
        }
        loop {
            if !demand.borrow_and_update().wants(&self.instance.name) {
                self.close().await;
                tokio::select! {
                    changed = demand.changed() => if changed.is_err() { break },
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
            let started = tokio::time::Instant::now();
            tokio::select! {
                _ = async {
                    // A closed semaphore never happens (it lives as long as the tasks).
                    let _slot = slots.acquire().await;
                    self.poll_once().await
                } => {}
                _ = cancel.cancelled() => break,
            }
            let next = started + settings.borrow().interval;
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                changed = settings.changed() => if changed.is_err() { break },
                changed = demand.changed() => if changed.is_err() { break },
                _ = cancel.cancelled() => break,
            }
        }
        self.close().await;
    }

    async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.disconnect()).await;
        }
        self.digest_reader = None;
    }

    async fn poll_once(&mut self) {
        self.poll_log().await;
        self.poll_digests().await;
    }

    /// Forget the connection and what was learnt about its server (a reconnect may reach a
    /// restarted server with other settings).
    fn drop_connection(&mut self) {
        self.conn = None;
        self.digest_reader = None;
    }

    async fn read_digests(
        &mut self,
        recorder: &SqlRecorder,
    ) -> Result<Vec<DigestRow>, DigestSourceError> {
        self.connection().await?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(DigestSourceError::Query(anyhow::anyhow!("no connection")));
        };
        let reader = match self.digest_reader.take() {
            Some(reader) => reader,
            None => DigestReader::probe(conn, recorder).await?,
        };
        let rows = reader.read(conn, recorder).await;
        self.digest_reader = Some(reader);
        rows
    }

    async fn connection(&mut self) -> anyhow::Result<&mut Conn> {
        if self.conn.is_none() {
            let mut conn = connect(&self.instance).await?;
            crate::backend::connect::quiet_for_slow_log(&mut conn).await;
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no connection"))
    }

    async fn poll_log(&mut self) {
        let result = match self.log.tail.take() {
            Some(tail) => self.poll_file(tail).await,
            None => self.poll_table().await,
        };
        let (status, changed) = match result {
            Ok(outcome) => outcome,
            Err(e) => (SourceStatus::Failed(format!("{e:#}")), false),
        };
        if changed || self.log.last_status.as_ref() != Some(&status) {
            let digest = &self.log.digest;
            let classes: Vec<SlowClass> = digest
                .classes()
                .map(|c| SlowClass::from_digest(digest, c))
                .collect();
            self.note_sightings(&classes, None).await;
            self.report(
                SlowSourceKind::Log,
                status.clone(),
                classes,
                digest.stats().entries,
            );
            self.log.last_status = Some(status);
        }
    }

    /// Read the file's new entries off the async threads; (status, whether anything changed).
    async fn poll_file(&mut self, mut tail: LogTail) -> anyhow::Result<(SourceStatus, bool)> {
        let mut digest = std::mem::take(&mut self.log.digest);
        let (tail, digest, result) = tokio::task::spawn_blocking(move || {
            let result = tail.poll().map_err(anyhow::Error::from).and_then(|read| {
                if !read.bytes.is_empty() {
                    let name = tail.path().to_path_buf();
                    feed(&mut digest, &read.bytes, &name, read.new_file)?;
                }
                Ok(!read.bytes.is_empty())
            });
            (tail, digest, result)
        })
        .await?;
        let origin = tail.path().display().to_string();
        self.log.tail = Some(tail);
        self.log.digest = digest;
        Ok((SourceStatus::Live { origin }, result?))
    }

    async fn poll_table(&mut self) -> anyhow::Result<(SourceStatus, bool)> {
        let recorder = self.recorder.clone();
        let mut table = std::mem::take(&mut self.log.table);
        let polled = match self.connection().await {
            Ok(conn) => table.poll(conn, &recorder).await,
            Err(e) => Err(e),
        };
        self.log.table = table;
        let polled = polled.inspect_err(|_| self.drop_connection())?;
        Ok(match polled {
            TablePoll::Off(why) => (SourceStatus::Off(why), false),
            TablePoll::Entries { text, rows } => {
                if rows > 0 {
                    feed(
                        &mut self.log.digest,
                        &text,
                        Path::new("mysql.slow_log"),
                        false,
                    )?;
                }
                let origin = "mysql.slow_log".to_string();
                (SourceStatus::Live { origin }, rows > 0)
            }
        })
    }

    async fn poll_digests(&mut self) {
        let recorder = self.recorder.clone();
        let read = self.read_digests(&recorder).await;
        let (status, poll) = match read {
            Ok(rows) => {
                let now = Utc::now().timestamp_millis() as f64 / 1000.0;
                let origin = "performance_schema".to_string();
                let filtered = self
                    .digest_reader
                    .as_ref()
                    .is_some_and(DigestReader::filters_own_statements);
                let status = match filtered {
                    true => SourceStatus::Filtered {
                        origin,
                        note: super::ps_digest::OWN_DIGESTS_NOTE.to_string(),
                    },
                    false => SourceStatus::Live { origin },
                };
                (status, Some(self.digest_source.observe(rows, now)))
            }
            Err(DigestSourceError::Disabled) => (
                SourceStatus::Off(DigestSourceError::Disabled.to_string()),
                None,
            ),
            Err(e) => {
                self.drop_connection();
                (SourceStatus::Failed(e.to_string()), None)
            }
        };
        let status_changed = self.last_digest_status.as_ref() != Some(&status);
        self.last_digest_status = Some(status.clone());
        match poll {
            Some(p) if p.first || !p.moved.is_empty() || status_changed => {
                let now = Utc::now();
                self.note_sightings(&p.classes, Some((&p.moved, now))).await;
                let entries = p.classes.iter().map(|c| c.count).sum();
                self.report(SlowSourceKind::Digest, status, p.classes, entries);
            }
            Some(_) => {}
            None if status_changed => self.report(SlowSourceKind::Digest, status, Vec::new(), 0),
            None => {}
        }
    }

    /// Tell the tracker when classes ran, so fixed ones that run again get flagged.
    async fn note_sightings(
        &self,
        classes: &[SlowClass],
        moved: Option<(&[String], DateTime<Utc>)>,
    ) {
        let seen: Vec<(String, DateTime<Utc>)> = match moved {
            Some((ids, now)) => ids.iter().map(|id| (id.clone(), now)).collect(),
            None => classes
                .iter()
                .filter_map(|c| {
                    let at = Utc.timestamp_opt(c.last_seen?, 0).single()?;
                    Some((c.query_id.clone(), at))
                })
                .collect(),
        };
        self.tracker.observe(seen).await;
    }

    fn report(
        &self,
        source: SlowSourceKind,
        status: SourceStatus,
        classes: Vec<SlowClass>,
        entries: u64,
    ) {
        let report = SlowReport {
            instance: self.instance.name.clone(),
            source,
            status,
            classes,
            entries,
        };
        let _ = self
            .events
            .send(BackendEvent::Slow(SlowUpdate::Report(report)));
    }
}

fn feed(digest: &mut Digest, bytes: &[u8], name: &Path, new_file: bool) -> anyhow::Result<()> {
    if new_file {
        digest.add_reader(bytes, name)?;
    } else {
        digest.add_continuation(bytes, name)?;
    }
    Ok(())
}
