//! `arkc deploy review|apply|list|undo` against a real sandbox MariaDB: live review rules,
//! apply + undo restoring a table's checksum while another session writes elsewhere, a
//! failing statement stopping the apply, read-only refusals, the history as JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arkc::sandbox::Sandbox;

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new(sb: &Sandbox, review: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let text = format!(
            "[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n{review}\n",
            sb.port()
        );
        std::fs::write(&config, text).unwrap();
        Setup { dir, config }
    }

    fn file(&self, name: &str, sql: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, sql).unwrap();
        p
    }

    fn arkc(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_arkc"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn apply(&self, file: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "deploy",
            "apply",
            file.to_str().unwrap(),
            "--instance",
            "sb",
        ];
        args.extend_from_slice(extra);
        self.arkc(&args)
    }

    fn list(&self) -> serde_json::Value {
        let out = self.arkc(&["deploy", "list", "--format", "json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn checksum(sb: &Sandbox, table: &str) -> String {
    sb.exec_sql(&format!("CHECKSUM TABLE {table}")).unwrap()
}

fn seed_orders(sb: &Sandbox, db: &str) {
    let mut sql = format!(
        "CREATE TABLE `{db}`.orders (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL DEFAULT '', amount INT NOT NULL DEFAULT 0);\n\
         CREATE TABLE `{db}`.other (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20) NOT NULL DEFAULT '');\nINSERT INTO `{db}`.orders VALUES "
    );
    let rows: Vec<String> = (1..=200)
        .map(|i| format!("({i}, 'new', {})", i * 3))
        .collect();
    sql.push_str(&rows.join(","));
    sql.push(';');
    sb.exec_sql(&sql).unwrap();
}

fn rules(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn static_review_lists_the_must_show_rules_and_exits_1() {
    let sb = Sandbox::shared();
    let s = Setup::new(sb, "");
    let f = s.file(
        "change.sql",
        "UPDATE shop.orders SET status = 'x';\nSELECT * FROM shop.orders;\nCREATE TABLE shop.audit (note VARCHAR(20) NOT NULL DEFAULT '');\n",
    );
    let out = s.arkc(&["deploy", "review", f.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rules(&json),
        ["dml-where-required", "select-star", "table-requires-pk"]
    );
    assert_eq!(json[1]["index"], 2);
    assert_eq!(json[1]["line"], 2);
    assert_eq!(json[1]["severity"], "warning");
    let clean = s.file(
        "clean.sql",
        "UPDATE shop.orders SET status = 'x' WHERE id = 1;\n",
    );
    let out = s.arkc(&["deploy", "review", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn live_rules_read_the_instance() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_live").unwrap();
    seed_orders(sb, &db);
    sb.exec_sql(&format!("ANALYZE TABLE `{db}`.orders"))
        .unwrap();
    let s = Setup::new(
        sb,
        "[review]\naffected_rows_max = 20\nlarge_table_mib = 0\n",
    );
    let f = s.file(
        "live.sql",
        &format!(
            "USE `{db}`;\nUPDATE orders SET nope = 1 WHERE id = 1;\nDELETE FROM ghosts WHERE id = 1;\nUPDATE orders SET status = 'x' WHERE amount > 0;\nALTER TABLE orders ADD COLUMN note INT NOT NULL DEFAULT 0;\nUPDATE orders SET status = 'y' WHERE id = 7;\n"
        ),
    );
    let out = s.arkc(&[
        "deploy",
        "review",
        f.to_str().unwrap(),
        "--instance",
        "sb",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(u64, String)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["index"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = [
        (2, "column-exists"),
        (3, "table-exists"),
        (4, "affected-rows-limit"),
        (5, "large-table-alter"),
    ]
    .iter()
    .map(|(i, r)| (*i, r.to_string()))
    .collect();
    assert_eq!(got, want, "{}", text(&out.stdout));
    let alter = &json[3]["message"];
    assert!(
        alter
            .as_str()
            .unwrap()
            .contains("ALGORITHM=INSTANT, LOCK=NONE"),
        "{alter}"
    );
}

#[test]
fn apply_then_undo_restores_the_checksum_and_keeps_other_writes() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_undo").unwrap();
    seed_orders(sb, &db);
    let orders = format!("`{db}`.orders");
    let before = checksum(sb, &orders);
    let s = Setup::new(sb, "");
    let f = s.file(
        "change.sql",
        &format!(
            "UPDATE {orders} SET status = 'paid', amount = amount + 1 WHERE id <= 50;\nDELETE FROM {orders} WHERE id > 190;\nINSERT INTO {orders} (id, status, amount) VALUES (1000, 'new', 1);\n"
        ),
    );
    // Another session writes to another table the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let other = format!("`{db}`.other");
        std::thread::spawn(move || {
            let sb = Sandbox::shared();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 5 {
                sb.exec_sql(&format!("INSERT INTO {other} (note) VALUES ('w{n}')"))
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    let out = s.apply(&f, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).lines().next().unwrap().trim().to_string();
    assert!(
        id.parse::<i64>().is_ok(),
        "first line is the id: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("[3/3] statement 3"),
        "{}",
        text(&out.stderr)
    );
    let applied = checksum(sb, &orders);
    assert_ne!(applied, before);
    let out = s.arkc(&["deploy", "undo", &id, "--yes"]);
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(
        out.status.success(),
        "undo failed: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    assert_eq!(
        checksum(sb, &orders),
        before,
        "the deploy's table is back: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    let kept = sb
        .exec_sql(&format!("SELECT COUNT(*) FROM `{db}`.other"))
        .unwrap();
    assert_eq!(
        kept.trim(),
        writes.to_string(),
        "the other session's writes stay"
    );
    let list = s.list();
    let d = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"].as_i64().map(|v| v.to_string()).as_deref() == Some(id.as_str()))
        .unwrap();
    assert_eq!(d["status"], "undone");
    let again = s.arkc(&["deploy", "undo", &id, "--yes"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already undone"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn undo_refuses_rows_changed_since_and_ddl() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_refuse").unwrap();
    seed_orders(sb, &db);
    let orders = format!("`{db}`.orders");
    let s = Setup::new(sb, "");
    let f = s.file(
        "c.sql",
        &format!("UPDATE {orders} SET status = 'paid' WHERE id = 5;\n"),
    );
    let out = s.apply(&f, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).lines().next().unwrap().trim().to_string();
    sb.exec_sql(&format!(
        "UPDATE {orders} SET status = 'later' WHERE id = 5"
    ))
    .unwrap();
    let out = s.arkc(&["deploy", "undo", &id, "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("changed since"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    let now = sb
        .exec_sql(&format!("SELECT status FROM {orders} WHERE id = 5"))
        .unwrap();
    assert_eq!(now.trim(), "later", "nothing overwritten");

    let ddl = s.file(
        "ddl.sql",
        &format!("ALTER TABLE {orders} ADD COLUMN note INT NOT NULL DEFAULT 0;\n"),
    );
    let out = s.apply(&ddl, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).lines().next().unwrap().trim().to_string();
    let out = s.arkc(&["deploy", "undo", &id, "--yes"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("DDL: ALTER TABLE") && err.contains("cannot be undone"),
        "{err}"
    );
}

#[test]
fn apply_stops_at_the_failing_statement_and_says_what_was_applied() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_fail").unwrap();
    seed_orders(sb, &db);
    let orders = format!("`{db}`.orders");
    let s = Setup::new(sb, "");
    let f = s.file(
        "fail.sql",
        &format!(
            "INSERT INTO {orders} (id, status, amount) VALUES (500, 'a', 1);\nINSERT INTO {orders} (id, status, amount) VALUES (1, 'dup', 1);\nUPDATE {orders} SET status = 'never' WHERE id = 2;\n"
        ),
    );
    let out = s.apply(&f, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("stopped at statement 2 (line 2)") && err.contains("Duplicate entry"),
        "{err}"
    );
    assert!(
        err.contains("Statements 1 to 1 before it stay applied"),
        "{err}"
    );
    let id = text(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse::<i64>()
        .unwrap();
    assert_eq!(
        sb.exec_sql(&format!("SELECT COUNT(*) FROM {orders} WHERE id = 500"))
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(
        sb.exec_sql(&format!("SELECT status FROM {orders} WHERE id = 2"))
            .unwrap()
            .trim(),
        "new"
    );
    let list = s.list();
    let d = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap();
    assert_eq!(d["status"], "failed");
    assert_eq!(d["instance"], "sb");
    assert!(d["file_sha256"].as_str().unwrap().len() == 64);
    assert!(d["before"]["file"].as_str().unwrap().contains("bin"), "{d}");
    assert!(d["after"]["position"].as_u64().unwrap() > d["before"]["position"].as_u64().unwrap());
    let st = d["statements"].as_array().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(
        (st[0]["status"].as_str(), st[0]["affected_rows"].as_u64()),
        (Some("applied"), Some(1))
    );
    assert_eq!(st[1]["status"], "failed");
}

#[test]
fn read_only_and_review_errors_refuse_and_send_nothing() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_ro").unwrap();
    seed_orders(sb, &db);
    let orders = format!("`{db}`.orders");
    let before = checksum(sb, &orders);
    let s = Setup::new(sb, "");
    let f = s.file(
        "c.sql",
        &format!("UPDATE {orders} SET status = 'x' WHERE id = 1;\n"),
    );
    let out = s.arkc(&[
        "--read-only",
        "deploy",
        "apply",
        f.to_str().unwrap(),
        "--instance",
        "sb",
        "--yes",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
    let out = s.arkc(&["deploy", "undo", "1", "--read-only", "--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
    let bad = s.file("bad.sql", &format!("UPDATE {orders} SET status = 'x';\n"));
    let out = s.apply(&bad, &["--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("dml-where-required"),
        "{}",
        text(&out.stderr)
    );
    let warn = s.file(
        "warn.sql",
        &format!("DELETE FROM {orders} WHERE id > 1 ORDER BY id LIMIT 1;\n"),
    );
    let out = s.apply(&warn, &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(checksum(sb, &orders), before, "nothing was sent");
    assert!(
        s.list().as_array().unwrap().is_empty(),
        "refusals leave no deploy"
    );
}

#[test]
fn a_file_with_its_own_transaction_is_applied_as_written_and_undone() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_txn").unwrap();
    seed_orders(sb, &db);
    let orders = format!("`{db}`.orders");
    let before = checksum(sb, &orders);
    let s = Setup::new(sb, "");
    let f = s.file(
        "txn.sql",
        &format!("BEGIN;\nUPDATE {orders} SET amount = 0 WHERE id < 10;\nDELETE FROM {orders} WHERE id = 20;\nCOMMIT;\n"),
    );
    let refused = s.apply(&f, &[]);
    assert!(
        !refused.status.success(),
        "commit-in-change is a warning: needs --yes"
    );
    assert!(
        text(&refused.stderr).contains("commit-in-change"),
        "{}",
        text(&refused.stderr)
    );
    let out = s.apply(&f, &["--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).lines().next().unwrap().trim().to_string();
    let list = s.list();
    let d = &list.as_array().unwrap()[0];
    let gtids: Vec<&str> = d["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["gtid"].as_str())
        .collect();
    assert_eq!(gtids.len(), 1, "one transaction, as the file wrote it: {d}");
    assert_ne!(checksum(sb, &orders), before);
    let out = s.arkc(&["deploy", "undo", &id, "--yes"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    assert_eq!(checksum(sb, &orders), before);
}

/// The Jobs pane's backend task: review, then apply, reported as events (the pane's path).
#[test]
fn the_pane_task_reviews_and_applies_with_events() {
    use arkc::backend::deploy::task::{run_blocking, DeployEvent, DeployRequest};
    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_task").unwrap();
    seed_orders(sb, &db);
    let s = Setup::new(sb, "");
    // nextest runs each test in its own process: the history goes to this test's dir.
    std::env::set_var("XDG_DATA_HOME", s.dir.path().join("data"));
    let inst = arkc::config::InstanceConfig::tcp("sb", "127.0.0.1", sb.port());
    let cfg = arkc::config::review::ReviewConfig::default();
    let f = s.file("t.sql", &format!("UPDATE `{db}`.orders SET status = 'p' WHERE id <= 3;\nUPDATE `{db}`.nope SET a = 1 WHERE id = 1;\n"));
    let mut events = Vec::new();
    run_blocking(
        DeployRequest::Review {
            instance: "sb".into(),
            file: f.clone(),
        },
        &inst,
        &cfg,
        &mut |e| events.push(e),
    );
    match &events[..] {
        [DeployEvent::Reviewed {
            statements: 2,
            findings,
            ..
        }] => {
            assert_eq!(
                findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
                ["table-exists"]
            );
        }
        other => panic!("{other:?}"),
    }
    events.clear();
    run_blocking(
        DeployRequest::Apply {
            instance: "sb".into(),
            file: f,
            read_only: false,
        },
        &inst,
        &cfg,
        &mut |e| events.push(e),
    );
    assert!(
        matches!(&events[..], [DeployEvent::Failed(m)] if m.contains("1 error")),
        "{events:?}"
    );
    let ok = s.file(
        "ok.sql",
        &format!("UPDATE `{db}`.orders SET status = 'p' WHERE id <= 3;\n"),
    );
    events.clear();
    run_blocking(
        DeployRequest::Apply {
            instance: "sb".into(),
            file: ok,
            read_only: false,
        },
        &inst,
        &cfg,
        &mut |e| events.push(e),
    );
    match &events[..] {
        [DeployEvent::Progress {
            done: 1,
            total: 1,
            affected_rows: 3,
            ..
        }, DeployEvent::Finished {
            ok: true,
            deploy_id,
            ..
        }] => {
            assert!(s
                .list()
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["id"] == *deploy_id));
        }
        other => panic!("{other:?}"),
    }
}

/// The whole path of the Jobs pane's `d`: keys make `BackendCommand::Deploy`s, the console's
/// backend runs them and its `BackendEvent::Deploy`s move the pane on to a recorded deploy.
#[test]
fn deploy_from_the_jobs_pane_through_the_backend() {
    use arkc::app::jobs::deploy::DeployStage;
    use arkc::app::{update, Action, Effect, Mode, State};
    use std::time::{Duration, Instant};

    let sb = Sandbox::shared();
    let db = sb.create_schema("dl_pane").unwrap();
    seed_orders(sb, &db);
    let s = Setup::new(sb, "");
    std::env::set_var("XDG_DATA_HOME", s.dir.path().join("data"));
    let config = arkc::config::Config::load(&s.config).unwrap();
    let file = s.file(
        "pane.sql",
        &format!("UPDATE `{db}`.orders SET status = 'q' WHERE id <= 2;\n"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let backend = arkc::backend::spawn(Arc::new(config.clone()), tx);
        let mut state = State::new(&config, false, chrono::Utc::now());
        update(&mut state, Action::PaneJobs);
        update(&mut state, Action::DeployStart);
        assert_eq!(state.mode, Mode::PaneInput);
        let send = |effects: Vec<Effect>| {
            assert!(!effects.is_empty());
            for e in effects {
                match e {
                    Effect::SendBackend(c) => backend.send(c),
                    other => panic!("{other:?}"),
                }
            }
        };
        for c in file.display().to_string().chars() {
            update(&mut state, Action::InputChar(c));
        }
        send(update(&mut state, Action::Confirm));
        // Feed backend events to the console until the flow reaches `want` or a deadline passes.
        async fn until(
            state: &mut State,
            rx: &mut tokio::sync::mpsc::UnboundedReceiver<arkc::backend::BackendEvent>,
            want: fn(&DeployStage) -> bool,
        ) {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let stage = state.jobs.deploy.as_ref().map(|f| f.stage.clone());
                if stage.as_ref().is_some_and(want) {
                    return;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, rx.recv()).await {
                    Ok(Some(ev)) => {
                        update(state, Action::Backend(Box::new(ev)));
                    }
                    _ => panic!("deploy flow stuck at {stage:?}"),
                }
            }
        }
        until(&mut state, &mut rx, |s| {
            matches!(s, DeployStage::Reviewed { statements: 1, findings, .. } if findings.is_empty())
        })
        .await;
        assert!(update(&mut state, Action::Confirm).is_empty());
        for c in "sb".chars() {
            update(&mut state, Action::InputChar(c));
        }
        send(update(&mut state, Action::Confirm));
        until(&mut state, &mut rx, |s| {
            matches!(s, DeployStage::Finished { .. })
        })
        .await;
        match &state.jobs.deploy.as_ref().unwrap().stage {
            DeployStage::Finished {
                deploy_id: Some(id),
                ok: true,
                lines,
                ..
            } => {
                assert_eq!(lines, &["statement 1 (line 1): 2 row(s)".to_string()]);
                assert!(s
                    .list()
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["id"] == *id));
            }
            other => panic!("{other:?}"),
        }
        backend.shutdown().await;
    });
    let status = sb
        .exec_sql(&format!(
            "SELECT GROUP_CONCAT(status ORDER BY id) FROM `{db}`.orders WHERE id <= 3"
        ))
        .unwrap();
    assert!(status.contains("q,q,new"), "{status}");
}
