//! `arkc record` against a real sandbox, then `arkc health --replay` on the file it wrote.

use arkc::recording::Recording;
use arkc::sandbox::Sandbox;

use crate::support::cli::{arkc, text};
use crate::support::wait::answered;

#[test]
fn ten_seconds_recorded_then_replayed_at_a_time() {
    let sb = Sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let dead = crate::support::ports::refused_port();
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"live\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\n\
             [[instance]]\nname = \"gone\"\nhost = \"127.0.0.1\"\nport = {dead}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.path().join("incident.arkc");
    let file_arg = file.to_str().unwrap();
    let out = arkc(&config, &["record", "--out", file_arg, "--duration", "10s"]);
    assert!(out.status.success(), "{}", text(&out));

    let recording = Recording::open(&file).unwrap();
    let times = recording.times().unwrap();
    // One frame a second (the default refresh) for 10 s, give or take the first poll's latency:
    // never more; fewer when a loaded machine polls late (how many it keeps up with is not the
    // claim), but more than one.
    assert!((2..=12).contains(&times.len()), "{} frames", times.len());

    let out = arkc(
        &config,
        &["health", "--replay", file_arg, "--once", "--format", "json"],
    );
    // "gone" was down: exit code 3, as live.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let live = rows
        .iter()
        .find(|r| r["instance"] == "live")
        .expect("live row");
    // "slow" answered too (past 1 s, which a loaded machine can make).
    assert!(live["status"].as_str().is_some_and(answered), "{live:#}");
    assert_eq!(live["source"], "direct");
    assert!(live["qps"].as_f64().is_some(), "{live:#}");
    assert!(live["uptime_s"].as_u64().is_some(), "{live:#}");
    let gone = rows
        .iter()
        .find(|r| r["instance"] == "gone")
        .expect("gone row");
    assert_eq!(gone["status"], "down");
    assert!(
        gone["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["rule"] == "instance_down"),
        "{gone:#}"
    );

    // --at between two frames picks the earlier one: its uptime is the earlier one's.
    let (second, third) = (times[1], times[2]);
    let between = second + (third - second) / 2;
    let at = between.to_rfc3339();
    let out = arkc(
        &config,
        &[
            "health",
            "--replay",
            file_arg,
            "--at",
            &at,
            "--format",
            "json",
            "--instance",
            "live",
        ],
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let expected = recording.frame_at(Some(second)).unwrap().unwrap();
    let expected_live = expected
        .instances
        .iter()
        .find(|h| h.instance == "live")
        .unwrap();
    assert_eq!(rows[0]["uptime_s"].as_u64(), expected_live.uptime_s);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&second.to_rfc3339()),
        "{}",
        text(&out)
    );

    // Before the first frame: an error that says what the file holds.
    let before = (times[0] - chrono::Duration::seconds(60)).to_rfc3339();
    let out = arkc(&config, &["health", "--replay", file_arg, "--at", &before]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("incident.arkc") && err.contains("no frame at or before"),
        "{err}"
    );
}

#[test]
fn replaying_a_file_that_is_no_recording_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let bogus = dir.path().join("slow.log");
    std::fs::write(
        &bogus,
        "# Time: 2026-12-01T12:00:00\nselect 1;\n".repeat(50),
    )
    .unwrap();
    let out = arkc(
        &config,
        &["health", "--replay", bogus.to_str().unwrap(), "--once"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("slow.log") && err.contains("not an arkc recording"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A server started seconds ago fires `restarted`: its sessions are recorded with the frame.
#[test]
fn firing_instances_have_their_processlist_recorded() {
    let sb = Sandbox::start(arkc::sandbox::SandboxOptions {
        name: "recfire".into(),
        ..arkc::sandbox::SandboxOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[instance]]\nname = \"fresh\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n",
            sb.port()
        ),
    )
    .unwrap();
    let file = dir.path().join("fresh.arkc");
    let out = arkc(
        &config,
        &[
            "record",
            "--out",
            file.to_str().unwrap(),
            // Seconds to spare for the first poll and its reads on a loaded machine.
            "--duration",
            "10s",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let frame = Recording::open(&file)
        .unwrap()
        .frame_at(None)
        .unwrap()
        .unwrap();
    assert!(
        frame
            .alerts
            .iter()
            .any(|a| a.instance == "fresh" && a.rule.id() == "restarted"),
        "{:?}",
        frame.alerts
    );
    let detail = frame
        .details
        .iter()
        .find(|d| d.instance == "fresh")
        .unwrap_or_else(|| panic!("no details in {:?}", frame.details));
    // At least the recorder's own poller session is listed.
    assert!(!detail.processlist.is_empty(), "{detail:?}");
}
