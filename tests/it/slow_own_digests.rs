//! When the monitoring account may not turn off performance_schema instrumentation for its own
//! sessions, the digest source leaves arkc's statements out by their digest text and says so:
//! a sandbox account with SELECT and PROCESS but no UPDATE on performance_schema.threads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arkc::backend::slow::report::{SlowReport, SlowSourceKind, SlowUpdate, SourceStatus};
use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc::sandbox::{Sandbox, SandboxOptions};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_update_on_threads_own_statements_are_left_out_by_digest_and_the_pane_says_so() {
    let sb = tokio::task::spawn_blocking(|| {
        Sandbox::start(SandboxOptions {
            name: "psown".into(),
            ..SandboxOptions::default()
        })
    })
    .await
    .unwrap()
    .expect("sandbox starts");
    sb.exec_sql(
        "CREATE USER 'watcher'@'%'; GRANT SELECT, PROCESS ON *.* TO 'watcher'@'%'; \
         CREATE DATABASE shop; CREATE TABLE shop.own_probe (id INT PRIMARY KEY, v INT);",
    )
    .unwrap();
    let mut instance = InstanceConfig::tcp("sb", "127.0.0.1", sb.port());
    instance.user = Some("watcher".into());
    let mut config = Config {
        instances: vec![instance],
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let dir = tempfile::tempdir().unwrap();
    let slow = backend::SlowSqlOptions {
        tracking_path: Some(dir.path().join("t.sqlite")),
    };
    let handle = backend::spawn_with(Arc::new(config), tx, Some(slow));

    // A client's statement, next to arkc's own polls (SHOW GLOBAL STATUS every 200 ms).
    let deadline = Instant::now() + WAIT;
    let mut last: Option<SlowReport> = None;
    let report = loop {
        sb.exec_sql("SELECT * FROM shop.own_probe WHERE v = 1")
            .unwrap();
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no digest report with the probe: {last:?}");
        let Ok(Some(event)) =
            tokio::time::timeout(left.min(Duration::from_secs(1)), rx.recv()).await
        else {
            continue;
        };
        let BackendEvent::Slow(SlowUpdate::Report(r)) = event else {
            continue;
        };
        if r.source != SlowSourceKind::Digest {
            continue;
        }
        let seen = r
            .classes
            .iter()
            .any(|c| c.fingerprint.replace('`', "").contains("own_probe"));
        if seen {
            break r;
        }
        last = Some(r);
    };
    match &report.status {
        SourceStatus::Filtered { origin, note } => {
            assert_eq!(origin, "performance_schema");
            assert!(
                note.contains("GRANT UPDATE ON performance_schema.threads"),
                "{note}"
            );
        }
        other => panic!("the account cannot uninstrument itself: {other:?}"),
    }
    let fingerprints: Vec<&str> = report
        .classes
        .iter()
        .map(|c| c.fingerprint.as_str())
        .collect();
    assert!(
        fingerprints
            .iter()
            .all(|f| !f.to_ascii_lowercase().contains("show global status")
                && !f.to_ascii_lowercase().contains("performance_schema")),
        "arkc's statements are left out: {fingerprints:#?}"
    );
    // Control: the server does count arkc's polls for this account.
    let counted = sb
        .exec_sql(
            "SELECT COUNT_STAR > 0 FROM performance_schema.events_statements_summary_by_digest \
             WHERE DIGEST_TEXT LIKE 'SHOW GLOBAL STATUS%'",
        )
        .unwrap();
    assert_eq!(counted.trim(), "1", "arkc's polls are instrumented");
    handle.shutdown().await;
}

#[test]
fn the_slow_sql_pane_says_when_own_statements_are_left_out_by_digest_80x24() {
    use arkc::app::{update, Action, Keymap, State};
    use arkc::backend::slow::ps_digest::OWN_DIGESTS_NOTE;
    use arkc::ui::{self, Theme};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let config = Config {
        instances: vec![InstanceConfig::tcp("db", "10.0.3.7", 3306)],
        ..Config::default()
    };
    let mut state = State::new(&config, false, chrono::Utc::now());
    let report = SlowReport {
        instance: "db".into(),
        source: SlowSourceKind::Digest,
        status: SourceStatus::Filtered {
            origin: "performance_schema".into(),
            note: OWN_DIGESTS_NOTE.into(),
        },
        classes: Vec::new(),
        entries: 0,
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Slow(SlowUpdate::Report(report)))),
    );
    update(&mut state, Action::PaneSlowSql);
    update(&mut state, Action::ToggleSource);
    let keymap = Keymap::builtin("default").unwrap().unwrap();
    let theme = Theme::builtin("default").unwrap().unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| ui::draw(f, &state, &theme, &keymap))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let screen: String = (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    let flat: String = screen
        .replace(['│', '\n'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("left out by digest"), "{screen}");
    assert!(
        flat.replace(' ', "")
            .contains("GRANTUPDATEONperformance_schema.threads"),
        "the fix is on screen: {screen}"
    );
}
