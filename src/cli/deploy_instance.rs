//! `arkc deploy instance` and `arkc deploy remove`: arguments and output; the steps live in
//! `deploy::instance`, the config edit in `deploy::instance_config`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use crate::config::Config;
use crate::deploy::instance::{self, InstanceSpec, SeedMethod, ADMIN_USER};
use crate::deploy::instance_config::{self, InstanceEntry, DEPLOYED_TAG};

#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// Name of the new instance in the config.
    #[arg(long)]
    pub name: String,
    /// TCP port (127.0.0.1); refused when in use.
    #[arg(long)]
    pub port: u16,
    /// A new directory for the server (datadir, socket, logs, my.cnf, secrets); refused when it exists.
    #[arg(long, value_name = "DIR")]
    pub datadir: PathBuf,
    /// Seed from this configured instance (logical dump at a GTID position) and replicate from it.
    #[arg(long, value_name = "INSTANCE")]
    pub replica_of: Option<String>,
    /// How a replica is seeded: logical (mariadb-dump at a GTID position, any source) or
    /// physical (mariadb-backup: the source must be on this host, its datadir readable).
    #[arg(long, value_enum, default_value = "logical", requires = "replica_of")]
    pub seed: Seed,
    /// server_id (default: the port).
    #[arg(long)]
    pub server_id: Option<u32>,
    /// Write the new `[[instance]]` entry to this file instead of adding it to the config.
    #[arg(long, value_name = "PATH")]
    pub config_out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Seed {
    Logical,
    Physical,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The instance, as deployed by `arkc deploy instance`.
    pub name: String,
    /// Also delete its directory (datadir, logs, secrets).
    #[arg(long)]
    pub delete_data: bool,
}

pub fn run_instance(
    a: &InstanceArgs,
    read_only: bool,
    config: Option<&Path>,
) -> anyhow::Result<i32> {
    if read_only {
        bail!("deploy instance refused: arkc is read-only (--read-only or read_only = true in the config)");
    }
    audited(&a.name, "deploy instance", deploy_instance(a, config))
}

pub fn run_remove(a: &RemoveArgs, read_only: bool, config: Option<&Path>) -> anyhow::Result<i32> {
    if read_only {
        bail!("deploy remove refused: arkc is read-only (--read-only or read_only = true in the config)");
    }
    audited(&a.name, "deploy remove", remove_instance(a, config))
}

/// Both create or stop a server: the audit trail gets their outcome, success or failure.
fn audited(name: &str, action: &str, outcome: anyhow::Result<i32>) -> anyhow::Result<i32> {
    let message = match &outcome {
        Ok(_) => String::new(),
        Err(e) => format!("{e:#}"),
    };
    crate::audit::record(crate::audit::Action {
        instance: name,
        action,
        result: crate::audit::result_word(outcome.is_ok()),
        message: &message,
        ..Default::default()
    });
    outcome
}

fn deploy_instance(a: &InstanceArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let cfg = Config::load_located(config)?;
    if cfg.instance(&a.name).is_some() {
        bail!(
            "refusing: the config already has an instance named `{}`",
            a.name
        );
    }
    let source = match &a.replica_of {
        Some(n) => Some(
            cfg.instance(n)
                .with_context(|| format!("--replica-of: no instance `{n}` in the config"))?,
        ),
        None => None,
    };
    let root = std::path::absolute(&a.datadir)?;
    let spec = InstanceSpec {
        name: a.name.clone(),
        port: a.port,
        root: root.clone(),
        server_id: a.server_id.unwrap_or(u32::from(a.port)),
        seed: match a.seed {
            Seed::Logical => SeedMethod::Logical,
            Seed::Physical => SeedMethod::Physical,
        },
    };
    let target = a.config_out.clone().or_else(|| Config::locate(config));
    let mut n = 0;
    let deployed = instance::deploy(&spec, source, &mut |s| {
        n += 1;
        tracing::info!(instance = %a.name, step = n, "deploy instance: {s}");
        eprintln!("[{n}] {s}");
    })
    .inspect_err(|e| {
        tracing::warn!(instance = %a.name, step = n, "deploy instance failed: {e:#}");
        if n > 0 {
            eprintln!(
                "nothing was registered: the new server was stopped and {} removed",
                root.display()
            );
        }
    })?;
    let entry = InstanceEntry {
        name: a.name.clone(),
        port: a.port,
        user: ADMIN_USER.into(),
        password_file: deployed.admin_password_file.display().to_string(),
        root: root.display().to_string(),
        binlog_dir: deployed.layout.datadir.display().to_string(),
        slow_log: deployed.layout.slow_log.display().to_string(),
    };
    if let Some(g) = &deployed.seeded_gtid {
        eprintln!("seeded at GTID {g}, replicating and caught up");
    }
    match target.map(|p| register(&p, &entry).map(|_| p)) {
        Some(Ok(p)) => eprintln!("[{}] registered `{}` in {}", n + 1, a.name, p.display()),
        Some(Err(e)) => {
            eprintln!("the config was not changed ({e:#}); add this entry yourself:");
            print!("{}", entry.to_toml());
        }
        None => print!("{}", entry.to_toml()),
    }
    eprintln!(
        "instance `{}` runs on 127.0.0.1:{} ({}); its admin password is in {} (0600)",
        a.name,
        a.port,
        root.display(),
        deployed.admin_password_file.display()
    );
    Ok(0)
}

fn register(path: &Path, entry: &InstanceEntry) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let new = instance_config::add_instance(&text, path, entry)?;
    instance_config::write_atomically(path, &new)
}

fn remove_instance(a: &RemoveArgs, config: Option<&Path>) -> anyhow::Result<i32> {
    let path = Config::locate(config).context("no config file to remove the instance from")?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (new, tags) = instance_config::remove_instance(&text, &path, &a.name)?;
    if !tags.iter().any(|t| t == DEPLOYED_TAG) {
        bail!("refusing: `{}` was not deployed by arkc (no `{DEPLOYED_TAG}` tag); arkc only stops instances it deployed", a.name);
    }
    let root = tags
        .iter()
        .find_map(|t| t.strip_prefix("root="))
        .map(PathBuf::from)
        .with_context(|| format!("`{}` has no `root=` tag naming its directory", a.name))?;
    tracing::info!(instance = %a.name, delete_data = a.delete_data, "deploy remove");
    let stopped = instance::stop(&root)?;
    eprintln!(
        "{} `{}`",
        if stopped {
            "stopped"
        } else {
            "was not running:"
        },
        a.name
    );
    instance_config::write_atomically(&path, &new)?;
    eprintln!("removed `{}` from {}", a.name, path.display());
    if a.delete_data {
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("cannot delete {}", root.display()))?;
        eprintln!("deleted {}", root.display());
    } else {
        eprintln!(
            "its data stays in {} (--delete-data removes it)",
            root.display()
        );
    }
    Ok(0)
}
