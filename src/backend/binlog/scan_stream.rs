//! The Binlog pane's scan of an instance's binlogs pulled over the replication stream: the
//! same reader as `arkc flashback --from-server` (`source::with_stream` + the engine's
//! `scan_arrivals`), with the pane's progress, batching and cancel. Following keeps the stream
//! open and hands each transaction over as it commits.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use arkc_binlog::pipeline::{scan_arrivals, Arrival};
use arkc_binlog::review::{ReviewLimits, ReviewSink, ReviewedTxn};
use arkc_binlog::schema::ColumnSource;
use arkc_binlog::txn::TxnBuilder;
use tokio::sync::mpsc::UnboundedSender;

use super::scan::{filters_for, ScanReporter, ScanRequest, StartPoint, StreamScan, REPORT_EVERY};
use super::source::with_stream;
use super::stream::{list_binlogs, StreamRequest, StreamServer};
use crate::backend::BackendEvent;
use crate::config::InstanceConfig;

/// Scan `inst`'s logs named in `stream` from the server until its current end (or until
/// cancelled, when following).
pub fn scan_stream(
    request: &ScanRequest,
    stream: &StreamScan,
    inst: &InstanceConfig,
    columns: Option<Arc<dyn ColumnSource>>,
    cancel: &AtomicBool,
    events: &UnboundedSender<BackendEvent>,
) -> anyhow::Result<()> {
    let server = StreamServer::from_instance(inst)?;
    let (names, from_pos) = match stream.names.is_empty() {
        false => (stream.names.clone(), stream.from_pos),
        // Following from now: the server's last binlog at its current size.
        true => {
            let logs = runtime()?.block_on(list_binlogs(&server))?;
            let last = logs
                .last()
                .with_context(|| format!("{} has no binary logs (is log_bin on?)", inst.name))?;
            (vec![last.name.clone()], Some(last.size))
        }
    };
    let first = names.first().cloned().unwrap_or_default();
    let paths: Vec<PathBuf> = names.iter().map(PathBuf::from).collect();
    let mut builder = TxnBuilder::new(filters_for(&request.start, &paths));
    builder.columns = columns;
    let now = Instant::now();
    let reporter = std::cell::RefCell::new(ScanReporter {
        id: request.id,
        events,
        batch: Vec::new(),
        started: now,
        last_report: now,
        total_bytes: stream.total_bytes,
    });
    let gtid_start = match &request.start {
        StartPoint::Gtid(g) => Some(g.clone()),
        _ => None,
    };
    let mut started = gtid_start.is_none();
    // Counted as events arrive, read when a transaction is handed over.
    let (bytes, n_events) = (Cell::new(0u64), Cell::new(0u64));
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t: ReviewedTxn| {
        started = started || t.txn.gtid.as_deref() == gtid_start.as_deref();
        if started {
            let mut r = reporter.borrow_mut();
            r.batch.push(t);
            // Following: a DBA watches for this transaction, so it is shown at once.
            if stream.follow || r.last_report.elapsed() >= REPORT_EVERY {
                r.report(bytes.get(), n_events.get());
            }
        }
        Ok(())
    })?;
    let req = StreamRequest {
        start_file: first,
        // From the log's start unless told otherwise, so a position start filters exactly.
        start_pos: from_pos.map_or(4, |p| p.max(4) as u32),
        server_id: None,
        follow: stream.follow,
    };
    let stats = with_stream(&server, req, None, |rx| {
        // Cancel ends the arrivals; the producer then stops at its next event or heartbeat.
        let arrivals = rx
            .into_iter()
            .take_while(|_| !cancel.load(Ordering::Relaxed));
        let counted = arrivals.inspect(|a| {
            if let Arrival::Event { data, .. } = a {
                bytes.set(bytes.get() + data.len() as u64);
                n_events.set(n_events.get() + 1);
            }
        });
        scan_arrivals(counted, &server.label, &mut builder, &mut sink, &mut |s| {
            let mut r = reporter.borrow_mut();
            if r.last_report.elapsed() >= REPORT_EVERY {
                r.report(s.bytes, s.events);
            }
        })
    });
    drop(sink);
    let stats = stats?;
    reporter.borrow_mut().report(stats.bytes, stats.events);
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
