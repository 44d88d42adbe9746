//! The real console against real servers: live figures arrive, and an instance stopped mid-run
//! turns DOWN while the UI keeps answering keys.

use crate::support::tmux;
use crate::support::wait::DEADLINE;

use std::path::Path;

use arkc::sandbox::{Sandbox, SandboxOptions};
use tmux::TmuxSession;

fn sandbox(name: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        name: name.into(),
        ..Default::default()
    })
    .expect("sandbox starts")
}

/// The instance's table row (first line that starts with its name inside the table border).
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.trim_start_matches('│').starts_with(name))
}

#[test]
fn stopped_instance_turns_down_while_keys_keep_working() {
    let alpha = sandbox("live-alpha");
    let mut beta = sandbox("live-beta");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[ui]\nrefresh_ms = 300\n\n[[instance]]\nname = \"alpha\"\nhost = \"127.0.0.1\"\nport = {}\npassword = \"\"\n\n\
         [[instance]]\nname = \"beta\"\nhost = \"127.0.0.1\"\nport = {}\npassword = \"\"\n",
        alpha.port(),
        beta.port()
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let state = dir.path().join("state").display().to_string();
    let cfg_home = dir.path().join("cfg").display().to_string();
    let session = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_path.display().to_string()],
        &[("XDG_STATE_HOME", &state), ("XDG_CONFIG_HOME", &cfg_home)],
        80,
        24,
    );

    let wait = DEADLINE;
    let screen = session.wait_for("both instances up with figures", wait, |s| {
        // Connected/max is a live figure (the version column gives way at 80 columns).
        let up = |n| row(s, n).is_some_and(|r| r.contains(" up ") && r.contains('/'));
        up("alpha") && up("beta")
    });
    assert!(
        row(&screen, "alpha").unwrap().contains("-"),
        "a primary shows no replication: {screen}"
    );

    beta.stop().expect("stop beta");
    // While the poll of the dead server fails, keys are still answered (how fast is for the
    // benchmarks: a console blocked on the poll would never show the pane).
    session.keys(&["2"]);
    session.wait_for("Slow SQL pane after key 2", wait, |s| {
        s.lines().nth(1).is_some_and(|l| l.contains("Slow SQL"))
    });
    session.keys(&["1"]);
    let screen = session.wait_for("beta DOWN", wait, |s| {
        row(s, "beta").is_some_and(|r| r.contains("DOWN"))
    });
    // Answering is the claim: "slow" is a poll answered past 1 s, which a loaded machine can make.
    assert!(
        row(&screen, "alpha").is_some_and(|r| r.contains(" up ") || r.contains(" slow ")),
        "the other instance stays up: {screen}"
    );
    // The down instance names its error.
    assert!(
        row(&screen, "beta").unwrap().len() > "beta  DOWN".len(),
        "{screen}"
    );

    session.keys(&["q"]);
    assert_eq!(session.wait_exit(DEADLINE), 0);
    assert_eq!(
        session.pane_var("alternate_on"),
        "0",
        "terminal left the alternate screen"
    );
}
