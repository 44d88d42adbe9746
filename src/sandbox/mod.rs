//! A throwaway MariaDB server for tests and `arkc demo`: its own datadir, loopback port and socket,
//! ROW binlog with full images and metadata, a slow log and performance_schema.
//!
//! Blocking API (it runs the `mariadb` client as a subprocess). A sandbox is stopped and its directory
//! removed on `stop()` or `Drop`, and by its watchdog if this process dies, unless `keep` is set.

mod replica;
pub mod server;
pub mod test_home;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context};

pub use server::{find_program, INSTALL_HINT};
use server::{RunningServer, ServerLayout, StartFailure};

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Short label used in the directory name (and the demo's config).
    pub name: String,
    /// `long_query_time` in seconds (0 logs every statement).
    pub slow_log_threshold_s: f64,
    /// `server_id`; default: derived from the port, so concurrent sandboxes never collide.
    pub server_id: Option<u32>,
    /// More `mariadbd` arguments, e.g. `--binlog-checksum=NONE`.
    pub extra_args: Vec<String>,
    /// Leave the server running and its directory in place when dropped or when this process ends.
    pub keep: bool,
    /// Start from a prepared mariadb-backup folder (`--copy-back`) instead of a fresh datadir.
    pub restore_from: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            name: "sandbox".into(),
            slow_log_threshold_s: 0.1,
            server_id: None,
            extra_args: Vec::new(),
            keep: false,
            restore_from: None,
        }
    }
}

/// A running throwaway `mariadbd`.
#[derive(Debug)]
pub struct Sandbox {
    layout: ServerLayout,
    port: u16,
    server_id: u32,
    keep: bool,
    server: Option<RunningServer>,
}

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Unix socket paths must fit in `sun_path` (108 bytes); stay well below.
const MAX_SOCKET_PATH: usize = 100;

impl Sandbox {
    /// Install a datadir, start the server and wait until it answers.
    pub fn start(opts: SandboxOptions) -> anyhow::Result<Sandbox> {
        server::find_program("mariadbd")?;
        let root = make_root(&opts.name)?;
        let layout = ServerLayout::new(&root);
        let result = Self::start_in(layout, &opts);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&root);
        }
        result
    }

    fn start_in(layout: ServerLayout, opts: &SandboxOptions) -> anyhow::Result<Sandbox> {
        match &opts.restore_from {
            Some(backup) => server::copy_back(&layout, backup)?,
            None => server::install_datadir(&layout)?,
        }
        // Another process may grab the port between our probe and the server's bind: retry.
        for _attempt in 0..4 {
            let port = server::free_port()?;
            let server_id = opts.server_id.unwrap_or(u32::from(port));
            let args = server::server_args(
                &layout,
                port,
                server_id,
                opts.slow_log_threshold_s,
                &opts.extra_args,
            );
            let mut running = server::launch(&layout, &args, opts.keep)?;
            match server::wait_until_ready(&mut running, &layout, START_TIMEOUT) {
                Ok(()) => {
                    return Ok(Sandbox {
                        layout,
                        port,
                        server_id,
                        keep: opts.keep,
                        server: Some(running),
                    });
                }
                Err(StartFailure::PortInUse) => continue,
                Err(StartFailure::Other(e)) => {
                    let _ = server::shut_down(&mut running, STOP_TIMEOUT);
                    return Err(e);
                }
            }
        }
        bail!(
            "no free loopback port after 4 attempts; see {}",
            layout.error_log.display()
        )
    }

    /// Start a second sandbox replicating from `primary` by GTID; returns once both replication
    /// threads run. The replica is `read_only` (root can still write, having SUPER).
    pub fn start_replica_of(primary: &Sandbox, opts: SandboxOptions) -> anyhow::Result<Sandbox> {
        let replica = Sandbox::start(opts)?;
        replica::attach(&replica, primary)?;
        Ok(replica)
    }

    /// One server per test binary, started on first use and stopped by its watchdog at exit.
    pub fn shared() -> &'static Sandbox {
        static SHARED: OnceLock<Sandbox> = OnceLock::new();
        SHARED.get_or_init(|| {
            let opts = SandboxOptions {
                name: "shared".into(),
                ..SandboxOptions::default()
            };
            match Sandbox::start(opts) {
                Ok(sb) => sb,
                Err(e) => panic!("cannot start the shared sandbox MariaDB: {e:#}"),
            }
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server_id(&self) -> u32 {
        self.server_id
    }

    pub fn socket(&self) -> &Path {
        &self.layout.socket
    }

    pub fn datadir(&self) -> &Path {
        &self.layout.datadir
    }

    /// The directory holding datadir, socket and logs.
    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// `mysql://root@127.0.0.1:PORT` (root, empty password).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    pub fn binlog_dir(&self) -> PathBuf {
        self.layout.datadir.clone()
    }

    /// File name prefix of the binlogs (`mariadb-bin`, files `mariadb-bin.000001`, ...).
    pub fn binlog_basename(&self) -> String {
        self.layout.binlog_basename.clone()
    }

    pub fn slow_log_path(&self) -> PathBuf {
        self.layout.slow_log.clone()
    }

    pub fn error_log_path(&self) -> PathBuf {
        self.layout.error_log.clone()
    }

    /// `SHOW SLAVE STATUS` as field -> value; empty when this sandbox is not a replica.
    pub fn replica_status(&self) -> anyhow::Result<std::collections::HashMap<String, String>> {
        replica::slave_status(self)
    }

    /// The server's pid (while running).
    pub fn pid(&self) -> Option<i32> {
        self.server.as_ref().map(|s| s.server_pid)
    }

    /// The `mariadb` client, connected over the socket as root, `--batch --skip-column-names`.
    pub fn client(&self) -> Command {
        let program = server::find_program("mariadb").unwrap_or_else(|_| PathBuf::from("mariadb"));
        let mut cmd = Command::new(program);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.layout.socket.display()))
            .args(["-uroot", "--batch", "--skip-column-names"]);
        cmd
    }

    /// The current binlog file and position (`SHOW MASTER STATUS`): where a test's incident starts.
    pub fn binlog_position(&self) -> anyhow::Result<(String, u64)> {
        let status = self.exec_sql("SHOW MASTER STATUS")?;
        let mut fields = status.split_whitespace();
        match (fields.next(), fields.next().and_then(|p| p.parse().ok())) {
            (Some(file), Some(pos)) => Ok((file.to_string(), pos)),
            _ => bail!(
                "SHOW MASTER STATUS on sandbox port {} gave no binlog position: `{}`",
                self.port,
                status.trim()
            ),
        }
    }

    /// Run SQL (one or more statements) through the client; returns its stdout.
    pub fn exec_sql(&self, sql: &str) -> anyhow::Result<String> {
        self.run_client(sql, &[])
    }

    /// Like `exec_sql`, with column names (needed for `\G` output).
    fn exec_sql_named(&self, sql: &str) -> anyhow::Result<String> {
        self.run_client(sql, &["--column-names"])
    }

    fn run_client(&self, sql: &str, extra_args: &[&str]) -> anyhow::Result<String> {
        use std::io::Write;
        let mut child = self
            .client()
            .args(extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run the `mariadb` client")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .context("writing SQL to the `mariadb` client")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "SQL failed on sandbox port {}: {}\nstatement: {}",
                self.port,
                String::from_utf8_lossy(&out.stderr).trim(),
                shorten(sql, 300)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Create a fresh, uniquely named schema (`<prefix>_<pid>_<n>`) and return its name.
    pub fn create_schema(&self, prefix: &str) -> anyhow::Result<String> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let clean: String = prefix
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        let name = format!(
            "{clean}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.exec_sql(&format!("CREATE DATABASE `{name}`"))?;
        Ok(name)
    }

    /// Stop the server (SIGTERM, clean shutdown) and remove its directory unless `keep`.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut running) = self.server.take() else {
            return Ok(());
        };
        server::shut_down(&mut running, STOP_TIMEOUT)?;
        if !self.keep {
            match std::fs::remove_dir_all(&self.layout.root) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e)
                        .with_context(|| format!("removing {}", self.layout.root.display()));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.keep {
            // Dropping the pipe (EOF) leaves a `keep` server running, by design.
            return;
        }
        if let Err(e) = self.stop() {
            tracing::warn!("sandbox on port {}: {e:#}", self.port);
        }
    }
}

/// A new directory for one sandbox, short enough for a socket path inside it.
fn make_root(name: &str) -> anyhow::Result<PathBuf> {
    let label: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(16)
        .collect();
    let mut base = std::env::temp_dir();
    // "/arkc-<label>-XXXXXX/mysqld.sock" adds at most 42 bytes.
    if base.as_os_str().len() + 42 > MAX_SOCKET_PATH {
        base = PathBuf::from("/tmp");
    }
    let dir = tempfile::Builder::new()
        .prefix(&format!("arkc-{label}-"))
        .tempdir_in(&base)
        .with_context(|| format!("cannot create a sandbox directory in {}", base.display()))?;
    Ok(dir.keep())
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
