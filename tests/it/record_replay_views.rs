//! A recording holds what the Replication, Disk, Parameters and Backup views and the Locks
//! view's latest deadlock need, for an instance with a firing alert; replayed, those views show
//! the recorded figures, marked REPLAY: against a real sandbox recorded by `arkc record`.

use std::path::Path;
use std::process::Command;

use arkc::app::{update, Action, Effect, State};
use arkc::backend::health::views::Inspection;
use arkc::backend::replay::ReplayCommand;
use arkc::backend::{self, BackendCommand, BackendEvent};
use arkc::config::Config;
use arkc::recording::{ReadBody, ReadKind, Recording};
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

use crate::support::wait::DEADLINE;

fn screen(state: &State) -> String {
    crate::support::render::screen(state, 100, 30)
}

fn send(handle: &backend::BackendHandle, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::SendBackend(command) = e {
            handle.send(command);
        }
    }
}

/// Apply replay events until `done` holds, or fail after the deadline saying what was seen.
async fn until(
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<BackendEvent>,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done(state) {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what}: not within {DEADLINE:?}; view error {:?}",
                    state.health_pane.monitor.view_error
                )
            })
            .expect("replay backend stopped");
        update(state, Action::Backend(Box::new(event)));
    }
}

/// A real deadlock between two sessions; their connection ids.
async fn deadlock(port: u16) -> (u64, u64) {
    let set = ["note = 'x'", "note = 'y'", "note = 'x'", "note = 'y'"];
    let d = crate::support::sessions::deadlock(port, "incident_db.orders", set).await;
    (d.x_id, d.y_id)
}

fn record(sb: &Sandbox, dir: &Path) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"fresh\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.join("views.arkc");
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config)
        .env("XDG_STATE_HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .args([
            "record",
            "--out",
            file.to_str().unwrap(),
            // Seconds to spare for every view's first read on a loaded machine.
            "--duration",
            "10s",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

/// A server started seconds ago fires `restarted`, so the recorder reads its views.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_views_replay_with_the_recorded_figures() {
    let sb = Sandbox::start(SandboxOptions {
        name: "recviews".into(),
        ..SandboxOptions::default()
    })
    .unwrap();
    sb.exec_sql(
        "CREATE DATABASE incident_db; \
         CREATE TABLE incident_db.orders (id INT PRIMARY KEY, note VARCHAR(64)); \
         INSERT INTO incident_db.orders VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
         SET GLOBAL max_connections = 321",
    )
    .unwrap();
    let (x_id, y_id) = deadlock(sb.port()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = record(&sb, dir.path());

    // In the file: every kind, read from the server.
    let rec = Recording::open(&file).unwrap();
    let last = rec.frame_at(None).unwrap().unwrap();
    let read = |kind| {
        rec.read_at("fresh", kind, last.at)
            .unwrap()
            .unwrap_or_else(|| panic!("no {kind:?} read recorded"))
            .1
    };
    let ReadBody::Parameters(params) = read(ReadKind::Parameters) else {
        panic!("not parameters")
    };
    assert_eq!(
        params.variables.get("max_connections").map(String::as_str),
        Some("321")
    );
    let ReadBody::Sizes(sizes) = read(ReadKind::Sizes) else {
        panic!("not sizes")
    };
    assert!(
        sizes.schemas.iter().any(|s| s.schema == "incident_db"),
        "{sizes:?}"
    );
    assert!(
        matches!(read(ReadKind::Replication), ReadBody::Replication(r) if r.channels.is_empty())
    );
    assert!(matches!(read(ReadKind::Backups), ReadBody::Backups(_)));
    let ReadBody::Deadlock(Some(recorded)) = read(ReadKind::Deadlock) else {
        panic!("no deadlock recorded")
    };
    let mut ids: Vec<u64> = recorded
        .transactions
        .iter()
        .filter_map(|t| t.connection_id)
        .collect();
    ids.sort_unstable();
    let mut want = vec![x_id, y_id];
    want.sort_unstable();
    assert_eq!(ids, want, "{recorded:?}");
    let frames = rec.times().unwrap().len();
    drop(rec);
    // What the reads cost in the file (compressed), for the README's figures.
    let db = rusqlite::Connection::open(&file).unwrap();
    let mut sizes = db
        .prepare("SELECT kind, COUNT(*), SUM(LENGTH(blob)) FROM reads GROUP BY kind ORDER BY kind")
        .unwrap();
    let sizes: Vec<(String, i64, i64)> = sizes
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let frame_bytes: i64 = db
        .query_row("SELECT SUM(LENGTH(blob)) / COUNT(*) FROM frames", [], |r| {
            r.get(0)
        })
        .unwrap();
    eprintln!("reads (kind, count, bytes): {sizes:?}; a frame: {frame_bytes} bytes");
    assert_eq!(sizes.len(), 5, "{sizes:?}");

    // Replayed: the console at the last frame, the Disk and Parameters views.
    let (events, mut rx) = mpsc::unbounded_channel();
    let handle = backend::replay::spawn(&file, events).unwrap();
    let mut state = State::new(&Config::default(), false, chrono::Utc::now());
    handle.send(BackendCommand::Replay(ReplayCommand::Step(frames as i64)));
    until(&mut state, &mut rx, "the last frame", |s| {
        s.replay.as_ref().is_some_and(|r| r.index + 1 == frames)
    })
    .await;
    send(&handle, update(&mut state, Action::HealthDisk));
    until(&mut state, &mut rx, "the recorded sizes", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Sizes(_)))
        )
    })
    .await;
    let text = screen(&state);
    assert!(text.contains("incident_db"), "{text}");
    assert!(text.contains("REPLAY"), "{text}");
    assert!(text.contains("REPLAY: read at"), "{text}");

    send(&handle, update(&mut state, Action::HealthParameters));
    until(&mut state, &mut rx, "the recorded parameters", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Parameters(_)))
        )
    })
    .await;
    let Some((_, Inspection::Parameters(p))) = &state.health_pane.monitor.inspect.latest else {
        unreachable!()
    };
    assert_eq!(p.variables["max_connections"], "321");
    assert!(p.notes[0].starts_with("REPLAY: read at"), "{:?}", p.notes);

    send(&handle, update(&mut state, Action::HealthReplication));
    until(&mut state, &mut rx, "the recorded replication", |s| {
        matches!(
            &s.health_pane.monitor.inspect.latest,
            Some((_, Inspection::Replication(_)))
        )
    })
    .await;
    let text = screen(&state);
    assert!(text.contains("Not a replica"), "{text}");

    // Locks: the recorded latest deadlock, its two sessions.
    // The view before Replication.
    send(&handle, update(&mut state, Action::PrevPane));
    until(&mut state, &mut rx, "the recorded locks", |s| {
        s.health_pane.monitor.locks.is_some()
    })
    .await;
    let (_, locks) = state.health_pane.monitor.locks.clone().unwrap();
    let d = locks.deadlock.expect("the recorded deadlock");
    assert_eq!(d.at, recorded.at);
    let text = screen(&state);
    assert!(text.contains("Latest deadlock"), "{text}");
    assert!(
        text.contains(&format!("session {x_id}")) || text.contains(&format!("session {y_id}")),
        "{text}"
    );
    handle.send(BackendCommand::Shutdown);
    handle.shutdown().await;
}
