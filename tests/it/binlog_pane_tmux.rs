//! The Binlog pane end to end: the real `arkc` binary in tmux against a sandbox MariaDB.
//! A seeded incident (UPDATE without WHERE and a DELETE on one table, interleaved with
//! legitimate writes in another schema) is found, selected, checked, applied and re-checked by
//! keys only; SQL then proves the damaged table is back and the other schema kept its writes.
//! With ARKC_RECORD_SESSION=PATH the screens of the flow are written to PATH as markdown.

use crate::support::tmux;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};
use tmux::TmuxSession;

const WAIT: Duration = Duration::from_secs(20);
/// Small transactions ahead of the big ones in the large-scan test.
const SMALL_TXNS: u32 = 30_000;
/// Transactions of 1,000 rows of about 900 bytes after the small ones (about 1 MiB each).
const BIG_TXNS: u32 = 200;

struct Incident {
    shop: String,
    crm: String,
    /// Binlog file and position just before the incident.
    file: String,
    pos: u64,
    checksum_before: String,
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

/// Seed both schemas, then run the incident with legitimate writes around it.
fn seed_incident(sb: &Sandbox) -> Incident {
    let shop = sb.create_schema("shop").expect("schema");
    let crm = sb.create_schema("crm").expect("schema");
    sb.exec_sql(&format!(
        "CREATE TABLE {shop}.orders (id INT PRIMARY KEY, status VARCHAR(20) NOT NULL, \
         amount DECIMAL(10,2), note TEXT NULL, tag VARBINARY(8) NULL);
         INSERT INTO {shop}.orders SELECT seq, 'paid', seq * 1.25, IF(seq % 3 = 0, NULL, \
         IF(seq % 3 = 1, '', CONCAT('note ', seq))), IF(seq % 5 = 0, X'00FF10', NULL) \
         FROM {shop}.seq_1_to_30;
         CREATE TABLE {crm}.contacts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40));
         INSERT INTO {crm}.contacts (name) VALUES ('ann'), ('bob');"
    ))
    .expect("seed");
    let checksum_before = checksum(sb, &format!("{shop}.orders"));
    let (file, pos) = sb.binlog_position().expect("binlog position");
    sb.exec_sql(&format!(
        "INSERT INTO {crm}.contacts (name) VALUES ('carol');
         UPDATE {shop}.orders SET status = 'cancelled', amount = 0;
         UPDATE {crm}.contacts SET name = 'robert' WHERE name = 'bob';
         DELETE FROM {shop}.orders WHERE id > 24;
         INSERT INTO {crm}.contacts (name) VALUES ('dave');"
    ))
    .expect("incident");
    Incident {
        shop,
        crm,
        file,
        pos,
        checksum_before,
    }
}

struct Console {
    _dir: tempfile::TempDir,
    tmux: TmuxSession,
    audit: PathBuf,
    record: Vec<(String, String)>,
}

impl Console {
    fn start(sb: &Sandbox, instance: &str, extra: &[&str]) -> Console {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "[ui]\nrefresh_ms = 1000\n\n[[instance]]\nname = \"{instance}\"\nhost = \"127.0.0.1\"\n\
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
        let mut args = vec!["--config", config_path.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let tmux = TmuxSession::start(Path::new(env!("CARGO_BIN_EXE_arkc")), &args, &envs, 80, 24);
        tmux.wait_ready(WAIT);
        let audit = dir.path().join("data/arkc/audit");
        Console {
            _dir: dir,
            tmux,
            audit,
            record: Vec::new(),
        }
    }

    fn wait(&mut self, text: &str) -> String {
        self.tmux.wait_for_text(text, WAIT)
    }

    fn snap(&mut self, caption: &str) {
        let screen = self.tmux.screen();
        self.record.push((caption.to_string(), screen));
    }

    /// Open the pane, pick the incident's binlog and start at its position; wait for the list.
    fn scan_from(&mut self, file: &str, pos: u64, sb: &Sandbox) {
        self.tmux.keys(&["3"]);
        self.wait(file);
        self.snap("`3` opens the Binlog pane: the instance's binary logs (SHOW BINARY LOGS), read from its binlog_dir");
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
        self.snap("Enter on the log asks where to start: a look-back (15m), a UTC time, `pos N` or `gtid X`");
        self.tmux.keys(&["Enter"]);
        self.wait("scan done");
        self.snap(
            "The transactions since that position, newest first, streamed in by the backend scan",
        );
    }

    fn write_record(&self, path: &Path) {
        let mut md = String::from(
            "# Flashback in the Binlog pane: from incident to restored rows\n\n\
             Recorded by `tests/it/binlog_pane_tmux.rs` (`ARKC_RECORD_SESSION=docs/flashback-session.md \
             cargo nextest run -p arkc --test it binlog_pane_tmux::incident`): the real binary in tmux \
             at 80x24 against a sandbox MariaDB. The incident: `UPDATE orders SET status = \
             'cancelled', amount = 0` without WHERE, then `DELETE FROM orders WHERE id > 24`, \
             interleaved with legitimate writes to another schema. Schema names are generated \
             per run.\n\n",
        );
        for (i, (caption, screen)) in self.record.iter().enumerate() {
            md.push_str(&format!(
                "## {}. {caption}\n\n```text\n{}\n```\n\n",
                i + 1,
                screen.trim_end()
            ));
        }
        std::fs::write(path, md).expect("write session record");
    }
}

#[test]
fn incident_is_found_checked_applied_and_verified_by_keys_only() {
    let sb = Sandbox::shared();
    let inc = seed_incident(sb);
    let mut c = Console::start(sb, "prod-shop", &[]);
    c.scan_from(&inc.file, inc.pos, sb);

    // Filter to the damaged schema: only the incident's two transactions remain.
    c.tmux.keys(&["/"]);
    c.tmux.type_text(&inc.shop);
    c.tmux.keys(&["Enter"]);
    let screen = c.wait("— 2 transactions");
    assert!(
        !screen.contains(&inc.crm),
        "filter left other schemas:\n{screen}"
    );
    c.snap(
        "`/` filters by schema, table, DML type or statement text: the incident's two transactions",
    );

    // The newest (the DELETE) is on top; open its rows, then mark both transactions.
    c.tmux.keys(&["Down"]);
    c.tmux.keys(&["Enter"]);
    c.wait("row 1/30 UPDATE");
    c.snap("Enter shows the rows of the UPDATE without WHERE: before and after side by side, changed columns first (≠)");
    c.tmux.keys(&["v"]);
    c.wait("  before: ");
    c.snap("`v` opens the full values of the row (NULL is not '', binary shown as hex)");
    // One Escape at a time: two in a row can reach the program as a single Alt-Escape.
    c.tmux.keys(&["Escape"]);
    c.wait("column before");
    c.tmux.keys(&["Escape"]);
    c.wait("GTID / position");
    c.tmux.keys(&["g", "Space", "Space"]);
    let screen = c.wait("selected 2 txn, 36 rows");
    assert!(screen.contains("U30") && screen.contains("D6"), "{screen}");
    c.snap("Space marks transactions; the bottom line sums up what the rollback will touch");

    c.tmux.keys(&["p"]);
    let screen = c.wait("Rollback preview");
    assert!(
        screen.contains("BEGIN") || screen.contains("SET NAMES"),
        "{screen}"
    );
    c.snap("`p`: the exact SQL the flashback engine generates for the selection, highlighted and scrollable");

    let export = c._dir.path().join("review.sql");
    c.tmux.keys(&["x"]);
    c.wait("export preview to");
    c.tmux.type_text(&export.display().to_string());
    c.snap("`x` exports the preview for a change review (empty = a name with the time)");
    c.tmux.keys(&["Enter"]);
    c.wait("preview written to");
    let exported = std::fs::read_to_string(&export).expect("exported preview");
    assert!(
        exported.starts_with("-- arkc flashback: rollback of 2 transaction(s), 36 statement(s)\n")
    );
    assert_eq!(exported.matches("BEGIN;").count(), 2);

    c.tmux.keys(&["c"]);
    c.wait("check: all 36 row(s) are as the binlog left them");
    c.snap("`c` checks every row against the live server: all still as the incident left them");

    c.tmux.keys(&["A"]);
    c.wait("to apply:");
    c.tmux.type_text("prod-shop");
    c.snap("`A` asks for the instance name before anything runs");
    c.tmux.keys(&["Enter"]);
    let screen = c.wait("applied 2 transaction(s)");
    assert!(
        screen.contains("✓ 1/2") && screen.contains("✓ 2/2"),
        "{screen}"
    );
    c.snap("Applied one transaction at a time; the SQL and its inverse were saved to the audit folder first");

    c.tmux.keys(&["c"]);
    c.wait("re-check: all 36 row(s) match their before-images");
    c.snap("`c` again: every row now matches its before-image");

    assert_eq!(
        checksum(sb, &format!("{}.orders", inc.shop)),
        inc.checksum_before
    );
    let crm_after = sb
        .exec_sql(&format!(
            "SELECT GROUP_CONCAT(name ORDER BY id) FROM {}.contacts",
            inc.crm
        ))
        .expect("crm");
    // The legitimate writes around the incident (insert, rename, insert) are still there.
    assert_eq!(crm_after.trim(), "ann,robert,carol,dave");
    let audit: Vec<String> = std::fs::read_dir(&c.audit)
        .expect("audit folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        audit.iter().any(|n| n.ends_with("-rollback.sql")),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|n| n.ends_with("-inverse.sql")),
        "{audit:?}"
    );

    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
    if let Ok(path) = std::env::var("ARKC_RECORD_SESSION") {
        c.write_record(Path::new(&path));
    }
}

#[test]
fn read_only_apply_explains_and_sends_nothing() {
    let sb = Sandbox::shared();
    let inc = seed_incident(sb);
    let damaged = checksum(sb, &format!("{}.orders", inc.shop));
    assert_ne!(damaged, inc.checksum_before);
    let mut c = Console::start(sb, "ro-shop", &["--read-only"]);
    c.scan_from(&inc.file, inc.pos, sb);
    c.tmux.keys(&["/"]);
    c.tmux.type_text(&inc.shop);
    c.tmux.keys(&["Enter", "Space", "Space", "A"]);
    let screen = c.wait("apply refused: arkc is read-only");
    assert!(
        !screen.contains("to apply:"),
        "a confirmation was asked:\n{screen}"
    );
    // Nothing ran: the table is still damaged and no audit file was written.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(checksum(sb, &format!("{}.orders", inc.shop)), damaged);
    assert!(!c.audit.exists(), "audit folder written in read-only mode");
    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
}

/// The gauge's "read/total" byte figures, as shown.
fn gauge_bytes(screen: &str) -> Option<(String, String)> {
    let line = screen.lines().find(|l| l.contains("ev/s"))?;
    let figures = line
        .trim_start_matches(['│', ' '])
        .split_whitespace()
        .next()?;
    let (read, total) = figures.split_once('/')?;
    Some((read.to_string(), total.to_string()))
}

/// VmHWM of the program in the tmux pane (the pane runs `sh -c`, whose child is arkc).
fn console_peak_rss_kib(tmux: &TmuxSession) -> Option<u64> {
    let shell = tmux.pane_var("pane_pid");
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
    let pid = children.split_whitespace().next()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn key_to_screen(tmux: &TmuxSession, key: &str, ready: impl Fn(&str) -> bool) -> Duration {
    let started = Instant::now();
    tmux.keys(&[key]);
    loop {
        if ready(&tmux.screen()) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WAIT,
            "no redraw after {key}:\n{}",
            tmux.screen()
        );
    }
}

/// Not a timed assertion: prints key-to-redraw latency while a large binlog is being scanned,
/// and checks that Esc cancels the scan.
#[test]
fn large_scan_keeps_answering_keys_and_esc_cancels() {
    let sb = Sandbox::start(SandboxOptions {
        name: "binpane-large".into(),
        // Tens of thousands of small commits; durability does not matter here.
        extra_args: vec!["--innodb-flush-log-at-trx-commit=0".into()],
        ..Default::default()
    })
    .expect("sandbox");
    let db = sb.create_schema("big").expect("schema");
    let (file, _) = sb.binlog_position().expect("binlog position");
    // First many small transactions (a long list), then big ones (a long scan).
    let mut sql = format!(
        "CREATE TABLE {db}.s (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
         CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000));
         DELIMITER //
         CREATE PROCEDURE {db}.many(n INT) BEGIN DECLARE i INT DEFAULT 0;
           WHILE i < n DO INSERT INTO {db}.s (v) VALUES (i); SET i = i + 1; END WHILE; END//
         DELIMITER ;
         CALL {db}.many({SMALL_TXNS});\n"
    );
    for _ in 0..BIG_TXNS {
        sql.push_str(&format!(
            "INSERT INTO {db}.t (pad) SELECT REPEAT('x', 900) FROM {db}.seq_1_to_1000;\n"
        ));
    }
    sb.exec_sql(&sql).expect("fill");
    let size = std::fs::metadata(sb.binlog_dir().join(&file))
        .expect("binlog")
        .len();

    let mut c = Console::start(&sb, "big", &[]);
    c.tmux.keys(&["3"]);
    c.wait(&file);
    c.tmux.keys(&["Enter"]);
    c.wait("start ");
    c.tmux.keys(&["Enter"]);
    c.wait("scanning");
    // Open and close help while the scan runs; time from send-keys to the changed screen,
    // polling capture-pane as fast as tmux answers (so this includes tmux's own latency).
    let mut samples = Vec::new();
    let help = |s: &str| s.contains("Help · keymap");
    let started = Instant::now();
    let mut scanning = true;
    while scanning && samples.len() < 80 {
        samples.push(key_to_screen(&c.tmux, "?", help));
        samples.push(key_to_screen(&c.tmux, "Escape", |s| !help(s)));
        scanning = c.tmux.screen().contains("scanning");
        // Spread the samples over the scan, not just its first second.
        std::thread::sleep(Duration::from_millis(40));
    }
    // A scan of the whole large binlog: minutes, not the usual 20 s, on a loaded machine.
    let scan_done = c.tmux.wait_for_text("done", Duration::from_secs(300));
    let scan_time = started.elapsed();
    samples.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "binlog {:.1} MiB, {SMALL_TXNS} small + {BIG_TXNS} large transactions, scanned in about \
         {:.1} s; key-to-redraw while scanning ({} samples, tmux send-keys to capture-pane): \
         min {:.1} ms, median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        size as f64 / 1_048_576.0,
        scan_time.as_secs_f64(),
        samples.len(),
        ms(&samples[0]),
        ms(&samples[samples.len() / 2]),
        ms(&samples[samples.len() * 9 / 10]),
        ms(samples.last().expect("samples"))
    );
    assert_eq!(
        gauge_bytes(&scan_done).map(|(a, b)| a == b),
        Some(true),
        "{scan_done}"
    );
    if let Some(kib) = console_peak_rss_kib(&c.tmux) {
        eprintln!(
            "arkc peak RSS after the whole scan: {:.1} MiB",
            kib as f64 / 1024.0
        );
    }

    // Scan again and cancel at once: Esc stops the scan and keeps what it found so far.
    c.tmux.keys(&["s"]);
    c.wait("binary logs of big");
    c.tmux.keys(&["Enter"]);
    c.wait("start ");
    c.tmux.keys(&["Enter"]);
    c.wait("scanning");
    c.tmux.keys(&["Escape"]);
    let cancelled = c.wait("scan cancelled");
    let (read, total) = gauge_bytes(&cancelled).expect("gauge");
    // 0B/0B: cancelled before the first progress report.
    assert!(
        read != total || read == "0B",
        "the scan was not cut short:\n{cancelled}"
    );
    let gauge = cancelled
        .lines()
        .find(|l| l.contains("ev/s"))
        .unwrap_or_default();
    eprintln!(
        "gauge when cancelled: {}",
        gauge.trim_matches(|c: char| c == '│' || c == ' ')
    );
    // The same keys with nothing running: what tmux and the terminal cost on their own.
    let mut idle: Vec<Duration> = (0..5)
        .flat_map(|_| {
            [
                key_to_screen(&c.tmux, "?", help),
                key_to_screen(&c.tmux, "Escape", |s| !help(s)),
            ]
        })
        .collect();
    idle.sort();
    eprintln!(
        "same keys after the scan (baseline, {} samples): median {:.1} ms, max {:.1} ms",
        idle.len(),
        ms(&idle[idle.len() / 2]),
        ms(idle.last().expect("samples"))
    );
    c.tmux.keys(&["q"]);
    assert_eq!(c.tmux.wait_exit(WAIT), 0);
}

/// `arkc flashback --check` of `file:pos` up to `stop` in `db`: its output.
fn cli_check(sb: &Sandbox, (file, pos): (&str, u64), stop: &(String, u64), db: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--check", "--url", &sb.url(), "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args(["--start-file", file, "--start-position", &pos.to_string()])
        .args([
            "--stop-file",
            &stop.0,
            "--stop-position",
            &stop.1.to_string(),
            "-d",
            db,
        ])
        .output()
        .expect("arkc runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn scoped_rollback_of_transactions_mixing_two_schemas() {
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
    let mut c = Console::start(sb, "prod-mixed", &[]);
    c.scan_from(&file, pos, sb);

    c.tmux.keys(&[":"]);
    c.tmux.type_text(&format!("scope {shop}"));
    c.tmux.keys(&["Enter"]);
    c.wait("rows outside it");
    c.tmux.keys(&[":"]);
    c.tmux.type_text("mark all");
    c.tmux.keys(&["Enter"]);
    let screen = c.wait("selected 2 txn, 36 rows");
    assert!(!screen.contains(&format!("{crm}.contacts I")), "{screen}");

    // A later write to one touched row: `c` and `--check` report it, and nothing else.
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
    sb.exec_sql(&format!(
        "UPDATE {shop}.orders SET note = NULL WHERE id = 3"
    ))
    .expect("undo the later write");
    c.tmux.keys(&["c"]);
    c.wait("check: all 36 row(s) are as the binlog left them");
    let text = cli_check(sb, (&file, pos), &stop, &shop);
    assert!(
        text.contains("36 row(s) checked, 0 changed since"),
        "{text}"
    );

    c.tmux.keys(&["A"]);
    c.wait("to apply:");
    c.tmux.type_text("prod-mixed");
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
