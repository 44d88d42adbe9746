//! The console's backend hands poll results and poll statements over in batches: every
//! instance's results arrive, with the statements that read them, in far fewer events than
//! results (one wake-up of the UI loop per batch instead of one per result and per statement).

use std::sync::Arc;
use std::time::Duration;

use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::health::Status;
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_poll_statements_arrive_in_batches() {
    let server = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "batched".into(),
            ..SandboxOptions::default()
        })
        .unwrap()
    })
    .await
    .unwrap();
    let instances: Vec<InstanceConfig> = (0..20)
        .map(|i| InstanceConfig::tcp(&format!("b{i:02}"), "127.0.0.1", server.port()))
        .collect();
    let mut config = Config {
        instances,
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::spawn_batched(Arc::new(config), events, None);
    let (mut batches, mut results, mut status_reads, mut single) = (0, 0, 0, 0);
    let mut up = std::collections::HashSet::new();
    let window = Duration::from_secs(4);
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(event) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match event {
            Some(BackendEvent::Polled(batch)) => {
                batches += 1;
                results += batch.health.len();
                status_reads += batch
                    .statements
                    .iter()
                    .filter(|e| e.sql.starts_with("SHOW GLOBAL STATUS"))
                    .count();
                for h in batch.health {
                    if h.status == Status::Up {
                        up.insert(h.instance);
                    }
                }
            }
            Some(BackendEvent::Health(_) | BackendEvent::SqlSent(_)) => single += 1,
            Some(_) => {}
            None => panic!("backend closed its channel"),
        }
    }
    handle.shutdown().await;
    drop(server);
    assert_eq!(up.len(), 20, "every instance up: {up:?}");
    assert_eq!(single, 0, "no result or poll statement one event each");
    // 20 instances every 200 ms for 4 s: about 400 results, at most one batch per 100 ms.
    assert!(results >= 200, "{results} results in {window:?}");
    assert!(
        status_reads >= results / 2,
        "{status_reads} status reads for {results} results"
    );
    assert!(
        batches <= 45,
        "{batches} batches for {results} results in {window:?}"
    );
}
