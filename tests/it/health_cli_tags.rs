//! `arkc health --tag TAG` (the console's tag groups, headless) in --once, streaming and --replay,
//! and streaming `--instance NAME` that no source lists failing like --once does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::cli::{arkc, text};
use crate::support::wait::{answered, DEADLINE};

/// A loopback port with nothing listening (kept bound, so no other server takes it).
fn dead_port() -> u16 {
    crate::support::ports::refused_port()
}

/// `arkc` that must end by itself before the deadline (a hang fails the test instead of holding it).
fn arkc_ends(config: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {DEADLINE:?}: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn names_of(stdout: &[u8]) -> Vec<(String, String)> {
    let rows: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["instance"].as_str().unwrap().to_string(),
                // "slow" answered too (past 1 s, which a loaded machine can make): "up" here.
                match r["status"].as_str().unwrap() {
                    status if answered(status) => "up".to_string(),
                    status => status.to_string(),
                },
            )
        })
        .collect()
}

fn entry(name: &str, port: u16, tags: &str) -> String {
    format!(
        "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\nuser = \"root\"\n\
         password = \"\"\ntags = [{tags}]\n\n"
    )
}

/// Streaming `arkc health` lines until `enough` says so (or the deadline), then the process is
/// ended; returns the JSON lines seen.
fn stream_until(config: &Path, args: &[&str], enough: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    while !enough(&lines) && start.elapsed() < DEADLINE {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(enough(&lines), "timed out; seen:\n{}", lines.join("\n"));
    lines
}

#[test]
fn tag_selects_the_group_in_once_streaming_and_replay() {
    let sb = Sandbox::start(SandboxOptions {
        name: "htag".into(),
        ..SandboxOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config: PathBuf = dir.path().join("config.toml");
    let toml = entry("pay1", sb.port(), "\"pay\"")
        + &entry("pay2", dead_port(), "\"PAY\", \"eu\"")
        + &entry("web1", dead_port(), "\"web\"");
    std::fs::write(&config, toml).unwrap();

    // --once: the group's members, the down one as down; exit 3 since one is down.
    let out = arkc(
        &config,
        &["health", "--once", "--format", "json", "--tag", "pay"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        names_of(&out.stdout),
        vec![
            ("pay1".to_string(), "up".to_string()),
            ("pay2".to_string(), "down".to_string())
        ],
        "{}",
        text(&out)
    );

    // An unknown tag: an error naming the known ones.
    let out = arkc(&config, &["health", "--once", "--tag", "dr"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no instance is tagged `dr`; tags: eu, pay, web"),
        "{}",
        text(&out)
    );

    // Streaming: only the web group's instance, polled more than once.
    let lines = stream_until(
        &config,
        &[
            "health",
            "--format",
            "json",
            "--interval",
            "200ms",
            "--tag",
            "web",
        ],
        |lines| lines.len() >= 2,
    );
    for line in &lines {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["instance"], "web1", "{line}");
        assert_eq!(row["status"], "down", "{line}");
    }

    // Replay: a recording of all three, read back for one group.
    let recording = dir.path().join("r.arkc");
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config)
        // Seconds to spare for a first poll of each on a loaded machine.
        .args(["record", "--duration", "8s", "--interval", "500ms", "--out"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let replay = recording.to_str().unwrap();
    let all = arkc(&config, &["health", "--replay", replay, "--format", "json"]);
    assert_eq!(names_of(&all.stdout).len(), 3, "{}", text(&all));
    let out = arkc(
        &config,
        &[
            "health", "--replay", replay, "--format", "json", "--tag", "eu",
        ],
    );
    assert_eq!(
        names_of(&out.stdout),
        vec![("pay2".to_string(), "down".to_string())],
        "{}",
        text(&out)
    );
}

#[test]
fn streaming_with_an_instance_no_source_lists_fails_like_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{}[[prometheus]]\nname = \"fleet\"\nurl = \"http://127.0.0.1:{}\"\n",
            entry("db1", dead_port(), ""),
            dead_port()
        ),
    )
    .unwrap();
    let once = arkc(&config, &["health", "--once", "--instance", "ghost"]);
    let streaming = arkc_ends(&config, &["health", "--instance", "ghost"]);
    for out in [&once, &streaming] {
        assert_eq!(out.status.code(), Some(1), "{}", text(out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(
                "no instance named `ghost`: [[instance]] entries: db1; prometheus `fleet` failed"
            ),
            "{}",
            text(out)
        );
    }
    assert_eq!(once.stderr, streaming.stderr);
    assert!(streaming.stdout.is_empty(), "{}", text(&streaming));
}
