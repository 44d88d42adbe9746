//! `arkc deploy instance`: a persistent MariaDB built on the sandbox's server code (its own
//! datadir, port, socket, server_id, a rendered my.cnf), with generated admin and replication
//! passwords in 0600 files, optionally seeded from a source (a logical dump at a GTID position,
//! or a physical mariadb-backup of a local source) and replicating from it. Every step is named; a failure stops the server and removes what
//! was created, and the config is only written last.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::config::{resolve_password, InstanceConfig};
use crate::sandbox::server::{self, find_program, ServerLayout};

pub const ADMIN_USER: &str = "arkc_admin";
pub const REPL_USER: &str = "arkc_repl";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);

/// How a replica gets its data from the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeedMethod {
    /// mariadb-dump at a GTID position, loaded into the new server (any source).
    #[default]
    Logical,
    /// mariadb-backup of a source on this host, copied into the new datadir (`physical_seed`).
    Physical,
}

#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub name: String,
    pub port: u16,
    pub root: PathBuf,
    pub server_id: u32,
    pub seed: SeedMethod,
}

/// What was deployed; the entry to register comes from it.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub layout: ServerLayout,
    pub admin_password_file: PathBuf,
    pub seeded_gtid: Option<String>,
}

/// Refusals before anything is touched: an existing directory, a port in use, a socket path
/// too long for the kernel.
pub fn preflight(spec: &InstanceSpec) -> anyhow::Result<()> {
    if spec.root.exists() {
        bail!("refusing: {} already exists; deploy into a new directory (an existing datadir is never touched)", spec.root.display());
    }
    if std::net::TcpListener::bind(("127.0.0.1", spec.port)).is_err()
        || std::net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], spec.port).into(),
            Duration::from_millis(300),
        )
        .is_ok()
    {
        bail!(
            "refusing: port {} is already in use on 127.0.0.1",
            spec.port
        );
    }
    let socket = ServerLayout::new(&spec.root).socket;
    if socket.as_os_str().len() > 100 {
        bail!("refusing: the socket path {} is over 100 bytes (the kernel's limit is 108); use a shorter --datadir", socket.display());
    }
    Ok(())
}

fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A file only its owner can read (created 0600, never widened).
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// The server's settings as a my.cnf: the sandbox's (ROW binlog with FULL image and metadata,
/// GTID strict mode, slow log, performance_schema), meant to stay.
fn render_my_cnf(layout: &ServerLayout, port: u16, server_id: u32) -> String {
    let mut out = String::from("# Written by `arkc deploy instance`.\n[mariadbd]\n");
    for arg in server::server_args(layout, port, server_id, 1.0, &[]) {
        let Some(opt) = arg.strip_prefix("--") else {
            continue;
        };
        if opt == "no-defaults" {
            continue;
        }
        out.push_str(opt);
        out.push('\n');
    }
    out
}

/// The `mariadb` client over the instance's socket as root (unix_socket), SQL on stdin.
fn run_sql(layout: &ServerLayout, sql: &str) -> anyhow::Result<String> {
    run_client(layout, sql, "--skip-column-names")
}

fn run_client(layout: &ServerLayout, sql: &str, names: &str) -> anyhow::Result<String> {
    let mut child = Command::new(find_program("mariadb")?)
        .arg("--no-defaults")
        .arg(format!("--socket={}", layout.socket.display()))
        .args(["-uroot", "--batch", names])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run the `mariadb` client")?;
    child
        .stdin
        .take()
        .context("client stdin")?
        .write_all(sql.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `--defaults-extra-file` (0600) with the source's client credentials, removed on drop.
pub(super) fn client_defaults(
    inst: &InstanceConfig,
    dir: &Path,
) -> anyhow::Result<tempfile::TempPath> {
    let password = resolve_password(inst)?.unwrap_or_default();
    let mut text = format!(
        "[client]\nuser={}\npassword={}\n",
        inst.user(),
        crate::jobs::credentials::quote(&password)
    );
    match &inst.socket {
        Some(s) => text.push_str(&format!("socket={}\n", s.display())),
        None => text.push_str(&format!(
            "host={}\nport={}\nprotocol=tcp\n",
            inst.host.as_deref().unwrap_or("127.0.0.1"),
            inst.port.unwrap_or(3306)
        )),
    }
    // The seed's mariadb-dump / mariadb-backup reach the source with its TLS settings.
    for line in crate::jobs::credentials::tls_options(inst) {
        text.push_str(&line);
        text.push('\n');
    }
    let file = tempfile::Builder::new()
        .prefix("client-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)?;
    std::fs::write(file.path(), text)?;
    Ok(file.into_temp_path())
}

/// Deploy: each step reports through `step`; on failure the server is stopped and the
/// directory removed, and the error names the step.
pub fn deploy(
    spec: &InstanceSpec,
    source: Option<&InstanceConfig>,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<Deployed> {
    preflight(spec)?;
    let layout = ServerLayout::new(&spec.root);
    let mut running = None;
    let result = deploy_steps(spec, &layout, source, &mut running, step);
    if result.is_err() {
        if let Some(mut r) = running {
            let _ = server::shut_down(&mut r, START_TIMEOUT);
        }
        let _ = std::fs::remove_dir_all(&spec.root);
    }
    result
}

fn deploy_steps(
    spec: &InstanceSpec,
    layout: &ServerLayout,
    source: Option<&InstanceConfig>,
    running: &mut Option<server::RunningServer>,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<Deployed> {
    std::fs::create_dir_all(&spec.root)
        .with_context(|| format!("step `install`: cannot create {}", spec.root.display()))?;
    let physical_gtid = match (source, spec.seed) {
        (Some(src), SeedMethod::Physical) => {
            Some(super::physical_seed::seed(layout, src, &spec.root, step)?)
        }
        _ => {
            step("install the datadir");
            server::install_datadir(layout).context("step `install the datadir`")?;
            None
        }
    };
    step("render my.cnf");
    let cnf = spec.root.join("my.cnf");
    std::fs::write(&cnf, render_my_cnf(layout, spec.port, spec.server_id))
        .context("step `render my.cnf`")?;
    step("start the server");
    let args = vec![format!("--defaults-file={}", cnf.display())];
    let mut r = server::launch(layout, &args, true).context("step `start the server`")?;
    let ready = server::wait_until_ready(&mut r, layout, START_TIMEOUT);
    *running = Some(r);
    match ready {
        Ok(()) => {}
        Err(server::StartFailure::PortInUse) => bail!(
            "step `start the server`: port {} was taken meanwhile",
            spec.port
        ),
        Err(server::StartFailure::Other(e)) => return Err(e.context("step `start the server`")),
    }
    step("create the admin and replication accounts");
    let secrets = spec.root.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let (admin, repl) = (random_password(), random_password());
    let admin_file = secrets.join("admin.pass");
    write_secret(&admin_file, &admin)?;
    write_secret(&secrets.join("repl.pass"), &repl)?;
    run_sql(layout, &format!(
        "CREATE OR REPLACE USER '{ADMIN_USER}'@'127.0.0.1' IDENTIFIED BY '{admin}';\nGRANT ALL ON *.* TO '{ADMIN_USER}'@'127.0.0.1' WITH GRANT OPTION;\n\
         CREATE OR REPLACE USER '{REPL_USER}'@'%' IDENTIFIED BY '{repl}';\nGRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{REPL_USER}'@'%';\n\
         ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;\n"
    )).context("step `create the accounts`")?;
    step("check the server");
    let check = run_sql(
        layout,
        "SELECT @@server_id, @@port, @@binlog_format, @@binlog_row_metadata",
    )
    .context("step `check the server`")?;
    let want = format!("{}\t{}\tROW\tFULL", spec.server_id, spec.port);
    if check.trim() != want {
        bail!(
            "step `check the server`: expected `{want}`, the server says `{}`",
            check.trim()
        );
    }
    let seeded_gtid = match (source, physical_gtid) {
        (Some(src), Some(gtid)) => {
            replicate(layout, src, &gtid, step)?;
            Some(gtid)
        }
        (Some(src), None) => Some(seed_and_replicate(layout, src, &spec.root, step)?),
        (None, _) => None,
    };
    Ok(Deployed {
        layout: layout.clone(),
        admin_password_file: admin_file,
        seeded_gtid,
    })
}

/// Dump the source's own databases at one GTID position, load them, replicate from there,
/// wait until caught up. Returns the seed's GTID position.
fn seed_and_replicate(
    layout: &ServerLayout,
    src: &InstanceConfig,
    root: &Path,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<String> {
    step(&format!("dump {} at a GTID position", src.name));
    let defaults = client_defaults(src, root)?;
    let defaults_arg = format!("--defaults-extra-file={}", defaults.display());
    let list = Command::new(find_program("mariadb")?)
        .args([
            &defaults_arg,
            "--batch",
            "--skip-column-names",
            "-e",
            "SHOW DATABASES",
        ])
        .stdin(Stdio::null())
        .output()
        .context("step `dump`: cannot run the client")?;
    if !list.status.success() {
        bail!(
            "step `dump`: cannot list {}'s databases: {}",
            src.name,
            String::from_utf8_lossy(&list.stderr).trim()
        );
    }
    let system = ["mysql", "information_schema", "performance_schema", "sys"];
    let dbs: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|d| !d.is_empty() && !system.contains(d))
        .map(str::to_string)
        .collect();
    let dump_path = root.join("seed.sql");
    let dump_file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&dump_path)?;
    let mut cmd = Command::new(find_program("mariadb-dump")?);
    cmd.args([
        &defaults_arg,
        "--single-transaction",
        "--gtid",
        "--master-data=2",
        "--routines",
        "--events",
        "--triggers",
    ]);
    if dbs.is_empty() {
        // Nothing to copy; the dump still records the position.
        cmd.args(["--no-data", "--databases", "mysql", "--tables", "db"]);
    } else {
        cmd.arg("--databases").args(&dbs);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(dump_file)
        .stderr(Stdio::piped())
        .output()
        .context("step `dump`: cannot run mariadb-dump")?;
    drop(defaults);
    if !out.status.success() {
        bail!(
            "step `dump`: mariadb-dump of {} failed: {}",
            src.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let dump = std::fs::read_to_string(&dump_path)?;
    let gtid = dump
        .lines()
        .find_map(|l| {
            l.split("gtid_slave_pos='")
                .nth(1)
                .and_then(|r| r.split('\'').next())
        })
        .map(str::to_string)
        .context(
            "step `dump`: the dump names no gtid_slave_pos (is the source's binary log on?)",
        )?;
    step(&format!(
        "load the dump ({} database(s)) at GTID {gtid}",
        dbs.len()
    ));
    if !dbs.is_empty() {
        run_sql(layout, &format!("SET sql_log_bin = 0;\n{dump}"))
            .context("step `load the dump`")?;
    }
    let _ = std::fs::remove_file(&dump_path);
    replicate(layout, src, &gtid, step)?;
    Ok(gtid)
}

/// Replicate from `src` by GTID from `gtid` (where the seed was taken); wait until caught up.
fn replicate(
    layout: &ServerLayout,
    src: &InstanceConfig,
    gtid: &str,
    step: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    step(&format!("replicate from {}", src.name));
    let password = resolve_password(src)?
        .unwrap_or_default()
        .replace('\'', "''");
    let host = src.host.as_deref().unwrap_or("127.0.0.1");
    run_sql(layout, &format!(
        // A fresh server: its own binlog (the accounts) would clash with the source's GTIDs.
        "RESET MASTER;\nSET GLOBAL gtid_slave_pos = '{gtid}';\nCHANGE MASTER TO MASTER_HOST='{host}', MASTER_PORT={}, MASTER_USER='{}', MASTER_PASSWORD='{password}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;\nSTART SLAVE;\nSET GLOBAL read_only = ON;\n",
        src.port.unwrap_or(3306),
        src.user().replace('\'', "''"),
    )).context("step `replicate`")?;
    step("wait until caught up");
    wait_caught_up(layout, src)
}

/// Until the replica has applied the source's current GTID position and both threads run.
fn wait_caught_up(layout: &ServerLayout, src: &InstanceConfig) -> anyhow::Result<()> {
    let defaults = client_defaults(src, &layout.root)?;
    let out = Command::new(find_program("mariadb")?)
        .arg(format!("--defaults-extra-file={}", defaults.display()))
        .args([
            "--batch",
            "--skip-column-names",
            "-e",
            "SELECT @@global.gtid_binlog_pos",
        ])
        .stdin(Stdio::null())
        .output()?;
    drop(defaults);
    let target = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let started = Instant::now();
    loop {
        let status = run_client(layout, "SHOW SLAVE STATUS", "--column-names")?;
        let mut lines = status.lines();
        let (names, values) = (
            lines.next().unwrap_or_default(),
            lines.next().unwrap_or_default(),
        );
        let field = |k: &str| {
            names
                .split('\t')
                .zip(values.split('\t'))
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let waited = run_sql(layout, &format!("SELECT MASTER_GTID_WAIT('{target}', 1)"))?;
        if waited.trim() == "0"
            && field("Slave_IO_Running") == "Yes"
            && field("Slave_SQL_Running") == "Yes"
        {
            return Ok(());
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            bail!(
                "step `wait until caught up`: not at the source's GTID {target} after {:?}: IO={} SQL={} last IO error: {} last SQL error: {}",
                CATCH_UP_TIMEOUT,
                field("Slave_IO_Running"),
                field("Slave_SQL_Running"),
                field("Last_IO_Error"),
                field("Last_SQL_Error")
            );
        }
    }
}

/// Stop a deployed instance by its pid file (SIGTERM, then wait until it is gone).
pub fn stop(root: &Path) -> anyhow::Result<bool> {
    let pid_file = root.join("mariadbd.pid");
    let Ok(text) = std::fs::read_to_string(&pid_file) else {
        return Ok(false);
    };
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{} holds no pid", pid_file.display()))?;
    // SAFETY: kill(2) with a pid read from the server's own pid file; no memory is touched.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Ok(false);
    }
    let started = Instant::now();
    // SAFETY: signal 0 only checks that the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        if started.elapsed() > START_TIMEOUT {
            bail!("mariadbd (pid {pid}) did not stop within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsMode;

    #[test]
    fn the_seed_defaults_carry_the_source_tls() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = InstanceConfig::tcp("src", "127.0.0.1", 3306);
        src.tls = TlsMode::VerifyCa;
        src.ca = Some("/etc/arkc/ca.pem".into());
        let file = client_defaults(&src, dir.path()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        for line in [
            "ssl",
            "ssl-ca=\"/etc/arkc/ca.pem\"",
            "ssl-verify-server-cert",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}: {text}");
        }
    }

    #[test]
    fn the_seed_defaults_quote_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = InstanceConfig::tcp("src", "127.0.0.1", 3306);
        src.password = Some("a#b\"c".into());
        let file = client_defaults(&src, dir.path()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().any(|l| l == "password=\"a#b\\\"c\""), "{text}");
    }
}
