//! Reading one or more binlog files through a sink, on two threads: one frames events
//! (read + CRC32), the other decodes and renders. A bounded channel of fixed-size
//! batches keeps memory flat.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::decoder::Decoder;
use crate::error::BinlogError;
use crate::frame::{BinlogReader, EventFramer, EventHeader, RawEvent, HEADER_LEN};
use crate::txn::{TxnBuilder, TxnSink};

const BATCH_BYTES: usize = 1 << 20;
const CHANNEL_BATCHES: usize = 4;
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Totals of a scan, for progress and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanStats {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
}

/// Framed events copied out of the reader: contiguous event bytes plus their offsets.
struct Batch {
    data: Vec<u8>,
    events: Vec<(u64, usize, usize)>,
}

enum Msg {
    File(PathBuf),
    /// Following and nothing new: also how the framing thread learns the consumer is gone.
    Idle,
    Batch(Batch),
    Failed(BinlogError),
}

fn frame_files(paths: Vec<PathBuf>, tx: SyncSender<Msg>, spent: Receiver<Batch>, follow: bool) {
    let last = paths.len().saturating_sub(1);
    let mut queue: std::collections::VecDeque<PathBuf> = paths.into();
    let mut i = 0;
    while let Some(path) = queue.pop_front() {
        if tx.send(Msg::File(path.clone())).is_err() {
            return;
        }
        // Only the last given file (and the ones it rotates to) can still be growing.
        let live = follow && i >= last;
        match frame_one(&path, &tx, &spent, live) {
            Ok(Some(next)) if live => queue.push_back(next),
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        }
        i += 1;
    }
}

/// An empty batch: one the consumer is done with if there is one (a fresh megabyte costs
/// a page fault per page to fill, and returning it to the system as much again), else new.
fn new_batch(spent: &Receiver<Batch>) -> Batch {
    match spent.try_recv() {
        Ok(mut b) => {
            b.data.clear();
            b.events.clear();
            b
        }
        Err(_) => Batch {
            data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            events: Vec::with_capacity(4096),
        },
    }
}

/// Frames one file. When `follow`, waits at the end for more events until a ROTATE
/// names the next file, which is returned.
fn frame_one(
    path: &Path,
    tx: &SyncSender<Msg>,
    spent: &Receiver<Batch>,
    follow: bool,
) -> Result<Option<PathBuf>, BinlogError> {
    let mut reader = BinlogReader::open(path)?;
    reader.set_follow(follow);
    let mut batch = new_batch(spent);
    let mut next_file = None;
    loop {
        let Some(raw) = reader.next_event()? else {
            if !batch.events.is_empty() {
                let ready = std::mem::replace(&mut batch, new_batch(spent));
                if tx.send(Msg::Batch(ready)).is_err() {
                    return Ok(None);
                }
            }
            match (follow, next_file.take()) {
                (true, Some(next)) => return Ok(Some(next)),
                (true, None) => {
                    std::thread::sleep(FOLLOW_POLL);
                    if tx.send(Msg::Idle).is_err() {
                        return Ok(None);
                    }
                    continue;
                }
                (false, _) => return Ok(None),
            }
        };
        if raw.header.type_code == crate::event::code::ROTATE && raw.header.log_pos != 0 {
            // A real ROTATE (not the fake one a relay log starts with) ends this file.
            let name =
                String::from_utf8_lossy(raw.body().get(8..).unwrap_or_default()).into_owned();
            next_file = Some(path.with_file_name(name));
        }
        let start = batch.data.len();
        batch.data.extend_from_slice(raw.data);
        batch.events.push((raw.offset, start, raw.data.len()));
        if batch.data.len() >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, new_batch(spent));
            if tx.send(Msg::Batch(full)).is_err() {
                return Ok(None);
            }
        }
    }
}

/// Scans `paths` in order, grouping events into transactions for `sink`.
pub fn scan_files<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
) -> Result<ScanStats, BinlogError> {
    scan_files_with_progress(paths, builder, sink, &mut |_| {})
}

/// Reads `paths`, then keeps waiting at the end of the last one for new events, following
/// ROTATE to the next file; returns only on an error or when `sink` fails (e.g. its
/// output was closed).
pub fn follow_files<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
) -> Result<ScanStats, BinlogError> {
    run(paths, builder, sink, &mut |_| {}, true, None)
}

/// Like `scan_files`, calling `progress` after every batch (about 1 MiB of events).
pub fn scan_files_with_progress<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<ScanStats, BinlogError> {
    run(paths, builder, sink, progress, false, None)
}

/// Like `scan_files_with_progress`, stopping (without error) within one batch of `cancel`
/// being set: the Binlog pane's scan, whose Esc must answer at once.
pub fn scan_files_cancellable<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
    cancel: &AtomicBool,
) -> Result<ScanStats, BinlogError> {
    run(paths, builder, sink, progress, false, Some(cancel))
}

fn run<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
    follow: bool,
    cancel: Option<&AtomicBool>,
) -> Result<ScanStats, BinlogError> {
    let (tx, rx) = sync_channel(CHANNEL_BATCHES);
    // Decoded batches go back to be filled again; at most as many as were ever in flight.
    let (spent_tx, spent_rx) = sync_channel(CHANNEL_BATCHES + 2);
    let owned = paths.to_vec();
    std::thread::scope(|s| {
        s.spawn(move || frame_files(owned, tx, spent_rx, follow));
        // Returning drops the receiver, which stops the framing thread on error.
        consume(rx, &spent_tx, builder, sink, progress, cancel)
    })
}

fn consume<S: TxnSink>(
    rx: Receiver<Msg>,
    spent: &SyncSender<Batch>,
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
    cancel: Option<&AtomicBool>,
) -> Result<ScanStats, BinlogError> {
    let mut decoder = Decoder::new();
    decoder.set_schema_info(builder.schema.clone());
    decoder.set_column_source(builder.columns.clone());
    let mut stats = ScanStats::default();
    for msg in rx {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Ok(stats);
        }
        match msg {
            Msg::File(path) => {
                stats.files += 1;
                decoder.set_path(&path);
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                builder.set_file(&name.unwrap_or_default());
            }
            Msg::Failed(e) => return Err(e),
            Msg::Idle => {}
            Msg::Batch(batch) => {
                for &(offset, start, len) in &batch.events {
                    let data = &batch.data[start..start + len];
                    let mut hb = [0u8; HEADER_LEN];
                    hb.copy_from_slice(&data[..HEADER_LEN]);
                    let raw = RawEvent {
                        header: EventHeader::parse(&hb),
                        offset,
                        data,
                    };
                    stats.events += 1;
                    stats.bytes += raw.header.event_size as u64;
                    decoder.decode_each(raw, &mut |ev| builder.push(ev, sink))?;
                }
                progress(&stats);
                // A batch grown around one huge event is not kept.
                if batch.data.capacity() <= 2 * BATCH_BYTES {
                    let _ = spent.try_send(batch);
                }
            }
        }
    }
    Ok(stats)
}

/// What a replication stream delivers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// The following events belong to this binlog file (name as in SHOW BINARY LOGS).
    File(String),
    /// One whole event (with its checksum) found at `offset` of the current file.
    Event { offset: u64, data: Vec<u8> },
    /// Nothing new (a heartbeat): lets the producer learn that the consumer is gone.
    Idle,
}

/// Decodes events as they arrive, through the same framing checks, decoder and
/// transaction builder as a file scan, so the output is the same as for the files.
pub fn scan_arrivals<S: TxnSink>(
    arrivals: impl IntoIterator<Item = Arrival>,
    source: &str,
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<ScanStats, BinlogError> {
    let mut framer = EventFramer::new(source);
    let mut decoder = Decoder::new();
    decoder.set_schema_info(builder.schema.clone());
    decoder.set_column_source(builder.columns.clone());
    let mut stats = ScanStats::default();
    let mut since_progress = 0u64;
    for arrival in arrivals {
        match arrival {
            Arrival::File(name) => {
                stats.files += 1;
                let path = Path::new(source).join(&name);
                framer.set_path(&path);
                decoder.set_path(&path);
                builder.set_file(&name);
            }
            Arrival::Idle => progress(&stats),
            Arrival::Event { offset, data } => {
                let raw = framer.frame(offset, &data)?;
                stats.events += 1;
                stats.bytes += data.len() as u64;
                since_progress += data.len() as u64;
                decoder.decode_each(raw, &mut |ev| builder.push(ev, sink))?;
                if since_progress >= BATCH_BYTES as u64 {
                    since_progress = 0;
                    progress(&stats);
                }
            }
        }
    }
    Ok(stats)
}
