//! Where a scan reads events from: binlog files, or a server's binlogs through arkc's own
//! replication client. `arkc binlog events`, `arkc flashback` and the Binlog pane all scan
//! through `scan_source`, so a stream gives the same transactions as the files.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};

use anyhow::bail;
use arkc_binlog::pipeline::{scan_arrivals, scan_files_with_progress, Arrival, ScanStats};
use arkc_binlog::txn::{TxnBuilder, TxnSink};
use arkc_binlog::BinlogError;

use super::stream::{stream_binlog, StreamRequest, StreamServer};

/// Events this many apart on the way from the network thread to the decoder.
const STREAM_QUEUE: usize = 4096;

/// A resolved source of events.
pub enum Source {
    Files {
        files: Vec<PathBuf>,
    },
    Server {
        server: StreamServer,
        /// The binlogs from the start file on, as SHOW BINARY LOGS listed them.
        names: Vec<String>,
        server_id: Option<u32>,
        /// The last binlog and its size when listed: the end of "now".
        end: (String, u64),
    },
}

impl Source {
    /// File names (no directories) for the filters' "first file" / "last file" defaults.
    pub fn names(&self) -> Vec<PathBuf> {
        match self {
            Source::Files { files } => files.clone(),
            Source::Server { names, .. } => names.iter().map(PathBuf::from).collect(),
        }
    }

    /// A stop filter at the server's end when it was listed, so that two streams of the
    /// same source (rollback and its inverse) hold the same transactions.
    pub fn pinned_stop(&self) -> Option<(String, u64)> {
        match self {
            Source::Files { .. } => None,
            Source::Server { end, .. } => Some(end.clone()),
        }
    }
}

/// Reads the source through `sink`; `follow` keeps waiting for new events.
pub fn scan_source<S: TxnSink>(
    source: &Source,
    follow: bool,
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<ScanStats> {
    match source {
        Source::Files { files } if follow => {
            Ok(arkc_binlog::pipeline::follow_files(files, builder, sink)?)
        }
        Source::Files { files } => Ok(scan_files_with_progress(files, builder, sink, progress)?),
        Source::Server {
            server,
            names,
            server_id,
            ..
        } => {
            // Transactions never span files: past the --stop-file nothing more can be kept.
            let stop_file = builder.filters.stop.as_ref().map(|(f, _)| f.clone());
            let req = StreamRequest {
                start_file: names.first().cloned().unwrap_or_default(),
                // From the file's start, so --start-position filters exactly as for files.
                start_pos: 4,
                server_id: *server_id,
                follow,
            };
            scan_stream(server, req, stop_file, builder, sink, progress)
        }
    }
}

/// The network on its own thread, decoding on this one, a bounded queue between them.
pub fn scan_stream<S: TxnSink>(
    server: &StreamServer,
    req: StreamRequest,
    stop_file: Option<String>,
    builder: &mut TxnBuilder,
    sink: &mut S,
    progress: &mut dyn FnMut(&ScanStats),
) -> anyhow::Result<ScanStats> {
    with_stream(server, req, stop_file, |rx| {
        scan_arrivals(rx, &server.label, builder, sink, progress)
    })
}

/// Runs `consume` over the stream's arrivals; the stream's own error wins over a
/// consumer that merely saw the arrivals end.
pub fn with_stream<T>(
    server: &StreamServer,
    req: StreamRequest,
    stop_file: Option<String>,
    consume: impl FnOnce(Receiver<Arrival>) -> Result<T, BinlogError>,
) -> anyhow::Result<T> {
    let (tx, rx) = sync_channel::<Arrival>(STREAM_QUEUE);
    let for_thread = server.clone();
    let producer = std::thread::spawn(move || {
        let mut deliver = |a: Arrival| {
            let past_stop = match (&a, &stop_file) {
                (Arrival::File(name), Some(stop)) => name > stop,
                _ => false,
            };
            !past_stop && tx.send(a).is_ok()
        };
        runtime()?.block_on(stream_binlog(&for_thread, &req, &mut deliver))
    });
    // On a decoding error the receiver is dropped, which ends the producer at its next event.
    let out = consume(rx)?;
    match producer.join() {
        Ok(result) => result?,
        Err(_) => bail!("the binlog stream thread of {} panicked", server.label),
    }
    Ok(out)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
