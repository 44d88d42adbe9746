//! The Binlog pane pulling from the server: the real `arkc` binary in tmux at 80x24 against a
//! sandbox MariaDB whose instance says `binlog_source = "stream"`, so the logs are listed by
//! SHOW BINARY LOGS and read through arkc's replication client, never from the files. The
//! scoped rollback of transactions mixing two schemas works as with files; a later write to one
//! touched row is reported by `c` and by `arkc flashback --check` over the stream, and nothing
//! else; live follow (`F`) shows a write made while following within a deadline.

use crate::support::tmux;

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::Sandbox;
use tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(30);

struct Console {
    _dir: tempfile::TempDir,
    tmux: TmuxSession,
}

impl Console {
    /// The console with one instance, read over the replication stream (no binlog_dir).
    fn start(sb: &Sandbox, instance: &str) -> Console {
        Console::start_with(sb, instance, "binlog_source = \"stream\"\n")
    }

    /// The console with one instance whose entry ends with `extra` lines.
    fn start_with(sb: &Sandbox, instance: &str, extra: &str) -> Console {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "[ui]\nrefresh_ms = 1000\n\n[[instance]]\nname = \"{instance}\"\nhost = \"127.0.0.1\"\n\
             port = {}\nuser = \"root\"\npassword = \"\"\n{extra}",
            sb.port(),
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
        let tmux = TmuxSession::start(Path::new(env!("CARGO_BIN_EXE_arkc")), &args, &envs, 80, 24);
        tmux.wait_ready(WAIT);
        Console { _dir: dir, tmux }
    }

    fn wait(&self, text: &str) -> String {
        self.tmux.wait_for_text(text, WAIT)
    }

    /// Open the pane (its logs listed as streamed), pick `file` and start at `pos`.
    fn scan_from(&self, file: &str, pos: u64, sb: &Sandbox) {
        self.tmux.keys(&["3"]);
        let screen = self.wait(file);
        assert!(
            screen.contains("stream"),
            "logs are read over the stream: {screen}"
        );
        let logs = sb.exec_sql("SHOW BINARY LOGS").expect("logs");
        let index = logs
            .lines()
            .position(|l| l.split_whitespace().next() == Some(file))
            .expect("incident binlog listed");
        for _ in 0..index {
            self.tmux.keys(&["Down"]);
        }
        self.tmux.keys(&["Enter"]);
        self.wait("start ");
        self.tmux.type_text(&format!("pos {pos}"));
        self.tmux.keys(&["Enter"]);
        self.wait("scan done");
    }

    fn palette(&self, line: &str) {
        self.tmux.keys(&[":"]);
        self.tmux.type_text(line);
        self.tmux.keys(&["Enter"]);
    }
}

fn checksum(sb: &Sandbox, table: &str) -> String {
    let out = sb
        .exec_sql(&format!("CHECKSUM TABLE {table}"))
        .expect("checksum");
    out.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// `arkc flashback --check` of `file:pos` up to `stop` in `db`, streamed from the server.
fn cli_check(sb: &Sandbox, (file, pos): (&str, u64), stop: &(String, u64), db: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([
            "flashback",
            "--check",
            "--url",
            &sb.url(),
            "--from-server",
            file,
        ])
        .args(["--start-file", file, "--start-position", &pos.to_string()])
        .args([
            "--stop-file",
            &stop.0,
            "--stop-position",
            &stop.1.to_string(),
        ])
        .args(["-d", db])
        .output()
        .expect("arkc runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let errors = String::from_utf8_lossy(&out.stderr);
    format!("{text}{errors}")
}

#[test]
fn scoped_rollback_over_the_replication_stream() {
    let sb = Sandbox::shared();
    let shop = sb.create_schema("shop").expect("schema");
    let crm = sb.create_schema("crm").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {shop}.orders (id INT PRIMARY KEY, status VARCHAR(20), note TEXT NULL);
         INSERT INTO {shop}.orders SELECT seq, 'paid', IF(seq % 3 = 0, NULL, 'n') FROM {shop}.seq_1_to_30;
         CREATE TABLE {crm}.contacts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40));
         INSERT INTO {crm}.contacts (name) VALUES ('ann'), ('bob');"
    ))
    .expect("seed");
    let before = checksum(sb, &format!("{shop}.orders"));
    let (file, pos) = sb.binlog_position().expect("binlog position");
    // The destructive writes and the legitimate ones share each transaction.
    sb.exec_sql(&format!(
        "BEGIN; UPDATE {shop}.orders SET status = 'cancelled';
         INSERT INTO {crm}.contacts (name) VALUES ('carol'); COMMIT;
         BEGIN; DELETE FROM {shop}.orders WHERE id > 24;
         UPDATE {crm}.contacts SET name = 'robert' WHERE name = 'bob';
         INSERT INTO {crm}.contacts (name) VALUES ('dave'); COMMIT;"
    ))
    .expect("incident");
    let stop = sb.binlog_position().expect("binlog position");
    let c = Console::start(sb, "prod-streamed");
    c.scan_from(&file, pos, sb);

    c.palette(&format!("scope {shop}"));
    c.wait("rows outside it");
    c.palette("mark all");
    let screen = c.wait("selected 2 txn, 36 rows");
    assert!(!screen.contains(&format!("{crm}.contacts I")), "{screen}");

    // A later write to one touched row: `c` and `--check` (streamed) report it, nothing else.
    sb.exec_sql(&format!(
        "UPDATE {shop}.orders SET note = 'later' WHERE id = 3"
    ))
    .expect("later write");
    c.tmux.keys(&["c"]);
    c.wait("check: 1 of 36 row(s) changed since");
    let text = cli_check(sb, (&file, pos), &stop, &shop);
    assert!(
        text.contains("36 row(s) checked, 1 changed since"),
        "{text}"
    );
    assert_eq!(text.matches("changed since: ").count(), 1, "{text}");
    sb.exec_sql(&format!(
        "UPDATE {shop}.orders SET note = NULL WHERE id = 3"
    ))
    .expect("undo the later write");
    c.tmux.keys(&["c"]);
    c.wait("check: all 36 row(s) are as the binlog left them");

    c.tmux.keys(&["A"]);
    c.wait("to apply:");
    c.tmux.type_text("prod-streamed");
    c.tmux.keys(&["Enter"]);
    c.wait("applied 2 transaction(s)");
    assert_eq!(checksum(sb, &format!("{shop}.orders")), before);
    let names = sb
        .exec_sql(&format!(
            "SELECT GROUP_CONCAT(name ORDER BY id) FROM {crm}.contacts"
        ))
        .expect("crm");
    assert_eq!(names.trim(), "ann,robert,carol,dave");
    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
}

#[test]
fn live_follow_shows_a_write_as_it_commits() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("live").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.runaway (id INT PRIMARY KEY, v INT)"
    ))
    .expect("seed");
    let c = Console::start(sb, "prod-live");
    c.tmux.keys(&["3"]);
    c.wait("stream");
    c.tmux.keys(&["F"]);
    c.wait("following ·");
    // The follow is live once the server shows arkc's dump thread; a write after that must
    // arrive, not one the stream might have started after.
    crate::support::wait::wait_until("arkc's binlog dump thread", WAIT, || {
        sb.exec_sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
        )
        .is_ok_and(|n| n.trim().parse::<u32>().unwrap_or(0) > 0)
    });
    sb.exec_sql(&format!(
        "INSERT INTO {db}.runaway SELECT seq, seq FROM {db}.seq_1_to_7"
    ))
    .expect("write while following");
    let screen = c.wait(&format!("{db}.runaway"));
    assert!(screen.contains("following ·"), "{screen}");
    // Marked at once, the follow still running; `F` stops it.
    c.tmux.keys(&["space"]);
    c.wait("selected 1 txn, 7 rows");
    c.tmux.keys(&["F"]);
    c.wait("stopped following");
    // The backend's stream really ended: its scan reports as cancelled, the list stays.
    let screen = c.wait("scan cancelled: 1 transaction(s) so far");
    assert!(screen.contains(&format!("{db}.runaway")), "{screen}");
    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
}

/// `binlog_source` left at `auto`, with a `binlog_dir` that does not hold the server's logs:
/// they are listed as read over the stream, and a scan of them finds the server's writes.
#[test]
fn auto_streams_the_logs_not_readable_here() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("auto").expect("schema");
    let (file, pos) = sb.binlog_position().expect("position");
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1), (2);"
    ))
    .expect("writes");
    let empty = tempfile::tempdir().expect("empty binlog_dir");
    let extra = format!("binlog_dir = \"{}\"\n", empty.path().display());
    let c = Console::start_with(sb, "remote-ish", &extra);
    c.scan_from(&file, pos, sb);
    c.wait(&format!("{db}.t"));
    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
}
