//! Logs go to a file in the XDG state dir: the screen belongs to the console.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Start logging to `<state dir>/arkc.log` (level from `ARKC_LOG`, default info). Returns the
/// file's path. Calling it twice keeps the first subscriber.
pub fn init() -> anyhow::Result<PathBuf> {
    let dir = crate::config::state_dir().context("no home directory: cannot place the log file")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let path = dir.join("arkc.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open for writing", path.display()))?;
    let filter = EnvFilter::try_from_env("ARKC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(path)
}
