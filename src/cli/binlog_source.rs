//! Where `arkc binlog events` and `arkc flashback` read events from: local files, or a
//! live server through arkc's own replication client.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use std::sync::mpsc::{sync_channel, Receiver};

use arkc_binlog::pipeline::{
    mapped_tables_in, scan_arrivals, scan_files_with_progress, Arrival, ScanStats,
};
use arkc_binlog::txn::{TxnBuilder, TxnSink};
use arkc_binlog::BinlogError;

use super::binlog::SourceArgs;
use crate::backend::binlog::stream::{list_binlogs, stream_binlog, StreamRequest, StreamServer};

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

/// The server is the source with `--from-server`, or when no file or directory is given
/// but `--url` or `--instance` is.
pub fn resolve(
    src: &SourceArgs,
    start_file: Option<&str>,
    config: Option<&Path>,
) -> anyhow::Result<Source> {
    let mut files = src.files.clone();
    if let Some(dir) = &src.binlog_dir {
        files.extend(arkc_binlog::dir::binlogs_in_dir(dir)?);
    }
    let remote = src.url.is_some() || src.instance.is_some();
    if src.from_server.is_none() && !(files.is_empty() && remote) {
        if files.is_empty() {
            bail!("no binlog given: pass files, --binlog-dir DIR, or --url/--instance to stream from a server");
        }
        return Ok(Source::Files { files });
    }
    if !files.is_empty() {
        bail!("give either binlog files or --from-server, not both");
    }
    let server = server_of(&src.url, &src.instance, config)?
        .context("--from-server needs --url or --instance")?;
    let start = src
        .from_server
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| start_file.map(str::to_string))
        .unwrap_or_default();
    let all = runtime()?.block_on(list_binlogs(&server))?;
    let end = all
        .last()
        .map(|f| (f.name.clone(), f.size))
        .unwrap_or_default();
    let names: Vec<String> = all.into_iter().map(|f| f.name).collect();
    let from = match start.as_str() {
        "" => 0,
        name => names.iter().position(|n| n == name).with_context(|| {
            format!(
                "{} has no binlog `{name}` (SHOW BINARY LOGS: {})",
                server.label,
                names.join(", ")
            )
        })?,
    };
    if names.is_empty() {
        bail!("{} has no binary logs (is log_bin on?)", server.label);
    }
    Ok(Source::Server {
        server,
        names: names[from..].to_vec(),
        server_id: src.server_id,
        end,
    })
}

/// The server named by --url or --instance, if any.
fn server_of(
    url: &Option<String>,
    instance: &Option<String>,
    config: Option<&Path>,
) -> anyhow::Result<Option<StreamServer>> {
    Ok(Some(match (url, instance) {
        (Some(url), _) => StreamServer::from_url(url)?,
        (None, Some(name)) => {
            let cfg = crate::config::Config::load_located(config)?;
            let inst = super::health::select_instances(&cfg, std::slice::from_ref(name))?;
            StreamServer::from_instance(&inst[0])?
        }
        (None, None) => return Ok(None),
    }))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
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
fn scan_stream<S: TxnSink>(
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
fn with_stream<T>(
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

/// Every table the server's binlogs map, from a first pass over the stream up to the
/// current end: their definitions come from information_schema, as with `--url` and files.
pub fn stream_mapped_tables(source: &Source) -> anyhow::Result<Vec<(String, String)>> {
    let Source::Server { server, names, .. } = source else {
        return Ok(Vec::new());
    };
    let req = StreamRequest {
        start_file: names.first().cloned().unwrap_or_default(),
        start_pos: 4,
        server_id: None,
        follow: false,
    };
    with_stream(server, req, None, |rx| mapped_tables_in(rx, &server.label))
}

/// The server whose binlogs to list.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Server: mysql://user:pass@host:port.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A configured instance (see --config) instead of --url.
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub instance: Option<String>,
}

/// `arkc binlog list`: the server's binlogs and their sizes (SHOW BINARY LOGS).
pub fn run_list(args: &ListArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    use std::io::Write;
    let server = server_of(&args.url, &args.instance, config)?
        .context("arkc binlog list needs --url or --instance")?;
    let files = runtime()?.block_on(list_binlogs(&server))?;
    let mut out = std::io::stdout().lock();
    for f in &files {
        writeln!(out, "{}\t{}", f.name, f.size)?;
    }
    Ok(0)
}
