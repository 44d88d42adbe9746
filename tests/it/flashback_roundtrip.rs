//! The real thing: a seeded workload over every column type on a sandbox MariaDB, an
//! "incident", `arkc flashback` piped into the `mariadb` client, checksums equal again
//! (with and without `--url`, which tells generated columns apart).
//! A filtered flashback of one schema leaves another schema's interleaved writes alone.

use std::process::{Command, Stdio};

use arkc::sandbox::Sandbox;

#[path = "../../src/binlog/tests/common/mod.rs"]
mod common;

const SQL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/binlog/tests/sql");
const TABLES: &str = "alltypes, `select`, nopk, comp, gen";
/// The tables without generated columns: what a flashback without `--url` can restore under the
/// output's strict sql_mode.
const PLAIN_TABLES: &str = "alltypes, `select`, nopk, comp";

fn sql_file(name: &str) -> String {
    std::fs::read_to_string(format!("{SQL_DIR}/{name}")).unwrap()
}

fn in_schema(db: &str, sql: &str) -> String {
    format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{sql}")
}

fn checksums(sb: &Sandbox, db: &str) -> String {
    checksums_of(sb, db, TABLES)
}

/// CHECKSUM TABLE, but the rows of `gen` (VIRTUAL columns make its checksum unstable).
fn checksums_of(sb: &Sandbox, db: &str, list: &str) -> String {
    let tables: Vec<&str> = list.split(", ").collect();
    crate::support::tables::contents(sb, db, &tables)
}

/// A small deterministic generator, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random single-row and multi-row changes over the five tables, in small transactions.
fn seeded_workload(seed: u64, db: &str, other: &str) -> String {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut sql = String::from("SET NAMES utf8mb4;\n");
    for t in 0..60 {
        let rollback = r.below(10) == 0;
        sql.push_str("BEGIN;\n");
        for _ in 0..1 + r.below(4) {
            let (a, b) = (r.below(6), r.below(1000));
            let stmt = match r.below(10) {
                0 => format!("INSERT INTO `{db}`.nopk VALUES ({a}, 'n{b}');"),
                1 => format!("DELETE FROM `{db}`.nopk WHERE a <=> {a} LIMIT 1;"),
                2 => format!(
                    "UPDATE `{db}`.alltypes SET i = {b}, vc = 'seed {seed} é {b}', dbl = {b}.5e-3, \
                     tm6 = '-{a}:00:01.25', js = JSON_OBJECT('k', {b}) WHERE id = {};",
                    1 + a % 4
                ),
                3 => format!("INSERT IGNORE INTO `{db}`.comp VALUES ({a}, 'k{b}', {b});"),
                4 => format!("UPDATE `{db}`.comp SET b = CONCAT(b, 'x') WHERE a = {a};"),
                5 => format!(
                    "UPDATE `{db}`.`select` SET `we ird-col` = 'w{b}' WHERE `key` % 3 = {};",
                    a % 3
                ),
                6 => format!(
                    "INSERT IGNORE INTO `{db}`.`select` VALUES ({}, 'ins', {a});",
                    100 + b
                ),
                7 => format!("DELETE FROM `{db}`.comp WHERE c % 7 = {} LIMIT 2;", a),
                8 => format!("UPDATE `{db}`.gen SET a = {b} WHERE id = {};", 1 + a % 3),
                _ => format!("INSERT INTO `{other}`.nopk VALUES ({t}, 'other {b}');"),
            };
            sql.push_str(&stmt);
            sql.push('\n');
        }
        sql.push_str(if rollback { "ROLLBACK;\n" } else { "COMMIT;\n" });
    }
    sql
}

fn flashback(sb: &Sandbox, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("flashback")
        .arg("--binlog-dir")
        .arg(sb.binlog_dir())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "arkc flashback failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn apply(sb: &Sandbox, sql: &str) {
    if let Err(e) = sb.exec_sql(sql) {
        panic!("mariadb rejected the rollback: {e:#}");
    }
}

#[test]
fn rollback_restores_checksums_and_spares_other_schema() {
    let sb = Sandbox::shared();
    for seed in [1u64, 7, 42] {
        let db = sb.create_schema("fb").unwrap();
        let other = sb.create_schema("fb_other").unwrap();
        for schema in [&db, &other] {
            sb.exec_sql(&in_schema(schema, &sql_file("schema.sql")))
                .unwrap();
            sb.exec_sql(&in_schema(schema, &sql_file("seed.sql")))
                .unwrap();
        }
        let before = checksums(sb, &db);
        let (file, pos) = sb.binlog_position().unwrap();
        // The incident: the fixed awkward cases, then the seeded random part.
        sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
            .unwrap();
        sb.exec_sql(&seeded_workload(seed, &db, &other)).unwrap();
        let other_after_incident = checksums(sb, &other);
        assert_ne!(
            checksums(sb, &db),
            before,
            "seed {seed}: the incident changed nothing"
        );
        let pos_s = pos.to_string();
        let url = sb.url();
        let mut args = vec!["--start-file", &file, "--start-position", &pos_s, "-d", &db];
        let offline = seed == 7;
        if offline {
            // Without a server arkc cannot tell generated columns apart, and the output's strict
            // sql_mode rejects values for them: restore the other tables only (repeatable -t).
            args.extend(["-t", "alltypes", "-t", "select", "-t", "nopk", "-t", "comp"]);
        } else {
            // With the server's column definitions generated columns are left out.
            args.extend(["--url", &url]);
        }
        let before_plain = checksums_of(sb, &db, PLAIN_TABLES);
        let gen_after_incident = checksums_of(sb, &db, "gen");
        let sql = flashback(sb, &args);
        assert_eq!(sql.contains("-- note:"), offline, "seed {seed}");
        apply(sb, &sql);
        if offline {
            assert_ne!(
                checksums_of(sb, &db, PLAIN_TABLES),
                before_plain,
                "seed {seed}: nothing restored"
            );
            assert_eq!(
                checksums_of(sb, &db, "gen"),
                gen_after_incident,
                "seed {seed}: the table filter let `gen` through"
            );
            // Restore gen with the server's definitions, then everything must be as before.
            let mut gen_args = vec!["--start-file", &file, "--start-position", &pos_s, "-d", &db];
            gen_args.extend(["-t", "gen", "--url", &url]);
            apply(sb, &flashback(sb, &gen_args));
        }
        assert_eq!(
            checksums(sb, &db),
            before,
            "seed {seed}: rollback did not restore {db}"
        );
        assert_eq!(
            checksums(sb, &other),
            other_after_incident,
            "seed {seed}: {other} was touched"
        );
    }
}

#[test]
fn where_all_columns_mode_also_restores() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_all").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let before = checksums(sb, &db);
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    let pos_s = pos.to_string();
    let url = sb.url();
    let args = [
        "--start-file",
        &file,
        "--start-position",
        &pos_s,
        "-d",
        &db,
        "--where-columns",
        "all",
        "--url",
        &url,
    ];
    apply(sb, &flashback(sb, &args));
    assert_eq!(checksums(sb, &db), before);
}

#[test]
fn decoding_agrees_with_mariadb_binlog_on_the_workload() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_cmp").unwrap();
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    let (file, _) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    sb.exec_sql(&seeded_workload(3, &db, &db)).unwrap();
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    let compared = common::crosscheck(&sb.binlog_dir().join(&file)).unwrap();
    assert!(compared.unwrap_or(0) > 500, "compared {compared:?} values");
}

fn check(sb: &Sandbox, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["flashback", "--check", "--url", &sb.url(), "--binlog-dir"])
        .arg(sb.binlog_dir())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_finds_rows_changed_after_the_incident() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_check").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let (pos_s, end_s) = (pos.to_string(), end.to_string());
    let args = [
        "--start-file",
        file.as_str(),
        "--start-position",
        pos_s.as_str(),
        "--stop-file",
        end_file.as_str(),
        "--stop-position",
        end_s.as_str(),
        "-d",
        db.as_str(),
    ];
    let (code, text) = check(sb, &args);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(" 0 changed since"), "{text}");
    // Someone writes after the incident: an updated row, and a deleted key taken again.
    sb.exec_sql(&format!("UPDATE `{db}`.alltypes SET i = 999 WHERE id = 4"))
        .unwrap();
    sb.exec_sql(&format!("INSERT INTO `{db}`.comp VALUES (2, 'a', 77)"))
        .unwrap();
    let (code, text) = check(sb, &args);
    assert_eq!(code, 3, "{text}");
    assert!(text.contains(" 2 changed since"), "{text}");
    assert!(
        text.contains(&format!(
            "{db}.alltypes: the row the binlog left is gone or changed"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{db}.comp: a row took the deleted row's key")),
        "{text}"
    );
}

#[test]
fn execute_applies_after_audit_and_the_redo_file_replays_the_incident() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_exec").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let before = checksums(sb, &db);
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let after_incident = checksums(sb, &db);
    let data = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_arkc"))
            .env("XDG_DATA_HOME", data.path())
            .args([
                "flashback",
                "--url",
                &sb.url(),
                "-d",
                &db,
                "--start-file",
                &file,
            ])
            .args([
                "--start-position",
                &pos.to_string(),
                "--stop-file",
                &end_file,
            ])
            .args(["--stop-position", &end.to_string(), "--binlog-dir"])
            .arg(sb.binlog_dir())
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let ro = run(&["--read-only", "--execute", "--yes"]);
    assert!(!ro.status.success());
    assert!(String::from_utf8_lossy(&ro.stderr).contains("read-only"));
    let unconfirmed = run(&["--execute"]);
    assert!(!unconfirmed.status.success());
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    assert_eq!(
        checksums(sb, &db),
        after_incident,
        "nothing applied without confirmation"
    );

    let ok = run(&["--execute", "--yes"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(checksums(sb, &db), before);

    let audit = data.path().join("arkc/audit");
    let redo = std::fs::read_dir(&audit)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-redo.sql"))
        .expect("a redo file in the audit folder");
    apply(sb, &std::fs::read_to_string(redo).unwrap());
    assert_eq!(
        checksums(sb, &db),
        after_incident,
        "the redo file replays the incident"
    );
}

#[test]
fn flashback_from_server_fetches_binlogs_over_replication() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_remote").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let before = checksums(sb, &db);
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([
            "flashback",
            "--url",
            &sb.url(),
            "--from-server",
            &file,
            "-d",
            &db,
        ])
        .args(["--start-position", &pos.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    apply(sb, &String::from_utf8(out.stdout).unwrap());
    assert_eq!(checksums(sb, &db), before);
}

#[test]
fn events_follow_shows_new_transactions_across_rotation() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let sb = Sandbox::shared();
    let db = sb.create_schema("fb_follow").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20))"
    ))
    .unwrap();
    let (file, _) = sb.binlog_position().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([
            "binlog", "events", "--follow", "--format", "json", "-d", &db,
        ])
        .arg(sb.binlog_dir().join(&file))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |id: i32| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if line.contains(&format!("\"id\":{id}")) {
                    return line;
                }
            }
        }
        panic!("no transaction with id {id} within 20 s");
    };
    sb.exec_sql(&format!(
        "INSERT INTO `{db}`.t VALUES (1, 'before rotation')"
    ))
    .unwrap();
    wait_for(1);
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    sb.exec_sql(&format!(
        "INSERT INTO `{db}`.t VALUES (2, 'after rotation')"
    ))
    .unwrap();
    let line = wait_for(2);
    assert!(line.contains("after rotation"), "{line}");
    assert!(
        !line.contains(&format!("\"file\":\"{file}\"")),
        "second transaction is in the next file: {line}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn minimal_metadata_uses_information_schema_and_refuses_on_drift() {
    use arkc::sandbox::SandboxOptions;
    let sb = Sandbox::start(SandboxOptions {
        name: "fb-minimal".into(),
        extra_args: vec![
            "--binlog-row-metadata=MINIMAL".into(),
            "--binlog-checksum=NONE".into(),
        ],
        ..Default::default()
    })
    .unwrap();
    let db = sb.create_schema("fb_min").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let before = checksums(&sb, &db);
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let run = |with_url: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_arkc"));
        cmd.args([
            "flashback",
            "-d",
            &db,
            "--start-file",
            &file,
            "--start-position",
            &pos.to_string(),
        ]);
        cmd.args([
            "--stop-file",
            &end_file,
            "--stop-position",
            &end.to_string(),
        ]);
        cmd.arg("--binlog-dir").arg(sb.binlog_dir());
        if with_url {
            cmd.args(["--url", &sb.url()]);
        }
        cmd.output().unwrap()
    };
    let no_names = run(false);
    assert!(!no_names.status.success());
    let err = String::from_utf8_lossy(&no_names.stderr);
    assert!(
        err.contains("no column names") && err.contains("--url"),
        "{err}"
    );

    let with_names = run(true);
    assert!(
        with_names.status.success(),
        "{}",
        String::from_utf8_lossy(&with_names.stderr)
    );
    // The table changed after the incident: the same request must now refuse.
    sb.exec_sql(&format!("ALTER TABLE `{db}`.nopk ADD COLUMN z INT"))
        .unwrap();
    let drifted = run(true);
    assert!(!drifted.status.success());
    let err = String::from_utf8_lossy(&drifted.stderr);
    assert!(
        err.contains("nopk") && err.contains("table changed"),
        "{err}"
    );
    assert!(
        !err.contains("cannot be undone"),
        "the ALTER is outside the range: {err}"
    );
    sb.exec_sql(&format!("ALTER TABLE `{db}`.nopk DROP COLUMN z"))
        .unwrap();
    apply(&sb, &String::from_utf8(with_names.stdout).unwrap());
    assert_eq!(checksums(&sb, &db), before);
}
