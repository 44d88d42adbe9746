//! A server both polled directly and scraped by Prometheus is one row (source "direct"), and
//! `--instance` can name one that only Prometheus lists: against the real Debian `prometheus`
//! and `prometheus-mysqld-exporter` scraping a sandbox.

use std::path::Path;
use std::process::Output;

use crate::prometheus_source::{prometheus_binaries, ScrapedSandbox};
use crate::support::cli::arkc;
use crate::support::wait::answered;

fn rows(out: &Output) -> Vec<serde_json::Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn write_config(
    dir: &Path,
    file: &str,
    direct_name: &str,
    port: u16,
    url: &str,
) -> std::path::PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            "[[instance]]\nname = \"{direct_name}\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             user = \"root\"\npassword = \"\"\n\n\
             [[prometheus]]\nname = \"fleet\"\nurl = \"{url}\"\nselector = '{{job=\"mysql\"}}'\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn one_row_per_instance_and_instance_finds_prometheus_only_ones() {
    let Some((prometheus, exporter)) = prometheus_binaries() else {
        return;
    };
    let scraped = ScrapedSandbox::start("prommerge", &prometheus, &exporter);
    let dir = tempfile::tempdir().unwrap();

    // Same name as the Prometheus instance label: one row, the direct one.
    let same = write_config(dir.path(), "same.toml", "sbx", scraped.port(), &scraped.url);
    let out = arkc(&same, &["health", "--once", "--format", "json"]);
    let listed = rows(&out);
    let sbx: Vec<&serde_json::Value> = listed.iter().filter(|r| r["instance"] == "sbx").collect();
    assert_eq!(sbx.len(), 1, "one row for sbx: {listed:#?}");
    assert_eq!(sbx[0]["source"], "direct", "{:#}", sbx[0]);
    // "slow" answered too (past 1 s, which a loaded machine can make).
    assert!(
        sbx[0]["status"].as_str().is_some_and(answered),
        "{:#}",
        sbx[0]
    );
    // The table twin: one line for sbx too.
    let out = arkc(&same, &["health", "--once"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let lines = table
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("sbx "))
        .count();
    assert_eq!(lines, 1, "{table}");

    // Another direct name: `--instance sbx` finds the Prometheus one.
    let other = write_config(
        dir.path(),
        "other.toml",
        "local",
        scraped.port(),
        &scraped.url,
    );
    let out = arkc(
        &other,
        &["health", "--once", "--format", "json", "--instance", "sbx"],
    );
    let listed = rows(&out);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["instance"], "sbx");
    assert_eq!(listed[0]["source"], "prometheus:fleet", "{:#}", listed[0]);
    assert_eq!(listed[0]["status"], "up", "{:#}", listed[0]);
    assert!(
        listed[0]["qps"].as_f64().is_some_and(|q| q > 0.0),
        "{:#}",
        listed[0]
    );

    // Both kinds at once.
    let out = arkc(
        &other,
        &[
            "health",
            "--once",
            "--format",
            "json",
            "--instance",
            "sbx",
            "--instance",
            "local",
        ],
    );
    let mut names: Vec<(String, String)> = rows(&out)
        .iter()
        .map(|r| (r["instance"].to_string(), r["source"].to_string()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("\"local\"".to_string(), "\"direct\"".to_string()),
            ("\"sbx\"".to_string(), "\"prometheus:fleet\"".to_string())
        ]
    );

    // A name found nowhere: what each source lists.
    let out = arkc(&other, &["health", "--once", "--instance", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no instance named `nope`")
            && stderr.contains("[[instance]] entries: local")
            && stderr.contains("prometheus `fleet` lists sbx"),
        "{stderr}"
    );

    // A view that needs arkc's own connection says so.
    let out = arkc(&other, &["processlist", "--instance", "sbx"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no instance named `sbx`") && stderr.contains("no direct connection"),
        "{stderr}"
    );
}
