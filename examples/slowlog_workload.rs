//! Writes a slow log produced by a sandbox MariaDB (long_query_time=0) running the seeded
//! workload of tests/it/support/workload.rs, for `scripts/bench digest`.
//!
//! usage: slowlog_workload --out FILE [--statements N] [--seed S] [--sql-only]
//! With --sql-only the workload SQL goes to FILE instead and no server is started.

#[path = "../tests/it/support/workload.rs"]
mod workload;

use std::io::Write;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{bail, Context};
use arkc::sandbox::{Sandbox, SandboxOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut out, mut statements, mut seed, mut sql_only) = (None, 100_000usize, 42u64, false);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(std::path::PathBuf::from(value()?)),
            "--statements" => statements = value()?.parse().context("--statements")?,
            "--seed" => seed = value()?.parse().context("--seed")?,
            "--sql-only" => sql_only = true,
            other => bail!("unknown argument {other:?}; usage: --out FILE [--statements N] [--seed S] [--sql-only]"),
        }
    }
    let out = out.context("--out FILE is required")?;
    let sql = workload::workload_sql("shop", seed, statements);
    if sql_only {
        return std::fs::write(&out, sql).with_context(|| format!("writing {}", out.display()));
    }
    let started = Instant::now();
    let mut sandbox = Sandbox::start(SandboxOptions {
        name: "bench".into(),
        slow_log_threshold_s: 0.0,
        ..SandboxOptions::default()
    })?;
    let mut client = sandbox
        .client()
        .arg("--force")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    client
        .stdin
        .take()
        .context("client stdin")?
        .write_all(sql.as_bytes())?;
    let status = client.wait()?;
    if !status.success() {
        bail!("the workload client failed: {status}");
    }
    // Entries are written through; FLUSH SLOW LOGS would append a server banner.
    std::fs::copy(sandbox.slow_log_path(), &out)
        .with_context(|| format!("copying the slow log to {}", out.display()))?;
    let size = std::fs::metadata(&out)?.len();
    eprintln!(
        "{statements} statements: {:.1} MB of slow log in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    sandbox.stop()
}
