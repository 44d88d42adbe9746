//! The console on a recording: the replay backend's time cursor feeding `update()`, drawn into
//! ratatui's TestBackend with the REPLAY marker; and `arkc --replay` on a bad file.

use arkc::app::{update, Action, Effect, State};
use arkc::backend::{self, BackendCommand, BackendEvent};
use arkc::config::Config;
use arkc::health::{InstanceHealth, Status};
use arkc::recording::{Frame, Recording, Retention};
use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::mpsc;

use crate::support::wait::DEADLINE;

fn clock(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 14, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn health(name: &str, at: DateTime<Utc>, qps: f64, up: bool) -> InstanceHealth {
    if !up {
        return InstanceHealth::down(name, "Connection refused", at);
    }
    let mut h = InstanceHealth::down(name, "", at);
    h.status = Status::Up;
    h.error = None;
    h.qps = Some(qps);
    h.tps = Some(qps / 10.0);
    h.uptime_s = Some(86_400);
    h.version = Some("10.11.19-MariaDB".into());
    h.read_only = Some(false);
    h
}

/// Three frames a second apart: `orders` goes down in the last one.
fn recording(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("night.arkc");
    let mut rec = Recording::create(&path).unwrap();
    for i in 0..3 {
        let at = clock(i);
        rec.append(
            &Frame {
                at,
                instances: vec![
                    health("billing", at, 100.0 + i as f64, true),
                    health("orders", at, 50.0, i < 2),
                ],
                alerts: Vec::new(),
                details: Vec::new(),
                tags: Default::default(),
            },
            Retention::default(),
        )
        .unwrap();
    }
    path
}

fn screen(state: &State) -> String {
    crate::support::render::screen(state, 100, 16)
}

/// Apply replay events until one shows frame `index`.
async fn until_frame(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    index: usize,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no frame {index} within {DEADLINE:?}; at {:?}",
                    state.replay
                )
            })
            .expect("replay backend stopped");
        let shown = matches!(&event, BackendEvent::Replay(f) if f.position.index == index);
        update(state, Action::Backend(Box::new(event)));
        if shown {
            return;
        }
    }
}

fn send(handle: &backend::BackendHandle, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::SendBackend(command) = e {
            handle.send(command);
        }
    }
}

#[tokio::test]
async fn replay_steps_through_frames_marked_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path());
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::replay::spawn(&path, events).unwrap();
    let mut state = State::new(&Config::default(), false, Utc::now());
    until_frame(&mut state, &mut rx, 0).await;
    update(&mut state, Action::Tick(Utc::now()));
    let first = screen(&state);
    assert!(
        first.contains("REPLAY 2026-12-01 03:14:00 UTC 1/3 paused"),
        "{first}"
    );
    assert!(
        first.contains("billing") && first.contains("orders"),
        "{first}"
    );
    insta::assert_snapshot!("replay_first_frame", first);

    // `.` twice: the last frame, where orders is down; `,` back once.
    let effects = update(&mut state, Action::ReplayStepForward);
    send(&handle, effects);
    until_frame(&mut state, &mut rx, 1).await;
    send(&handle, update(&mut state, Action::ReplayStepForward));
    until_frame(&mut state, &mut rx, 2).await;
    assert_eq!(state.health["orders"].status, Status::Down);
    let last = screen(&state);
    assert!(last.contains("3/3"), "{last}");
    send(&handle, update(&mut state, Action::ReplayStepBack));
    until_frame(&mut state, &mut rx, 1).await;
    assert_eq!(state.health["orders"].status, Status::Up);

    // A minute back from frame 2 lands on the first frame; play runs to the end and stops.
    send(&handle, update(&mut state, Action::ReplaySeekBack));
    until_frame(&mut state, &mut rx, 0).await;
    send(&handle, update(&mut state, Action::ReplayPlay));
    until_frame(&mut state, &mut rx, 2).await;
    assert_eq!(state.health["billing"].qps, Some(102.0));
    handle.send(BackendCommand::Shutdown);
    handle.shutdown().await;
}

#[test]
fn replay_keys_outside_a_replay_say_how_to_start_one() {
    let mut state = State::new(&Config::default(), false, Utc::now());
    let effects = update(&mut state, Action::ReplayPlay);
    assert!(effects.is_empty());
    let message = state.message.as_ref().unwrap().text.clone();
    assert!(message.contains("arkc --replay FILE"), "{message}");
}

#[test]
fn console_on_a_file_that_is_no_recording_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "hello ".repeat(100)).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--replay")
        .arg(&bogus)
        .env("ARKC_CONFIG", &config)
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not an arkc recording"),
        "{err}"
    );
}

/// Views whose reads a recording does not hold say so, rather than waiting or showing live data.
#[tokio::test]
async fn replayed_views_without_recorded_reads_say_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path());
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::replay::spawn(&path, events).unwrap();
    let mut state = State::new(&Config::default(), false, Utc::now());
    until_frame(&mut state, &mut rx, 0).await;
    for (key, kind) in [
        (Action::HealthReplication, "replication"),
        (Action::HealthDisk, "sizes"),
        (Action::HealthParameters, "parameters"),
        (Action::HealthBackup, "backups"),
    ] {
        state.health_pane.monitor.view_error = None;
        send(&handle, update(&mut state, key));
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while state.health_pane.monitor.view_error.is_none() {
            let event = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no answer for {kind}"))
                .unwrap();
            update(&mut state, Action::Backend(Box::new(event)));
        }
        let (_, error) = state.health_pane.monitor.view_error.clone().unwrap();
        assert!(
            error.starts_with(&format!(
                "not recorded at this moment: {kind} is recorded every"
            )),
            "{error}"
        );
    }
    let text = screen(&state);
    assert!(text.contains("not recorded at this moment"), "{text}");
    handle.send(BackendCommand::Shutdown);
    handle.shutdown().await;
}
