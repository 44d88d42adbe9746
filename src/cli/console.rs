//! `arkc` and `arkc tui`: open the interactive console.

use std::path::Path;

use crate::config::Config;
use crate::tui::{run_console, ConsoleOptions};

pub fn run(config: Option<&Path>, opts: ConsoleOptions) -> anyhow::Result<i32> {
    let config = Config::load_located(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("arkc")
        .build()?;
    runtime.block_on(run_console(config, opts))?;
    Ok(0)
}
