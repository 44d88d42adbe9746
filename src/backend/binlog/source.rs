//! Where a scan reads events from: binlog files, or a server's binlogs through arkc's own
//! replication client. `arkc binlog events`, `arkc flashback` and the Binlog pane all scan
//! through `scan_source`, so a stream gives the same transactions as the files.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};

use anyhow::{bail, Context};
use arkc_binlog::pipeline::{scan_arrivals, scan_files_with_progress, Arrival, ScanStats};
use arkc_binlog::txn::{TxnBuilder, TxnSink};
use arkc_binlog::BinlogError;

use super::flashback::server_logs;
use super::scan::LogFile;
use super::stream::{stream_binlog, StreamRequest, StreamServer};
use crate::backend::recorder::SqlRecorder;
use crate::config::{BinlogSource, InstanceConfig};

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

/// The source of an instance's binlogs from the log `from` on (None: the first), as its
/// `binlog_source` says: `auto` reads the files when every one is readable here (its
/// `binlog_dir`, or the server's own folder on this machine), else pulls the replication
/// stream; `files` reads files or fails naming the first it cannot read; `stream` always
/// streams. A server that does not answer leaves `binlog_dir` (unless `stream`). Returns
/// the source and a line saying which it is and why.
pub async fn instance_source(
    inst: &InstanceConfig,
    rec: &SqlRecorder,
    from: Option<&str>,
    server_id: Option<u32>,
) -> anyhow::Result<(Source, String)> {
    let how = inst.binlog_source;
    let logs = match server_logs(inst, rec).await {
        Ok(logs) => logs,
        Err(e) => match &inst.binlog_dir {
            Some(dir) if how != BinlogSource::Stream => {
                let files = arkc_binlog::dir::binlogs_in_dir(dir)?;
                let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
                let start = start_index(&inst.name, &names, from)?;
                let note = format!(
                    "{}: server unreachable ({e:#}); reading the files in {}",
                    inst.name,
                    dir.display()
                );
                let files = files[start..].to_vec();
                return Ok((Source::Files { files }, note));
            }
            _ => return Err(e),
        },
    };
    let names: Vec<String> = logs.iter().map(|l| l.name.clone()).collect();
    let start = start_index(&inst.name, &names, from)?;
    let wanted = &logs[start..];
    // Listed and present is not enough: the server's files are often its own user's only.
    let readable = |l: &LogFile| l.path.as_ref().is_some_and(|p| File::open(p).is_ok());
    let unreadable = wanted.iter().find(|l| !readable(l));
    if how.streams(unreadable.is_none()) {
        let last = wanted.last().map(|l| (l.name.clone(), l.size));
        let why = match (how, unreadable) {
            (BinlogSource::Auto, Some(l)) => format!(", as {} is not readable here", l.name),
            _ => String::new(),
        };
        let note = format!(
            "{}: reading {} binlog(s) from {} through the replication stream \
             (binlog_source = {how}{why})",
            inst.name,
            wanted.len(),
            names[start]
        );
        let source = Source::Server {
            server: StreamServer::from_instance(inst)?,
            names: names[start..].to_vec(),
            server_id,
            end: last.unwrap_or_default(),
        };
        return Ok((source, note));
    }
    if let Some(log) = unreadable {
        bail!(
            "{}: binlog {} is not readable on this machine ({}); set binlog_dir for the \
             instance, or binlog_source = \"stream\" (or \"auto\") to pull it from the server",
            inst.name,
            log.name,
            log.path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "no binlog_dir, and the server's folder is not here".into())
        );
    }
    let files: Vec<PathBuf> = wanted.iter().filter_map(|l| l.path.clone()).collect();
    let folder = files
        .first()
        .and_then(|p| p.parent())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let note = format!(
        "{}: reading {} binlog file(s) from {} in {folder} (binlog_source = {how})",
        inst.name,
        files.len(),
        names[start]
    );
    Ok((Source::Files { files }, note))
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where `from` is in `names` (0 without one); an error lists the names.
fn start_index(instance: &str, names: &[String], from: Option<&str>) -> anyhow::Result<usize> {
    if names.is_empty() {
        bail!("{instance} has no binary logs (is log_bin on?)");
    }
    match from.filter(|n| !n.is_empty()) {
        None => Ok(0),
        Some(name) => names.iter().position(|n| n == name).with_context(|| {
            format!(
                "{instance} has no binlog `{name}` (SHOW BINARY LOGS: {})",
                names.join(", ")
            )
        }),
    }
}
