//! Command-line interface: one file per subcommand.

pub mod audit;
pub mod backup;
pub mod binlog;
mod binlog_source;
pub mod completions;
mod config_check;
mod config_init;
mod console;
pub mod demo;
pub mod deploy;
mod deploy_instance;
mod deploy_undo;
pub mod digest;
mod flashback_server;
pub mod health;
mod health_json;
mod health_replay;
mod health_replay_inspect;
mod health_tags;
pub mod inspect;
pub mod monitor_views;
mod output_file;
mod progress;
pub mod record;
mod write_gate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::tui::ConsoleOptions;

#[derive(Debug, Parser)]
#[command(
    name = "arkc",
    version,
    about = "Keyboard-driven console for MySQL and MariaDB operations"
)]
pub struct Cli {
    /// Config file (default: $ARKC_CONFIG, else ~/.config/arkc/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Refuse every write to a server or a backup target (apply, execute, kill, deploy, backup
    /// run and prune: docs/read-only.md).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Open the console on a recording (`arkc record`) with a time cursor instead of polling.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the console (the default when no command is given).
    Tui {
        /// Colour theme instead of `[ui] theme` (default, light, terminal16, high-contrast).
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
        /// Key bindings instead of `[ui] keymap` (default, vim).
        #[arg(long, value_name = "NAME")]
        keymap: Option<String>,
    },
    /// Inspect configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Start a sandbox primary + replica with a live workload and show them.
    Demo(demo::DemoArgs),
    /// Instance health (up/down, QPS, TPS, threads, replication) without the console.
    Health(health::HealthArgs),
    /// Poll headless and write every round's figures and alerts into a recording file.
    Record(record::RecordArgs),
    /// Sessions of one instance with their transaction age and rows locked.
    Processlist(monitor_views::ProcesslistArgs),
    /// Row-lock wait chains with root blockers, metadata lock waits, the latest deadlock.
    Locks(monitor_views::LocksArgs),
    /// Kill sessions (or only their statements with --query); refused in read-only mode.
    Kill(monitor_views::KillArgs),
    /// One instance's replication, disk and size, parameters or backup status (the Health views).
    Inspect(inspect::InspectArgs),
    /// Group slow-log entries into query classes (pt-query-digest compatible IDs).
    Digest(digest::DigestArgs),
    /// Read binlogs: transactions and their row changes.
    #[command(subcommand)]
    Binlog(BinlogCommand),
    /// Rollback SQL for the row changes in binlogs (or the changes themselves with --forward).
    Flashback(Box<binlog::FlashbackArgs>),
    /// Write actions recorded in the audit trail (flashback apply, kill, deploy apply).
    Audit(audit::AuditArgs),
    /// Backups: run, list, verify by restore, cancel, prune.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Internal: the detached supervisor of one backup job.
    #[command(name = "__backup-supervise", hide = true)]
    BackupSupervise { id: i64 },
    /// SQL changes: review, apply (recorded in the history), list, undo.
    #[command(subcommand)]
    Deploy(deploy::DeployCommand),
    /// Print a shell completion script (bash, zsh, fish); --instance completes configured names.
    Completions {
        #[arg(value_enum)]
        shell: completions::CompletionShell,
    },
    /// Print the arkc(1) man page (roff); with --dir, write it and one page per subcommand there.
    #[command(hide = true)]
    Man {
        /// Write arkc.1, arkc-digest.1, arkc-binlog-events.1 ... into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Configured instance names, one a line (used by the completion scripts).
    #[command(name = "__complete-instances", hide = true)]
    CompleteInstances,
}

#[derive(Debug, Subcommand)]
pub enum BinlogCommand {
    /// One record per transaction: GTID, positions, time, tables, counts, rows.
    Events(Box<binlog::EventsArgs>),
    /// The server's binlogs and their sizes, tab separated (SHOW BINARY LOGS).
    List(binlog_source::ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print what it resolves to (secrets masked).
    Check {
        /// The file to check (default: the file arkc would use).
        path: Option<PathBuf>,
    },
    /// Write a commented starter config to the config path (never over an existing file).
    Init {
        /// Look for local servers (running mariadbd/mysqld, usual sockets, ~/.my.cnf) and add them.
        #[arg(long)]
        discover: bool,
    },
}

/// Run the parsed command line; returns the process exit code.
pub fn run(mut cli: Cli) -> anyhow::Result<i32> {
    // `read_only = true` in the config refuses writes exactly as `--read-only` does, for every
    // command; a config that cannot be read is reported by the commands that need it.
    let read_only = crate::readonly::ReadOnlyBy {
        flag: cli.read_only,
        config: config_says_read_only(cli.config.as_deref()),
        palette: false,
    };
    cli.read_only = read_only.any();
    // The one gate every write subcommand passes (their own checks stay, as a second line).
    if let Some(write) = cli.command.as_ref().and_then(Command::write_request) {
        if read_only.any() {
            let refusal = crate::readonly::refusal(write.action, read_only);
            crate::readonly::log_refusal(&write, &refusal);
            anyhow::bail!(refusal);
        }
    }
    match cli.command {
        Some(Command::Config(ConfigCommand::Check { path })) => {
            config_check::run(path.as_deref().or(cli.config.as_deref()))
        }
        Some(Command::Config(ConfigCommand::Init { discover })) => {
            config_init::run(cli.config.as_deref(), discover)
        }
        Some(Command::Completions { shell }) => completions::run_completions(shell),
        Some(Command::Man { dir }) => completions::run_man(dir.as_deref()),
        Some(Command::CompleteInstances) => completions::run_instances(cli.config.as_deref()),
        Some(Command::Binlog(BinlogCommand::Events(args))) => {
            binlog::run_events(*args, cli.config.as_deref())
        }
        Some(Command::Binlog(BinlogCommand::List(args))) => {
            binlog_source::run_list(&args, cli.config.as_deref())
        }
        Some(Command::Flashback(args)) => {
            binlog::run_flashback(*args, cli.read_only, cli.config.as_deref())
        }
        Some(Command::Deploy(cmd)) => deploy::run(cmd, cli.read_only, cli.config.as_deref()),
        Some(Command::Demo(args)) => demo::run(args, cli.read_only),
        Some(Command::Health(args)) => health::run(load_config(cli.config.as_deref())?, args),
        Some(Command::Record(args)) => record::run(load_config(cli.config.as_deref())?, args),
        Some(Command::Digest(args)) => digest::run(args),
        Some(Command::Processlist(args)) => {
            monitor_views::run_processlist(load_config(cli.config.as_deref())?, args)
        }
        Some(Command::Locks(args)) => {
            monitor_views::run_locks(load_config(cli.config.as_deref())?, args)
        }
        Some(Command::Inspect(args)) => inspect::run(load_config(cli.config.as_deref())?, args),
        Some(Command::Kill(args)) => {
            monitor_views::run_kill(load_config(cli.config.as_deref())?, args, cli.read_only)
        }
        Some(Command::Audit(args)) => audit::run(args),
        Some(Command::Backup(cmd)) => backup::run(cmd, &load_config(cli.config.as_deref())?),
        Some(Command::BackupSupervise { id }) => crate::jobs::supervise(id),
        Some(Command::Tui { theme, keymap }) => {
            let opts = ConsoleOptions {
                read_only: read_only.flag,
                theme,
                keymap,
                replay: cli.replay,
            };
            console::run(cli.config.as_deref(), opts)
        }
        None => {
            let opts = ConsoleOptions {
                read_only: read_only.flag,
                replay: cli.replay,
                ..ConsoleOptions::default()
            };
            console::run(cli.config.as_deref(), opts)
        }
    }
}

fn config_says_read_only(explicit: Option<&std::path::Path>) -> bool {
    crate::config::Config::load_located(explicit).is_ok_and(|c| c.read_only)
}

fn load_config(explicit: Option<&std::path::Path>) -> anyhow::Result<crate::config::Config> {
    Ok(crate::config::Config::load_located(explicit)?)
}
