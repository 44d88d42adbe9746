//! Where `arkc binlog events` and `arkc flashback` read events from: local files, or a
//! live server through arkc's own replication client (the scan itself is
//! `backend::binlog::source`, shared with the Binlog pane).

use std::path::Path;

use anyhow::{bail, Context};

use super::binlog::SourceArgs;
use crate::backend::binlog::source::instance_source;
pub use crate::backend::binlog::source::{scan_source, Source};
use crate::backend::binlog::stream::{list_binlogs, StreamServer};
use crate::backend::SqlRecorder;
use crate::config::InstanceConfig;

/// The server is the source with `--from-server`, or when no file or directory is given
/// but `--url` is; `--instance` alone follows the instance's `binlog_source` (auto: its
/// files when readable here, else the stream), and says on stderr which it took.
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
    // An instance without --from-server: its binlog_source says files or stream.
    if let (None, Some(name)) = (&src.from_server, &src.instance) {
        let inst = instance_config(name, config)?;
        // Nobody reads the statements here: a receiver kept alive would hold every one
        // (all the SQL of a check or an apply, hundreds of MB on a large binlog).
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let rec = SqlRecorder::new(&inst.name, events);
        let (source, note) =
            runtime()?.block_on(instance_source(&inst, &rec, start_file, src.server_id))?;
        eprintln!("note: {note}");
        return Ok(source);
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
        (None, Some(name)) => StreamServer::from_instance(&instance_config(name, config)?)?,
        (None, None) => return Ok(None),
    }))
}

/// The configured instance `name` (see --config).
pub fn instance_config(name: &str, config: Option<&Path>) -> anyhow::Result<InstanceConfig> {
    let cfg = crate::config::Config::load_located(config)?;
    let mut found = super::health::select_instances(&cfg, &[name.to_string()])?;
    found.pop().context("no such instance")
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The server whose binlogs to list.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Server: mysql://user:pass@host:port.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A configured instance (see --config) instead of --url.
    #[arg(long, value_name = super::completions::INSTANCE_VALUE, conflicts_with = "url")]
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
