//! Agreement with the real pt-query-digest 3.2.1: for every corpus slow log (and a
//! generated one full of fingerprint edge cases), the same classes, counts, query IDs and
//! fingerprints, and the same Query_time sum/min/max/p95/median per class.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use arkc_slowlog::{Digest, DigestFilter, QueryClass};
use common::{corpus_files, pt_query_digest, run_pt, PtClass};

#[derive(Default)]
struct Tally {
    classes: usize,
    agreeing: usize,
    mismatches: Vec<String>,
}

fn digest_of(path: &Path) -> BTreeMap<String, QueryClass> {
    let mut digest = Digest::new(DigestFilter::default());
    digest.add_file(path).unwrap_or_else(|e| panic!("{e}"));
    digest
        .classes()
        .map(|c| (c.query_id.clone(), c.clone()))
        .collect()
}

/// pt prints times with %.6f, and its p95/median are bucket values.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 + b.abs() * 1e-9
}

fn class_agrees(ours: &QueryClass, theirs: &PtClass) -> Result<(), String> {
    if ours.count != theirs.count {
        return Err(format!("count {} vs pt {}", ours.count, theirs.count));
    }
    // pt's JSON writer re-encodes non-ASCII bytes; the ID (from raw bytes) already matched.
    if ours.fingerprint.is_ascii() && ours.fingerprint != theirs.fingerprint {
        return Err(format!(
            "fingerprint {:?} vs pt {:?}",
            ours.fingerprint, theirs.fingerprint
        ));
    }
    if let (Some(pt), true) = (theirs.query_time, ours.timed_count() > 0) {
        let qt = ours.query_time_stats();
        let mine = [qt.sum, qt.min, qt.max, qt.p95, qt.median];
        if !mine.iter().zip(pt).all(|(a, b)| close(*a, b)) {
            return Err(format!(
                "Query_time sum/min/max/p95/median {mine:?} vs pt {pt:?}"
            ));
        }
    }
    Ok(())
}

fn compare(log: &Path, pt: &Path, tally: &mut Tally) -> (usize, usize) {
    let theirs = run_pt(pt, log);
    let ours = digest_of(log);
    let ids: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
    let name = log.file_name().unwrap_or_default().to_string_lossy();
    let mut agreeing = 0;
    for id in &ids {
        let verdict = match (ours.get(*id), theirs.get(*id)) {
            (Some(o), Some(t)) => class_agrees(o, t),
            (Some(o), None) => Err(format!("only in arkc: {:?} x{}", o.fingerprint, o.count)),
            (None, Some(t)) => Err(format!(
                "only in pt-query-digest: {:?} x{}",
                t.fingerprint, t.count
            )),
            (None, None) => unreachable!("id comes from one of the maps"),
        };
        match verdict {
            Ok(()) => agreeing += 1,
            Err(why) => tally.mismatches.push(format!("{name} {id}: {why}")),
        }
    }
    tally.classes += ids.len();
    tally.agreeing += agreeing;
    (agreeing, ids.len())
}

fn report(tally: &Tally, what: &str) {
    let rate = if tally.classes == 0 {
        100.0
    } else {
        100.0 * tally.agreeing as f64 / tally.classes as f64
    };
    println!(
        "{what}: {}/{} classes agree with pt-query-digest ({rate:.2}%)",
        tally.agreeing, tally.classes
    );
    assert!(
        tally.mismatches.is_empty(),
        "disagreements:\n{}",
        tally.mismatches.join("\n")
    );
}

#[test]
fn every_corpus_log_matches_pt_query_digest() {
    let Some(pt) = pt_query_digest() else {
        eprintln!("SKIPPED: pt-query-digest is not on PATH (apt-get install percona-toolkit)");
        return;
    };
    let mut tally = Tally::default();
    for log in corpus_files() {
        let (agreeing, classes) = compare(&log, &pt, &mut tally);
        println!(
            "{:<28} {agreeing:>4}/{classes:<4}",
            log.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    assert!(
        tally.classes > 100,
        "the corpus yielded only {} classes",
        tally.classes
    );
    report(&tally, "corpus");
}

#[test]
fn generated_edge_case_log_matches_pt_query_digest() {
    let Some(pt) = pt_query_digest() else {
        eprintln!("SKIPPED: pt-query-digest is not on PATH (apt-get install percona-toolkit)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("arkc-slowlog-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let log = dir.join("generated-slow.log");
    std::fs::write(&log, generated_log(3000)).expect("write generated log");
    let mut tally = Tally::default();
    compare(&log, &pt, &mut tally);
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        tally.classes > 500,
        "generator produced only {} classes",
        tally.classes
    );
    report(&tally, "generated");
}

/// A deterministic slow log mixing MySQL 5.x, 8.0 and MariaDB headers with queries built
/// from fragments that exercise every fingerprint rule.
fn generated_log(entries: usize) -> String {
    const FRAGMENTS: &[&str] = &[
        "SELECT",
        "select",
        " ",
        "  ",
        "\n",
        "\t",
        "a",
        "x",
        "t1",
        "db2.tbl",
        "0x1F",
        "-1.5e3",
        "+3",
        "1",
        "'str'",
        "\"dq\"",
        "\\'",
        "(",
        ")",
        ",",
        "?",
        "IN",
        "in (1,2)",
        "IN ( ?, ? )",
        "VALUES",
        "values (1),(2)",
        "/* c */",
        "/*!40001 hint*/",
        "-- cmt\n",
        "NULL",
        "null",
        "TRUE",
        "false",
        "1.false",
        "UNION",
        "union all",
        "UNION SELECT a FROM t",
        "LIMIT 10",
        "limit 1, 2",
        "LIMIT 5 OFFSET 3",
        "ORDER BY a ASC",
        "asc",
        "ASC, b",
        "use db",
        "CALL p(1)",
        "INSERT INTO t",
        "INSERT IGNORE INTO t (a) VALUES (1),(2)",
        "REPLACE",
        "where",
        "=",
        "<>",
        "x?",
        "b?",
        ".?",
        "nullx?",
        "0b101",
        "truex",
        "value",
        "( ? , ? )",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut log = String::from("/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian). started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime                Id Command  Argument\n");
    for i in 0..entries {
        let mut query: String = (0..1 + next(12))
            .map(|_| FRAGMENTS[next(FRAGMENTS.len())])
            .collect();
        if next(3) == 0 {
            query.insert_str(0, "SELECT ");
        }
        // A statement line must not look like a header, and must end the entry.
        if query.starts_with(['#', ' ', '\n', '\t'])
            || query.starts_with("use ")
            || query.starts_with("SET ")
        {
            query.insert_str(0, "SELECT 1 ");
        }
        let qt = format!("{}.{:06}", next(3), next(1_000_000));
        match i % 3 {
            0 => log.push_str(&format!("# Time: 2023-11-25T10:{:02}:{:02}.123456Z\n# User@Host: app[app] @ web{} [10.0.0.{}]  Id: {i}\n# Query_time: {qt}  Lock_time: 0.000010 Rows_sent: {} Rows_examined: {}\nSET timestamp={};\n", i / 60 % 60, i % 60, i % 4, i % 7, next(100), next(10000), 1_700_900_000 + i)),
            1 => log.push_str(&format!("# Time: 231125 10:{:02}:{:02}\n# User@Host: root[root] @ localhost []\n# Thread_id: {i}  Schema: shop  QC_hit: No\n# Query_time: {qt}  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 10\n# Rows_affected: 0  Bytes_sent: 56\n# Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No\nuse shop;\nSET timestamp={};\n", i / 60 % 60, i % 60, 1_700_900_000 + i)),
            _ => log.push_str(&format!("# User@Host: [SQL_SLAVE] @  []\n# Query_time: {qt}  Lock_time: 0.000091  Rows_sent: 0  Rows_examined: 62951\n")),
        }
        log.push_str(&query);
        log.push_str(";\n");
    }
    log
}
