//! Shared helpers: running the real pt-query-digest and reading its JSON report.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("ARKC_CORPORA"), "/slowlogs"))
}

pub fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the slow-log corpus directory ../shared/corpora/slowlogs exists")
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    files.sort();
    files
}

/// The pt-query-digest executable, if installed.
pub fn pt_query_digest() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("pt-query-digest"))
        .find(|p| p.is_file())
}

/// One class as pt-query-digest reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PtClass {
    pub fingerprint: String,
    pub count: u64,
    /// Query_time sum, min, max, pct_95, median (absent when no entry had a Query_time).
    pub query_time: Option<[f64; 5]>,
}

/// Runs pt-query-digest on the (decompressed) contents of `log`; classes by checksum.
/// Ordering by `pos_in_log:cnt` with a huge `--limit` makes it report every class
/// (its default `--limit 95%:20` and `Query_time` ordering would hide some).
pub fn run_pt(pt: &Path, log: &Path) -> BTreeMap<String, PtClass> {
    let mut text = Vec::new();
    arkc_slowlog::open_log(log)
        .expect("corpus log opens")
        .read_to_end(&mut text)
        .expect("corpus log reads");
    let mut child = Command::new(pt)
        .args([
            "--output",
            "json",
            "--limit",
            "1000000",
            "--order-by",
            "pos_in_log:cnt",
            "--no-version-check",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pt-query-digest starts");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&text));
    let output = child.wait_with_output().expect("pt-query-digest runs");
    writer
        .join()
        .expect("writer thread")
        .expect("pt-query-digest reads its input");
    parse_pt_json(&output.stdout)
}

fn parse_pt_json(stdout: &[u8]) -> BTreeMap<String, PtClass> {
    // "Reading from STDIN ..." precedes the JSON; an empty input gives no JSON at all.
    let Some(start) = stdout.iter().position(|c| *c == b'{') else {
        return BTreeMap::new();
    };
    let report: serde_json::Value =
        serde_json::from_slice(&stdout[start..]).expect("pt-query-digest JSON");
    let classes = report["classes"].as_array().cloned().unwrap_or_default();
    classes
        .iter()
        .map(|c| {
            let num =
                |v: &serde_json::Value| v.as_f64().or_else(|| v.as_str()?.parse::<f64>().ok());
            let qt = &c["metrics"]["Query_time"];
            let query_time = (|| {
                Some([
                    num(&qt["sum"])?,
                    num(&qt["min"])?,
                    num(&qt["max"])?,
                    num(&qt["pct_95"])?,
                    num(&qt["median"])?,
                ])
            })();
            let class = PtClass {
                fingerprint: c["fingerprint"].as_str().unwrap_or_default().to_string(),
                count: num(&c["query_count"]).unwrap_or(0.0) as u64,
                query_time,
            };
            (
                c["checksum"].as_str().unwrap_or_default().to_string(),
                class,
            )
        })
        .collect()
}
