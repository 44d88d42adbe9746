//! The console's backend hands poll results and poll statements over in batches: every
//! instance's results arrive, with the statements that read them, in far fewer events than
//! results (one wake-up of the UI loop per batch instead of one per result and per statement).

use std::sync::Arc;
use std::time::Duration;

use arkc::backend::health::outbox::BATCH_EVERY;
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
    // From before the backend starts: every batch counted falls inside the window.
    let started = tokio::time::Instant::now();
    let handle = backend::spawn_batched(Arc::new(config), events, None);
    let (mut batches, mut results, mut status_reads, mut single) = (0, 0, 0, 0);
    let mut up = std::collections::HashSet::new();
    // Until every instance is up and 200 results are in (about 2 s of 20 instances every 200 ms
    // on a quiet machine; a loaded one polls later, so this waits on the count, not a window).
    let deadline = started + Duration::from_secs(120);
    while up.len() < 20 || results < 200 {
        let Ok(event) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            panic!(
                "{results} results, {} up, within {:?}",
                up.len(),
                started.elapsed()
            );
        };
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
    let window = started.elapsed();
    handle.shutdown().await;
    drop(server);
    assert_eq!(up.len(), 20, "every instance up: {up:?}");
    assert_eq!(single, 0, "no result or poll statement one event each");
    assert!(
        status_reads >= results / 2,
        "{status_reads} status reads for {results} results"
    );
    // At most one batch per BATCH_EVERY (a few more for the edges of the window): results
    // travel together, not one event each. A slower machine only makes fewer batches.
    let most = window.as_millis() / BATCH_EVERY.as_millis() + 5;
    assert!(
        batches as u128 <= most,
        "{batches} batches for {results} results in {window:?}"
    );
}
