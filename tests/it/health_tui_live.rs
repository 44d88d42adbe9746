//! The Health pane's monitoring views in the real console (tmux, 80x24) against sandbox servers:
//! the Processlist view filters, sorts and kills sessions (one, then every one a filter shows),
//! and refuses once `:readonly on`; the Locks view names the root blocker of a three-session
//! chain and `K` frees both waiters; a SIGSTOPped server fires `instance_down` in the Alerts view
//! while keys keep being answered, and the alert resolves after SIGCONT.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;
use tokio::runtime::Runtime;

use crate::support::sessions::{lock_chain, session as open};
use crate::support::tmux::TmuxSession;
use crate::support::wait::{self, DEADLINE};

fn sandbox(name: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        name: name.into(),
        ..Default::default()
    })
    .expect("sandbox starts")
}

/// The console on `sb` as instance `db`, polled every 300 ms, in a 80x24 tmux terminal.
fn console(sb: &Sandbox, dir: &Path, extra_args: &[&str]) -> TmuxSession {
    let config = format!(
        "[ui]\nrefresh_ms = 300\n\n[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
         [alerts.disk_low]\nenabled = false\n",
        sb.port()
    );
    let config_path: PathBuf = dir.join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    let state = dir.join("state").display().to_string();
    let cfg_home = dir.join("cfg").display().to_string();
    let mut args = vec!["--config".to_string(), config_path.display().to_string()];
    args.extend(extra_args.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let session = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &args,
        &[("XDG_STATE_HOME", &state), ("XDG_CONFIG_HOME", &cfg_home)],
        80,
        24,
    );
    session.wait_for("db up", DEADLINE, |s| {
        s.lines()
            .any(|l| l.trim_start_matches('│').starts_with("db ") && l.contains(" up "))
    });
    session
}

/// Whether session `id` still exists on the server, asked on a fresh connection.
fn alive(rt: &Runtime, port: u16, id: u64) -> bool {
    rt.block_on(async {
        let (mut c, _) = open(port).await;
        let n: u64 = c
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
            ))
            .await
            .unwrap()
            .unwrap();
        let _ = c.disconnect().await;
        n == 1
    })
}

/// A session busy with `SELECT 'marker', SLEEP(600)` until killed; returns its id.
fn sleeper(rt: &Runtime, port: u16, marker: &str) -> u64 {
    let (mut conn, id) = rt.block_on(open(port));
    let sql = format!("SELECT '{marker}', SLEEP(600)");
    rt.spawn(async move {
        let _ = conn.query_drop(sql).await;
    });
    id
}

/// Type `/text` and keep it; waits for the view to say it filters.
fn filter(tui: &TmuxSession, text: &str) {
    tui.keys(&["/"]);
    tui.wait_for_text("enter keeps", DEADLINE);
    tui.type_text(text);
    tui.keys(&["Enter"]);
    tui.wait_for_text(&format!("filter: {text}"), DEADLINE);
}

/// `esc` clears the filter. Keys are sent only after the screen shows it: a terminal reads ESC
/// followed at once by another key as one alt-key.
fn clear_filter(tui: &TmuxSession) {
    tui.keys(&["Escape"]);
    tui.wait_for("filter cleared", DEADLINE, |s| !s.contains("filter: "));
}

fn screen_line_with<'a>(screen: &'a str, needles: &[&str]) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| needles.iter().all(|n| l.contains(n)))
}

#[test]
fn processlist_view_filters_sorts_kills_and_refuses_read_only() {
    let sb = sandbox("tui-plist");
    let rt = Runtime::new().unwrap();
    let victim = sleeper(&rt, sb.port(), "arkc-victim");
    let bulk = [
        sleeper(&rt, sb.port(), "arkc-bulk"),
        sleeper(&rt, sb.port(), "arkc-bulk"),
    ];
    let bystander = sleeper(&rt, sb.port(), "arkc-bystander");
    let dir = tempfile::tempdir().unwrap();
    let tui = console(&sb, dir.path(), &[]);

    tui.keys(&["Enter"]);
    tui.wait_for_text("Dashboard", DEADLINE);
    tui.keys(&["Tab"]);
    tui.wait_for("every sleeper listed", DEADLINE, |s| {
        s.contains("sort: time") && s.contains("arkc-victim") && s.contains("arkc-bystander")
    });
    tui.keys(&["s"]);
    tui.wait_for_text("sort: trx age", DEADLINE);
    tui.keys(&["s"]);
    tui.wait_for_text("sort: rows locked", DEADLINE);
    tui.keys(&["s"]);
    tui.wait_for_text("sort: time", DEADLINE);

    // One session: filter to it, kill its connection after typing the instance name.
    filter(&tui, "arkc-victim");
    tui.wait_for("only the victim", DEADLINE, |s| {
        s.contains("filter: arkc-victim")
            && s.contains(&format!(" {victim} "))
            && !s.contains("arkc-bystander")
    });
    tui.keys(&["X"]);
    tui.wait_for_text(
        &format!("kill connection of session {victim} on db?"),
        DEADLINE,
    );
    tui.type_text("db");
    tui.keys(&["Enter"]);
    tui.wait_for_text("kill connection: 1 of 1 session(s) on db", DEADLINE);
    wait::wait_until("the victim's session ended", DEADLINE, || {
        !alive(&rt, sb.port(), victim)
    });
    assert!(
        alive(&rt, sb.port(), bystander),
        "only the victim was killed"
    );

    // Every session the filter shows.
    clear_filter(&tui);
    filter(&tui, "arkc-bulk");
    tui.wait_for("both bulk sessions listed", DEADLINE, |s| {
        bulk.iter().all(|id| s.contains(&format!(" {id} "))) && s.contains("2 of")
    });
    tui.keys(&["B"]);
    tui.wait_for_text(
        "kill connection of 2 session(s) matching `arkc-bulk` on db?",
        DEADLINE,
    );
    tui.type_text("db");
    tui.keys(&["Enter"]);
    tui.wait_for_text("kill connection: 2 of 2 session(s) on db", DEADLINE);
    wait::wait_until("both bulk sessions ended", DEADLINE, || {
        bulk.iter().all(|id| !alive(&rt, sb.port(), *id))
    });
    assert!(alive(&rt, sb.port(), bystander));

    // Read-only: refused before any question, and nothing reaches the server.
    clear_filter(&tui);
    tui.keys(&[":"]);
    tui.type_text("readonly on");
    tui.keys(&["Enter"]);
    tui.wait_for_text("arkc RO", DEADLINE);
    filter(&tui, "arkc-bystander");
    tui.wait_for_text("1 of", DEADLINE);
    for key in ["X", "x", "B"] {
        tui.keys(&[key]);
        let s = tui.wait_for_text("refused: arkc is read-only", DEADLINE);
        assert!(!s.contains("type the instance name"), "{s}");
        // The next key replaces the message: clear it first so each refusal is seen anew.
        tui.keys(&["s"]);
        tui.wait_for("message replaced", DEADLINE, |s| !s.contains("refused"));
    }
    assert!(alive(&rt, sb.port(), bystander), "read-only killed nothing");
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);
}

#[test]
fn locks_view_names_the_root_blocker_and_k_frees_the_chain_80x24() {
    let sb = sandbox("tui-locks");
    sb.exec_sql(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; \
         INSERT INTO shop.t VALUES (1,1),(2,2),(3,3);",
    )
    .unwrap();
    let rt = Runtime::new().unwrap();
    // A holds row 1; B holds row 2 and waits for row 1; C waits for row 2.
    let (a_id, b_task, c_task) = rt.block_on(async {
        let chain = lock_chain(sb.port(), "shop.t", 300).await;
        let held = chain.a;
        // A stays open (idle in its transaction) until the console kills it.
        tokio::spawn(async move {
            let _held = held;
            std::future::pending::<()>().await
        });
        (chain.a_id, chain.b_task, chain.c_task)
    });
    let dir = tempfile::tempdir().unwrap();
    let tui = console(&sb, dir.path(), &[]);
    tui.keys(&["Enter"]);
    tui.wait_for_text("Dashboard", DEADLINE);
    tui.keys(&["Tab", "Tab"]);
    let root = format!("ROOT BLOCKER {a_id} blocks 2 session(s)");
    tui.wait_for(&root, DEADLINE, |s| s.contains(&root));
    tui.keys(&["K"]);
    tui.wait_for_text(&format!("kill session {a_id} on db?"), DEADLINE);
    tui.type_text("db");
    tui.keys(&["Enter"]);
    tui.wait_for_text(&format!("killed session {a_id} on db"), DEADLINE);
    let (b_ok, c_ok) = rt.block_on(async {
        let b = tokio::time::timeout(DEADLINE, b_task).await;
        let c = tokio::time::timeout(DEADLINE, c_task).await;
        (b, c)
    });
    assert!(
        b_ok.expect("B freed").unwrap().is_ok(),
        "B's update went through once A was killed"
    );
    assert!(
        c_ok.expect("C freed").unwrap().is_ok(),
        "C's update went through"
    );
    tui.wait_for("no more row lock waits", DEADLINE, |s| {
        !s.contains("ROOT BLOCKER") && s.contains("Row lock waits")
    });
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);
}

/// Resumes a SIGSTOPped server even when the test fails half-way.
struct Resume(i32);

impl Drop for Resume {
    fn drop(&mut self) {
        // SAFETY: signalling our own sandbox server.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn sigstopped_server_fires_instance_down_in_the_alerts_view_while_keys_answer() {
    let sb = sandbox("tui-sigstop");
    let pid = sb.pid().expect("server pid");
    let dir = tempfile::tempdir().unwrap();
    let tui = console(&sb, dir.path(), &[]);
    tui.keys(&["Enter"]);
    tui.wait_for_text("Dashboard", DEADLINE);
    tui.keys(&["BTab"]);
    tui.wait_for("the Alerts view", DEADLINE, |s| {
        s.contains("STATE") && s.contains("RULE") || s.contains("No alerts")
    });

    // SAFETY: signalling our own sandbox server; `Resume` sends SIGCONT on every path.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let resume = Resume(pid);
    let firing = |s: &str| screen_line_with(s, &["firing", "instance_down"]).is_some();
    // While polls hang on the stopped server, each key is still drawn: open and close the help
    // screen, count the redraws and print the slowest, until the alert fires. How fast is for the
    // benchmarks; a console that waits on the hung poll fails the generous deadline.
    let answer_within = DEADLINE;
    let mut slowest = Duration::ZERO;
    let mut redraws = 0;
    let until = Instant::now() + DEADLINE * 2;
    loop {
        for (key, shown) in [("?", true), ("Escape", false)] {
            let asked = Instant::now();
            tui.keys(&[key]);
            tui.wait_for(&format!("help shown = {shown}"), answer_within, |s| {
                s.contains("Help · keymap") == shown
            });
            slowest = slowest.max(asked.elapsed());
            redraws += 1;
        }
        if firing(&tui.screen()) {
            break;
        }
        assert!(
            Instant::now() < until,
            "instance_down never fired:\n{}",
            tui.screen()
        );
    }
    eprintln!("{redraws} redraws while the server was stopped; slowest {slowest:?}");
    let s = tui.wait_for("firing with the status count", DEADLINE, |s| {
        firing(s) && s.contains("1 critical")
    });
    assert!(s.contains("critical"), "{s}");

    drop(resume);
    tui.wait_for("instance_down resolved", DEADLINE * 2, |s| {
        screen_line_with(s, &["resolved", "instance_down"]).is_some()
    });
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);
}

#[test]
fn started_read_only_the_processlist_view_refuses_kills_and_the_session_lives() {
    let sb = sandbox("tui-plist-ro");
    let rt = Runtime::new().unwrap();
    let target = sleeper(&rt, sb.port(), "arkc-spared");
    let dir = tempfile::tempdir().unwrap();
    let tui = console(&sb, dir.path(), &["--read-only"]);
    tui.wait_for_text("arkc RO", DEADLINE);
    tui.keys(&["Enter"]);
    tui.wait_for_text("Dashboard", DEADLINE);
    tui.keys(&["Tab"]);
    tui.wait_for_text("arkc-spared", DEADLINE);
    filter(&tui, "arkc-spared");
    for key in ["X", "B"] {
        tui.keys(&[key]);
        let s = tui.wait_for_text("refused: arkc is read-only", DEADLINE);
        assert!(!s.contains("type the instance name"), "{s}");
        tui.keys(&["s"]);
        tui.wait_for("message replaced", DEADLINE, |s| !s.contains("refused"));
    }
    // `:readonly off` cannot undo the flag.
    tui.keys(&[":"]);
    tui.type_text("readonly off");
    tui.keys(&["Enter"]);
    tui.wait_for_text("started with --read-only", DEADLINE);
    assert!(alive(&rt, sb.port(), target), "nothing was killed");
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);
}
