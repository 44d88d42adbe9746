//! The real console against a sandbox primary and its replica: the replication column and the
//! detail box show live replica figures, and `@` lists the statements the pollers really sent.
//! (tests/tui_live.rs covers an instance stopped mid-run.)

#[allow(dead_code)] // each test binary uses a different part of the harness
use crate::support::tmux;

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::{Sandbox, SandboxOptions};
use tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(20);

fn opts(name: &str) -> SandboxOptions {
    SandboxOptions {
        name: name.into(),
        ..SandboxOptions::default()
    }
}

/// The Health table row for `name` (its first line on screen).
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.trim_start_matches('│').starts_with(&format!("{name} ")))
        .unwrap_or("")
}

#[test]
fn replica_figures_and_the_sql_log_are_live() {
    let primary = Sandbox::start(opts("tui-primary")).expect("sandbox");
    let replica = Sandbox::start_replica_of(&primary, opts("tui-replica")).expect("replica");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[ui]\nrefresh_ms = 300\n\n\
         [[instance]]\nname = \"primary\"\nhost = \"127.0.0.1\"\nport = {}\npassword = \"\"\n\n\
         [[instance]]\nname = \"replica\"\nhost = \"127.0.0.1\"\nport = {}\npassword = \"\"\n",
        primary.port(),
        replica.port()
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).expect("write config");
    let state = dir.path().join("state").display().to_string();
    let config_home = dir.path().join("config-home").display().to_string();
    let config_arg = config_path.display().to_string();
    let session = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &[
            ("XDG_STATE_HOME", &state),
            ("XDG_CONFIG_HOME", &config_home),
        ],
        80,
        24,
    );

    let screen = session.wait_for("the replica's lag", WAIT, |s| {
        row(s, "primary").contains(" up ") && row(s, "replica").contains("replica lag")
    });
    assert!(
        row(&screen, "primary").contains(" - "),
        "the primary has no replication: {screen}"
    );
    assert!(screen.contains("0 alerts"), "{screen}");

    // `]` selects the replica: its detail box spells out both replication threads.
    session.keys(&["]"]);
    session.wait_for_text("IO thread running, SQL thread running", WAIT);

    session.keys(&["@"]);
    let log = session.wait_for_text("SQL sent by arkc", WAIT);
    assert!(log.contains("SHOW GLOBAL STATUS"), "{log}");
    session.keys(&["q"]);
    session.wait_for("the log closed", WAIT, |s| !s.contains("SQL sent by arkc"));
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
    assert_eq!(session.pane_var("alternate_on"), "0");
}
