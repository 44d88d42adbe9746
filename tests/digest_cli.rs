//! `arkc digest` (the real binary) against the real pt-query-digest: same classes, counts
//! and IDs on corpus logs and on a slow log written by a sandbox MariaDB under a seeded
//! workload; plus the filters and output formats.

#[path = "support/wait.rs"]
mod wait;
#[path = "support/workload.rs"]
mod workload;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arkc::sandbox::{Sandbox, SandboxOptions};

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("ARKC_CORPORA"), "/slowlogs")).join(name)
}

fn arkc_digest(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("digest")
        .args(args)
        .output()
        .expect("arkc runs");
    assert!(
        out.status.success(),
        "arkc digest {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// query_id -> count from `arkc digest --format json --limit 0`.
fn arkc_classes(log: &Path) -> BTreeMap<String, u64> {
    let out = arkc_digest(&["--format", "json", "--limit", "0", &log.to_string_lossy()]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("arkc JSON");
    let rows = rows.as_array().expect("a JSON array");
    rows.iter()
        .map(|r| {
            (
                r["query_id"].as_str().unwrap_or_default().to_string(),
                r["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn pt_query_digest() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("pt-query-digest"))
        .find(|p| p.is_file())
}

/// checksum -> query_count from pt-query-digest, every class reported.
fn pt_classes(pt: &Path, log: &Path) -> BTreeMap<String, u64> {
    let out = Command::new(pt)
        .args([
            "--output",
            "json",
            "--limit",
            "1000000",
            "--order-by",
            "pos_in_log:cnt",
            "--no-version-check",
        ])
        .arg(log)
        .stderr(Stdio::null())
        .output()
        .expect("pt-query-digest runs");
    let Some(start) = out.stdout.iter().position(|c| *c == b'{') else {
        return BTreeMap::new();
    };
    let report: serde_json::Value = serde_json::from_slice(&out.stdout[start..]).expect("pt JSON");
    let classes = report["classes"].as_array().cloned().unwrap_or_default();
    classes
        .iter()
        .map(|c| {
            (
                c["checksum"].as_str().unwrap_or_default().to_string(),
                c["query_count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn assert_same_classes(log: &Path, pt: &Path) -> usize {
    let ours = arkc_classes(log);
    let theirs = pt_classes(pt, log);
    let agreeing = ours
        .iter()
        .filter(|(id, n)| theirs.get(*id) == Some(n))
        .count();
    let total = ours.len().max(theirs.len());
    println!(
        "{}: {agreeing}/{total} classes agree with pt-query-digest",
        log.display()
    );
    assert_eq!(
        ours,
        theirs,
        "classes and counts differ for {}",
        log.display()
    );
    total
}

#[test]
fn same_classes_as_pt_query_digest_on_corpus_logs() {
    let Some(pt) = pt_query_digest() else {
        eprintln!("SKIPPED: pt-query-digest is not on PATH (apt-get install percona-toolkit)");
        return;
    };
    let classes: usize = [
        "slow002.txt",
        "slow030.txt",
        "slow038.txt",
        "slow053.txt",
        "slow-pt-243.txt",
    ]
    .iter()
    .map(|f| assert_same_classes(&corpus(f), &pt))
    .sum();
    assert!(classes >= 20, "only {classes} classes compared");
}

#[test]
fn same_classes_as_pt_query_digest_on_a_sandbox_log() {
    let Some(pt) = pt_query_digest() else {
        eprintln!("SKIPPED: pt-query-digest is not on PATH (apt-get install percona-toolkit)");
        return;
    };
    let mut sandbox = Sandbox::start(SandboxOptions {
        name: "digest".into(),
        slow_log_threshold_s: 0.0,
        ..SandboxOptions::default()
    })
    .expect("sandbox starts");
    let sql = workload::workload_sql("shop", 42, 3000);
    let mut client = sandbox
        .client()
        .arg("--force")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client");
    client
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("workload sent");
    let out = client.wait_with_output().expect("client ends");
    assert!(
        out.status.success(),
        "workload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No FLUSH SLOW LOGS: MariaDB writes each entry through, and a flush would add a
    // banner mid-file, where arkc deliberately differs from pt-query-digest (README).
    // Entries are written after the answer, so both tools must not read before the last one is
    // in: a later statement's entry marks that point.
    sandbox
        .exec_sql("SELECT 'arkc-digest-end'")
        .expect("end marker");
    wait::wait_for_file_containing(
        &sandbox.slow_log_path(),
        &["SELECT 'arkc-digest-end'"],
        wait::DEADLINE,
    );
    let classes = assert_same_classes(&sandbox.slow_log_path(), &pt);
    assert!(classes >= 20, "only {classes} classes from the workload");
    let point = arkc_digest(&[
        "--format",
        "json",
        "--limit",
        "0",
        "--database",
        "shop",
        &sandbox.slow_log_path().to_string_lossy(),
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&point.stdout).expect("JSON");
    let by_id = rows
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["fingerprint"] == "select * from customers where id = ?")
        .expect("point-select class");
    let count = by_id["count"].as_u64().unwrap_or(0);
    assert!(
        (300..700).contains(&count),
        "point selects: {count} of 3000 (1 in 6 expected)"
    );
    assert_eq!(by_id["databases"]["shop"].as_u64(), Some(count));
    sandbox.stop().expect("sandbox stops");
}

#[test]
fn filters_and_formats() {
    let log = corpus("slow002.txt");
    let log = log.to_string_lossy();
    let none = arkc_digest(&["--format", "json", "--database", "no_such_db", &log]);
    assert_eq!(String::from_utf8_lossy(&none.stdout).trim(), "[]");
    let slow = arkc_digest(&["--format", "json", "--min-time", "0.5", &log]);
    let slow: serde_json::Value = serde_json::from_slice(&slow.stdout).expect("JSON");
    assert_eq!(
        slow.as_array().map(Vec::len),
        Some(1),
        "only the 0.726 s UPDATE is that slow"
    );
    assert_eq!(slow[0]["query_time"]["max"].as_f64(), Some(0.726052));
    let keys: Vec<&str> = slow[0]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for key in [
        "query_id",
        "fingerprint",
        "count",
        "qps",
        "query_time",
        "lock_time_sum",
        "rows_sent_sum",
        "rows_examined_sum",
        "no_index_count",
        "first_seen",
        "last_seen",
        "databases",
        "sample",
    ] {
        assert!(keys.contains(&key), "JSON lacks {key}");
    }
    let table = String::from_utf8_lossy(&arkc_digest(&["--limit", "3", &log]).stdout).into_owned();
    assert_eq!(
        table.lines().count(),
        5,
        "summary, header and 3 classes:\n{table}"
    );
    assert!(table.contains("0x45FE45AEC2223504"), "{table}");
    let md = String::from_utf8_lossy(
        &arkc_digest(&[
            "--format",
            "md",
            "--order-by",
            "Rows_examined:max",
            "--limit",
            "1",
            &log,
        ])
        .stdout,
    )
    .into_owned();
    assert!(md.starts_with("# Slow SQL report"), "{md}");
    assert!(md.contains("`0x45FE45AEC222350466825DDC008FFA89`"), "{md}");
    let before = arkc_digest(&["--format", "json", "--until", "2007-12-18", &log]);
    assert_eq!(String::from_utf8_lossy(&before.stdout).trim(), "[]");
}

#[test]
fn markdown_report_shows_tracking_status_and_reappeared_fixes() {
    use arkc::tracking::{TrackStatus, TrackingStore};
    use chrono::TimeZone;
    let data_home = tempfile::tempdir().expect("temp dir");
    let store = TrackingStore::open(&data_home.path().join("arkc/tracking.sqlite"))
        .expect("tracking store");
    let marked = chrono::Utc
        .with_ymd_and_hms(2007, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    // The slow002 UPDATE classes: one under investigation, one "fixed" before it ran again.
    store
        .set(
            "45FE45AEC222350466825DDC008FFA89",
            TrackStatus::Investigating,
            "add an index on gonzo",
            marked,
        )
        .expect("set");
    store
        .set(
            "E51503DB1DA4B1FC0FFE94ABA6A2A9E8",
            TrackStatus::Fixed,
            "rewritten",
            marked,
        )
        .expect("set");
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_arkc"))
        .args(["digest", "--format", "md", "--limit", "3"])
        .arg(corpus("slow002.txt"))
        .env("XDG_DATA_HOME", data_home.path())
        .output()
        .expect("arkc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    let row = |id: &str| {
        md.lines()
            .find(|l| l.contains(id))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("0x45FE45AEC222350466825DDC008FFA89")
            .contains("| investigating | add an index on gonzo |"),
        "{md}"
    );
    assert!(
        row("0xE51503DB1DA4B1FC0FFE94ABA6A2A9E8").contains("| fixed, **reappeared** | rewritten |"),
        "{md}"
    );
    assert!(
        row("0x32F63B9B2CE5A9B1B211BA2B8D6D065C").contains("| new |  |"),
        "{md}"
    );
}
