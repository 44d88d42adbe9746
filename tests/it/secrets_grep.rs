//! A known, unusual password never leaves arkc: after backups (mariadb-dump and mydumper), a
//! verify, a flashback --execute and a kill, it is in no file arkc wrote (data dir, state and
//! logs, audit trail, history databases, backups), in no output (JSON included), and in no
//! process's command line sampled while the backups ran.

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
        assert!(
            out.status.success(),
            "arkc {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
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
    assert!(std::fs::read_dir(env.work.path().join("backups"))
        .unwrap()
        .next()
        .is_some());
}
