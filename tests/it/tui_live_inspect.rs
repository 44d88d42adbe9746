//! The real console against a sandbox primary and its replica: `]` then `R` opens the replica's
//! Replication view with its live channel (and `@` shows the view's own reads), `D` the Disk view
//! with its measured datadir and binlogs, `P` the Parameters view, `B` the Backup view saying where
//! it looked.

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

#[test]
fn inspection_views_show_live_figures_at_80x24() {
    let primary = Sandbox::start(opts("tvi-primary")).expect("sandbox");
    let replica = Sandbox::start_replica_of(&primary, opts("tvi-replica")).expect("replica");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[ui]\nrefresh_ms = 5000\n\n\
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
    session.wait_for_text("replica lag", WAIT);
    session.keys(&["]"]);
    session.keys(&["R"]);
    let repl = session.wait_for_text("Channels (1)", WAIT);
    let source = format!("127.0.0.1:{}", primary.port());
    assert!(repl.contains(&source), "{repl}");
    assert!(repl.contains("Yes"), "{repl}");
    // The pollers are quiet (5 s): the newest statements are the view's own reads. On a loaded
    // machine a poll can still land between the read and `@` and list its statements above them:
    // scroll down to the read (the list is newest first), one line per redraw.
    session.keys(&["@"]);
    let mut log = session.wait_for_text("SQL sent by arkc", WAIT);
    for _ in 0..40 {
        if log.contains("SHOW SLAVE HOSTS") {
            break;
        }
        session.keys(&["Down"]);
        let before = log.clone();
        log = session.wait_for("the log scrolled", WAIT, |s| s != before);
    }
    assert!(
        log.contains("SHOW SLAVE HOSTS"),
        "the Replication view's own read: {log}"
    );
    session.keys(&["q"]);
    session.wait_for("the log closed", WAIT, |s| !s.contains("SQL sent by arkc"));
    session.keys(&["D"]);
    let disk = session.wait_for_text("Binary logs:", WAIT);
    assert!(
        disk.contains("% free"),
        "a local datadir is measured: {disk}"
    );
    session.keys(&["P"]);
    session.wait_for_text("No baseline for this instance", WAIT);
    session.keys(&["b"]);
    session.wait_for_text("mysql.mariadb_backup_history", WAIT);
    session.keys(&["esc"]);
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
}
