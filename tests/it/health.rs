//! Health polling against real sandbox servers: the backend's pollers and `arkc health --once`.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use arkc::backend::{self, BackendCommand, BackendEvent, InstancePoller};
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Status};
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

use crate::support::ports::refused_port;
use crate::support::wait::DEADLINE;

/// Longer than any deadline of the product's own: past it, a poll is hung, not slow.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn opts(name: &str) -> SandboxOptions {
    SandboxOptions {
        name: name.into(),
        ..SandboxOptions::default()
    }
}

fn instance(name: &str, sb: &Sandbox) -> InstanceConfig {
    InstanceConfig::tcp(name, "127.0.0.1", sb.port())
}

fn config_with(instances: Vec<InstanceConfig>, refresh_ms: u64) -> Config {
    let mut config = Config {
        instances,
        ..Config::default()
    };
    config.ui.refresh_ms = refresh_ms;
    config
}

#[test]
fn health_once_json_reports_two_up_and_one_down() {
    let primary = Sandbox::start(opts("hp")).unwrap();
    let replica = Sandbox::start_replica_of(&primary, opts("hr")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    let dead = refused_port();
    let toml = format!(
        "[[instance]]\nname = \"primary\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [[instance]]\nname = \"replica\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [[instance]]\nname = \"dead\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
        primary.port(),
        replica.port(),
        dead
    );
    std::fs::write(&config_path, toml).unwrap();

    // A dead instance must not hold the others up: every row comes back, the dead one "down".
    // How fast is for the benchmarks; a hang still fails here (the output never arrives).
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config_path)
        .args(["health", "--once", "--format", "json", "--interval", "1s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "some instance down => 3\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (row, name) in rows[..2].iter().zip(["primary", "replica"]) {
        assert_eq!(row["instance"], name);
        // Answered: "slow" is a poll answered past 1 s, which a loaded machine can make.
        assert!(row["status"] == "up" || row["status"] == "slow", "{row}");
        assert!(row["error"].is_null());
        assert!(row["version"].as_str().unwrap().contains("MariaDB"));
        assert!(row["uptime_s"].as_u64().is_some());
        // Our own polling statements alone make Questions move.
        assert!(row["qps"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["tps"].as_f64().is_some(), "{row}");
        assert!(row["threads_connected"].as_u64().unwrap() >= 1);
        assert!(row["threads_running"].as_u64().unwrap() >= 1);
        assert_eq!(row["max_connections"], 200);
    }
    assert!(rows[0]["replication"].is_null());
    let repl = &rows[1]["replication"];
    assert_eq!(repl["role"], "replica");
    assert_eq!(repl["io_running"], true);
    assert_eq!(repl["sql_running"], true);
    assert!(repl["lag_s"].as_u64().is_some(), "{repl}");

    assert_eq!(rows[2]["instance"], "dead");
    assert_eq!(rows[2]["status"], "down");
    assert!(
        rows[2]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{}",
        rows[2]
    );
    assert!(rows[2]["qps"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tps_counts_commits_between_polls() {
    let sb = tokio::task::spawn_blocking(|| Sandbox::start(opts("tps")))
        .await
        .unwrap()
        .unwrap();
    let (events, mut rx) = mpsc::unbounded_channel();
    let mut poller = InstancePoller::new(instance("tps", &sb), events);
    let first = poller.poll().await;
    assert_eq!(first.status, Status::Up, "{first:?}");
    assert_eq!(first.qps, None, "one sample has no rate");
    let schema = sb.create_schema("tps").unwrap();
    let mut sql = format!("CREATE TABLE `{schema}`.t (id INT PRIMARY KEY);");
    for i in 0..7 {
        sql.push_str(&format!(
            "BEGIN; INSERT INTO `{schema}`.t VALUES ({i}); COMMIT;"
        ));
    }
    sql.push_str(
        "BEGIN; INSERT INTO `{schema}`.t VALUES (99); ROLLBACK;"
            .replace("{schema}", &schema)
            .as_str(),
    );
    sb.exec_sql(&sql).unwrap();
    let second = poller.poll().await;
    let dt = (second.sampled_at - first.sampled_at).num_milliseconds() as f64 / 1000.0;
    let transactions = second.tps.unwrap() * dt;
    assert!(
        (transactions - 8.0).abs() < 0.05,
        "7 commits + 1 rollback, got {transactions}"
    );
    assert!(
        second.qps.unwrap() * dt >= 20.0,
        "at least the 20 statements sent"
    );
    poller.close().await;

    let mut sent = Vec::new();
    while let Ok(BackendEvent::SqlSent(e)) = rx.try_recv() {
        sent.push(e.sql);
    }
    // Only the counters the views need, not the server's 500 rows.
    assert!(
        sent.iter()
            .any(|s| s.starts_with("SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime'")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|s| s == "SHOW GLOBAL STATUS"), "{sent:?}");
    assert!(
        sent.iter().any(|s| s == "SHOW ALL SLAVES STATUS"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn hung_server_is_down_within_the_budget() {
    // Accepts TCP connections and never says a word: a hung server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let (events, _rx) = mpsc::unbounded_channel();
    let mut poller = InstancePoller::new(InstanceConfig::tcp("hung", "127.0.0.1", port), events);
    // Without the poll's own deadline a hung server holds the poll forever: the guard here only
    // turns that hang into a failure (generous: how fast the budget fires is not the claim;
    // the "within" in the error says the budget, not the guard, ended the poll).
    let h = tokio::time::timeout(HANG_GUARD, poller.poll())
        .await
        .expect("the poll never gave up on a hung server");
    assert_eq!(h.status, Status::Down);
    assert!(h.error.as_deref().unwrap().contains("within"), "{h:?}");
}

/// Waits for the next health event matching `pred`, failing after `timeout`.
async fn next_health(
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    timeout: Duration,
    pred: impl Fn(&InstanceHealth) -> bool,
) -> InstanceHealth {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Health(h))) if pred(&h) => return h,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("backend closed its channel"),
            Err(_) => panic!("no matching health event within {timeout:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_stopped_mid_run_turns_down_while_the_other_keeps_reporting() {
    let (a, mut b) = tokio::task::spawn_blocking(|| {
        (
            Sandbox::start(opts("live")).unwrap(),
            Sandbox::start(opts("dies")).unwrap(),
        )
    })
    .await
    .unwrap();
    let config = config_with(vec![instance("live", &a), instance("dies", &b)], 200);
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn(Arc::new(config), events);
    next_health(&mut rx, DEADLINE, |h| {
        h.instance == "live" && h.status == Status::Up
    })
    .await;
    next_health(&mut rx, DEADLINE, |h| {
        h.instance == "dies" && h.status == Status::Up && h.qps.is_some()
    })
    .await;

    tokio::task::spawn_blocking(move || b.stop().unwrap())
        .await
        .unwrap();
    let down = next_health(&mut rx, DEADLINE, |h| {
        h.instance == "dies" && h.status == Status::Down
    })
    .await;
    assert!(down.error.is_some());
    for _ in 0..3 {
        let h = next_health(&mut rx, DEADLINE, |h| h.instance == "live").await;
        // Answering is the claim; "slow" (a poll answered past 1 s on a loaded machine) answers.
        assert!(matches!(h.status, Status::Up | Status::Slow), "{h:?}");
    }

    // A long interval, then RefreshNow: a poll happens at once anyway.
    handle.send(BackendCommand::SetInterval(Duration::from_secs(60)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    while rx.try_recv().is_ok() {}
    handle.send(BackendCommand::RefreshNow);
    // Well inside the 60 s interval: only the refresh can bring this poll.
    next_health(&mut rx, DEADLINE, |h| h.instance == "live").await;
    handle.shutdown().await;
    drop(a);
}
