//! The inspection views' reads against real sandbox servers: replication channels, replicas and
//! pt-heartbeat lag on a primary+replica pair; datadir space, schema/table sizes and binlog
//! totals against a known table; parameter drift between two servers started with different
//! settings, in the view and as the console's `parameter_drift` alert; a real mariadb-backup
//! `--history` row in the Backup view; missing privileges and tables named in the notes. The
//! `arkc inspect` twin's JSON is checked against the same servers.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arkc::app::health::HealthMonitor;
use arkc::backend::health::inspect::{read_backups, read_parameters, read_replication, read_sizes};
use arkc::backend::health::processlist::MonitorConn;
use arkc::backend::{BackendEvent, InstancePoller, SqlRecorder};
use arkc::config::{Config, InstanceConfig};
use arkc::health::replication::ReplicationReport;
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

fn opts(name: &str, extra: &[&str]) -> SandboxOptions {
    SandboxOptions {
        name: name.into(),
        extra_args: extra.iter().map(|s| s.to_string()).collect(),
        ..SandboxOptions::default()
    }
}

fn instance(name: &str, sb: &Sandbox) -> InstanceConfig {
    InstanceConfig::tcp(name, "127.0.0.1", sb.port())
}

async fn open(inst: &InstanceConfig) -> (MonitorConn, mpsc::UnboundedReceiver<BackendEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mc = MonitorConn::open(inst, SqlRecorder::new(&inst.name, tx))
        .await
        .expect("monitoring connection");
    (mc, rx)
}

/// Read replication until `ok` holds or 60 s pass; fails with the last report.
async fn replication_until(
    mc: &mut MonitorConn,
    heartbeat: Option<&str>,
    what: &str,
    ok: impl Fn(&ReplicationReport) -> bool,
) -> ReplicationReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = read_replication(mc, heartbeat).await;
        if ok(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "{what}: last read {r:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// pt-heartbeat updating the primary's table every half second; killed when dropped.
struct Heartbeat(Child);

impl Heartbeat {
    fn start(primary: &Sandbox) -> Heartbeat {
        primary
            .exec_sql("CREATE DATABASE IF NOT EXISTS percona")
            .unwrap();
        let child = Command::new("pt-heartbeat")
            .args(["--update", "--create-table", "--database", "percona"])
            .args(["--interval", "0.5", "--host", "127.0.0.1", "--user", "root"])
            .args(["--port", &primary.port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pt-heartbeat (percona-toolkit) runs");
        Heartbeat(child)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn replication_view_reads_channels_replicas_heartbeat_and_errors() {
    let primary = Sandbox::start(opts("irp", &[])).unwrap();
    let replica =
        Sandbox::start_replica_of(&primary, opts("irr", &["--report-host=inspect-replica"]))
            .unwrap();
    let _heartbeat = Heartbeat::start(&primary);
    let (mut rc, _r1) = open(&instance("replica", &replica)).await;
    let table = Some("percona.heartbeat");
    // A plausible lag: pt-heartbeat stamps every half second, but on a loaded machine its first
    // stamps can be seconds apart, so wait for it rather than read it once.
    let r = replication_until(&mut rc, table, "heartbeat lag on the replica", |r| {
        r.heartbeat
            .as_ref()
            .is_some_and(|h| h.lag_s.is_some_and(|lag| (0.0..10.0).contains(&lag)))
    })
    .await;
    assert_eq!(r.channels.len(), 1, "{r:#?}");
    let ch = &r.channels[0];
    assert!(ch.io_ok() && ch.sql_ok(), "{ch:#?}");
    assert_eq!(ch.source, format!("127.0.0.1:{}", primary.port()));
    assert_eq!(ch.source_server_id, Some(primary.server_id() as u64));
    assert!(ch.lag_s.is_some(), "{ch:#?}");
    assert_eq!(ch.gtid_mode, "Slave_Pos");
    assert!(!ch.gtid_executed.is_empty(), "{ch:#?}");
    let hb = r.heartbeat.as_ref().unwrap();
    assert_eq!(hb.server_id, Some(primary.server_id() as u64));
    let lag = hb.lag_s.unwrap();
    assert!((0.0..10.0).contains(&lag), "heartbeat lag {lag}");

    // The primary: no channel, the replica registered (report_host) and connected.
    let (mut pc, _r2) = open(&instance("primary", &primary)).await;
    let p = replication_until(&mut pc, None, "the replica on the primary", |r| {
        !r.replicas.is_empty() && !r.dump_threads.is_empty()
    })
    .await;
    assert!(p.channels.is_empty(), "{p:#?}");
    assert_eq!(p.replicas[0].server_id, replica.server_id() as u64);
    assert_eq!(p.replicas[0].host, "inspect-replica");
    assert_eq!(p.dump_threads.len(), 1, "{p:#?}");
    assert!(p.gtid_binlog_pos.is_some(), "{p:#?}");
    assert!(p.notes.is_empty(), "{:?}", p.notes);

    // A duplicate key on the replica stops its SQL thread with the error shown.
    let db = primary.create_schema("irep").unwrap();
    primary
        .exec_sql(&format!("CREATE TABLE {db}.t (id INT PRIMARY KEY)"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while replica
        .exec_sql(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}'"
        ))
        .unwrap()
        .trim()
        != "1"
    {
        assert!(
            Instant::now() < deadline,
            "the table never reached the replica"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica
        .exec_sql(&format!(
            "SET SESSION sql_log_bin = 0; INSERT INTO {db}.t VALUES (1)"
        ))
        .unwrap();
    primary
        .exec_sql(&format!("INSERT INTO {db}.t VALUES (1)"))
        .unwrap();
    let broken = replication_until(&mut rc, None, "SQL thread stopped by 1062", |r| {
        r.channels
            .first()
            .and_then(|c| c.last_sql_error.as_ref())
            .is_some_and(|e| e.errno == 1062)
    })
    .await;
    let ch = &broken.channels[0];
    assert_eq!(ch.sql_running, "No");
    assert!(ch.io_ok());
    assert_eq!(ch.lag_s, None, "a stopped SQL thread has no lag");
    assert!(
        ch.last_sql_error
            .as_ref()
            .unwrap()
            .message
            .contains("Duplicate entry"),
        "{ch:#?}"
    );
    rc.close().await;
    pc.close().await;

    // The headless twin reads the same figures from a config file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"replica\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\nheartbeat_table = \"percona.heartbeat\"\n",
            replica.port()
        ),
    )
    .unwrap();
    let json = inspect_json(&config, &["replication", "--instance", "replica"]);
    let ch = &json["channels"][0];
    assert_eq!(ch["sql_running"], "No", "{json}");
    assert_eq!(ch["last_sql_error"]["errno"], 1062, "{json}");
    assert_eq!(json["heartbeat"]["table"], "percona.heartbeat", "{json}");
}

/// `arkc inspect ARGS --format json` as JSON; fails with its output otherwise.
fn inspect_json(config: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .arg("inspect")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Free and total bytes of the filesystem holding `path`, from df (an independent measure).
fn df(path: &Path) -> (u64, u64) {
    let out = Command::new("df")
        .args(["--output=avail,size", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut nums = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse::<u64>().unwrap());
    (nums.next().unwrap(), nums.next().unwrap())
}

#[tokio::test]
async fn disk_view_measures_the_datadir_a_known_table_and_the_binlogs() {
    let sb = Sandbox::start(opts("isz", &[])).unwrap();
    let db = sb.create_schema("isz").unwrap();
    // 20,000 rows of 200 bytes: about 4 MB of data, and a secondary index.
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.big (id INT PRIMARY KEY, pad CHAR(200), k INT, KEY (k)) ENGINE=InnoDB;\n\
         INSERT INTO {db}.big SELECT seq, REPEAT('x', 200), seq % 100 FROM {db}.seq_1_to_20000;\n\
         CREATE TABLE {db}.small (id INT PRIMARY KEY) ENGINE=InnoDB;\n\
         ANALYZE TABLE {db}.big, {db}.small;"
    ))
    .unwrap();
    let (mut mc, _rx) = open(&instance("sz", &sb)).await;
    let r = read_sizes(&mut mc, true).await;
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let datadir = r.datadir.clone().unwrap();
    assert_eq!(
        Path::new(&datadir).canonicalize().unwrap(),
        sb.datadir().canonicalize().unwrap()
    );
    let fs = r.filesystem.unwrap();
    let (avail, size) = df(sb.datadir());
    assert_eq!(fs.total_bytes, size, "filesystem size as df says");
    let drift = fs.avail_bytes.abs_diff(avail);
    assert!(
        drift < 64 << 20,
        "available {} vs df {avail}",
        fs.avail_bytes
    );
    let schema = r
        .schemas
        .iter()
        .find(|s| s.schema == db)
        .expect("schema listed");
    assert_eq!(schema.tables, 2);
    let big = r
        .tables
        .iter()
        .find(|t| t.schema == db && t.table == "big")
        .expect("table listed");
    assert!(
        (4_000_000..16_000_000).contains(&big.data_bytes),
        "data {}",
        big.data_bytes
    );
    assert!(big.index_bytes > 0, "the secondary index has pages");
    assert_eq!(big.engine, "InnoDB");
    assert!(schema.total() >= big.total());
    let pos = |t: &str| r.tables.iter().position(|x| x.schema == db && x.table == t);
    if let (Some(b), Some(s)) = (pos("big"), pos("small")) {
        assert!(b < s, "largest first");
    }
    // Binary logs: as many as the binlog directory holds.
    let b = r.binlogs.unwrap();
    let base = sb.binlog_basename();
    let files = std::fs::read_dir(sb.binlog_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with(&format!("{base}."))
                && n[base.len() + 1..].chars().all(|c| c.is_ascii_digit())
        })
        .count() as u64;
    assert_eq!(b.count, files);
    assert!(
        b.bytes > 4_000_000,
        "the inserts are in the binlog: {}",
        b.bytes
    );
    mc.close().await;
}

#[tokio::test]
async fn parameter_drift_between_two_servers_in_the_view_and_as_an_alert() {
    let reference = Sandbox::start(opts("ipa", &["--max-connections=123"])).unwrap();
    let other = Sandbox::start(opts("ipb", &[])).unwrap();
    let mut a = instance("ref", &reference);
    a.tags = vec!["grp".into()];
    let mut b = instance("other", &other);
    b.tags = vec!["grp".into()];
    let mut config = Config {
        instances: vec![a.clone(), b.clone()],
        ..Config::default()
    };
    config.parameters.baseline_tag = Some("grp".into());

    // The view: `other` held against the first instance of its tag.
    let (mut mc, _rx) = open(&b).await;
    let r = read_parameters(&mut mc, &config, &b).await;
    assert_eq!(
        r.baseline_source.as_deref(),
        Some("instance ref (first of its tag)"),
        "{r:#?}"
    );
    let d: Vec<_> = r.diffs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(d, vec!["max_connections"], "{r:#?}");
    assert_eq!(r.diffs[0].expected, "123");
    assert_eq!(r.diffs[0].actual.as_deref(), Some("200"));
    mc.close().await;

    // A baseline file: the reference now differs, the other does not.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    std::fs::write(&file, "max_connections = 200\nsync_binlog = 0\n").unwrap();
    let mut with_file = config.clone();
    with_file.parameters.baseline = Some(file.clone());
    with_file.parameters.baseline_tag = None;
    let (mut ac, _rx2) = open(&a).await;
    let ra = read_parameters(&mut ac, &with_file, &a).await;
    assert_eq!(ra.baseline_source, Some(file.display().to_string()));
    assert!(
        ra.differs("max_connections") && !ra.differs("sync_binlog"),
        "{ra:#?}"
    );
    ac.close().await;

    // The console: real polls judged by the pane's monitor fire parameter_drift on `ref` only,
    // and a variable changed while running is listed with its old and new value.
    let mut monitor = HealthMonitor::new(&with_file);
    let watched = monitor.inspect.watched_variables(&with_file);
    let (tx, _rx3) = mpsc::unbounded_channel();
    let mut pa = InstancePoller::new(a.clone(), tx.clone()).with_watched_variables(&watched);
    let mut pb = InstancePoller::new(b.clone(), tx).with_watched_variables(&watched);
    monitor.observe(&pa.poll().await);
    monitor.observe(&pb.poll().await);
    let firing = |m: &HealthMonitor, who: &str| {
        m.book.alerts_of(who).iter().any(|al| {
            al.rule.id() == "parameter_drift" && al.state == arkc::health::AlertState::Firing
        })
    };
    assert!(
        firing(&monitor, "ref"),
        "{:#?}",
        monitor.book.alerts_of("ref")
    );
    assert!(
        !firing(&monitor, "other"),
        "{:#?}",
        monitor.book.alerts_of("other")
    );
    other.exec_sql("SET GLOBAL sync_binlog = 1").unwrap();
    monitor.observe(&pb.poll().await);
    assert!(firing(&monitor, "other"), "sync_binlog now differs too");
    let changes = monitor.inspect.changes_of("other");
    assert!(
        changes
            .iter()
            .any(|c| c.name == "sync_binlog" && c.old == "0" && c.new == "1"),
        "{changes:?}"
    );
    pa.close().await;
    pb.close().await;
}

#[tokio::test]
async fn backup_view_finds_a_real_mariadb_backup_history_row() {
    let sb = Sandbox::start(opts("ibk", &[])).unwrap();
    let inst = instance("inspect-backup-only-here", &sb);
    // Before any backup: the view says where it looked.
    let (mut mc, _rx) = open(&inst).await;
    let before = read_backups(&mut mc, &inst.name).await;
    assert!(before.lookup.newest.is_none(), "{before:#?}");
    let said = before.lookup.describe();
    assert!(
        said.contains("mysql.mariadb_backup_history"),
        "the row names where it looked: {said}"
    );
    // A real mariadb-backup run that records itself in mysql.mariadb_backup_history.
    let target = tempfile::tempdir().unwrap();
    let out = Command::new("mariadb-backup")
        .arg("--backup")
        .arg(format!(
            "--target-dir={}",
            target.path().join("b").display()
        ))
        .arg(format!("--datadir={}", sb.datadir().display()))
        .arg(format!("--socket={}", sb.socket().display()))
        .args(["--user=root", "--history=nightly"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mariadb-backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = read_backups(&mut mc, &inst.name).await;
    let newest = after.lookup.newest.as_ref().expect("a successful backup");
    assert_eq!(newest.source, "mysql.mariadb_backup_history");
    assert!(newest.age_s < 600, "{newest:?}");
    let entry = after
        .recent
        .iter()
        .find(|e| e.source == "mysql.mariadb_backup_history")
        .expect("listed");
    assert_eq!(entry.detail, "full");
    assert!(entry.ended_at.is_some() && entry.started_at <= entry.ended_at);
    assert!(after.notes.is_empty(), "{:?}", after.notes);
    mc.close().await;
}

#[tokio::test]
async fn missing_privileges_and_tables_are_named_in_the_views() {
    let sb = Sandbox::start(opts("ipv", &[])).unwrap();
    sb.exec_sql(
        "CREATE USER 'lim'@'%' IDENTIFIED BY 'limpw';\n\
         GRANT SELECT ON mysql.user TO 'lim'@'%';",
    )
    .unwrap();
    let mut inst = instance("lim", &sb);
    inst.user = Some("lim".into());
    inst.password = Some("limpw".into());
    inst.heartbeat_table = Some("percona.heartbeat".into());
    let (mut mc, _rx) = open(&inst).await;
    let r = read_replication(&mut mc, inst.heartbeat_table.as_deref()).await;
    let notes = r.notes.join("\n");
    assert!(
        notes.contains("replica status not read") && notes.contains("SLAVE MONITOR"),
        "{notes}"
    );
    assert!(notes.contains("registered replicas not read"), "{notes}");
    assert!(
        notes.contains("heartbeat table `percona.heartbeat`"),
        "{notes}"
    );
    let s = read_sizes(&mut mc, true).await;
    let notes = s.notes.join("\n");
    assert!(
        notes.contains("binary logs not listed") && notes.contains("BINLOG MONITOR"),
        "{notes}"
    );
    mc.close().await;
    // As root, a heartbeat table that does not exist is called that, not a privilege problem.
    let (mut root, _rx2) = open(&instance("root", &sb)).await;
    let r = read_replication(&mut root, Some("percona.heartbeat")).await;
    let notes = r.notes.join("\n");
    assert!(notes.contains("the table does not exist"), "{notes}");
    root.close().await;
}
