//! The real binary in tmux against real sandbox servers: live figures in the Health pane
//! (a primary and its replica), and the replica stopped mid-run turning DOWN while the console
//! keeps answering keys.

#[allow(dead_code)] // each test binary uses a different part of the harness
#[path = "support/tmux.rs"]
mod tmux;

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
fn live_figures_and_a_stopped_instance_turns_down_while_keys_still_work() {
    let steady = Sandbox::start(opts("tui-steady")).expect("sandbox");
    // The victim is a replica, so its row also proves the replication column is live.
    let mut victim = Sandbox::start_replica_of(&steady, opts("tui-victim")).expect("replica");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[ui]\nrefresh_ms = 300\n\n\
         [[instance]]\nname = \"steady\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [[instance]]\nname = \"victim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
        steady.port(),
        victim.port()
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).expect("write config");
    let state = dir.path().join("state");
    let envs = [
        ("XDG_STATE_HOME", state.to_str().expect("utf-8 path")),
        ("XDG_CONFIG_HOME", "/nonexistent"),
    ];
    let config_arg = config_path.display().to_string();
    let session = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &envs,
        80,
        24,
    );

    let screen = session.wait_for("both instances up with a version", WAIT, |s| {
        ["steady", "victim"]
            .iter()
            .all(|n| row(s, n).contains(" up ") && row(s, n).contains("10."))
    });
    assert!(screen.contains("0 alerts"), "{screen}");
    let replica = session.wait_for("the replica's lag", WAIT, |s| {
        row(s, "victim").contains("replica lag")
    });
    assert!(
        row(&replica, "steady").contains(" - "),
        "the primary has no replication: {replica}"
    );

    victim.stop().expect("stop the victim");
    let screen = session.wait_for("victim DOWN", WAIT, |s| row(s, "victim").contains("DOWN"));
    assert!(
        row(&screen, "steady").contains(" up "),
        "the other instance stays up:\n{screen}"
    );
    assert!(screen.contains("1 alert"), "{screen}");

    // The console still answers at once.
    session.keys(&["?"]);
    session.wait_for_text("Help · keymap", Duration::from_secs(2));
    session.keys(&["q"]);
    session.wait_for("help closed", Duration::from_secs(2), |s| {
        !s.contains("Help · keymap")
    });
    session.keys(&["@"]);
    session.wait_for_text("SQL sent by arkc", Duration::from_secs(2));
    session.keys(&["q"]);
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
    assert_eq!(session.pane_var("alternate_on"), "0");
}
