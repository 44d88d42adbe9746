//! The real console in tmux at 80x24: the Jobs pane starts a configured backup against a sandbox,
//! shows it succeed in the history, and verifies it by restore, all from keys.

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::Sandbox;

use crate::support::tmux::TmuxSession;

#[test]
fn jobs_pane_starts_a_backup_and_verifies_it() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("jobs_tmux").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO `{db}`.t VALUES (1,'a'),(2,'b');"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[ui]\nrefresh_ms = 500\n\n[[instance]]\nname = \"src\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
             [[backup]]\nname = \"tmuxjob\"\ninstance = \"src\"\nkind = \"dump\"\nto = \"{}\"\ndatabase = \"{db}\"\nkeep = 2\n",
            sb.port(),
            dir.path().join("backups").display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data").display().to_string();
    let config_home = dir.path().join("config-home").display().to_string();
    let state_home = dir.path().join("state-home").display().to_string();
    let config_arg = config.display().to_string();
    let term = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &[
            ("ARKC_DATA_DIR", &data),
            ("XDG_CONFIG_HOME", &config_home),
            ("XDG_STATE_HOME", &state_home),
        ],
        80,
        24,
    );
    term.wait_for_text("Health", Duration::from_secs(20));
    term.keys(&["4"]);
    term.wait_for_text("tmuxjob", Duration::from_secs(10));
    term.keys(&["s"]);
    let screen = term.wait_for("the backup to succeed", Duration::from_secs(90), |s| {
        s.contains("succeeded")
    });
    assert!(
        screen.contains("tmuxjob") && screen.contains("dump"),
        "{screen}"
    );
    term.keys(&["v"]);
    let screen = term.wait_for("the verification", Duration::from_secs(120), |s| {
        s.contains("verified:") || s.contains("FAILED")
    });
    assert!(screen.contains("verified:"), "{screen}");
    assert!(
        screen.contains(" yes "),
        "the VERIFIED column says yes: {screen}"
    );
    term.keys(&["q"]);
    assert_eq!(term.wait_exit(Duration::from_secs(10)), 0);
}
