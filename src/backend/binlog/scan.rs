//! The Binlog pane's backend: listing an instance's binary logs, scanning binlog files on a
//! worker thread (transactions streamed back in batches, progress, cancel), and handing check,
//! apply and export to `flashback`. The UI sends `BinlogCommand`s and never waits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arkc_binlog::review::{ReviewLimits, ReviewSink, ReviewedTxn};
use arkc_binlog::schema::ColumnSource;
use arkc_binlog::txn::{Filters, TxnBuilder};
use arkc_binlog::BinlogError;
use tokio::sync::mpsc::UnboundedSender;

use super::columns::ServerColumns;
use super::flashback::{self, ApplyRequest, CheckRequest};
use crate::backend::{BackendEvent, SqlRecorder};
use crate::config::Config;

/// How often a running scan reports progress and sends the transactions found so far.
pub(super) const REPORT_EVERY: Duration = Duration::from_millis(100);

/// One binary log as the source picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub name: String,
    /// Where arkc can read it; None when the file is not reachable from this machine.
    pub path: Option<PathBuf>,
    pub size: u64,
    /// Unix seconds of the file's first event, when readable.
    pub first_event: Option<u32>,
    /// Read through the replication stream (the instance's `binlog_source`), not from `path`.
    pub streamed: bool,
}

/// Where a scan starts within its files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartPoint {
    #[default]
    Beginning,
    /// Transactions committed at or after this Unix time.
    Since(u32),
    /// Byte position in the first file.
    Position(u64),
    /// From the transaction with this GTID onward.
    Gtid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanRequest {
    /// Numbers scans, so results of a cancelled scan are never mixed into a new one.
    pub id: u64,
    /// Files in binlog order.
    pub files: Vec<PathBuf>,
    pub start: StartPoint,
    /// The instance the files were listed for: its column definitions (generated columns,
    /// names) are read from information_schema when it answers. None for a typed path.
    pub instance: Option<String>,
    /// Read the instance's logs through the replication stream instead of `files`.
    pub stream: Option<StreamScan>,
}

/// A scan of an instance's binlogs pulled over the replication stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamScan {
    /// Log names from the first to read on, as SHOW BINARY LOGS lists them; empty: from the
    /// server's current end (only useful when following).
    pub names: Vec<String>,
    /// Their sizes summed, for the gauge.
    pub total_bytes: u64,
    /// Start at this byte of the first log instead of its beginning (a transaction boundary).
    pub from_pos: Option<u64>,
    /// Keep the stream open: transactions arrive as they commit, until cancelled.
    pub follow: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BinlogCommand {
    /// `SHOW BINARY LOGS` of an instance, resolved to files arkc can read.
    ListInstanceLogs {
        instance: String,
    },
    /// The binlogs of a local file or folder.
    ListPath {
        path: PathBuf,
    },
    Scan(ScanRequest),
    CancelScan,
    Check(CheckRequest),
    Apply(ApplyRequest),
    Export {
        path: PathBuf,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    Done,
    Cancelled,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum BinlogEvent {
    Logs {
        origin: String,
        result: Result<Vec<LogFile>, String>,
    },
    Progress {
        id: u64,
        bytes: u64,
        total_bytes: u64,
        events: u64,
        elapsed: Duration,
    },
    Transactions {
        id: u64,
        batch: Vec<ReviewedTxn>,
    },
    ScanFinished {
        id: u64,
        outcome: ScanOutcome,
    },
    Checked(flashback::CheckReport),
    Applying(flashback::TxnResult),
    Applied(flashback::ApplyReport),
    Exported {
        path: PathBuf,
        result: Result<u64, String>,
    },
}

/// Runs the pane's commands; owned by the backend's coordinator task.
pub struct BinlogService {
    config: Arc<Config>,
    events: UnboundedSender<BackendEvent>,
    scan_cancel: Option<Arc<AtomicBool>>,
}

impl BinlogService {
    pub fn new(config: Arc<Config>, events: UnboundedSender<BackendEvent>) -> Self {
        BinlogService {
            config,
            events,
            scan_cancel: None,
        }
    }

    /// Start the work for `command` and return at once; results arrive as events.
    pub fn handle(&mut self, command: BinlogCommand) {
        match command {
            BinlogCommand::ListInstanceLogs { instance } => self.list_instance_logs(instance),
            BinlogCommand::ListPath { path } => {
                let events = self.events.clone();
                tokio::task::spawn_blocking(move || {
                    let result = local_logs(&path).map_err(|e| format!("{e:#}"));
                    let origin = path.display().to_string();
                    send(&events, BinlogEvent::Logs { origin, result });
                });
            }
            BinlogCommand::Scan(request) => self.start_scan(request),
            BinlogCommand::CancelScan => self.cancel_scan(),
            BinlogCommand::Check(request) => {
                self.with_instance(request.instance.clone(), |inst, rec, events| async move {
                    let report = flashback::check(&inst, &rec, request).await;
                    send(&events, BinlogEvent::Checked(report));
                })
            }
            BinlogCommand::Apply(request) => {
                self.with_instance(request.instance.clone(), |inst, rec, events| async move {
                    let progress = events.clone();
                    let report = flashback::apply(&inst, &rec, request, move |r| {
                        send(&progress, BinlogEvent::Applying(r))
                    })
                    .await;
                    send(&events, BinlogEvent::Applied(report));
                })
            }
            BinlogCommand::Export { path, text } => {
                let events = self.events.clone();
                tokio::task::spawn_blocking(move || {
                    // Whole or not at all: a full disk leaves no half export under the name.
                    let result = crate::deploy::instance_config::write_atomically(&path, &text)
                        .map(|_| text.len() as u64)
                        .map_err(|e| {
                            format!(
                                "cannot write {}: {e:#}; nothing was written under that name",
                                path.display()
                            )
                        });
                    send(&events, BinlogEvent::Exported { path, result });
                });
            }
        }
    }

    fn with_instance<F, Fut>(&self, name: String, work: F)
    where
        F: FnOnce(crate::config::InstanceConfig, SqlRecorder, UnboundedSender<BackendEvent>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(inst) = self
            .config
            .instances
            .iter()
            .find(|i| i.name == name)
            .cloned()
        else {
            let report = flashback::CheckReport::failed(format!("no instance named `{name}`"));
            send(&self.events, BinlogEvent::Checked(report));
            return;
        };
        let recorder = SqlRecorder::new(&inst.name, self.events.clone());
        tokio::spawn(work(inst, recorder, self.events.clone()));
    }

    fn list_instance_logs(&self, name: String) {
        let Some(inst) = self
            .config
            .instances
            .iter()
            .find(|i| i.name == name)
            .cloned()
        else {
            let result = Err(format!("no instance named `{name}` in the config"));
            send(
                &self.events,
                BinlogEvent::Logs {
                    origin: name,
                    result,
                },
            );
            return;
        };
        let events = self.events.clone();
        let recorder = SqlRecorder::new(&inst.name, events.clone());
        tokio::spawn(async move {
            let mut origin = inst.name.clone();
            let listed = flashback::server_logs(&inst, &recorder).await;
            let result = match (listed, inst.binlog_dir.clone()) {
                (Ok(logs), _) => {
                    let how = inst.binlog_source;
                    tokio::task::spawn_blocking(move || {
                        streamed_as(how, with_first_event_times(logs))
                    })
                    .await
                    .map_err(|e| e.to_string())
                }
                // The server is down, but its binlog_dir can still be read.
                (Err(e), Some(dir)) => {
                    origin = format!(
                        "{} (server unreachable: {e:#}; reading {})",
                        inst.name,
                        dir.display()
                    );
                    tokio::task::spawn_blocking(move || local_logs(&dir))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map_err(|e| format!("{e:#}")))
                }
                (Err(e), None) => Err(format!("{e:#}")),
            };
            send(&events, BinlogEvent::Logs { origin, result });
        });
    }

    fn cancel_scan(&mut self) {
        if let Some(flag) = self.scan_cancel.take() {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn start_scan(&mut self, request: ScanRequest) {
        self.cancel_scan();
        let cancel = Arc::new(AtomicBool::new(false));
        self.scan_cancel = Some(cancel.clone());
        let events = self.events.clone();
        let instance = request.instance.as_ref().and_then(|name| {
            let inst = self.config.instances.iter().find(|i| &i.name == name)?;
            Some(inst.clone())
        });
        // A plain thread: a long scan must not hold one of tokio's blocking-pool slots forever.
        let spawned = std::thread::Builder::new()
            .name("arkc-binlog-scan".into())
            .spawn(move || {
                lower_priority();
                let id = request.id;
                let columns = instance.as_ref().and_then(|inst| {
                    let recorder = SqlRecorder::new(&inst.name, events.clone());
                    // Each table is looked up when its first TABLE_MAP arrives (one pass).
                    match ServerColumns::for_instance(inst, Filters::default(), Some(recorder)) {
                        Ok(c) => Some(c as Arc<dyn ColumnSource>),
                        // Unreachable: scan as for a typed file; the preview says so.
                        Err(e) => {
                            tracing::warn!(instance = %inst.name, "no column definitions: {e:#}");
                            None
                        }
                    }
                });
                let result = match (&request.stream, &instance) {
                    (Some(stream), Some(inst)) => super::scan_stream::scan_stream(
                        &request, stream, inst, columns, &cancel, &events,
                    ),
                    (Some(_), None) => Err(anyhow::anyhow!("a stream scan needs an instance")),
                    (None, _) => scan(&request, columns, &cancel, &events).map_err(Into::into),
                };
                let outcome = match result {
                    Ok(()) if cancel.load(Ordering::Relaxed) => ScanOutcome::Cancelled,
                    Ok(()) => ScanOutcome::Done,
                    Err(_) if cancel.load(Ordering::Relaxed) => ScanOutcome::Cancelled,
                    Err(e) => ScanOutcome::Failed(failure_text(&request, &e)),
                };
                send(&events, BinlogEvent::ScanFinished { id, outcome });
            });
        if let Err(e) = spawned {
            let outcome = ScanOutcome::Failed(format!("cannot start the scan thread: {e}"));
            send(&self.events, BinlogEvent::ScanFinished { id: 0, outcome });
        }
    }
}

/// A scan's error, led by the file's name when a listed binlog is gone (PURGE BINARY LOGS or
/// rotation since the list was read), so that a narrow status line still says which and why.
fn failure_text(request: &ScanRequest, e: &anyhow::Error) -> String {
    let gone = request.files.iter().find(|f| !f.exists());
    match gone.and_then(|f| f.file_name()) {
        Some(name) => format!(
            "{} is gone (purged or rotated away since the list was read; list the logs again): \
             {e:#}",
            name.to_string_lossy()
        ),
        None => format!("{e:#}"),
    }
}

/// Decoding may take a whole core for minutes; on a busy machine it must not delay keys.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read their integer arguments; a failure (e.g. a
    // sandbox forbidding it) leaves the priority as it was, which is harmless.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

impl Drop for BinlogService {
    /// The backend is shutting down: a running scan has no one left to report to.
    fn drop(&mut self) {
        self.cancel_scan();
    }
}

pub(super) fn send(events: &UnboundedSender<BackendEvent>, event: BinlogEvent) {
    // A closed channel means the UI has gone; the work's result has nowhere to go.
    let _ = events.send(BackendEvent::Binlog(event));
}

/// The filters a start point needs; a GTID start is applied while delivering instead.
pub(super) fn filters_for(start: &StartPoint, files: &[PathBuf]) -> Filters {
    let mut filters = Filters::default();
    match start {
        StartPoint::Beginning | StartPoint::Gtid(_) => {}
        StartPoint::Since(t) => filters.start_time = Some(*t),
        StartPoint::Position(pos) => {
            let first = files.first().and_then(|p| p.file_name());
            let name = first.map(|n| n.to_string_lossy().into_owned());
            filters.start = Some((name.unwrap_or_default(), *pos));
        }
    }
    filters
}

/// Progress and batching shared by the scan loop and the sink's delivery callback.
pub(super) struct ScanReporter<'a> {
    pub(super) id: u64,
    pub(super) events: &'a UnboundedSender<BackendEvent>,
    pub(super) batch: Vec<ReviewedTxn>,
    pub(super) started: Instant,
    pub(super) last_report: Instant,
    pub(super) total_bytes: u64,
}

impl ScanReporter<'_> {
    pub(super) fn report(&mut self, bytes: u64, events: u64) {
        self.last_report = Instant::now();
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            send(
                self.events,
                BinlogEvent::Transactions { id: self.id, batch },
            );
        }
        send(
            self.events,
            BinlogEvent::Progress {
                id: self.id,
                bytes,
                total_bytes: self.total_bytes,
                events,
                elapsed: self.started.elapsed(),
            },
        );
    }
}

fn scan(
    request: &ScanRequest,
    columns: Option<Arc<dyn ColumnSource>>,
    cancel: &AtomicBool,
    events: &UnboundedSender<BackendEvent>,
) -> Result<(), BinlogError> {
    let total_bytes = request
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let now = Instant::now();
    let reporter = std::cell::RefCell::new(ScanReporter {
        id: request.id,
        events,
        batch: Vec::new(),
        started: now,
        last_report: now,
        total_bytes,
    });
    let gtid_start = match &request.start {
        StartPoint::Gtid(g) => Some(g.clone()),
        _ => None,
    };
    let mut started = gtid_start.is_none();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t: ReviewedTxn| {
        // A GTID start point: deliver from the transaction with that GTID onward.
        started = started || t.txn.gtid.as_deref() == gtid_start.as_deref();
        if started {
            reporter.borrow_mut().batch.push(t);
        }
        Ok(())
    })?;
    let mut builder = TxnBuilder::new(filters_for(&request.start, &request.files));
    builder.columns = columns;
    // The engine's file pipeline, as `arkc flashback` reads files; it stops within a batch
    // (1 MiB) of Esc. Each file's 4-byte magic is counted so the gauge ends at the sizes.
    let stats = arkc_binlog::pipeline::scan_files_cancellable(
        &request.files,
        &mut builder,
        &mut sink,
        &mut |s| {
            let mut r = reporter.borrow_mut();
            if r.last_report.elapsed() >= REPORT_EVERY {
                r.report(s.bytes + 4 * s.files, s.events);
            }
        },
        cancel,
    )?;
    drop(sink);
    if !cancel.load(Ordering::Relaxed) {
        reporter
            .borrow_mut()
            .report(stats.bytes + 4 * stats.files, stats.events);
    }
    Ok(())
}

/// Binlog files of a local file or folder (by the folder's .index file, else by name).
pub fn local_logs(path: &Path) -> anyhow::Result<Vec<LogFile>> {
    let files = if path.is_dir() {
        arkc_binlog::dir::binlogs_in_dir(path)?
    } else if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        anyhow::bail!("{}: no such file or folder", path.display());
    };
    let logs = files
        .into_iter()
        .map(|p| LogFile {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
            first_event: None,
            streamed: false,
            path: Some(p),
        })
        .collect();
    Ok(with_first_event_times(logs))
}

/// Marks the logs to read through the replication stream, as `binlog_source` says.
fn streamed_as(how: crate::config::BinlogSource, mut logs: Vec<LogFile>) -> Vec<LogFile> {
    for log in &mut logs {
        log.streamed = how.streams(log.path.is_some());
    }
    logs
}

fn with_first_event_times(mut logs: Vec<LogFile>) -> Vec<LogFile> {
    for log in &mut logs {
        log.first_event = log.path.as_deref().and_then(first_event_time);
    }
    logs
}

/// The timestamp of the first event: bytes 4..8 of the file (after the magic number).
fn first_event_time(path: &Path) -> Option<u32> {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (head[..4] == [0xfe, b'b', b'i', b'n'])
        .then(|| u32::from_le_bytes([head[4], head[5], head[6], head[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

    /// Scan `copies` copies of `file` on this thread: (GTIDs delivered, bytes last reported).
    fn run_copies(
        start: StartPoint,
        file: &str,
        copies: usize,
        cancelled: bool,
    ) -> (Vec<String>, Option<u64>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let request = ScanRequest {
            id: 7,
            files: vec![PathBuf::from(CORPUS).join(file); copies],
            start,
            instance: None,
            stream: None,
        };
        let cancel = AtomicBool::new(cancelled);
        scan(&request, None, &cancel, &tx).expect("scan");
        drop(tx);
        let (mut gtids, mut bytes) = (Vec::new(), None);
        while let Ok(BackendEvent::Binlog(event)) = rx.try_recv() {
            match event {
                BinlogEvent::Transactions { id: 7, batch } => {
                    gtids.extend(batch.into_iter().map(|t| t.txn.gtid.unwrap_or_default()))
                }
                BinlogEvent::Progress {
                    id: 7, bytes: b, ..
                } => bytes = Some(b),
                other => panic!("unexpected {other:?}"),
            }
        }
        (gtids, bytes)
    }

    fn run(start: StartPoint, file: &str, cancelled: bool) -> (Vec<String>, Option<u64>) {
        run_copies(start, file, 1, cancelled)
    }

    #[test]
    fn start_points_pick_where_the_list_begins() {
        let file = "mariadb-bin.000001";
        let size = std::fs::metadata(PathBuf::from(CORPUS).join(file))
            .expect("corpus")
            .len();
        assert_eq!(
            run(StartPoint::Beginning, file, false),
            (vec!["0-1-1".into(), "0-1-2".into()], Some(size))
        );
        assert_eq!(run(StartPoint::Position(702), file, false).0, ["0-1-2"]);
        assert_eq!(
            run(StartPoint::Gtid("0-1-2".into()), file, false).0,
            ["0-1-2"]
        );
        // 2022-04-20 22:19:00 UTC lies between the two commits.
        assert_eq!(
            run(StartPoint::Since(1_650_493_140), file, false).0,
            ["0-1-2"]
        );
        assert!(run(StartPoint::Gtid("9-9-9".into()), file, false)
            .0
            .is_empty());
    }

    #[test]
    fn a_cancelled_scan_stops_without_delivering_everything() {
        let file = "mariadb-bin.000001";
        assert_eq!(
            run_copies(StartPoint::Beginning, file, 20, false).0.len(),
            40
        );
        // Cancelled before it starts: the flag is seen before the first file is read.
        assert!(run_copies(StartPoint::Beginning, file, 20, true)
            .0
            .is_empty());
    }

    #[test]
    fn a_folder_lists_its_binlogs_with_sizes_and_first_event_times() {
        let logs = local_logs(Path::new(CORPUS)).expect("corpus folder");
        let maria = logs
            .iter()
            .find(|l| l.name == "mariadb-bin.000001")
            .expect("listed");
        assert!(maria.size > 0 && maria.path.is_some());
        assert!(maria.first_event.is_some_and(|t| t > 1_600_000_000));
        assert!(!logs.iter().any(|l| l.name == "LICENSE-MIT.txt"));
        let missing = local_logs(Path::new("/nonexistent/binlogs")).unwrap_err();
        assert!(missing.to_string().contains("no such file or folder"));
    }
}
