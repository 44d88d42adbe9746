//! `arkc health --replay FILE` shows what the recording holds beyond the figures: each row's
//! tags as recorded (a replay under another config still groups and filters by them), and for
//! an instance whose alert fired, the sessions, locks, latest deadlock and inspection reads
//! recorded at or before `--at`. Against a real sandbox recorded by `arkc record`.

use std::process::{Command, Output};

use crate::support::cli::{arkc, text};
use arkc::recording::Recording;
use arkc::sandbox::{Sandbox, SandboxOptions};

fn json(out: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// A server started seconds ago fires `restarted`, so the recorder reads its sessions and views.
#[test]
fn a_replay_shows_the_recorded_tags_and_what_was_read_while_an_alert_fired() {
    let sb = Sandbox::start(SandboxOptions {
        name: "rectags".into(),
        ..SandboxOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"fresh\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\ntags = [\"Pay\", \"eu\"]\n\n\
             [[instance]]\nname = \"plain\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\n",
            sb.port(),
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.path().join("fired.arkc");
    let file_arg = file.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(&config)
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        // Seconds to spare for the first poll and its reads on a loaded machine.
        .args(["record", "--out", file_arg, "--duration", "10s"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let recording = Recording::open(&file).unwrap();
    let times = recording.times().unwrap();
    // The first frame whose sessions of `fresh` were read: the replay at that moment.
    let (first_read, frame) = times
        .iter()
        .find_map(|t| {
            let f = recording.frame_at(Some(*t)).unwrap().unwrap();
            f.details
                .iter()
                .any(|d| d.instance == "fresh")
                .then_some((*t, f))
        })
        .unwrap_or_else(|| panic!("no frame of {} holds sessions of `fresh`", times.len()));
    let recorded_ids: Vec<u64> = frame
        .details
        .iter()
        .find(|d| d.instance == "fresh")
        .unwrap()
        .processlist
        .iter()
        .map(|p| p.id)
        .collect();
    assert!(!recorded_ids.is_empty(), "no sessions recorded");

    // Replayed under a config that knows neither instance nor tag.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let at = first_read.to_rfc3339();
    let out = arkc(
        &bare,
        &[
            "health", "--replay", file_arg, "--at", &at, "--once", "--format", "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rows = json(&out);
    let fresh = rows
        .iter()
        .find(|r| r["instance"] == "fresh")
        .unwrap_or_else(|| panic!("no fresh row: {}", text(&out)));
    assert_eq!(fresh["tags"], serde_json::json!(["Pay", "eu"]), "{fresh:#}");
    let inspection = &fresh["inspection"];
    let sessions = &inspection["sessions"];
    assert_eq!(
        sessions["read_at"]
            .as_str()
            .map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(first_read),
        "{inspection:#}"
    );
    let ids: Vec<u64> = sessions["processlist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, recorded_ids, "{inspection:#}");
    assert!(sessions["lock_waits"].is_array(), "{inspection:#}");
    assert!(
        inspection["deadlock"]["read_at"].is_string(),
        "the locks read comes with the latest deadlock: {inspection:#}"
    );
    // The first firing frame reads every view; max_connections is among the parameters.
    assert!(
        inspection["parameters"]["report"]["variables"]["max_connections"].is_string(),
        "{inspection:#}"
    );
    assert!(
        inspection["replication"]["read_at"].is_string(),
        "{inspection:#}"
    );
    // No tags recorded for `plain`, and its sessions only if its own alert fired.
    let plain = rows.iter().find(|r| r["instance"] == "plain").unwrap();
    assert_eq!(plain["tags"], serde_json::json!([]), "{plain:#}");

    // Before any alert fired nothing was recorded beside the figures.
    let first = times[0];
    if recording
        .frame_at(Some(first))
        .unwrap()
        .unwrap()
        .details
        .is_empty()
    {
        let out = arkc(
            &bare,
            &[
                "health",
                "--replay",
                file_arg,
                "--at",
                &first.to_rfc3339(),
                "--format",
                "json",
                "--instance",
                "fresh",
            ],
        );
        let rows = json(&out);
        assert!(rows[0]["inspection"].is_null(), "{}", text(&out));
    }

    // The recorded tags select, case-blind; an unknown one lists the recorded ones.
    let out = arkc(
        &bare,
        &[
            "health", "--replay", file_arg, "--format", "json", "--tag", "PAY",
        ],
    );
    let names: Vec<String> = json(&out)
        .iter()
        .map(|r| r["instance"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["fresh"], "{}", text(&out));
    let out = arkc(&bare, &["health", "--replay", file_arg, "--tag", "dr"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no recorded instance is tagged `dr`; tags: eu, pay"),
        "{}",
        text(&out)
    );

    // The table: a short form of the same, under the rows.
    let out = arkc(
        &bare,
        &[
            "health",
            "--replay",
            file_arg,
            "--at",
            &at,
            "--instance",
            "fresh",
        ],
    );
    let table = String::from_utf8_lossy(&out.stdout);
    eprintln!("the replayed table:\n{table}");
    let summary = format!("recorded fresh at {}:", first_read.format("%H:%M:%S"));
    assert!(table.contains(&summary), "{}", text(&out));
    assert!(table.contains("  session "), "{}", text(&out));
    let summary_line = table.lines().find(|l| l.starts_with(&summary)).unwrap();
    assert!(summary_line.contains("parameters"), "{}", text(&out));
}
