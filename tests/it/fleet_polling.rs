//! The bounded fleet poller against real sandboxes: many entries per server all reported up by
//! `arkc health --once`, and a frozen (SIGSTOPped) server reported down while the others stay up.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::Status;
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

use crate::support::wait::answered;

fn start(names: &[&str]) -> Vec<Sandbox> {
    let handles: Vec<_> = names
        .iter()
        .map(|n| {
            let name = n.to_string();
            std::thread::spawn(move || {
                Sandbox::start(SandboxOptions {
                    name,
                    ..SandboxOptions::default()
                })
                .unwrap()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn health_once_over_200_entries_on_three_sandboxes_reports_every_one_up() {
    let servers = start(&["fa", "fb", "fc"]);
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    let mut toml = String::new();
    for i in 0..200 {
        let port = servers[i % 3].port();
        toml.push_str(&format!(
            "[[instance]]\nname = \"e{i:03}\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\npassword = \"\"\n\n"
        ));
    }
    std::fs::write(&config_path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config_path)
        .args(["health", "--once", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 200);
    // Every one answered: "slow" (past 1 s) is an answer too, and 200 polls on a loaded machine
    // can make one.
    let not_up: Vec<_> = rows
        .iter()
        .filter(|r| !r["status"].as_str().is_some_and(answered))
        .collect();
    assert!(not_up.is_empty(), "{} not up: {not_up:?}", not_up.len());
    assert!(rows.iter().all(|r| r["qps"].as_f64().is_some()));
    assert_eq!(out.status.code(), Some(0));
}

/// Resumes a stopped server even when the test fails, so its sandbox can shut down.
struct Frozen(i32);

impl Drop for Frozen {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_reported_down_and_the_others_stay_up() {
    let servers = tokio::task::spawn_blocking(|| start(&["warm", "frozen"]))
        .await
        .unwrap();
    let mut instances = Vec::new();
    for i in 0..10 {
        instances.push(InstanceConfig::tcp(
            &format!("warm{i}"),
            "127.0.0.1",
            servers[0].port(),
        ));
        instances.push(InstanceConfig::tcp(
            &format!("frozen{i}"),
            "127.0.0.1",
            servers[1].port(),
        ));
    }
    let mut config = Config {
        instances,
        ..Config::default()
    };
    config.ui.refresh_ms = 500;
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn(Arc::new(config), events);
    let mut latest = std::collections::HashMap::new();
    // Every instance up once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while latest.len() < 20 || latest.values().any(|s| *s != Status::Up) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Health(h))) => {
                latest.insert(h.instance.clone(), h.status);
            }
            Ok(Some(_)) => {}
            other => panic!("not all up: {latest:?} ({other:?})"),
        }
    }

    let pid = servers[1].pid().expect("the sandbox's pid");
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let frozen = Frozen(pid);
    // Each frozen entry turns down (silent past its own timeout); the warm ones keep answering.
    let mut down = std::collections::HashSet::new();
    let mut warm_results = 0;
    // Until every frozen one is down and the warm server has been polled twice over meanwhile
    // (counted, not timed: a loaded machine polls less often).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while down.len() < 10 || warm_results < 20 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Health(h))) => {
                if h.instance.starts_with("warm") {
                    // Answering: "slow" is an answer past 1 s, which a loaded machine can make.
                    assert!(matches!(h.status, Status::Up | Status::Slow), "{h:?}");
                    warm_results += 1;
                } else if h.status == Status::Down {
                    let error = h.error.clone().unwrap_or_default();
                    assert!(error.contains("no answer"), "{error}");
                    down.insert(h.instance.clone());
                }
            }
            Ok(Some(_)) => {}
            other => {
                panic!("frozen ones down so far: {down:?}, warm results {warm_results} ({other:?})")
            }
        }
    }
    assert!(
        warm_results >= 20,
        "the warm server kept being polled: {warm_results}"
    );

    // Thawed, they come back (after their backoff).
    drop(frozen);
    let mut back = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while back.len() < 10 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(BackendEvent::Health(h))) => {
                if h.instance.starts_with("frozen") && h.status != Status::Down {
                    back.insert(h.instance.clone());
                }
            }
            Ok(Some(_)) => {}
            other => panic!("back so far: {back:?} ({other:?})"),
        }
    }
    handle.shutdown().await;
    drop(servers);
}
