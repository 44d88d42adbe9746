//! Reading one or more binlog files through a sink, on two threads: one frames events
//! (read + CRC32), the other decodes and renders. A bounded channel of fixed-size
//! batches keeps memory flat.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::decoder::Decoder;
use crate::error::BinlogError;
use crate::frame::{BinlogReader, EventHeader, RawEvent, HEADER_LEN};
use crate::txn::{TxnBuilder, TxnSink};

const BATCH_BYTES: usize = 1 << 20;
const CHANNEL_BATCHES: usize = 4;

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
    Batch(Batch),
    Failed(BinlogError),
}

fn frame_files(paths: Vec<PathBuf>, tx: SyncSender<Msg>) {
    for path in paths {
        if tx.send(Msg::File(path.clone())).is_err() {
            return;
        }
        if let Err(e) = frame_one(&path, &tx) {
            let _ = tx.send(Msg::Failed(e));
            return;
        }
    }
}

fn frame_one(path: &Path, tx: &SyncSender<Msg>) -> Result<(), BinlogError> {
    let mut reader = BinlogReader::open(path)?;
    let new_batch = || Batch {
        data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
        events: Vec::with_capacity(4096),
    };
    let mut batch = new_batch();
    while let Some(raw) = reader.next_event()? {
        let start = batch.data.len();
        batch.data.extend_from_slice(raw.data);
        batch.events.push((raw.offset, start, raw.data.len()));
        if batch.data.len() >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, new_batch());
            if tx.send(Msg::Batch(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.events.is_empty() {
        let _ = tx.send(Msg::Batch(batch));
    }
    Ok(())
}

/// Scans `paths` in order, grouping events into transactions for `sink`.
pub fn scan_files<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
) -> Result<ScanStats, BinlogError> {
    scan_files_with_progress(paths, builder, sink, &mut |_| {})
}

/// Like `scan_files`, calling `progress` after every batch (about 1 MiB of events).
pub fn scan_files_with_progress<S: TxnSink>(
    paths: &[PathBuf],
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<ScanStats, BinlogError> {
    let (tx, rx) = sync_channel(CHANNEL_BATCHES);
    let owned = paths.to_vec();
    std::thread::scope(|s| {
        s.spawn(move || frame_files(owned, tx));
        // Returning drops the receiver, which stops the framing thread on error.
        consume(rx, builder, sink, progress)
    })
}

fn consume<S: TxnSink>(
    rx: Receiver<Msg>,
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> Result<ScanStats, BinlogError> {
    let mut decoder = Decoder::new();
    let mut stats = ScanStats::default();
    for msg in rx {
        match msg {
            Msg::File(path) => {
                stats.files += 1;
                decoder.set_path(&path);
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                builder.set_file(&name.unwrap_or_default());
            }
            Msg::Failed(e) => return Err(e),
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
            }
        }
    }
    Ok(stats)
}
