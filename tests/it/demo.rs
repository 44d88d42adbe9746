//! `arkc demo` and its workload, against real sandbox servers.

use std::process::Command;
use std::time::Duration;

use arkc::backend::demo::workload::{Workload, WorkloadOptions};
use arkc::config::InstanceConfig;
use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::wait;

fn count(sb: &Sandbox, sql: &str) -> u64 {
    sb.exec_sql(sql).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_commits_transactions_and_feeds_the_slow_log() {
    let sb = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "workload".into(),
            extra_args: vec!["--log-queries-not-using-indexes=ON".into()],
            ..SandboxOptions::default()
        })
    })
    .await
    .unwrap()
    .unwrap();
    let schema = sb.create_schema("shop").unwrap();
    let target = InstanceConfig::tcp("w", "127.0.0.1", sb.port());
    let opts = WorkloadOptions {
        schema: schema.clone(),
        seed: 7,
        tps: 40.0,
        customers: 300,
        orders: 3_000,
    };
    let workload = Workload::start(target, opts).await.unwrap();
    assert_eq!(
        count(&sb, &format!("SELECT COUNT(*) FROM `{schema}`.customers")),
        300
    );
    let stats = workload.stats.clone();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    // Run until 20 commits, a bulk update and an index-less read in the slow log (about 4 s at
    // 40 tps; a loaded machine takes longer).
    let slow_log = || std::fs::read_to_string(sb.slow_log_path()).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + wait::DEADLINE;
    while load(&stats.commits) < 20
        || load(&stats.bulk_updates) < 1
        || !slow_log().contains("LIKE '%")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not 20 commits, a bulk update and a LIKE '% read within {:?}: {}",
            wait::DEADLINE,
            stats.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workload.stop().await;

    let commits = load(&stats.commits);
    assert!(commits >= 20, "{}", stats.summary());
    assert_eq!(load(&stats.errors), 0, "{}", stats.summary());
    assert!(load(&stats.bulk_updates) >= 1, "{}", stats.summary());
    let web_orders = count(
        &sb,
        &format!("SELECT COUNT(*) FROM `{schema}`.orders WHERE note = 'web order'"),
    );
    // Each commit inserted one; rolled-back inserts never show; a few may have been delivered and deleted.
    assert!(
        web_orders <= commits && web_orders > 0,
        "{web_orders} web orders for {commits} commits"
    );
    let slow = wait::wait_for_file_containing(&sb.slow_log_path(), &["LIKE '%"], wait::DEADLINE);
    assert!(
        slow.contains("LIKE '%"),
        "no index-less read in the slow log:\n{slow}"
    );
}

#[test]
fn demo_without_mariadb_says_what_to_install() {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["demo", "--no-ui"])
        .env("ARKC_MARIADB_BIN", "/nonexistent-arkc-test-dir")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("apt-get install mariadb-server mariadb-client"),
        "{stderr}"
    );
    assert!(stderr.contains("`mariadbd` is not installed"), "{stderr}");
}

#[test]
fn demo_no_ui_shows_live_figures_and_stops_its_servers() {
    let state = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["demo", "--no-ui", "--duration", "6s", "--seed", "3"])
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let config = std::fs::read_to_string(state.path().join("arkc/demo/config.toml")).unwrap();
    let parsed = arkc::config::Config::parse(&config, std::path::Path::new("demo.toml")).unwrap();
    let names: Vec<&str> = parsed.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["demo-primary", "demo-replica"]);

    let primary_rows: Vec<&str> = stdout
        .lines()
        // "slow" answered too (past 1 s, which a loaded machine can make); same columns.
        .filter(|l| l.contains("demo-primary") && (l.contains(" up ") || l.contains(" slow ")))
        .collect();
    assert!(primary_rows.len() >= 3, "{stdout}");
    // After the first sample the primary shows a write rate from the workload.
    let last = primary_rows.last().unwrap();
    let tps = last
        .split_whitespace()
        .nth(6)
        .and_then(|t| t.parse::<f64>().ok());
    assert!(
        tps.is_some_and(|t| t > 1.0),
        "TPS column of {last:?}\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("demo-replica") && l.contains("replica io=yes sql=yes")),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("workload:"))
        .unwrap();
    assert!(!summary.contains(" 0 commits"), "{summary}");

    // Stopped: no process of its directory runs (its port, freed, may already be another
    // test's server's).
    for inst in &parsed.instances {
        let root = inst.binlog_dir.as_ref().unwrap().parent().unwrap();
        let running = crate::support::procs::processes_naming(root);
        assert!(running.is_empty(), "still running: {running:?}");
        assert!(!root.exists(), "{} left behind", root.display());
    }
}
