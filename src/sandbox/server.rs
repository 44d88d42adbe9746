//! Launching one `mariadbd` under a watchdog shell, and waiting until it answers.
//!
//! The watchdog holds a pipe whose only writer is this process. When the pipe reaches EOF (this
//! process exited, even by SIGKILL) the watchdog stops the server and removes its directory, so a
//! sandbox never outlives the process that started it. A line on the pipe means "stop, but let the
//! Rust side clean up" (the normal `stop()`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// What to install when the binaries are missing; printed verbatim.
pub const INSTALL_HINT: &str = "apt-get install mariadb-server mariadb-client";

/// `$1` = keep (1/0), `$2` = sandbox root, then the server command line.
const WATCHDOG: &str = r#"
keep=$1; root=$2; shift 2
exec 3<&0 0</dev/null
"$@" >/dev/null 2>>"$root/error.log" 3<&- &
pid=$!
echo "$pid"
exec >/dev/null
( if read -r _ <&3; then kill -TERM "$pid"
  elif [ "$keep" != 1 ]; then : >"$root/.orphaned"; kill -TERM "$pid"; fi ) 2>/dev/null &
reader=$!
exec 3<&-
wait "$pid"; code=$?
kill "$reader" 2>/dev/null
[ -e "$root/.orphaned" ] && rm -rf "$root"
exit "$code"
"#;

/// Full path of a MariaDB program, searched in PATH and the usual sbin directories, or only in
/// `ARKC_MARIADB_BIN` (a directory) when that is set, for unusual installs.
pub fn find_program(name: &str) -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("ARKC_MARIADB_BIN") {
        dirs.push(dir.into());
    } else {
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.extend(
            ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from),
        );
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file()).with_context(|| {
        format!("MariaDB program `{name}` not found in PATH or /usr/sbin; install MariaDB: {INSTALL_HINT}")
    })
}

/// Everything needed to run one server; paths all live under `root`.
#[derive(Debug, Clone)]
pub struct ServerLayout {
    pub root: PathBuf,
    pub datadir: PathBuf,
    pub socket: PathBuf,
    pub error_log: PathBuf,
    pub slow_log: PathBuf,
    /// Private tmpdir: concurrent servers sharing /tmp trip over each other's temporary tables.
    pub tmpdir: PathBuf,
    pub binlog_basename: String,
}

impl ServerLayout {
    pub fn new(root: &Path) -> Self {
        ServerLayout {
            root: root.to_path_buf(),
            datadir: root.join("data"),
            socket: root.join("mysqld.sock"),
            error_log: root.join("error.log"),
            slow_log: root.join("slow.log"),
            tmpdir: root.join("tmp"),
            binlog_basename: "mariadb-bin".into(),
        }
    }

    /// The last lines of the server's error log, for messages.
    pub fn error_log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.error_log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Server settings that size the instance small so several fit in memory.
const SMALL_BUFFERS: &[&str] = &[
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--innodb-log-buffer-size=4M",
    "--key-buffer-size=1M",
];

/// Create the system tables in `layout.datadir`.
pub fn install_datadir(layout: &ServerLayout) -> anyhow::Result<()> {
    let install = find_program("mariadb-install-db")?;
    std::fs::create_dir_all(&layout.tmpdir)
        .with_context(|| format!("cannot create {}", layout.tmpdir.display()))?;
    let out = Command::new(&install)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", layout.datadir.display()))
        .arg(format!("--tmpdir={}", layout.tmpdir.display()))
        .env("TMPDIR", &layout.tmpdir)
        .args([
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .args(SMALL_BUFFERS)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", install.display()))?;
    if !out.status.success() {
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        bail!(
            "{} failed ({}) for {}; last output:\n{}",
            install.display(),
            out.status,
            layout.datadir.display(),
            lines[lines.len().saturating_sub(8)..].join("\n")
        );
    }
    Ok(())
}

/// Fill `layout.datadir` from a prepared mariadb-backup folder (the backup itself is not changed).
pub fn copy_back(layout: &ServerLayout, backup: &Path) -> anyhow::Result<()> {
    let tool = find_program("mariadb-backup")?;
    std::fs::create_dir_all(&layout.tmpdir)
        .with_context(|| format!("cannot create {}", layout.tmpdir.display()))?;
    let out = Command::new(&tool)
        .arg("--no-defaults")
        .arg("--copy-back")
        .arg(format!("--target-dir={}", backup.display()))
        .arg(format!("--datadir={}", layout.datadir.display()))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", tool.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !text.contains("completed OK!") {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        bail!(
            "{} --copy-back from {} failed ({}); last output:\n{}",
            tool.display(),
            backup.display(),
            out.status,
            lines[lines.len().saturating_sub(8)..].join("\n")
        );
    }
    Ok(())
}

/// The `mariadbd` command line for a sandbox.
pub fn server_args(
    layout: &ServerLayout,
    port: u16,
    server_id: u32,
    slow_s: f64,
    extra: &[String],
) -> Vec<String> {
    let d = |p: &Path| p.display().to_string();
    let mut args = vec![
        "--no-defaults".to_string(),
        "--user=root".into(),
        format!("--datadir={}", d(&layout.datadir)),
        format!("--socket={}", d(&layout.socket)),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--skip-name-resolve".into(),
        format!("--pid-file={}", d(&layout.root.join("mariadbd.pid"))),
        format!("--log-error={}", d(&layout.error_log)),
        format!("--tmpdir={}", d(&layout.tmpdir)),
        format!("--server-id={server_id}"),
        format!(
            "--log-bin={}",
            d(&layout.datadir.join(&layout.binlog_basename))
        ),
        "--binlog-format=ROW".into(),
        "--binlog-row-image=FULL".into(),
        "--binlog-row-metadata=FULL".into(),
        "--log-slave-updates=ON".into(),
        "--gtid-strict-mode=ON".into(),
        "--slow-query-log=ON".into(),
        format!("--slow-query-log-file={}", d(&layout.slow_log)),
        format!("--long-query-time={slow_s}"),
        "--log-slow-verbosity=query_plan,explain".into(),
        "--performance-schema=ON".into(),
        "--character-set-server=utf8mb4".into(),
        "--collation-server=utf8mb4_general_ci".into(),
        "--innodb-flush-log-at-trx-commit=2".into(),
        "--max-connections=200".into(),
    ];
    args.extend(SMALL_BUFFERS.iter().map(|s| s.to_string()));
    args.extend(extra.iter().cloned());
    args
}

/// A running server and its watchdog.
#[derive(Debug)]
pub struct RunningServer {
    pub watchdog: Child,
    /// Writer end of the watchdog's pipe; dropping it (or our death) stops a non-`keep` server.
    pub pipe: Option<ChildStdin>,
    pub server_pid: i32,
}

/// Start `mariadbd` under the watchdog. Returns once the process exists, not once it answers.
pub fn launch(layout: &ServerLayout, args: &[String], keep: bool) -> anyhow::Result<RunningServer> {
    let mariadbd = find_program("mariadbd")?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("arkc-sandbox-watchdog")
        .arg(if keep { "1" } else { "0" })
        .arg(&layout.root)
        .arg(&mariadbd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Own process group: a Ctrl-C in the terminal reaches arkc, which then stops the server.
        .process_group(0)
        .spawn()
        .context("cannot start the sandbox watchdog (`sh`)")?;
    let stdout = child.stdout.take().context("watchdog stdout missing")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the server pid from the watchdog")?;
    let server_pid: i32 = line
        .trim()
        .parse()
        .with_context(|| format!("watchdog printed {line:?}, not a pid"))?;
    Ok(RunningServer {
        pipe: child.stdin.take(),
        watchdog: child,
        server_pid,
    })
}

/// Why a server did not come up.
#[derive(Debug)]
pub enum StartFailure {
    PortInUse,
    Other(anyhow::Error),
}

/// Poll the socket with the client until the server answers `SELECT 1`.
pub fn wait_until_ready(
    server: &mut RunningServer,
    layout: &ServerLayout,
    timeout: Duration,
) -> Result<(), StartFailure> {
    let client = find_program("mariadb").map_err(StartFailure::Other)?;
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = server.watchdog.try_wait() {
            let log = layout.error_log_tail(15);
            if log.contains("Address already in use") || log.contains("Bind on TCP/IP port") {
                return Err(StartFailure::PortInUse);
            }
            return Err(StartFailure::Other(anyhow::anyhow!(
                "mariadbd exited ({status}) during start-up; its error log {} ends with:\n{log}",
                layout.error_log.display()
            )));
        }
        let answered = Command::new(&client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", layout.socket.display()))
            .args(["-uroot", "--connect-timeout=2", "-e", "SELECT 1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if answered {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(StartFailure::Other(anyhow::anyhow!(
                "mariadbd did not answer on {} within {:?}; its error log {} ends with:\n{}",
                layout.socket.display(),
                timeout,
                layout.error_log.display(),
                layout.error_log_tail(15)
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stop the server: tell the watchdog, wait for it, SIGKILL if the server ignores SIGTERM.
pub fn shut_down(server: &mut RunningServer, timeout: Duration) -> anyhow::Result<()> {
    if let Some(mut pipe) = server.pipe.take() {
        // A line (not EOF) tells the watchdog to stop the server but leave cleanup to us.
        let _ = pipe.write_all(b"stop\n");
    }
    let started = Instant::now();
    let mut killed = false;
    loop {
        if server.watchdog.try_wait()?.is_some() {
            return Ok(());
        }
        if started.elapsed() > timeout && !killed {
            // The watchdog is still alive, so `server_pid` is still its child and not a reused pid.
            // SAFETY: kill(2) with a pid we own; no memory is touched.
            unsafe { libc::kill(server.server_pid, libc::SIGKILL) };
            killed = true;
        }
        if started.elapsed() > timeout * 2 {
            bail!(
                "mariadbd (pid {}) did not exit after SIGKILL",
                server.server_pid
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A free loopback port: bind port 0 and let the kernel pick.
pub fn free_port() -> anyhow::Result<u16> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}
