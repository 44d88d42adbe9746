//! The real console in tmux at 80x24, deploys from the Jobs pane against a sandbox: a SQL
//! change (review, typed instance name, the pane during the apply, the result), then the
//! deploy history's undo key restoring the table's checksum; and a new instance deployed from
//! the pane's form, its steps shown, a used port refused with nothing registered.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use arkc::sandbox::Sandbox;

use crate::support::ports::{refused_port, reserved_port};
use crate::support::tmux::TmuxSession;
use crate::support::wait::DEADLINE;

struct Console {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Console {
    fn new(sb: &Sandbox) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "# pane test config: this comment stays\n[ui]\nrefresh_ms = 500\n\n[[instance]]\nname = \"sb\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
                sb.port()
            ),
        )
        .unwrap();
        Console { dir, config }
    }

    fn env(&self) -> Vec<(String, String)> {
        let p = |n: &str| self.dir.path().join(n).display().to_string();
        vec![
            ("ARKC_DATA_DIR".into(), p("data")),
            ("XDG_DATA_HOME".into(), p("data-home")),
            ("XDG_CONFIG_HOME".into(), p("config-home")),
            ("XDG_STATE_HOME".into(), p("state")),
        ]
    }

    fn start(&self) -> TmuxSession {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let config = self.config.display().to_string();
        let term = TmuxSession::start(
            Path::new(env!("CARGO_BIN_EXE_arkc")),
            &["--config", &config],
            &env,
            80,
            24,
        );
        term.wait_for_text("Health", DEADLINE);
        term.keys(&["4"]);
        term.wait_for_text(" Jobs ", DEADLINE);
        term
    }

    /// `arkc` on the command line with the console's config and directories.
    fn arkc(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_arkc"))
            .envs(self.env())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn checksum(sb: &Sandbox, table: &str) -> String {
    sb.exec_sql(&format!("CHECKSUM TABLE {table}")).unwrap()
}

#[test]
fn a_sql_deploy_from_the_pane_then_its_undo_key_restores_the_checksum() {
    let sb = Sandbox::shared();
    let db = sb.create_schema("dpane").unwrap();
    let rows: Vec<String> = (1..=100).map(|i| format!("({i}, 'new', {i})")).collect();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.orders (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL DEFAULT '', amount INT NOT NULL DEFAULT 0);\n\
         INSERT INTO `{db}`.orders VALUES {};",
        rows.join(",")
    ))
    .unwrap();
    let orders = format!("`{db}`.orders");
    let before = checksum(sb, &orders);
    let c = Console::new(sb);
    // The middle statement keeps the apply on screen long enough to be seen running.
    let change = c.dir.path().join("change.sql");
    std::fs::write(
        &change,
        format!(
            "UPDATE {orders} SET status = 'paid' WHERE id <= 30;\nSELECT SLEEP(2);\nDELETE FROM {orders} WHERE id > 90;\n"
        ),
    )
    .unwrap();
    let term = c.start();

    term.keys(&["d"]);
    term.wait_for_text("SQL change file:", DEADLINE);
    term.type_text(&change.display().to_string());
    term.keys(&["Enter"]);
    let review = term.wait_for("the review", Duration::from_secs(30), |s| {
        s.contains("3 statement(s)")
    });
    assert!(review.contains("0 error(s)"), "{review}");
    term.keys(&["Enter"]);
    term.wait_for_text("Type the instance name", DEADLINE);
    term.type_text("s");
    term.keys(&["Enter"]);
    term.wait_for_text("type `sb` exactly", DEADLINE);
    term.type_text("b");
    term.keys(&["Enter"]);
    let during = term.wait_for("the apply running", Duration::from_secs(30), |s| {
        s.contains("1/3 statements")
    });
    println!("The Jobs pane during a deploy, 80x24:\n{during}");
    // The capture, kept as a snapshot: the temp dir, the poll age and the padding scrubbed.
    let tmp = c.dir.path().display().to_string();
    let kept: Vec<String> = during
        .lines()
        .filter(|l| !l.contains("polled"))
        .map(|l| {
            l.replace(&tmp, "<tmp>")
                .trim_end_matches([' ', '│'])
                .to_string()
        })
        .collect();
    insta::assert_snapshot!("jobs_pane_during_a_deploy_80x24", kept.join("\n"));
    assert!(
        during.contains("Deploy to sb")
            && during.contains("statement 1 (line 1): 30 row(s)")
            && during.contains("applying"),
        "{during}"
    );
    let done = term.wait_for("the deploy's result", Duration::from_secs(60), |s| {
        s.contains("applied 3 statement(s)") || s.contains("FAILED") || s.contains("stopped at")
    });
    assert!(done.contains("applied 3 statement(s)"), "{done}");
    let applied = checksum(sb, &orders);
    assert_ne!(applied, before);

    term.keys(&["Enter"]);
    term.keys(&["D"]);
    let history = term.wait_for("the deploy history", DEADLINE, |s| {
        s.contains(" Deploys ") && s.contains("change.sql")
    });
    assert!(
        history.contains("applied") && history.contains("3/3"),
        "{history}"
    );
    // Enter shows the deploy in full: its recorded binlog range and each statement.
    term.keys(&["Enter"]);
    let detail = term.wait_for("the deploy's details", DEADLINE, |s| {
        s.contains("before   mariadb-bin.")
    });
    assert!(
        detail.contains("after    mariadb-bin.") && detail.contains("#3 l3 applied 10 row(s)"),
        "{detail}"
    );
    term.keys(&["Escape"]);
    term.wait_for_text("STMTS", DEADLINE);
    // Read-only refuses the undo before anything is asked.
    term.keys(&[":"]);
    term.type_text("readonly on");
    term.keys(&["Enter"]);
    term.keys(&["u"]);
    term.wait_for_text("deploy undo refused: arkc is read-only", DEADLINE);
    term.keys(&[":"]);
    term.type_text("readonly off");
    term.keys(&["Enter"]);
    term.keys(&["u"]);
    term.wait_for_text("Undo deploy", DEADLINE);
    term.type_text("sb");
    term.keys(&["Enter"]);
    let undone = term.wait_for("the undo's result", Duration::from_secs(90), |s| {
        s.contains(": done") || s.contains("FAILED")
    });
    assert!(
        undone.contains("undone") && undone.contains(": done"),
        "{undone}"
    );
    assert_eq!(checksum(sb, &orders), before, "the undo restored the table");
    term.keys(&["Enter"]);
    let after = term.wait_for("the history to show the undo", DEADLINE, |s| {
        s.contains("undone") && s.contains("3/3")
    });
    assert!(after.contains(" Deploys "), "{after}");
    term.keys(&["u"]);
    term.wait_for_text("already undone", DEADLINE);

    // A deploy whose rows were changed again since: the undo is refused and says so.
    let second = c.dir.path().join("second.sql");
    std::fs::write(
        &second,
        format!("UPDATE {orders} SET amount = amount + 1 WHERE id <= 5;\n"),
    )
    .unwrap();
    let out = c.arkc(&[
        "deploy",
        "apply",
        second.to_str().unwrap(),
        "--instance",
        "sb",
        "--yes",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sb.exec_sql(&format!("UPDATE {orders} SET amount = 999 WHERE id = 1"))
        .unwrap();
    let changed = checksum(sb, &orders);
    term.keys(&["r"]);
    term.wait_for_text("second.sql", DEADLINE);
    term.keys(&["g", "u"]);
    term.wait_for_text("Undo deploy 2", DEADLINE);
    term.type_text("sb");
    term.keys(&["Enter"]);
    let refused = term.wait_for("the refused undo", Duration::from_secs(90), |s| {
        s.contains(": done") || s.contains("FAILED")
    });
    println!("The refused undo, 80x24:\n{refused}");
    assert!(
        refused.contains("FAILED") && refused.contains("not undone"),
        "{refused}"
    );
    assert_eq!(checksum(sb, &orders), changed, "nothing was overwritten");
    term.keys(&["Enter"]);
    term.keys(&["Escape"]);
    term.wait_for_text("verify", DEADLINE);
    term.keys(&["q"]);
    assert_eq!(term.wait_exit(DEADLINE), 0);
}

/// Stops and deletes an instance the test deployed, even when an assertion fails first.
struct Deployed<'a>(&'a Console, &'a str);

impl Drop for Deployed<'_> {
    fn drop(&mut self) {
        let _ = self.0.arkc(&["deploy", "remove", self.1, "--delete-data"]);
    }
}

#[test]
fn an_instance_deployed_from_the_pane_form_shows_its_steps() {
    let sb = Sandbox::shared();
    let c = Console::new(sb);
    let mut original = std::fs::read_to_string(&c.config).unwrap();
    original.push_str(&format!(
        "\n# down: nothing listens there\n[[instance]]\nname = \"gone\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
        refused_port()
    ));
    std::fs::write(&c.config, &original).unwrap();
    let term = c.start();
    let root = c.dir.path().join("pane-inst");

    // A used port: the job fails, says why, and leaves no directory and no config entry.
    term.keys(&["i"]);
    term.wait_for_text("Deploy a new MariaDB instance", DEADLINE);
    term.type_text("paneinst");
    term.keys(&["Tab"]);
    term.type_text(&sb.port().to_string());
    term.keys(&["Tab"]);
    term.type_text(&root.display().to_string());
    term.keys(&["Enter", "Enter", "Enter"]);
    term.wait_for_text("Type the new instance's name", DEADLINE);
    term.type_text("paneinst");
    term.keys(&["Enter"]);
    let failed = term.wait_for("the refusal", Duration::from_secs(30), |s| {
        s.contains("FAILED") || s.contains(": done")
    });
    assert!(
        failed.contains("FAILED") && failed.contains("already in use"),
        "{failed}"
    );
    assert!(!root.exists(), "nothing created");
    assert_eq!(std::fs::read_to_string(&c.config).unwrap(), original);

    // A step failing half way (the source to seed from is down): the step is named, the
    // server stopped, its directory removed, the config untouched.
    term.keys(&["Enter"]);
    let port = reserved_port();
    term.keys(&["i"]);
    term.wait_for_text("Deploy a new MariaDB instance", DEADLINE);
    term.type_text("paneinst");
    term.keys(&["Tab"]);
    term.type_text(&port.to_string());
    term.keys(&["Tab"]);
    term.type_text(&root.display().to_string());
    term.keys(&["Tab"]);
    term.type_text("gone");
    term.keys(&["Enter", "Enter"]);
    term.wait_for_text("Type the new instance's name", DEADLINE);
    term.type_text("paneinst");
    term.keys(&["Enter"]);
    let failed = term.wait_for("the failing step", Duration::from_secs(120), |s| {
        s.contains("FAILED") || s.contains(": done")
    });
    println!("An instance deploy failing at a step, 80x24:\n{failed}");
    assert!(
        failed.contains("FAILED") && failed.contains("step `dump`"),
        "{failed}"
    );
    assert!(
        failed.contains("[5] check the server") && failed.contains("nothing was registered"),
        "{failed}"
    );
    assert!(!root.exists(), "its directory removed");
    assert_eq!(std::fs::read_to_string(&c.config).unwrap(), original);
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "its server stopped"
    );

    // A free port: each step is shown, then the entry is registered with the comments kept.
    let port = reserved_port();
    term.keys(&["Enter"]);
    term.keys(&["i"]);
    term.wait_for_text("Deploy a new MariaDB instance", DEADLINE);
    term.type_text("paneinst");
    term.keys(&["Tab"]);
    term.type_text(&port.to_string());
    term.keys(&["Tab"]);
    term.type_text(&root.display().to_string());
    term.keys(&["Enter", "Enter", "Enter"]);
    term.type_text("paneinst");
    term.keys(&["Enter"]);
    let _cleanup = Deployed(&c, "paneinst");
    let steps = term.wait_for("a step as progress", Duration::from_secs(60), |s| {
        s.contains("running...") && s.contains("[1] install the datadir")
    });
    println!("The Jobs pane during an instance deploy, 80x24:\n{steps}");
    let done = term.wait_for("the instance deploy", Duration::from_secs(180), |s| {
        s.contains(": done") || s.contains("FAILED")
    });
    assert!(done.contains(": done"), "{done}");
    assert!(
        done.contains("start the server") && done.contains("registered `paneinst`"),
        "{done}"
    );
    let edited = std::fs::read_to_string(&c.config).unwrap();
    assert!(edited.starts_with(&original), "comments kept:\n{edited}");
    assert!(edited.contains("name = \"paneinst\""), "{edited}");
    let admin = std::fs::read_to_string(root.join("secrets/admin.pass")).unwrap();
    assert!(!done.contains(admin.trim()), "the password is never shown");
    term.keys(&["Enter"]);
    term.wait_for_text("new instance", DEADLINE);
    term.keys(&["Escape"]);
    term.wait_for_text("verify", DEADLINE);
    term.keys(&["q"]);
    assert_eq!(term.wait_exit(DEADLINE), 0);

    // `deploy remove` without --delete-data: stopped and unregistered, its data kept.
    let rm = c.arkc(&["deploy", "remove", "paneinst"]);
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    assert!(root.join("my.cnf").exists(), "its data stays");
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "its server stopped"
    );
    assert_eq!(std::fs::read_to_string(&c.config).unwrap(), original);
}
