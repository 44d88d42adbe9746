//! Starts N sandbox servers with small memory settings and writes arkc configs that spread many
//! instance entries over them, for `scripts/bench console`. The servers stop when stdin closes.
//!
//! usage: fleet_sandboxes --servers N --dir DIR [--entries E[,E...]]
//! Writes DIR/fleet-E.toml for each E (default 1000,100,2) and prints `ready` once all answer.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use arkc::sandbox::{Sandbox, SandboxOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut servers, mut dir, mut entries) = (10usize, None, vec![1000usize, 100, 2]);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--servers" => servers = value()?.parse().context("--servers")?,
            "--dir" => dir = Some(std::path::PathBuf::from(value()?)),
            "--entries" => {
                entries = value()?
                    .split(',')
                    .map(|e| e.parse().context("--entries"))
                    .collect::<anyhow::Result<_>>()?
            }
            other => {
                bail!("unknown argument {other:?}; usage: --servers N --dir DIR [--entries E,E]")
            }
        }
    }
    let dir = dir.context("--dir DIR is required")?;
    let most = entries.iter().copied().max().unwrap_or(0);
    // The console keeps two connections per entry (health polls, slow-SQL sources): room for
    // the largest config plus a few clients.
    let max_connections = 2 * most.div_ceil(servers.max(1)) + 50;
    let started: Vec<_> = (0..servers)
        .map(|i| {
            let extra = vec![
                "--innodb-buffer-pool-size=16M".to_string(),
                "--innodb-log-file-size=8M".into(),
                "--performance-schema=OFF".into(),
                "--key-buffer-size=1M".into(),
                "--aria-pagecache-buffer-size=1M".into(),
                "--thread-cache-size=200".into(),
                format!("--max-connections={max_connections}"),
            ];
            std::thread::spawn(move || {
                Sandbox::start(SandboxOptions {
                    name: format!("bench{i}"),
                    slow_log_threshold_s: 10.0,
                    extra_args: extra,
                    ..SandboxOptions::default()
                })
            })
        })
        .collect();
    let mut sandboxes = Vec::new();
    for handle in started {
        let sandbox = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a sandbox thread panicked"))??;
        sandboxes.push(sandbox);
    }
    for &n in &entries {
        let mut toml = String::from("[ui]\nrefresh_ms = 1000\n\n");
        for i in 0..n {
            let sb = &sandboxes[i % sandboxes.len()];
            let tag = ["web", "pay", "search", "batch"][i % 4];
            toml.push_str(&format!(
                "[[instance]]\nname = \"db{i:04}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
                 password = \"\"\ntags = [\"{tag}\"]\n\n",
                sb.port()
            ));
        }
        let path = dir.join(format!("fleet-{n}.toml"));
        std::fs::write(&path, toml).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let pids: Vec<String> = sandboxes
        .iter()
        .filter_map(|s| s.pid().map(|p| p.to_string()))
        .collect();
    println!("pids {}", pids.join(" "));
    println!("ready");
    std::io::stdout().flush()?;
    // Until the bench closes our stdin; then the sandboxes stop as they drop.
    for line in std::io::stdin().lock().lines() {
        line?;
    }
    drop(sandboxes);
    Ok(())
}
