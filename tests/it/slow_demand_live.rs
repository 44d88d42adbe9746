//! At fleet size (more than `ALWAYS_READ_UP_TO` instances) the slow-SQL sources read only what the
//! Slow SQL pane shows: against a real sandbox, no reports and no second connection per instance
//! until the pane asks, then the selected instance only, then every one, then none again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arkc::backend::slow::report::{SlowCommand, SlowDemand, SlowUpdate};
use arkc::backend::slow::sources::ALWAYS_READ_UP_TO;
use arkc::backend::{self, BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc::{self, UnboundedReceiver};

const N: usize = ALWAYS_READ_UP_TO + 8;

/// Sessions of the server's root user other than the one counting them.
fn root_sessions(sb: &Sandbox) -> usize {
    let out = sb
        .exec_sql("SELECT COUNT(*) - 1 FROM information_schema.PROCESSLIST WHERE USER = 'root'")
        .expect("count sessions");
    out.trim().parse().expect("a count")
}

async fn wait_sessions(sb: &Sandbox, what: &str, ok: impl Fn(usize) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = root_sessions(sb);
        if ok(n) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {n} sessions"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Instances that sent a slow-SQL report within `window`.
async fn reporters(rx: &mut UnboundedReceiver<BackendEvent>, window: Duration) -> HashSet<String> {
    let mut seen = HashSet::new();
    let until = tokio::time::Instant::now() + window;
    while let Ok(Some(event)) = tokio::time::timeout_at(until, rx.recv()).await {
        if let BackendEvent::Slow(SlowUpdate::Report(r)) = event {
            seen.insert(r.instance);
        }
    }
    seen
}

/// Instances that sent a slow-SQL report until `awaited` did; fails after `deadline` without it.
async fn reporters_until(
    rx: &mut UnboundedReceiver<BackendEvent>,
    awaited: &str,
    deadline: Duration,
) -> HashSet<String> {
    let mut seen = HashSet::new();
    let until = tokio::time::Instant::now() + deadline;
    while !seen.contains(awaited) {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(BackendEvent::Slow(SlowUpdate::Report(r)))) => {
                seen.insert(r.instance);
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("backend closed its channel; reports from {seen:?}"),
            Err(_) => panic!("no report from {awaited} within {deadline:?}; reports from {seen:?}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fleet_reads_slow_sql_only_for_what_the_pane_shows() {
    let sb = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "demand".into(),
            ..SandboxOptions::default()
        })
        .unwrap()
    })
    .await
    .unwrap();
    let tracking = tempfile::tempdir().unwrap();
    let instances = (0..N)
        .map(|i| InstanceConfig::tcp(&format!("s{i:02}"), "127.0.0.1", sb.port()))
        .collect();
    let mut config = Config {
        instances,
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let slow = backend::SlowSqlOptions {
        tracking_path: Some(tracking.path().join("tracking.db")),
    };
    let handle = backend::spawn_with(Arc::new(config), tx, Some(slow));

    // Health polls only: one connection per instance, and no slow-SQL reads.
    wait_sessions(&sb, "one session per instance", |n| n == N).await;
    let none = reporters(&mut rx, Duration::from_secs(2)).await;
    assert!(none.is_empty(), "nobody asked: {none:?}");
    assert_eq!(root_sessions(&sb), N, "no second connection");

    let demand = |d: SlowDemand| BackendCommand::Slow(SlowCommand::Demand(d));
    handle.send(demand(SlowDemand::Instance("s07".into())));
    // Until the selected instance reports (however long a loaded machine takes), and nobody else.
    let mut one = reporters_until(&mut rx, "s07", Duration::from_secs(60)).await;
    // And a while after it, still nobody else (a wait that can only find a wrong reporter).
    one.extend(reporters(&mut rx, Duration::from_secs(2)).await);
    assert_eq!(one, HashSet::from(["s07".to_string()]));

    handle.send(demand(SlowDemand::Everything));
    wait_sessions(&sb, "a slow-SQL session per instance", |n| n == 2 * N).await;

    handle.send(demand(SlowDemand::Nothing));
    wait_sessions(&sb, "slow-SQL sessions closed", |n| n == N).await;
    handle.shutdown().await;
}
