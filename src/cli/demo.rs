//! `arkc demo`: a sandbox primary and replica, a config for them, a live workload, and the console
//! (or live health lines with `--no-ui`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::health::{parse_interval, watch, HealthFormat};
use crate::backend::demo::workload::{Workload, WorkloadOptions, WorkloadStats};
use crate::config::Config;
use crate::sandbox::{find_program, Sandbox, SandboxOptions, INSTALL_HINT};
use crate::tui::{run_console, ConsoleOptions};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Leave both servers (and their data) running after quitting; prints how to stop them.
    #[arg(long)]
    pub keep: bool,
    /// No console: print live health lines until Ctrl-C.
    #[arg(long)]
    pub no_ui: bool,
    /// Seed for the workload's random choices (same seed, same statements).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Target write transactions per second.
    #[arg(long, default_value_t = 20.0)]
    pub tps: f64,
    /// With --no-ui: quit by itself after this long, e.g. `30s` (default: run until Ctrl-C).
    #[arg(long, value_parser = parse_interval, requires = "no_ui")]
    pub duration: Option<Duration>,
}

pub fn run(args: DemoArgs, read_only: bool) -> anyhow::Result<i32> {
    require_mariadb()?;
    eprintln!("arkc demo: starting a sandbox primary and replica (MariaDB, loopback only) ...");
    let primary = Sandbox::start(SandboxOptions {
        name: "demo-primary".into(),
        slow_log_threshold_s: 0.1,
        // Index-less reads are the point of the demo's slow log, fast or not.
        extra_args: vec!["--log-queries-not-using-indexes=ON".into()],
        keep: args.keep,
        ..SandboxOptions::default()
    })?;
    let replica = Sandbox::start_replica_of(
        &primary,
        SandboxOptions {
            name: "demo-replica".into(),
            keep: args.keep,
            ..SandboxOptions::default()
        },
    )?;
    let config_path = write_config(&primary, &replica)?;
    let config = Config::load(&config_path)
        .with_context(|| format!("reading back {}", config_path.display()))?;
    eprintln!(
        "arkc demo: primary 127.0.0.1:{}, replica 127.0.0.1:{}",
        primary.port(),
        replica.port()
    );
    eprintln!("arkc demo: config written to {}", config_path.display());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(drive(config, &args, read_only))?;
    drop(runtime);

    if args.keep {
        print_kept(&primary, &replica, &config_path);
    } else {
        eprintln!("arkc demo: stopping the servers ...");
    }
    drop(replica);
    drop(primary);
    Ok(0)
}

/// Say exactly what to install when MariaDB is missing.
fn require_mariadb() -> anyhow::Result<()> {
    for program in ["mariadbd", "mariadb-install-db", "mariadb"] {
        if find_program(program).is_err() {
            anyhow::bail!(
                "arkc demo runs its own MariaDB servers, but `{program}` is not installed.\n\
                 Install MariaDB, then run the demo again:\n    {INSTALL_HINT}\n\
                 (as root, or with sudo; the demo never touches the Debian service's own server)"
            );
        }
    }
    Ok(())
}

/// Load the workload and show the instances (console, or live lines with `--no-ui`) until the
/// user quits or `--duration` passes.
async fn drive(config: Config, args: &DemoArgs, read_only: bool) -> anyhow::Result<()> {
    let primary = config
        .instances
        .first()
        .cloned()
        .context("demo config has no instances")?;
    let opts = WorkloadOptions {
        seed: args.seed,
        tps: args.tps,
        ..WorkloadOptions::default()
    };
    eprintln!(
        "arkc demo: loading the `shop` schema and starting the workload (seed {}) ...",
        args.seed
    );
    let workload = Workload::start(primary, opts).await?;
    let shown = if args.no_ui {
        live_lines(config, workload.stats.clone(), args.duration).await
    } else {
        let opts = ConsoleOptions {
            read_only,
            ..ConsoleOptions::default()
        };
        run_console(config, opts).await
    };
    println!("{}", workload.stats.summary());
    workload.stop().await;
    shown
}

/// `--no-ui`: health lines every refresh and a workload line every 5 s, until Ctrl-C or `duration`.
async fn live_lines(
    config: Config,
    stats: Arc<WorkloadStats>,
    duration: Option<Duration>,
) -> anyhow::Result<()> {
    eprintln!("arkc demo: live health lines follow (Ctrl-C quits)");
    let reporter = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tick.tick().await;
            println!("{}", stats.summary());
        }
    });
    let stop = async move {
        match duration {
            Some(d) => {
                tokio::select! { r = tokio::signal::ctrl_c() => r, _ = tokio::time::sleep(d) => Ok(()) }
            }
            None => tokio::signal::ctrl_c().await,
        }
    };
    let shown = watch(Arc::new(config), HealthFormat::Table, stop).await;
    reporter.abort();
    shown
}

/// Write the demo's config where arkc keeps state (XDG state dir), else next to the primary.
fn write_config(primary: &Sandbox, replica: &Sandbox) -> anyhow::Result<PathBuf> {
    let dir = crate::config::state_dir()
        .map(|d| d.join("demo"))
        .unwrap_or_else(|| primary.root().to_path_buf());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("config.toml");
    let text = format!(
        "# Written by `arkc demo`: a sandbox primary and its GTID replica on loopback.\n\
         [ui]\nrefresh_ms = 1000\n\n{}\n{}",
        instance_toml("demo-primary", primary, "primary"),
        instance_toml("demo-replica", replica, "replica")
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn instance_toml(name: &str, sb: &Sandbox, role: &str) -> String {
    let quote = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    format!(
        "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\
         tags = [\"demo\", \"{role}\"]\nbinlog_dir = {}\nslow_log = {}\n",
        sb.port(),
        quote(&sb.binlog_dir()),
        quote(&sb.slow_log_path())
    )
}

fn print_kept(primary: &Sandbox, replica: &Sandbox, config_path: &Path) {
    eprintln!("arkc demo: --keep: both servers keep running.");
    eprintln!("  console:  arkc --config {}", config_path.display());
    for (role, sb) in [("primary", primary), ("replica", replica)] {
        eprintln!(
            "  {role}: 127.0.0.1:{} datadir {}",
            sb.port(),
            sb.datadir().display()
        );
        eprintln!(
            "    stop:  mariadb-admin --no-defaults --socket={} -uroot shutdown && rm -rf {}",
            sb.socket().display(),
            sb.root().display()
        );
    }
}
