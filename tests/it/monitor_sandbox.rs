//! The monitoring center's headless twins against real sandbox MariaDB servers: lock chains and
//! their root blocker, killing it, metadata lock waits, a real deadlock, replication and
//! instance-down alerts, and the new `arkc health --once` figures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;
use serde_json::Value;

use crate::support::cli::arkc;
use crate::support::ports::refused_port;
use crate::support::sessions::{deadlock, lock_chain, session, Deadlock, LockChain};
use crate::support::wait::DEADLINE;

fn opts(name: &str) -> SandboxOptions {
    SandboxOptions {
        name: name.into(),
        ..SandboxOptions::default()
    }
}

/// A config file naming `instances` (name, port) as root with an empty password, plus `extra`.
fn write_config(dir: &Path, instances: &[(&str, u16)], extra: &str) -> PathBuf {
    let mut text = String::new();
    for (name, port) in instances {
        text.push_str(&format!(
            "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\npassword = \"\"\n\n"
        ));
    }
    // The test machine's own free space is not under test (a full CI disk would fire disk_low).
    if !extra.contains("[alerts.disk_low]") {
        text.push_str("[alerts.disk_low]\nenabled = false\n\n");
    }
    text.push_str(extra);
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Run `arkc ARGS` until its JSON satisfies `pred`, failing after `timeout` with the last output.
fn arkc_until(
    config: &Path,
    args: &[&str],
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let out = arkc(config, args);
        let value = json_of(&out);
        if pred(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}; last output:\n{value:#}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start(name: &str) -> Sandbox {
    Sandbox::start(opts(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_session_chain_names_the_root_blocker_and_killing_it_frees_both() {
    let sb = tokio::task::spawn_blocking(|| start("locks"))
        .await
        .unwrap();
    sb.exec_sql(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO shop.t VALUES (1,1),(2,2),(3,3);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("db", sb.port())], "");

    let LockChain {
        mut a,
        a_id,
        b_id,
        c_id,
        b_task,
        c_task,
    } = lock_chain(sb.port(), "shop.t", 120).await;

    let cfg = config.clone();
    let report = tokio::task::spawn_blocking(move || {
        arkc_until(
            &cfg,
            &["locks", "--instance", "db", "--format", "json"],
            DEADLINE,
            |v| v["waits"].as_array().is_some_and(|w| w.len() == 2),
        )
    })
    .await
    .unwrap();
    let waits = report["waits"].as_array().unwrap();
    let of = |id: u64| waits.iter().find(|w| w["waiting_id"] == id).unwrap();
    assert_eq!(of(c_id)["blocking_id"], b_id, "{report:#}");
    assert_eq!(of(c_id)["root_blocker_id"], a_id, "{report:#}");
    assert_eq!(of(b_id)["root_blocker_id"], a_id, "{report:#}");
    assert_eq!(of(c_id)["table"], "`shop`.`t`");
    assert_eq!(
        of(c_id)["waiting_query"],
        "UPDATE shop.t SET v = 30 WHERE id = 2"
    );
    assert_eq!(report["root_blockers"][0]["id"], a_id);
    assert_eq!(report["root_blockers"][0]["blocked_sessions"], 2);

    // Read-only refuses and sends nothing: A still holds its lock.
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config)
        .args(["--read-only", "kill", "--instance", "db", &a_id.to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{out:?}"
    );
    let still: Vec<u64> = a.query("SELECT CONNECTION_ID()").await.unwrap();
    assert_eq!(still, vec![a_id]);
    assert!(!b_task.is_finished() && !c_task.is_finished());

    let out = arkc(&config, &["kill", "--instance", "db", &a_id.to_string()]);
    assert!(out.status.success(), "{out:?}");
    let freed = tokio::time::timeout(DEADLINE, async {
        (b_task.await.unwrap(), c_task.await.unwrap())
    })
    .await
    .expect("B and C finish once A is killed");
    assert!(freed.0.is_ok() && freed.1.is_ok(), "{freed:?}");
    let cfg = config.clone();
    tokio::task::spawn_blocking(move || {
        arkc_until(
            &cfg,
            &["locks", "--instance", "db", "--format", "json"],
            DEADLINE,
            |v| v["waits"] == Value::Array(vec![]),
        )
    })
    .await
    .unwrap();
    assert!(
        a.query_drop("SELECT 1").await.is_err(),
        "A's session is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_lock_wait_names_its_holder_once_the_plugin_is_loaded() {
    let sb = tokio::task::spawn_blocking(|| start("mdl")).await.unwrap();
    sb.exec_sql(
        "CREATE DATABASE shop; CREATE TABLE shop.m (id INT PRIMARY KEY) ENGINE=InnoDB; \
         INSERT INTO shop.m VALUES (1);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("db", sb.port())], "");
    let (mut holder, holder_id) = session(sb.port()).await;
    holder.query_drop("BEGIN").await.unwrap();
    let _: Vec<u64> = holder.query("SELECT id FROM shop.m").await.unwrap();
    let (mut alter, alter_id) = session(sb.port()).await;
    alter
        .query_drop("SET SESSION lock_wait_timeout = 120")
        .await
        .unwrap();
    let alter_task = tokio::spawn(async move {
        alter
            .query_drop("ALTER TABLE shop.m ADD COLUMN c INT")
            .await
    });

    let cfg = config.clone();
    let args = ["locks", "--instance", "db", "--format", "json"];
    let without = tokio::task::spawn_blocking(move || {
        arkc_until(&cfg, &args, DEADLINE, |v| {
            v["metadata_waits"]
                .as_array()
                .is_some_and(|w| !w.is_empty())
        })
    })
    .await
    .unwrap();
    let wait = &without["metadata_waits"][0];
    assert_eq!(wait["waiting_id"], alter_id);
    assert_eq!(wait["waiting_query"], "ALTER TABLE shop.m ADD COLUMN c INT");
    assert_eq!(wait["blocking_ids"], Value::Array(vec![]));
    let notes = without["notes"].to_string();
    assert!(
        notes.contains("INSTALL SONAME 'metadata_lock_info'"),
        "{without:#}"
    );

    sb.exec_sql("INSTALL SONAME 'metadata_lock_info'").unwrap();
    let with = json_of(&arkc(&config, &args));
    assert_eq!(
        with["metadata_waits"][0]["blocking_ids"][0], holder_id,
        "{with:#}"
    );
    assert_eq!(with["metadata_waits"][0]["table"], "`shop`.`m`");

    holder.query_drop("ROLLBACK").await.unwrap();
    let done = tokio::time::timeout(DEADLINE, alter_task).await;
    assert!(done.expect("ALTER finishes").unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_parsed() {
    let sb = tokio::task::spawn_blocking(|| start("deadlock"))
        .await
        .unwrap();
    sb.exec_sql(
        "CREATE DATABASE shop; CREATE TABLE shop.d (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO shop.d VALUES (1,1),(2,2);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("db", sb.port())], "");
    let Deadlock {
        x_id,
        y_id,
        y_rolled_back,
    } = deadlock(
        sb.port(),
        "shop.d",
        ["v = 10", "v = 20", "v = 11", "v = 21"],
    )
    .await;

    let report = json_of(&arkc(
        &config,
        &["locks", "--instance", "db", "--format", "json"],
    ));
    let d = &report["deadlock"];
    let trx = d["transactions"].as_array().expect("a deadlock");
    assert_eq!(trx.len(), 2, "{report:#}");
    let ids: Vec<u64> = trx
        .iter()
        .map(|t| t["connection_id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&x_id) && ids.contains(&y_id), "{ids:?}");
    let victim = trx.iter().find(|t| t["rolled_back"] == true).unwrap();
    let victim_id = victim["connection_id"].as_u64().unwrap();
    assert_eq!(victim_id == y_id, y_rolled_back, "{report:#}");
    assert!(trx.iter().all(|t| t["waiting_table"] == "`shop`.`d`"));
    assert!(d["at"].as_str().unwrap().len() >= 19);
}

/// Lines of a long-running `arkc health --format json` child, read on a thread.
struct HealthStream {
    child: Child,
    lines: std_mpsc::Receiver<String>,
}

impl HealthStream {
    fn start(config: &Path) -> HealthStream {
        let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
            .arg("--config")
            .arg(config)
            .args(["health", "--format", "json", "--interval", "300ms"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        HealthStream { child, lines }
    }

    /// The first line for `instance` whose alert `rule` is in `state`.
    fn wait_alert(&self, instance: &str, rule: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                panic!("no `{rule}` {state} for {instance} within {timeout:?}; last line: {last}");
            };
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["instance"] != instance {
                continue;
            }
            let hit = v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["rule"] == rule && a["state"] == state);
            if hit {
                return v;
            }
            last = v;
        }
    }
}

impl Drop for HealthStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stopped_sql_thread_fires_and_resolves_replication_sql_stopped() {
    let primary = start("alp");
    let replica = Sandbox::start_replica_of(&primary, opts("alr")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("primary", primary.port()), ("replica", replica.port())],
        "",
    );
    let stream = HealthStream::start(&config);
    let ten = DEADLINE; // generous: each wait is on a condition
                        // Healthy first: no replication alert while both threads run.
    let first = stream.wait_alert_free("replica", ten);
    assert!(first["replication"]["sql_running"] == true, "{first}");
    replica.exec_sql("STOP SLAVE SQL_THREAD").unwrap();
    let fired = stream.wait_alert("replica", "replication_sql_stopped", "firing", ten);
    let alert = fired["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "replication_sql_stopped")
        .unwrap()
        .clone();
    assert_eq!(alert["severity"], "critical");
    assert!(alert["since"].as_str().unwrap().contains('T'));
    replica.exec_sql("START SLAVE SQL_THREAD").unwrap();
    stream.wait_alert("replica", "replication_sql_stopped", "resolved", ten);
}

impl HealthStream {
    /// The first line for `instance` that is up with no alert but `restarted`.
    fn wait_alert_free(&self, instance: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{instance} never reported without alerts"));
            let v: Value = serde_json::from_str(&line).unwrap();
            // A fresh sandbox fires `restarted` (uptime < 60 s) for its first minute.
            let quiet = v["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().all(|a| a["rule"] == "restarted"));
            if v["instance"] == instance && v["status"] == "up" && quiet {
                return v;
            }
        }
    }
}

#[test]
fn sigstopped_instance_fires_instance_down_and_recovers() {
    let sb = start("sigstop");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("db", sb.port())], "");
    let pid = sb.pid().unwrap();
    let stream = HealthStream::start(&config);
    stream.wait_alert_free("db", DEADLINE);
    // SAFETY: signalling our own child server.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let down = stream.wait_alert("db", "instance_down", "firing", DEADLINE);
    unsafe { libc::kill(pid, libc::SIGCONT) };
    assert_eq!(down["status"], "down");
    stream.wait_alert("db", "instance_down", "resolved", DEADLINE * 2);
}

#[test]
fn health_once_reports_innodb_disk_backup_and_pending_alerts() {
    let sb = start("hmon");
    let dir = tempfile::tempdir().unwrap();
    let dead = refused_port();
    // connections_high at 0 % so it is surely true; its `for` keeps it pending in --once.
    // The baseline wants sync_binlog = 1; the sandbox runs with 0.
    std::fs::write(
        dir.path().join("baseline.toml"),
        "sync_binlog = 1\nlog_bin = \"ON\"\n",
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        &[("db", sb.port()), ("dead", dead)],
        "[alerts.connections_high]\nthreshold = 0\nfor = \"5m\"\n\n[parameters]\nbaseline = \"baseline.toml\"\n",
    );
    let out = arkc(
        &config,
        &[
            "health",
            "--once",
            "--format",
            "json",
            "--interval",
            "500ms",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let rows = json_of(&out);
    let db = &rows[0];
    let innodb = &db["innodb"];
    let hit = innodb["buffer_pool_hit_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&hit), "{db:#}");
    assert!(innodb["dirty_pages_pct"].as_f64().is_some());
    assert!(innodb["history_list_length"].as_u64().is_some());
    let ckpt = innodb["checkpoint_age_pct"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&ckpt), "{db:#}");
    assert!(innodb["row_lock_waits"].as_u64().is_some());
    assert!(innodb["deadlocks"].as_u64().is_some());
    let free = db["disk"]["datadir_free_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&free));
    assert!(db["disk"]["binlog_bytes"].as_u64().unwrap() > 0, "{db:#}");
    assert!(db["backup"].is_null());
    let alerts: Vec<&Value> = db["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rule"] != "restarted")
        .collect();
    assert_eq!(alerts.len(), 2, "{db:#}");
    let drift = alerts
        .iter()
        .find(|a| a["rule"] == "parameter_drift")
        .expect("drift");
    assert_eq!(drift["state"], "firing");
    assert!(
        drift["summary"]
            .as_str()
            .unwrap()
            .ends_with(": sync_binlog"),
        "{drift}"
    );
    let alerts: Vec<&Value> = alerts
        .into_iter()
        .filter(|a| a["rule"] != "parameter_drift")
        .collect();
    let restarted = db["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "restarted");
    assert_eq!(restarted.expect("a fresh server")["state"], "firing");
    assert_eq!(alerts[0]["rule"], "connections_high");
    assert_eq!(alerts[0]["state"], "pending");
    assert_eq!(alerts[0]["severity"], "warning");

    // The polls' own statements stay out of performance_schema's digests; a client's do not.
    let digest_count = || {
        sb.exec_sql(
            "SELECT COUNT(*) FROM performance_schema.events_statements_summary_by_digest \
             WHERE DIGEST_TEXT LIKE 'SHOW GLOBAL STATUS%'",
        )
        .unwrap()
        .trim()
        .to_string()
    };
    assert_eq!(digest_count(), "0");
    sb.exec_sql("SHOW GLOBAL STATUS").unwrap();
    assert_eq!(
        digest_count(),
        "1",
        "control: an instrumented session is counted"
    );

    let dead_row = &rows[1];
    assert_eq!(dead_row["status"], "down");
    assert!(dead_row["innodb"].is_null() && dead_row["disk"].is_null());
    assert_eq!(dead_row["alerts"][0]["rule"], "instance_down");
    assert_eq!(dead_row["alerts"][0]["state"], "firing");
}

#[test]
fn processlist_shows_transaction_age_and_rows_locked() {
    let sb = start("plist");
    sb.exec_sql(
        "CREATE DATABASE shop; CREATE TABLE shop.p (id INT PRIMARY KEY) ENGINE=InnoDB; \
         INSERT INTO shop.p VALUES (1),(2),(3);",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("db", sb.port())], "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut open_trx, id) = rt.block_on(session(sb.port()));
    rt.block_on(async {
        open_trx.query_drop("BEGIN").await.unwrap();
        open_trx
            .query_drop("UPDATE shop.p SET id = id + 10 WHERE id = 3")
            .await
            .unwrap();
    });
    let rows = json_of(&arkc(
        &config,
        &["processlist", "--instance", "db", "--format", "json"],
    ));
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("session {id} listed: {rows:#}"));
    assert_eq!(row["user"], "root");
    assert_eq!(row["command"], "Sleep");
    assert!(row["trx_age_s"].as_u64().is_some(), "{row}");
    assert!(row["rows_locked"].as_u64().unwrap() >= 1, "{row}");
    // arkc's own session is not listed.
    assert!(rows.as_array().unwrap().iter().all(|r| !r["info"]
        .as_str()
        .unwrap_or("")
        .contains("information_schema.PROCESSLIST")));
    let table = arkc(&config, &["processlist", "--instance", "db"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("TRX_AGE"));
}
