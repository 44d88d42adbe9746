//! Configuration: `[[instance]]` entries and `[ui]` settings, read from TOML.
//!
//! Unknown keys and bad values are errors that name the file, line and key, because a typo in a
//! production console's config must never be silently ignored.

pub mod alerts;
pub mod backup;
pub mod binlog;
pub mod discover;
pub mod fleet;
mod login_path;
mod password;
pub mod prometheus;
pub mod review;
pub mod starter;
pub mod tags;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

pub use alerts::{AlertsConfig, ParametersConfig};
pub use backup::{BackupConfig, BackupJobConfig, BackupKind, Compression, JobsSettings};
pub use binlog::BinlogSource;
pub use login_path::{encode as encode_login_file, login_file_path, LoginFileError, LoginPath};
pub use password::{resolve_password, PasswordSource};
pub use tags::RowTags;

/// Where the config came from and what it says.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file this was read from; `None` when no file exists and defaults are used.
    pub path: Option<PathBuf>,
    pub ui: UiConfig,
    pub instances: Vec<InstanceConfig>,
    /// Refuse every write to a server, as `--read-only` does.
    pub read_only: bool,
    pub alerts: AlertsConfig,
    pub parameters: ParametersConfig,
    /// `[[backup]]` jobs and the `[jobs]` limits.
    pub backups: BackupConfig,
    /// `[review]`: SQL review thresholds and rule severities (`arkc deploy`).
    pub review: review::ReviewConfig,
    /// `[[prometheus]]` sources: fleets read from Prometheus instead of direct connections.
    pub prometheus: Vec<prometheus::PrometheusSource>,
    /// `[health]` and `[log]`: bounds of the fleet poller and of the log file.
    pub fleet: FleetSettings,
}

/// The two small sections that keep a large fleet cheap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetSettings {
    pub polling: fleet::HealthPolling,
    pub log: fleet::LogSettings,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Built-in theme name (default, light, terminal16, high-contrast) or a user theme in the config dir.
    pub theme: String,
    /// Built-in keymap name (default, vim) or a user keymap in the config dir.
    pub keymap: String,
    /// How often instances are polled, in milliseconds.
    pub refresh_ms: u64,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: "default".into(),
            keymap: "default".into(),
            refresh_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    #[default]
    Off,
    Required,
    VerifyCa,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    pub name: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub password_env: Option<String>,
    pub password_cmd: Option<String>,
    #[serde(default)]
    pub tls: TlsMode,
    pub ca: Option<PathBuf>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub binlog_dir: Option<PathBuf>,
    /// Local binlog files, the replication stream, or files when readable (`auto`).
    #[serde(default)]
    pub binlog_source: BinlogSource,
    pub slow_log: Option<PathBuf>,
    /// A group of `~/.mylogin.cnf` (mysql_config_editor) that supplies what this entry leaves out.
    pub login_path: Option<String>,
    /// A pt-heartbeat table (`schema.table`) read by the Replication view for heartbeat lag.
    pub heartbeat_table: Option<String>,
    /// The login path file `login_path` was read from; its password is read again at connect
    /// time rather than kept in memory.
    #[serde(skip)]
    pub login_file: Option<PathBuf>,
    /// 1-based line of the `[[instance]]` header, for messages.
    #[serde(skip)]
    pub line: usize,
}

impl std::fmt::Display for TlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsMode::Off => "off",
            TlsMode::Required => "required",
            TlsMode::VerifyCa => "verify_ca",
        })
    }
}

impl InstanceConfig {
    /// An instance with only a name and a TCP address, for tests and the demo.
    pub fn tcp(name: &str, host: &str, port: u16) -> Self {
        InstanceConfig {
            name: name.into(),
            host: Some(host.into()),
            port: Some(port),
            socket: None,
            user: Some("root".into()),
            password: Some(String::new()),
            password_env: None,
            password_cmd: None,
            tls: TlsMode::Off,
            ca: None,
            tags: Vec::new(),
            binlog_dir: None,
            binlog_source: BinlogSource::Auto,
            slow_log: None,
            login_path: None,
            heartbeat_table: None,
            login_file: None,
            line: 0,
        }
    }

    /// `host:port` or the socket path, for display.
    pub fn address(&self) -> String {
        match (&self.socket, &self.host) {
            (Some(sock), _) => sock.display().to_string(),
            (None, host) => format!(
                "{}:{}",
                host.as_deref().unwrap_or("127.0.0.1"),
                self.port.unwrap_or(3306)
            ),
        }
    }

    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or("root")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    ui: UiConfig,
    #[serde(default)]
    alerts: AlertsConfig,
    #[serde(default)]
    parameters: Option<ParametersConfig>,
    #[serde(default)]
    instance: Vec<Spanned<InstanceConfig>>,
    #[serde(default)]
    backup: Vec<Spanned<BackupJobConfig>>,
    #[serde(default)]
    jobs: JobsSettings,
    #[serde(default)]
    review: review::ReviewConfig,
    #[serde(default)]
    prometheus: Vec<Spanned<prometheus::PrometheusSource>>,
    #[serde(default)]
    health: fleet::HealthPolling,
    #[serde(default)]
    log: fleet::LogSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

impl Config {
    /// Parse config text. `path` is only used in messages. Login paths come from
    /// [`login_file_path`], which is read only when an instance names one.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_login_file(text, path, &login_file_path())
    }

    /// [`Config::parse`] with the login path file given (tests use their own).
    pub fn parse_with_login_file(
        text: &str,
        path: &Path,
        login_file: &Path,
    ) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            message: e.message().to_string(),
        })?;
        let mut instances = Vec::with_capacity(raw.instance.len());
        for spanned in raw.instance {
            let line = line_of(text, spanned.span().start);
            let mut inst = spanned.into_inner();
            inst.line = line;
            instances.push(inst);
        }
        let mut backup_jobs = Vec::with_capacity(raw.backup.len());
        for spanned in raw.backup {
            let line = line_of(text, spanned.span().start);
            let mut job = spanned.into_inner();
            job.line = line;
            backup_jobs.push(job);
        }
        let mut prometheus = Vec::with_capacity(raw.prometheus.len());
        for spanned in raw.prometheus {
            let line = line_of(text, spanned.span().start);
            let mut source = spanned.into_inner();
            source.line = line;
            prometheus.push(source);
        }
        let mut config = Config {
            path: Some(path.to_path_buf()),
            prometheus,
            ui: raw.ui,
            instances,
            read_only: raw.read_only,
            alerts: raw.alerts,
            parameters: raw.parameters.unwrap_or_default(),
            backups: BackupConfig {
                jobs: backup_jobs,
                settings: raw.jobs,
            },
            review: raw.review,
            fleet: FleetSettings {
                polling: raw.health,
                log: raw.log,
            },
        };
        config.apply_login_paths(text, login_file)?;
        config.validate(text)?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The config file to use: `--config`, then `ARKC_CONFIG`, then the XDG config dir.
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os("ARKC_CONFIG").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        config_dir().map(|d| d.join("config.toml"))
    }

    /// Load the located config; a missing default file means "no instances yet", but a missing
    /// file the user named explicitly is an error.
    pub fn load_located(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let named =
            explicit.is_some() || std::env::var_os("ARKC_CONFIG").is_some_and(|v| !v.is_empty());
        match Config::locate(explicit) {
            Some(path) if named || path.exists() => Config::load(&path),
            _ => Ok(Config::default()),
        }
    }

    /// The `[parameters] baseline` path, relative to the config file's directory.
    pub fn baseline_path(&self) -> Option<PathBuf> {
        let b = self.parameters.baseline.as_ref()?;
        Some(match self.path.as_ref().and_then(|p| p.parent()) {
            Some(dir) if b.is_relative() => dir.join(b),
            _ => b.clone(),
        })
    }

    pub fn instance(&self, name: &str) -> Option<&InstanceConfig> {
        self.instances.iter().find(|i| i.name == name)
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let path = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let bad = |line: usize, message: String| ConfigError::Invalid {
            path: path.clone(),
            line,
            message,
        };
        let ui_line = key_line(text, "refresh_ms").unwrap_or(1);
        if !(100..=3_600_000).contains(&self.ui.refresh_ms) {
            return Err(bad(
                ui_line,
                format!(
                    "key `refresh_ms`: {} is out of range; use 100 to 3600000 milliseconds",
                    self.ui.refresh_ms
                ),
            ));
        }
        for (section, checked) in [
            ("[health]", self.fleet.polling.validate()),
            ("[log]", self.fleet.log.validate()),
        ] {
            if let Err((key, message)) = checked {
                let line = key_line(text, key)
                    .or_else(|| key_line(text, section))
                    .unwrap_or(1);
                return Err(bad(line, message));
            }
        }
        if let Err((header, message)) = self.alerts.validate() {
            let line = key_line(text, &header)
                .or_else(|| key_line(text, "[alerts"))
                .unwrap_or(1);
            return Err(bad(line, message));
        }
        for rule in self.review.rules.keys() {
            if !crate::deploy::review::RULES.iter().any(|r| r.id == rule) {
                return Err(bad(
                    key_line(text, &format!("[review.{rule}]")).unwrap_or(1),
                    format!(
                        "`[review.{rule}]`: unknown rule; known rules: {}",
                        crate::deploy::review::rule_ids().join(", ")
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for inst in &self.instances {
            let at = |msg: String| bad(inst.line, format!("instance `{}`: {msg}", inst.name));
            if inst.name.trim().is_empty() {
                return Err(bad(inst.line, "key `name`: must not be empty".into()));
            }
            if !seen.insert(inst.name.as_str()) {
                return Err(at("key `name`: duplicate instance name".into()));
            }
            if inst.socket.is_some() && (inst.host.is_some() || inst.port.is_some()) {
                return Err(at("set either `socket` or `host`/`port`, not both".into()));
            }
            if inst.socket.is_none() && inst.host.is_none() {
                return Err(at(match &inst.login_path {
                    Some(name) => format!(
                        "key `login_path`: [{name}] gives no host or socket; set `host` or `socket` here or in the login path"
                    ),
                    None => "key `host` (or `socket`) is required".into(),
                }));
            }
            if inst.port == Some(0) {
                return Err(at("key `port`: 0 is not a valid port".into()));
            }
            let sources = [
                inst.password.is_some(),
                inst.password_env.is_some(),
                inst.password_cmd.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() > 1 {
                return Err(at(
                    "set at most one of `password`, `password_env`, `password_cmd`".into(),
                ));
            }
            match (inst.tls, &inst.ca) {
                (TlsMode::VerifyCa, None) => {
                    return Err(at(
                        "key `ca`: tls = \"verify_ca\" needs `ca` (a PEM file)".into()
                    ))
                }
                (TlsMode::Off | TlsMode::Required, Some(_)) => {
                    return Err(at("key `ca`: only used with tls = \"verify_ca\"".into()))
                }
                _ => {}
            }
        }
        let mut prometheus_names = std::collections::HashSet::new();
        for source in &self.prometheus {
            let at = |msg: String| bad(source.line, format!("prometheus `{}`: {msg}", source.name));
            if let Some(problem) = source.problem() {
                return Err(at(problem));
            }
            if !prometheus_names.insert(source.name.as_str()) {
                return Err(at("key `name`: duplicate prometheus source name".into()));
            }
        }
        let names: Vec<(&str, &[String])> = self
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i.tags.as_slice()))
            .collect();
        self.backups.validate(&names).map_err(|(line, message)| {
            let line = if line == 0 {
                key_line(text, "max_concurrent").unwrap_or(1)
            } else {
                line
            };
            bad(line, message)
        })?;
        Ok(())
    }
}

/// The XDG config dir for arkc (`~/.config/arkc` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "arkc").map(|d| d.config_dir().to_path_buf())
}

/// The XDG data dir for arkc (audit files, tracking database, backup history), or `ARKC_DATA_DIR`
/// when set (tests, or several independent consoles on one host).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ARKC_DATA_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "arkc").map(|d| d.data_dir().to_path_buf())
}

/// The XDG state dir for arkc (logs); falls back to the data dir where there is no state dir.
pub fn state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "arkc")
        .map(|d| d.state_dir().unwrap_or(d.data_dir()).to_path_buf())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
}

#[cfg(test)]
mod login_path_tests;
#[cfg(test)]
mod tests;
