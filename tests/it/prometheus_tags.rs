//! Tags on rows read through a `[[prometheus]]` source (its `tags` key): in
//! `arkc health --once --format json`, selected by `--tag` along with tagged `[[instance]]`
//! entries, and kept in a recording so a replay under another config still shows and filters by
//! them. Against the real Debian `prometheus` and `prometheus-mysqld-exporter` scraping a sandbox.

use std::path::Path;
use std::process::{Command, Output};

use crate::prometheus_source::{prometheus_binaries, ScrapedSandbox};
use crate::support::cli::{arkc, text};

/// `(instance, source, tags)` of each row, sorted by instance.
fn rows(out: &Output) -> Vec<(String, String, Vec<String>)> {
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)));
    let mut found: Vec<(String, String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            let tags = r["tags"]
                .as_array()
                .unwrap_or_else(|| panic!("no tags array in {r:#}"))
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            (
                r["instance"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
                tags,
            )
        })
        .collect();
    found.sort();
    found
}

/// The first `count` JSON lines of a streaming `arkc health` (then it is ended); fails if they do
/// not come within the deadline.
fn stream_lines(config: &Path, args: &[&str], count: usize) -> Vec<String> {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(["health", "--format", "json", "--interval", "500ms"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + crate::support::wait::DEADLINE;
    let mut lines = Vec::new();
    while lines.len() < count && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines.len() >= count,
        "timed out; seen:\n{}",
        lines.join("\n")
    );
    lines
}

fn row(name: &str, source: &str, tags: &[&str]) -> (String, String, Vec<String>) {
    (
        name.to_string(),
        source.to_string(),
        tags.iter().map(|t| t.to_string()).collect(),
    )
}

#[test]
fn prometheus_rows_carry_their_sources_tags_live_and_replayed() {
    let Some((prometheus, exporter)) = prometheus_binaries() else {
        return;
    };
    let scraped = ScrapedSandbox::start("promtags", &prometheus, &exporter);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tagged.toml");
    // The same server polled directly under another name, so `--tag eu` spans both sources.
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"near\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\ntags = [\"EU\", \"direct\"]\n\n\
             [[prometheus]]\nname = \"fleet\"\nurl = \"{}\"\nselector = '{{job=\"mysql\"}}'\n\
             tags = [\"Scraped\", \"eu\"]\n",
            scraped.port(),
            scraped.url
        ),
    )
    .unwrap();

    let all = arkc(&config, &["health", "--once", "--format", "json"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all));
    let near = row("near", "direct", &["EU", "direct"]);
    let sbx = row("sbx", "prometheus:fleet", &["Scraped", "eu"]);
    assert_eq!(rows(&all), [near.clone(), sbx.clone()], "{}", text(&all));

    // A source's tag selects every row it lists, and no direct entry.
    let scraped_only = arkc(
        &config,
        &["health", "--once", "--format", "json", "--tag", "SCRAPED"],
    );
    assert_eq!(
        rows(&scraped_only),
        std::slice::from_ref(&sbx),
        "{}",
        text(&scraped_only)
    );
    let both = arkc(
        &config,
        &["health", "--once", "--format", "json", "--tag", "eu"],
    );
    assert_eq!(rows(&both), [near.clone(), sbx.clone()], "{}", text(&both));
    let direct = arkc(
        &config,
        &["health", "--once", "--format", "json", "--tag", "direct"],
    );
    assert_eq!(
        rows(&direct),
        std::slice::from_ref(&near),
        "{}",
        text(&direct)
    );
    // Streaming, the source's tag alone: its rows only, no direct entry polled.
    let lines = stream_lines(&config, &["--tag", "scraped"], 2);
    for line in &lines {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["instance"], "sbx", "{line}");
        assert_eq!(row["tags"], serde_json::json!(["Scraped", "eu"]), "{line}");
    }
    let unknown = arkc(&config, &["health", "--once", "--tag", "dr"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no instance is tagged `dr`; tags: direct, eu, scraped"),
        "{}",
        text(&unknown)
    );

    // Recorded, then replayed under a config without any tags: the recorded ones count.
    let recording = dir.path().join("tags.arkc");
    let out = arkc(
        &config,
        &[
            "record",
            // Seconds to spare for a first read of each source on a loaded machine.
            "--duration",
            "8s",
            "--interval",
            "500ms",
            "--out",
            recording.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let replay = recording.to_str().unwrap();
    let replayed = arkc(&bare, &["health", "--replay", replay, "--format", "json"]);
    assert_eq!(rows(&replayed), [near, sbx.clone()], "{}", text(&replayed));
    let replayed = arkc(
        &bare,
        &[
            "health", "--replay", replay, "--format", "json", "--tag", "scraped",
        ],
    );
    assert_eq!(rows(&replayed), [sbx], "{}", text(&replayed));
}
