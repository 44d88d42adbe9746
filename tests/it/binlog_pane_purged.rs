//! A binlog purged (PURGE BINARY LOGS) while the Binlog pane lists it: picking it says the
//! file is gone, naming it, and shows no transactions as if they were current. The test's own
//! sandbox (a purge on the shared one would pull files from under other tests).

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_binlog_purged_while_listed_is_named_gone_when_picked() {
    let sb = Sandbox::start(SandboxOptions {
        name: "binpane-purge".into(),
        ..Default::default()
    })
    .expect("sandbox");
    let db = sb.create_schema("purged").expect("schema");
    let (first, _) = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1), (2);
         FLUSH BINARY LOGS;
         INSERT INTO {db}.t VALUES (3);"
    ))
    .expect("writes");
    let (second, _) = sb.binlog_position().expect("position");
    assert_ne!(first, second);

    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[ui]\nrefresh_ms = 1000\n\n[[instance]]\nname = \"purgy\"\nhost = \"127.0.0.1\"\n\
         port = {}\nuser = \"root\"\npassword = \"\"\nbinlog_dir = \"{}\"\n",
        sb.port(),
        sb.binlog_dir().display()
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).expect("config");
    let xdg = |name: &str| dir.path().join(name).display().to_string();
    let envs = [
        ("XDG_CONFIG_HOME", xdg("config")),
        ("XDG_STATE_HOME", xdg("state")),
        ("XDG_DATA_HOME", xdg("data")),
    ];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = ["--config", config_path.to_str().expect("utf-8 path")];
    let tmux = TmuxSession::start(Path::new(env!("CARGO_BIN_EXE_arkc")), &args, &envs, 100, 30);
    tmux.wait_ready(WAIT);
    tmux.keys(&["3"]);
    tmux.wait_for_text(&second, WAIT);
    // Gone from under the open list. The server keeps a log until its binlog checkpoint has
    // moved past it (asynchronous after FLUSH BINARY LOGS), so the purge is repeated until then.
    crate::support::wait::wait_until("the first binlog to be purged", WAIT, || {
        sb.exec_sql(&format!("PURGE BINARY LOGS TO '{second}'"))
            .expect("purge");
        !sb.binlog_dir().join(&first).exists()
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for_text("start ", WAIT);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the pane to say the file is gone", WAIT, |s| {
        s.contains(&format!("{first} is gone (purged"))
    });
    // No transaction of the purged file is shown as if it could still be read.
    assert!(screen.contains("no transactions in this range"), "{screen}");
    // Still alive: the list of logs opens again and no longer offers the purged file.
    tmux.keys(&["s"]);
    let list = tmux.wait_for("the list again without the purged file", WAIT, |s| {
        s.contains(&second) && !s.contains(&format!("{first} ")) && !s.contains("is gone")
    });
    assert!(list.contains(&second), "{list}");
}
