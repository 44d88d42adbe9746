//! arkc's replication client over TLS against a sandbox serving a test CA's certificate: the
//! binlogs listed and streamed (`arkc binlog list`, `arkc binlog events`), a flashback over the
//! stream (`arkc flashback --instance`), the dump connection itself encrypted, an encrypting
//! `--url`, and the Binlog pane's live follow (`F`); each refused with the wrong CA, saying
//! which instance and which CA file.

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::Sandbox;

use crate::support::tmux::TmuxSession;
use crate::tls::{arkc_with, assert_names_the_wrong_ca, output_text, tls_instances, tls_sandbox};

const WAIT: Duration = Duration::from_secs(30);

/// (TLS connections accepted, connections) so far.
fn tls_counters(sb: &Sandbox) -> (u64, u64) {
    let text = sb
        .exec_sql(
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME IN ('SSL_ACCEPTS', 'CONNECTIONS') ORDER BY VARIABLE_NAME",
        )
        .unwrap();
    let n: Vec<u64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    (n[1], n[0])
}

/// A schema whose rows change in a binlog of their own (flashback refuses the DDL before it);
/// returns the schema and that binlog.
fn seeded(sb: &Sandbox) -> (String, String) {
    let db = sb.create_schema("tlsstream").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20)); FLUSH BINARY LOGS"
    ))
    .unwrap();
    let (file, _) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!(
        "INSERT INTO {db}.t VALUES (1, 'over tls'), (2, 'two');
         UPDATE {db}.t SET v = 'changed' WHERE id = 2"
    ))
    .unwrap();
    (db, file)
}

#[test]
fn cli_streams_and_flashbacks_over_tls_and_refuses_the_wrong_ca() {
    let (certs, sb) = tls_sandbox("tlsstream");
    let (db, first) = seeded(&sb);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let instances = tls_instances(&sb, certs.path(), "binlog_source = \"stream\"");
    std::fs::write(&config, instances).unwrap();
    let run = |args: &[&str]| arkc_with(&config, home.path(), args);
    let list = run(&["binlog", "list", "--instance", "good"]);
    assert!(list.status.success(), "{}", output_text(&list));
    assert!(String::from_utf8_lossy(&list.stdout).contains(&first));
    for instance in ["good", "req"] {
        // Every connection of the run is encrypted, the dump connection included (the
        // counters' own query is one more connection, over the socket, with TLS as well).
        let before = tls_counters(&sb);
        let events = run(&["binlog", "events", "--instance", instance, "-d", &db]);
        let after = tls_counters(&sb);
        assert!(events.status.success(), "{}", output_text(&events));
        let text = String::from_utf8_lossy(&events.stdout);
        assert!(
            text.contains("'over tls'") || text.contains("over tls"),
            "{text}"
        );
        let (tls, all) = (after.0 - before.0, after.1 - before.1);
        assert!(all >= 3, "list, ids and the dump: {all} connections");
        assert_eq!(tls, all, "{instance}: {tls} of {all} connections used TLS");
    }
    let flashback = run(&[
        "flashback",
        "--instance",
        "good",
        "--start-file",
        &first,
        "-d",
        &db,
    ]);
    assert!(flashback.status.success(), "{}", output_text(&flashback));
    let undo = String::from_utf8_lossy(&flashback.stdout);
    assert!(undo.contains("DELETE FROM"), "{undo}");
    assert!(undo.contains("'two'"), "the UPDATE undone: {undo}");

    // A URL can ask for encryption only (like tls = "required").
    let url = format!(
        "mysql://root@127.0.0.1:{}/?require_ssl=true&verify_ca=false",
        sb.port()
    );
    let by_url = run(&["binlog", "events", "--url", &url, "-d", &db]);
    assert!(by_url.status.success(), "{}", output_text(&by_url));
    let verify_by_url = url.replace("verify_ca=false", "verify_ca=true");
    let refused = run(&["binlog", "events", "--url", &verify_by_url, "-d", &db]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("--instance"),
        "{stderr}"
    );

    for args in [
        &["binlog", "list", "--instance", "wrong"][..],
        &["binlog", "events", "--instance", "wrong", "-d", &db][..],
        &[
            "flashback",
            "--instance",
            "wrong",
            "--start-file",
            &first,
            "-d",
            &db,
        ][..],
    ] {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}: {}", output_text(&out));
        assert_names_the_wrong_ca(&String::from_utf8_lossy(&out.stderr), certs.path());
    }
}

/// The console on `config`, at 100x30 (wide enough for the error line).
fn console(home: &Path, config: &Path) -> TmuxSession {
    let xdg = |name: &str| home.join(name).display().to_string();
    let envs = [
        ("XDG_CONFIG_HOME", xdg("config")),
        ("XDG_STATE_HOME", xdg("state")),
        ("XDG_DATA_HOME", xdg("data")),
    ];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = ["--config", config.to_str().unwrap()];
    TmuxSession::start(Path::new(env!("CARGO_BIN_EXE_arkc")), &args, &envs, 100, 30)
}

/// The Binlog pane's live follow (`F`) over TLS shows a write as it commits; with the wrong CA
/// the pane says which CA to fix.
#[test]
fn pane_live_follow_over_tls() {
    let (certs, sb) = tls_sandbox("tlspane");
    let db = sb.create_schema("tlspane").unwrap();
    sb.exec_sql(&format!("CREATE TABLE {db}.followed (id INT PRIMARY KEY)"))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let good = tls_instances(&sb, certs.path(), "binlog_source = \"stream\"");
    let good = good.split("[[instance]]").nth(1).unwrap();
    std::fs::write(
        &config,
        format!("[ui]\nrefresh_ms = 1000\n\n[[instance]]{good}"),
    )
    .unwrap();
    let c = console(home.path(), &config);
    c.wait_ready(WAIT);
    c.keys(&["3"]);
    c.wait_for_text("stream", WAIT);
    c.keys(&["F"]);
    c.wait_for_text("following ·", WAIT);
    crate::support::wait::wait_until("arkc's binlog dump thread", WAIT, || {
        sb.exec_sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
        )
        .is_ok_and(|n| n.trim().parse::<u32>().unwrap_or(0) > 0)
    });
    sb.exec_sql(&format!("INSERT INTO {db}.followed VALUES (1), (2), (3)"))
        .unwrap();
    let screen = c.wait_for_text(&format!("{db}.followed"), WAIT);
    assert!(screen.contains("following ·"), "{screen}");
    c.keys(&["F"]);
    c.wait_for_text("stopped following", WAIT);
    c.keys(&["q"]);
    assert_eq!(c.wait_exit(WAIT), 0);

    let wrong = tls_instances(&sb, certs.path(), "binlog_source = \"stream\"");
    let wrong = wrong.split("[[instance]]").nth(3).unwrap();
    std::fs::write(
        &config,
        format!("[ui]\nrefresh_ms = 1000\n\n[[instance]]{wrong}"),
    )
    .unwrap();
    let c = console(home.path(), &config);
    c.wait_ready(WAIT);
    c.keys(&["3"]);
    let screen = c.wait_for_text("not signed by ca", WAIT);
    assert!(screen.contains("wrong"), "{screen}");
    c.keys(&["q"]);
    assert_eq!(c.wait_exit(WAIT), 0);
}
