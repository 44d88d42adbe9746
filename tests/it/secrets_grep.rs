//! A known, unusual password never leaves arkc: after backups (mariadb-dump and mydumper), a
//! verify, a flashback --execute, a kill and a deploy, it is in no file arkc wrote (data dir,
//! state and logs, audit trail, backup and deploy history databases, backups), in no output
//! (JSON included), and in no process's command line sampled while the backups ran. The console
//! (in tmux, logging at debug with every statement) shows it on no screen (a connection error,
//! the `@` SQL log) and writes it to no file; the `@` view as drawn in a TestBackend holds the
//! statements but no password; errors and JSON of a down instance or a bad `--url` leave it out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arkc::sandbox::Sandbox;

const PASSWORD: &str = "Qv7_unusual-Secret_4819";
/// The sampler's own check uses another secret: nextest runs it at the same time as the real test,
/// whose sampler would otherwise see the check's command line.
const CONTROL_SECRET: &str = "Zk3_control-only_7702";
const USER: &str = "arkc_secret_u";

/// Every file under `dir` whose bytes contain the password.
fn files_with_password(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| contains(&b, PASSWORD.as_bytes())) {
                found.push(path);
            }
        }
    }
    found
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Samples every `/proc/*/cmdline` until stopped; keeps those holding `secret`.
struct CmdlineSampler {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<(usize, Vec<String>)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CmdlineSampler {
    fn start(secret: &'static str) -> CmdlineSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new((0, Vec::new())));
        let (s, v) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let mut samples = 0;
                let mut leaks = Vec::new();
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    if let Ok(line) = std::fs::read(entry.path().join("cmdline")) {
                        samples += 1;
                        if contains(&line, secret.as_bytes()) {
                            leaks.push(String::from_utf8_lossy(&line).replace('\0', " "));
                        }
                    }
                }
                let mut guard = v.lock().unwrap();
                guard.0 += samples;
                guard.1.extend(leaks);
            }
        });
        CmdlineSampler {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    /// (command lines read, those holding the password).
    fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

struct Env {
    work: tempfile::TempDir,
    config: PathBuf,
    outputs: Vec<(String, Output)>,
}

impl Env {
    fn arkc(&mut self, args: &[&str]) -> &Output {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "arkc {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run arkc, successful or not (an instance down makes `health` fail); output is kept.
    fn output(&mut self, args: &[&str]) -> &Output {
        let w = self.work.path();
        let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
            .env("ARKC_DATA_DIR", w.join("data"))
            .env("HOME", w.join("home"))
            .env("XDG_DATA_HOME", w.join("xdg-data"))
            .env("XDG_STATE_HOME", w.join("xdg-state"))
            .env("XDG_CONFIG_HOME", w.join("xdg-config"))
            .env("RUST_LOG", "debug")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        self.outputs.push((args.join(" "), out));
        &self.outputs.last().unwrap().1
    }
}

#[test]
fn the_sampler_sees_a_password_on_a_command_line() {
    let sampler = CmdlineSampler::start(CONTROL_SECRET);
    let mut child = Command::new("sh")
        // `read` keeps the shell itself waiting (no grandchild outlives the test).
        .args(["-c", "read x", CONTROL_SECRET])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + crate::support::wait::DEADLINE;
    while sampler.seen.lock().unwrap().1.is_empty() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();
    let (_, leaks) = sampler.finish();
    assert!(
        !leaks.is_empty(),
        "the sampler missed a command line holding the password"
    );
}

#[test]
fn the_password_is_in_no_file_output_or_command_line() {
    let sb = Sandbox::shared();
    sb.exec_sql(&format!(
        "CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\
         GRANT ALL ON *.* TO '{USER}'@'%';"
    ))
    .unwrap();
    let db = sb.create_schema("secret").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v INT);\
         INSERT INTO `{db}`.t VALUES (1,1),(2,2);"
    ))
    .unwrap();
    // The password lives outside the tree under test; the config names a command printing it.
    let secret = tempfile::tempdir().unwrap();
    let pw_file = secret.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"sec\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\n\
             password_cmd = \"cat {}\"\n",
            sb.port(),
            pw_file.display()
        ),
    )
    .unwrap();
    let mut env = Env {
        work,
        config,
        outputs: Vec::new(),
    };
    let to = env.work.path().join("backups");
    let to = to.to_str().unwrap().to_string();

    let sampler = CmdlineSampler::start(PASSWORD);
    for kind in ["dump", "mydumper"] {
        let out = env.arkc(&[
            "backup",
            "run",
            "--instance",
            "sec",
            "--kind",
            kind,
            "--to",
            &to,
            "--database",
            &db,
        ]);
        let id = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap()
            .trim()
            .to_string();
        env.arkc(&["backup", "verify", &id]);
    }
    let (samples, leaks) = sampler.finish();
    assert!(samples > 0, "no command line was sampled");
    env.arkc(&["backup", "list", "--format", "json"]);

    // A flashback applied with the password in --url, then a kill through the config.
    let (file, pos) = sb.binlog_position().unwrap();
    sb.exec_sql(&format!("UPDATE `{db}`.t SET v = v + 10;"))
        .unwrap();
    let (end_file, end) = sb.binlog_position().unwrap();
    let url = format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}", sb.port());
    let (pos, end) = (pos.to_string(), end.to_string());
    let binlogs = sb.binlog_dir();
    env.arkc(&[
        "flashback",
        "--url",
        &url,
        "-d",
        &db,
        "--start-file",
        &file,
        "--start-position",
        &pos,
        "--stop-file",
        &end_file,
        "--stop-position",
        &end,
        "--binlog-dir",
        binlogs.to_str().unwrap(),
        "--execute",
        "--yes",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(mysql_async::Conn::from_url(sb.url())).unwrap();
    let id = client.id().to_string();
    env.arkc(&["kill", "--instance", "sec", &id]);
    env.arkc(&["processlist", "--instance", "sec", "--format", "json"]);
    // A deploy through the config: its history database is grepped too.
    let change = env.work.path().join("change.sql");
    std::fs::write(
        &change,
        format!("UPDATE `{db}`.t SET v = v + 1 WHERE id = 1;\n"),
    )
    .unwrap();
    env.arkc(&[
        "deploy",
        "apply",
        change.to_str().unwrap(),
        "--instance",
        "sec",
        "--yes",
    ]);
    env.arkc(&["deploy", "list", "--format", "json"]);
    env.arkc(&["audit", "--format", "json"]);
    drop(rt);

    assert!(leaks.is_empty(), "password on a command line: {leaks:#?}");
    for (args, out) in &env.outputs {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !contains(bytes, PASSWORD.as_bytes()),
                "password in the {stream} of arkc {args}"
            );
        }
    }
    let written = files_with_password(env.work.path());
    assert!(written.is_empty(), "password in {written:#?}");
    // The grep saw what arkc wrote: the audit trail, the backups and their history.
    let data = env.work.path().join("data");
    assert!(data.join("audit.jsonl").is_file());
    assert!(std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("deploys")));
    assert!(std::fs::read_dir(env.work.path().join("backups"))
        .unwrap()
        .next()
        .is_some());
}

/// A closed TCP port on this host (kept bound, never listening).
fn closed_port() -> u16 {
    crate::support::ports::refused_port()
}

/// The console, connected to one instance and failing on another, with everything logged at
/// debug and every statement in the log file: the password is on no screen (the Health pane
/// with its connection error, the `@` SQL log), in no file it wrote (log, tracking store), and
/// in no error or JSON of the CLI twins (a down instance's error, a bad `--url`).
#[test]
fn the_password_is_not_on_the_console_in_its_log_or_in_errors() {
    use crate::support::tmux::TmuxSession;
    use std::time::Duration;
    const DEADLINE: Duration = Duration::from_secs(60);

    let sb = Sandbox::shared();
    sb.exec_sql(&format!(
        "CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\
         GRANT ALL ON *.* TO '{USER}'@'%';"
    ))
    .unwrap();
    let secret = tempfile::tempdir().unwrap();
    let pw_file = secret.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config.toml");
    let instance = |name: &str, port: u16| {
        format!(
            "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\n\
             password_cmd = \"cat {}\"\n\n",
            pw_file.display()
        )
    };
    std::fs::write(
        &config,
        format!(
            "[ui]\nrefresh_ms = 300\n\n[log]\npoll_statements = true\n\n[alerts.disk_low]\nenabled = false\n\n{}{}",
            instance("sec", sb.port()),
            instance("sec-down", closed_port())
        ),
    )
    .unwrap();
    let w = work.path();
    let p = |s: &str| w.join(s).display().to_string();
    let (home, data, state, cfg) = (p("home"), p("data"), p("state"), p("cfg"));
    let envs = [
        ("HOME", home.as_str()),
        ("ARKC_DATA_DIR", data.as_str()),
        ("XDG_DATA_HOME", data.as_str()),
        ("XDG_STATE_HOME", state.as_str()),
        ("XDG_CONFIG_HOME", cfg.as_str()),
        ("ARKC_LOG", "debug"),
    ];
    let config_arg = config.display().to_string();
    let tui = TmuxSession::start(
        Path::new(env!("CARGO_BIN_EXE_arkc")),
        &["--config", &config_arg],
        &envs,
        120,
        40,
    );
    let mut screens = Vec::new();
    // Connected to one; the other's connection error is on the screen.
    screens.push(tui.wait_for("sec up and sec-down's error", DEADLINE, |s| {
        let row = |name: &str, word: &str| {
            s.lines().any(|l| {
                let l = l.trim_start_matches('│');
                l.starts_with(&format!("{name} ")) && l.contains(word)
            })
        };
        row("sec", " up ") && row("sec-down", "Connection refused")
    }));
    tui.keys(&["@"]);
    screens.push(tui.wait_for("the SQL log", DEADLINE, |s| {
        s.contains("SHOW GLOBAL STATUS")
    }));
    tui.keys(&["@"]);
    tui.keys(&["q"]);
    assert_eq!(tui.wait_exit(DEADLINE), 0);
    for screen in &screens {
        assert!(
            !screen.contains(PASSWORD),
            "password on the screen:\n{screen}"
        );
    }
    let log = w.join("state/arkc/arkc.log");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("SHOW GLOBAL STATUS") && logged.contains("instance=sec"),
        "the grep below reads a log holding the statements sent: {logged}"
    );

    // The CLI twins: a down instance's error in JSON and a table, a --url that cannot connect.
    let mut env = Env {
        work,
        config,
        outputs: Vec::new(),
    };
    for args in [
        vec!["health", "--once", "--format", "json"],
        vec!["health", "--once"],
        vec!["config", "check"],
    ] {
        env.output(&args);
    }
    // Its own secret: a --url is on arkc's command line, where the other test's sampler looks.
    const URL_SECRET: &str = "Hq2_url-only_Secret_5531";
    let url = format!("mysql://{USER}:{URL_SECRET}@127.0.0.1:{}", closed_port());
    let failed = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .env("ARKC_DATA_DIR", env.work.path().join("data"))
        .args(["binlog", "list", "--url", &url])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    for stream in [&failed.stdout, &failed.stderr] {
        assert!(
            !contains(stream, URL_SECRET.as_bytes()),
            "the --url password in the error: {}",
            String::from_utf8_lossy(stream)
        );
    }
    assert!(
        contains(&failed.stderr, b"127.0.0.1"),
        "the error names the server: {}",
        String::from_utf8_lossy(&failed.stderr)
    );
    let json = &env.outputs[0].1.stdout;
    assert!(
        contains(json, b"sec-down"),
        "the JSON reports the down instance"
    );
    for (args, out) in &env.outputs {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !contains(bytes, PASSWORD.as_bytes()),
                "password in the {stream} of arkc {args}: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    let written = files_with_password(env.work.path());
    assert!(written.is_empty(), "password in {written:#?}");
}

/// The `@` SQL log as drawn (ratatui's TestBackend), filled by the real backend polling the
/// sandbox with the password from `password_cmd`, an instance that cannot connect beside it: the
/// statements and the connection error are there, the password is not.
#[test]
fn the_sql_log_view_holds_statements_but_no_password() {
    use arkc::app::{update, Action, Keymap, State};
    use arkc::backend::BackendEvent;
    use arkc::ui::{self, Theme};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let sb = Sandbox::shared();
    sb.exec_sql(&format!(
        "CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\
         GRANT ALL ON *.* TO '{USER}'@'%';"
    ))
    .unwrap();
    let secret = tempfile::tempdir().unwrap();
    let pw_file = secret.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let instance = |name: &str, port: u16| {
        format!(
            "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"{USER}\"\n\
             password_cmd = \"cat {}\"\n\n",
            pw_file.display()
        )
    };
    let text = format!(
        "[ui]\nrefresh_ms = 200\n\n{}{}",
        instance("sec", sb.port()),
        instance("sec-down", closed_port())
    );
    let config = arkc::config::Config::parse(&text, Path::new("secrets.toml")).unwrap();
    let mut state = State::new(&config, false, chrono::Utc::now());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let backend =
        rt.block_on(async { arkc::backend::spawn_with(std::sync::Arc::new(config), tx, None) });
    let mut down_error = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while state.sql_log.len() < 5 || down_error.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no statements and error within 30 s: {} statements, error {down_error:?}",
            state.sql_log.len()
        );
        let event = rt
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await
            })
            .ok()
            .flatten();
        let Some(event) = event else { continue };
        if let BackendEvent::Health(h) = &event {
            if h.instance == "sec-down" {
                down_error = h.error.clone();
            }
        }
        update(&mut state, Action::Backend(Box::new(event)));
    }
    rt.block_on(backend.shutdown());
    update(&mut state, Action::SqlLog);
    let keymap = Keymap::builtin("default").unwrap().unwrap();
    let theme = Theme::builtin("default").unwrap().unwrap();
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|f| ui::draw(f, &state, &theme, &keymap))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let drawn: String = (0..buffer.area.height)
        .map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line + "\n"
        })
        .collect();
    assert!(drawn.contains("SHOW GLOBAL STATUS"), "{drawn}");
    assert!(
        !drawn.contains(PASSWORD),
        "password in the @ view:\n{drawn}"
    );
    let error = down_error.unwrap();
    assert!(!error.contains(PASSWORD), "password in the error: {error}");
    for entry in &state.sql_log {
        assert!(!entry.sql.contains(PASSWORD), "{entry:?}");
    }
}
