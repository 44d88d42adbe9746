//! arkc's own replication client against a sandbox MariaDB: the stream gives the same
//! events and rollback SQL as the binlog files, GTID and annotate events arrive as
//! themselves, --follow sees new commits, failures are clear and fast, and the default
//! replica id never disconnects a real replica.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::wait;

/// Wait until `n` replication clients (`arkc binlog events --follow`) are streaming from `sb`:
/// from then on, a commit reaches them. A fixed pause races a slow start on a loaded machine.
fn wait_for_streams(sb: &Sandbox, n: usize) {
    let sql =
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'";
    wait::wait_for(
        &format!("{n} binlog dump thread(s)"),
        wait::DEADLINE,
        || {
            let seen = sb.exec_sql(sql).map_err(|e| format!("{e:#}"))?;
            match seen.trim().parse::<usize>() {
                Ok(count) if count >= n => Ok(()),
                _ => Err(format!("{} dump thread(s)", seen.trim())),
            }
        },
    );
}

const SQL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/binlog/tests/sql");

fn sql_file(name: &str) -> String {
    std::fs::read_to_string(format!("{SQL_DIR}/{name}")).unwrap()
}

fn in_schema(db: &str, sql: &str) -> String {
    format!("SET NAMES utf8mb4;\nUSE `{db}`;\n{sql}")
}

fn arkc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(args)
        .output()
        .unwrap()
}

/// Longer than any deadline of the product's own: past it, the command is hung, not slow.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// The child's output once it has exited, or `None` (the child killed) after `limit`.
fn output_within(child: std::process::Child, limit: Duration) -> Option<Output> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => Some(out.unwrap()),
        Err(_) => {
            // SAFETY: our own child, not yet reaped (wait_with_output has not returned).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            None
        }
    }
}

fn stdout_ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "arkc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn private_sandbox(name: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        name: name.into(),
        ..Default::default()
    })
    .unwrap()
}

/// Schema, seed, a rotation, then the incident: several files, every column type.
fn seeded_workload(sb: &Sandbox) -> String {
    let db = sb.create_schema("stream").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    db
}

#[test]
fn stream_gives_the_same_events_and_flashback_as_the_files() {
    let sb = private_sandbox("stream-same");
    let db = seeded_workload(&sb);
    let url = sb.url();
    let dir = sb.binlog_dir();
    let dir = dir.to_str().unwrap();
    for format in ["json", "text"] {
        let streamed = stdout_ok(arkc(&[
            "binlog", "events", "--url", &url, "--format", format,
        ]));
        let local = stdout_ok(arkc(&[
            "binlog",
            "events",
            "--binlog-dir",
            dir,
            "--url",
            &url,
            "--format",
            format,
        ]));
        assert!(streamed.contains(&db), "the workload is in the stream");
        assert!(streamed.lines().count() > 10, "{streamed}");
        assert_eq!(streamed, local, "events --format {format}");
    }
    // The incident is in the second file; the first holds the DDL flashback refuses.
    let logs = sb.exec_sql("SHOW BINARY LOGS").unwrap();
    let second = logs.lines().nth(1).unwrap().split('\t').next().unwrap();
    for extra in [&[][..], &["--forward"][..], &["--where-columns", "all"][..]] {
        let mut s = vec![
            "flashback",
            "--url",
            &url,
            "-d",
            &db,
            "--start-file",
            second,
        ];
        s.extend_from_slice(extra);
        // The same server gives column definitions (keys, generated columns) on both sides.
        let mut l = vec![
            "flashback",
            "--binlog-dir",
            dir,
            "--url",
            &url,
            "-d",
            &db,
            "--start-file",
            second,
        ];
        l.extend_from_slice(extra);
        let streamed = stdout_ok(arkc(&s));
        assert!(streamed.contains("BEGIN;"), "{streamed}");
        assert_eq!(streamed, stdout_ok(arkc(&l)), "flashback {extra:?}");
    }
}

#[test]
fn stream_from_a_start_file_and_position_matches_the_files() {
    let sb = private_sandbox("stream-start");
    let db = seeded_workload(&sb);
    let logs = sb.exec_sql("SHOW BINARY LOGS").unwrap();
    let second = logs.lines().nth(1).unwrap().split('\t').next().unwrap();
    let path = sb.binlog_dir().join(second);
    let pos = "400";
    let streamed = stdout_ok(arkc(&[
        "binlog",
        "events",
        "--url",
        &sb.url(),
        "--start-file",
        second,
        "--start-position",
        pos,
        "--format",
        "json",
    ]));
    let local = stdout_ok(arkc(&[
        "binlog",
        "events",
        path.to_str().unwrap(),
        "--url",
        &sb.url(),
        "--start-position",
        pos,
        "--format",
        "json",
    ]));
    assert!(streamed.contains(&db));
    assert_eq!(streamed, local);
}

#[test]
fn gtid_and_annotate_events_arrive_as_themselves() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("stream_gtid").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT); \
         INSERT INTO `{db}`.t VALUES (1, 10), (2, 20); \
         UPDATE `{db}`.t SET v = v + 1 WHERE id = 2 AND 'annotate-marker' <> ''"
    ))
    .unwrap();
    let gtid_pos = sb.exec_sql("SELECT @@gtid_binlog_pos").unwrap();
    let text = stdout_ok(arkc(&["binlog", "events", "--url", &sb.url(), "-d", &db]));
    // MariaDB GTIDs (domain-server-seq), which a replica without the capability never sees.
    let last_gtid = gtid_pos.trim();
    assert!(
        text.contains(&format!("GTID {last_gtid} ")),
        "GTID {last_gtid} missing:\n{text}"
    );
    assert!(
        text.contains("#   statement: UPDATE") && text.contains("annotate-marker"),
        "the annotate (original statement) is missing:\n{text}"
    );
}

#[test]
fn follow_over_the_network_sees_a_later_commit_and_stops_when_killed() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("stream_follow").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20))"
    ))
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([
            "binlog",
            "events",
            "--follow",
            "--format",
            "json",
            "--url",
            &sb.url(),
            "-d",
            &db,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    wait_for_streams(sb, 1);
    assert!(
        child.try_wait().unwrap().is_none(),
        "--follow must keep running"
    );
    sb.exec_sql(&format!("INSERT INTO `{db}`.t VALUES (1, 'after start')"))
        .unwrap();
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    sb.exec_sql(&format!(
        "INSERT INTO `{db}`.t VALUES (2, 'after rotation')"
    ))
    .unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + wait::DEADLINE;
    while Instant::now() < deadline && !seen.iter().any(|l: &String| l.contains("after rotation")) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    assert!(
        seen.iter().any(|l| l.contains("after start")),
        "the commit after start was not streamed: {seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("after rotation")),
        "{seen:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn follow_ends_with_an_error_naming_the_position_when_the_server_goes_away() {
    let mut sb = private_sandbox("stream-gone");
    sb.exec_sql("CREATE DATABASE gone; CREATE TABLE gone.t (id INT PRIMARY KEY); INSERT INTO gone.t VALUES (1)")
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["binlog", "events", "--follow", "--url", &sb.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_streams(&sb, 1);
    sb.stop().unwrap();
    // It must end by itself; the guard only turns a hang into a failure (how soon is not the claim).
    let out =
        output_within(child, HANG_GUARD).expect("--follow kept running after its server stopped");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{}", sb.port())), "{err}");
    assert!(
        err.contains("broke after") && err.contains(".00000"),
        "{err}"
    );
}

#[test]
fn a_dead_port_is_a_clear_error_fast() {
    let port = crate::support::ports::refused_port();
    let url = format!("mysql://root@127.0.0.1:{port}");
    // No retrying a refused connection: the command ends with the error (a hang fails the guard).
    let child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["binlog", "events", "--url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = output_within(child, HANG_GUARD).expect("arkc kept trying a refused port");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn default_server_id_leaves_a_replica_with_that_id_connected() {
    let primary = private_sandbox("stream-prim");
    let replica = Sandbox::start_replica_of(
        &primary,
        SandboxOptions {
            name: "stream-repl".into(),
            server_id: Some(arkc::backend::binlog::stream::DEFAULT_SERVER_ID),
            ..Default::default()
        },
    )
    .unwrap();
    let hosts = primary.exec_sql("SHOW SLAVE HOSTS").unwrap();
    assert!(
        hosts.contains(&arkc::backend::binlog::stream::DEFAULT_SERVER_ID.to_string()),
        "the replica registered with the default id: {hosts}"
    );
    primary
        .exec_sql("CREATE DATABASE ids; CREATE TABLE ids.t (id INT PRIMARY KEY); INSERT INTO ids.t VALUES (7)")
        .unwrap();
    stdout_ok(arkc(&["binlog", "events", "--url", &primary.url()]));
    // An asked id that is taken is refused before the dump could cut the replica off.
    let id = arkc::backend::binlog::stream::DEFAULT_SERVER_ID.to_string();
    let refused = arkc(&[
        "binlog",
        "events",
        "--url",
        &primary.url(),
        "--server-id",
        &id,
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already used"));
    primary.exec_sql("INSERT INTO ids.t VALUES (8)").unwrap();
    let deadline = Instant::now() + wait::DEADLINE;
    loop {
        let got = replica
            .exec_sql("SELECT COUNT(*) FROM ids.t")
            .unwrap_or_default();
        if got.trim() == "2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica stopped replicating: {got}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = replica.replica_status().unwrap();
    assert_eq!(
        status.get("Slave_IO_Running").map(String::as_str),
        Some("Yes")
    );
}

#[test]
fn check_and_execute_work_on_the_stream() {
    let sb = private_sandbox("stream-exec");
    let db = sb.create_schema("stream_exec").unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("schema.sql")))
        .unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("seed.sql"))).unwrap();
    let checksum = || {
        sb.exec_sql(&format!(
            "CHECKSUM TABLE `{db}`.alltypes, `{db}`.`select`, `{db}`.nopk, `{db}`.comp"
        ))
        .unwrap()
    };
    let before = checksum();
    sb.exec_sql("FLUSH BINARY LOGS").unwrap();
    let (file, _) = sb.binlog_position().unwrap();
    sb.exec_sql(&in_schema(&db, &sql_file("incident.sql")))
        .unwrap();
    assert_ne!(checksum(), before);
    let url = sb.url();
    let base = ["flashback", "--url", &url, "--start-file", &file, "-d", &db];
    let check = arkc(&[&base[..], &["--check"]].concat());
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([&base[..], &["--execute", "--yes"]].concat())
        .env("XDG_DATA_HOME", data.path())
        .output()
        .unwrap();
    stdout_ok(out);
    assert_eq!(
        checksum(),
        before,
        "the streamed rollback restored the data"
    );
}

#[test]
fn instance_from_the_config_is_a_source_and_help_names_the_default_id() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("stream_inst").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY); INSERT INTO `{db}`.t VALUES (42)"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             [[instance]]\nname = \"sock\"\nsocket = \"{}\"\nuser = \"root\"\n",
            sb.port(),
            sb.socket().display()
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let by_instance = stdout_ok(arkc(&[
        "--config",
        cfg,
        "binlog",
        "events",
        "--instance",
        "sb",
        "-d",
        &db,
        "--format",
        "json",
    ]));
    let by_url = stdout_ok(arkc(&[
        "binlog",
        "events",
        "--url",
        &sb.url(),
        "-d",
        &db,
        "--format",
        "json",
    ]));
    assert!(by_instance.contains("42"), "{by_instance}");
    assert_eq!(by_instance, by_url);
    let by_socket = stdout_ok(arkc(&[
        "--config",
        cfg,
        "binlog",
        "events",
        "--instance",
        "sock",
        "-d",
        &db,
        "--format",
        "json",
    ]));
    assert_eq!(by_socket, by_url, "the stream over the Unix socket");
    let unknown = arkc(&["--config", cfg, "binlog", "events", "--instance", "nope"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no instance named `nope`"));
    let help = stdout_ok(arkc(&["binlog", "events", "--help"]));
    let id = arkc::backend::binlog::stream::DEFAULT_SERVER_ID.to_string();
    assert!(help.contains(&id), "--help must name the default id {id}");
}

#[test]
fn no_checksums_compressed_events_and_events_larger_than_one_packet_stream_like_the_files() {
    let sb = Sandbox::start(SandboxOptions {
        name: "stream-big".into(),
        extra_args: vec![
            "--binlog-checksum=NONE".into(),
            "--max-allowed-packet=64M".into(),
            // MariaDB's compressed QUERY/ROWS events (0xa4-0xab) travel as they are.
            "--log-bin-compress=ON".into(),
            "--log-bin-compress-min-len=10".into(),
        ],
        ..Default::default()
    })
    .unwrap();
    // 20 MB in one row: the event spans two 16 MiB protocol packets.
    sb.exec_sql(
        "CREATE DATABASE big; CREATE TABLE big.t (id INT PRIMARY KEY, b LONGBLOB); \
         INSERT INTO big.t VALUES (1, REPEAT('x', 20000000)); \
         UPDATE big.t SET b = CONCAT(b, 'y') WHERE id = 1",
    )
    .unwrap();
    sb.exec_sql("FLUSH BINARY LOGS; INSERT INTO big.t VALUES (2, 'small')")
        .unwrap();
    let dir = sb.binlog_dir();
    let streamed = stdout_ok(arkc(&[
        "binlog",
        "events",
        "--url",
        &sb.url(),
        "--format",
        "json",
    ]));
    let local = stdout_ok(arkc(&[
        "binlog",
        "events",
        "--binlog-dir",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(
        streamed.len() > 40_000_000,
        "both images of the big row are listed"
    );
    assert!(streamed.contains("small"));
    let compressed = sb
        .exec_sql("SHOW BINLOG EVENTS")
        .unwrap()
        .contains("_compressed");
    assert!(compressed, "the binlog holds compressed events");
    assert!(streamed == local, "stream and files differ");
}

#[test]
fn list_shows_show_binary_logs() {
    let sb = Sandbox::shared();
    let listed = stdout_ok(arkc(&["binlog", "list", "--url", &sb.url()]));
    let server = sb.exec_sql("SHOW BINARY LOGS").unwrap();
    let names = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    assert!(!listed.is_empty());
    // Sizes of the active file may grow between the two calls; names and order may not.
    assert_eq!(names(&listed), names(&server));
    for line in listed.lines() {
        let size: u64 = line.split('\t').nth(1).unwrap().parse().unwrap();
        assert!(size >= 4, "{line}");
    }
}

#[test]
fn follow_ends_by_itself_past_the_stop_file() {
    let sb = private_sandbox("stream-stopfile");
    let (file, _) = sb.binlog_position().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args([
            "binlog",
            "events",
            "--follow",
            "--url",
            &sb.url(),
            "--stop-file",
            &file,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_streams(&sb, 1);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still following {file}"
    );
    sb.exec_sql(
        "CREATE DATABASE s; CREATE TABLE s.t (id INT PRIMARY KEY); INSERT INTO s.t VALUES (5)",
    )
    .unwrap();
    sb.exec_sql("FLUSH BINARY LOGS; INSERT INTO s.t VALUES (6)")
        .unwrap();
    let deadline = Instant::now() + wait::DEADLINE;
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "--follow did not stop after {file}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("id=5") && !text.contains("id=6"), "{text}");
}

#[test]
fn a_replication_account_with_a_password_can_stream() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("stream_pw").unwrap();
    let user = format!("repl_{}", sb.port());
    sb.exec_sql(&format!(
        "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 's3cretPW'; \
         GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%'; \
         CREATE TABLE `{db}`.t (id INT PRIMARY KEY); INSERT INTO `{db}`.t VALUES (77)"
    ))
    .unwrap();
    let url = format!("mysql://{user}:s3cretPW@127.0.0.1:{}", sb.port());
    let as_repl = stdout_ok(arkc(&["binlog", "events", "--url", &url, "-d", &db]));
    let as_root = stdout_ok(arkc(&["binlog", "events", "--url", &sb.url(), "-d", &db]));
    assert!(as_repl.contains("id=77"), "{as_repl}");
    assert_eq!(as_repl, as_root);
    let wrong = format!("mysql://{user}:nope@127.0.0.1:{}", sb.port());
    let refused = arkc(&["binlog", "events", "--url", &wrong]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Access denied"));
}

#[test]
fn minimal_row_metadata_gets_column_names_from_the_streamed_server() {
    let sb = Sandbox::start(SandboxOptions {
        name: "stream-minimal".into(),
        extra_args: vec!["--binlog-row-metadata=MINIMAL".into()],
        ..Default::default()
    })
    .unwrap();
    let db = seeded_workload(&sb);
    let logs = sb.exec_sql("SHOW BINARY LOGS").unwrap();
    let second = logs.lines().nth(1).unwrap().split('\t').next().unwrap();
    let url = sb.url();
    let dir = sb.binlog_dir();
    let dir = dir.to_str().unwrap();
    let streamed = stdout_ok(arkc(&[
        "flashback",
        "--url",
        &url,
        "-d",
        &db,
        "--start-file",
        second,
    ]));
    let local = stdout_ok(arkc(&[
        "flashback",
        "--binlog-dir",
        dir,
        "--url",
        &url,
        "-d",
        &db,
        "--start-file",
        second,
    ]));
    // Real column names, not @1..@n: they came from information_schema.
    assert!(streamed.contains("`id`"), "{streamed}");
    assert_eq!(streamed, local);
    let streamed = stdout_ok(arkc(&[
        "binlog", "events", "--url", &url, "--format", "json",
    ]));
    let local = stdout_ok(arkc(&[
        "binlog",
        "events",
        "--binlog-dir",
        dir,
        "--url",
        &url,
        "--format",
        "json",
    ]));
    assert_eq!(streamed, local);
}

#[test]
fn follow_lives_on_heartbeats_and_gives_up_on_a_frozen_server() {
    let sb = private_sandbox("stream-frozen");
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["binlog", "events", "--follow", "--url", &sb.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Streaming first (a slow start would eat into the idle time), then idle for longer than the
    // 5 s silence limit: only heartbeats keep an idle stream alive. The pause is the subject here,
    // and a slow machine only makes it longer.
    wait_for_streams(&sb, 1);
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        child.try_wait().unwrap().is_none(),
        "an idle --follow must keep running"
    );
    let pid = sb.pid().expect("sandbox pid");
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let frozen = Instant::now();
    let mut status = None;
    // The silence limit is 5 s; the guard is only there to end a stream that never gives up.
    while frozen.elapsed() < HANG_GUARD {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let Some(status) = status else {
        child.kill().unwrap();
        panic!("--follow kept waiting on a frozen server");
    };
    assert!(!status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no data or heartbeat") && err.contains("broke after"),
        "{err}"
    );
}

#[test]
fn two_streams_with_the_default_id_both_follow() {
    let sb = private_sandbox("stream-two");
    sb.exec_sql("CREATE DATABASE two; CREATE TABLE two.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    let follow = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
            .args([
                "binlog",
                "events",
                "--follow",
                "--url",
                &sb.url(),
                "-d",
                "two",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
        (child, rx)
    };
    let (mut first, first_rx) = follow();
    wait_for_streams(&sb, 1);
    let (mut second, second_rx) = follow();
    wait_for_streams(&sb, 2);
    sb.exec_sql("INSERT INTO two.t VALUES (1, 'seen by both')")
        .unwrap();
    for (name, rx, child) in [
        ("first", &first_rx, &mut first),
        ("second", &second_rx, &mut second),
    ] {
        let deadline = Instant::now() + wait::DEADLINE;
        let mut seen = false;
        while !seen && Instant::now() < deadline {
            seen = rx
                .recv_timeout(Duration::from_millis(200))
                .is_ok_and(|l| l.contains("seen by both"));
        }
        if !seen {
            child.kill().ok();
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).ok();
            panic!("the {name} stream missed the commit: {err}");
        }
    }
    for child in [&mut first, &mut second] {
        assert!(child.try_wait().unwrap().is_none(), "both still following");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
