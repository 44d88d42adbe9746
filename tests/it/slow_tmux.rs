//! The real `arkc` binary in tmux (80x24) against a sandbox MariaDB: the Slow SQL pane fills in
//! live as queries run, its drill-down runs EXPLAIN on the server, and a tracking mark set in one
//! console run is there in the next.

use crate::support::tmux;
use crate::support::wait;

use std::path::PathBuf;
use std::time::Duration;

use arkc::sandbox::{Sandbox, SandboxOptions};
use arkc::tracking::{TrackStatus, TrackingStore};
use tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(sb: &Sandbox) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "[ui]\nrefresh_ms = 300\n\n[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\nslow_log = \"{}\"\n",
            sb.port(),
            sb.slow_log_path().display()
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The console with private XDG dirs: the tracking store lives in this test's data dir.
    fn start(&self) -> TmuxSession {
        let envs: Vec<(String, String)> = ["config", "state", "data"]
            .iter()
            .map(|kind| {
                (
                    format!("XDG_{}_HOME", kind.to_uppercase()),
                    self.path(&format!("{kind}-home")).display().to_string(),
                )
            })
            .collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let config = self.path("config.toml").display().to_string();
        TmuxSession::start(
            std::path::Path::new(env!("CARGO_BIN_EXE_arkc")),
            &["--config", &config],
            &envs,
            80,
            24,
        )
    }
}

/// The screen line holding the probe's class.
fn probe_line(screen: &str) -> Option<&str> {
    screen
        .lines()
        .find(|l| l.contains("select * from live_probe"))
}

/// The Δ and Count cells of a leaderboard line (`│` + 4 + space + 5 characters).
fn delta_and_count(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let cell = |from: usize, len: usize| -> String {
        chars
            .iter()
            .skip(from)
            .take(len)
            .collect::<String>()
            .trim()
            .to_string()
    };
    (cell(1, 4), cell(6, 5))
}

fn open_pane_filtered(session: &TmuxSession) {
    session.wait_for_text("1 Health", WAIT);
    session.keys(&["2"]);
    session.wait_for_text("Slow SQL · sb · slow log", WAIT);
    session.keys(&["/"]);
    session.type_text("from live_probe");
    session.keys(&["Enter"]);
}

#[test]
fn slow_sql_pane_updates_live_and_tracking_survives_a_restart() {
    let sb = Sandbox::start(SandboxOptions {
        name: "slowtmux".into(),
        slow_log_threshold_s: 0.0,
        ..SandboxOptions::default()
    })
    .expect("sandbox");
    let schema = sb.create_schema("live").unwrap();
    sb.exec_sql(&format!("CREATE TABLE {schema}.live_probe (id INT, v INT)"))
        .unwrap();
    let setup = Setup::new(&sb);

    let session = setup.start();
    open_pane_filtered(&session);
    let screen = session.wait_for_text("no class passes the filters", WAIT);
    assert!(probe_line(&screen).is_none(), "not run yet:\n{screen}");

    // The query runs while the pane is open: its class appears, then its count moves.
    let probe = format!("USE {schema}; SELECT * FROM live_probe WHERE v = 1");
    sb.exec_sql(&probe).unwrap();
    let screen = session.wait_for("the probe's class", WAIT, |s| probe_line(s).is_some());
    let line = probe_line(&screen).unwrap_or_default().to_string();
    assert_eq!(delta_and_count(&line), ("new".into(), "1".into()), "{line}");
    sb.exec_sql(&probe).unwrap();
    sb.exec_sql(&probe).unwrap();
    session.wait_for("count 3, still marked new", WAIT, |s| {
        probe_line(s).is_some_and(|l| delta_and_count(l) == ("new".into(), "3".into()))
    });

    // Mark it: new, then investigating.
    session.keys(&["m"]);
    session.wait_for("status new", WAIT, |s| {
        probe_line(s).is_some_and(|l| l.contains(" new  select"))
    });
    session.keys(&["m"]);
    session.wait_for("status investigating", WAIT, |s| {
        probe_line(s).is_some_and(|l| l.contains(" inv  select"))
    });
    // A note, typed in the pane's input line.
    session.keys(&["N"]);
    session.wait_for_text("note: ", WAIT);
    session.type_text("needs an index on v");
    session.keys(&["Enter"]);

    // Drill down and EXPLAIN the sample on the server, without leaving the pane.
    session.keys(&["Enter"]);
    session.wait_for_text("Tables: live_probe", WAIT);
    session.keys(&["e"]);
    let screen = session.wait_for("the EXPLAIN result", WAIT, |s| s.contains("select_type"));
    assert!(
        screen.contains("investigating · needs an index on v"),
        "{screen}"
    );
    assert!(screen.contains("live_probe"), "{screen}");
    session.keys(&["Escape"]);
    // The list, not the detail (whose fingerprint line also names the class): until the pane has
    // read the ESC, a key sent next would reach it as Alt+key.
    session.wait_for("back to the list", WAIT, |s| {
        probe_line(s).is_some() && !s.contains("Latency histogram")
    });

    // The backend writes the store after the screen shows the mark: wait for it before leaving.
    let store = setup.path("data-home").join("arkc/tracking.sqlite");
    wait::wait_for("the mark and note in the tracking store", WAIT, || {
        let all = TrackingStore::open(&store)
            .and_then(|s| s.all())
            .map_err(|e| e.to_string())?;
        let stored = all
            .iter()
            .any(|t| t.status == TrackStatus::Investigating && t.note == "needs an index on v");
        match stored {
            true => Ok(()),
            false => Err(format!("{all:?}")),
        }
    });
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);
    drop(session);

    let session = setup.start();
    open_pane_filtered(&session);
    let screen = session.wait_for("the mark from the first run", WAIT, |s| {
        probe_line(s).is_some_and(|l| l.contains(" inv  select"))
    });
    assert!(probe_line(&screen).is_some());
    session.keys(&["q"]);
    assert_eq!(session.wait_exit(WAIT), 0);

    // `arkc digest --format md` reports the same mark and note from the same store.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["digest", "--format", "md", "--limit", "1000"])
        .arg(sb.slow_log_path())
        .env("XDG_DATA_HOME", setup.path("data-home"))
        .env("XDG_CONFIG_HOME", setup.path("config-home"))
        .output()
        .expect("arkc digest runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    let row = md
        .lines()
        .find(|l| l.contains("from live_probe where"))
        .unwrap_or_else(|| panic!("no live_probe row in:\n{md}"));
    assert!(
        row.contains("| investigating | needs an index on v |"),
        "{row}"
    );
}
