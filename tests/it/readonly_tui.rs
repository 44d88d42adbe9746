//! Read-only from the config, in the real console (tmux): `read_only = true` refuses the
//! Processlist view's kills (one query, one connection, every filtered session), the session
//! lives, `:readonly off` cannot lift it, and every refusal is in the audit trail as `refused`.
//! (`--read-only` and `:readonly on` in the console: `health_tui_live`; every write at the
//! dispatch gate in each mode: `app::write_intent`'s tests.)

use std::path::Path;
use std::time::Duration;

use arkc::sandbox::Sandbox;
use mysql_async::prelude::Queryable;
use tokio::runtime::Runtime;

use crate::support::tmux::TmuxSession;

const DEADLINE: Duration = Duration::from_secs(60);

fn alive(sb: &Sandbox, id: u64) -> bool {
    let n = sb
        .exec_sql(&format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id}"
        ))
        .unwrap();
    n.trim() == "1"
}

#[test]
fn read_only_in_the_config_refuses_the_consoles_kills_and_logs_them() {
    let sb = Sandbox::shared();
    let rt = Runtime::new().unwrap();
    let mut conn = rt.block_on(mysql_async::Conn::from_url(sb.url())).unwrap();
    let id = u64::from(conn.id());
    rt.spawn(async move {
        let _ = conn.query_drop("SELECT 'arkc-ro-spared', SLEEP(600)").await;
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "read_only = true\n\n[ui]\nrefresh_ms = 300\n\n[alerts.disk_low]\nenabled = false\n\n\
             [[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let config_arg = config.display().to_string();
    let tui = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &[("ARKC_DATA_DIR", &data_arg)],
        80,
        24,
    );
    tui.wait_for_text("arkc RO", DEADLINE);
    tui.wait_for("db up", DEADLINE, |s| {
        s.lines()
            .any(|l| l.trim_start_matches('│').starts_with("db ") && l.contains(" up "))
    });
    tui.keys(&["Enter"]);
    tui.wait_for_text("Dashboard", DEADLINE);
    tui.keys(&["Tab"]);
    tui.wait_for_text("arkc-ro-spared", DEADLINE);
    tui.keys(&["/"]);
    tui.wait_for_text("enter keeps", DEADLINE);
    tui.type_text("arkc-ro-spared");
    tui.keys(&["Enter"]);
    tui.wait_for_text("filter: arkc-ro-spared", DEADLINE);
    // The pane refuses before its prompt, in the same words as the console's central gate.
    for (key, action) in [("x", "kill query"), ("X", "kill"), ("B", "bulk kill")] {
        tui.keys(&[key]);
        let s = tui.wait_for_text(
            &format!("{action} refused: arkc is read-only (read_only"),
            DEADLINE,
        );
        assert!(!s.contains("type the instance name"), "{key}: {s}");
        tui.keys(&["s"]);
        tui.wait_for("message replaced", DEADLINE, |s| !s.contains("refused"));
    }
    tui.keys(&[":"]);
    tui.type_text("readonly off");
    tui.keys(&["Enter"]);
    tui.wait_for_text(
        "(read_only = true in the config): set read_only = false",
        DEADLINE,
    );
    assert!(alive(sb, id), "nothing was killed");
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);

    let trail = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    let recorded: Vec<(String, String, String)> = trail
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (field("action"), field("instance"), field("result"))
        })
        .collect();
    let expected: Vec<(String, String, String)> = ["kill query", "kill", "bulk kill"]
        .iter()
        .map(|a| (a.to_string(), "db".to_string(), "refused".to_string()))
        .collect();
    assert_eq!(recorded, expected, "{trail}");
    assert!(alive(sb, id), "nothing was killed");
}
