//! Decoded row values agree with `mariadb-binlog --base64-output=decode-rows -vv`.

mod common;

use std::path::PathBuf;

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

#[test]
fn mariadb_corpus_binlog_matches_mariadb_binlog() {
    let path = PathBuf::from(CORPUS).join("mariadb-bin.000001");
    let n = common::crosscheck(&path)
        .unwrap()
        .expect("mariadb-binlog reads this file");
    // 2 rows x 5 columns, all comparable.
    assert_eq!(n, 10);
}

#[test]
fn every_corpus_file_mariadb_binlog_reads_matches() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for e in std::fs::read_dir(CORPUS).unwrap() {
        let path = e.unwrap().path();
        match common::crosscheck(&path) {
            Ok(Some(n)) if n > 0 => checked += 1,
            Ok(_) => {}
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 10, "only {checked} files had comparable rows");
}

/// Developers can cross-check any binlog: `ARKC_CROSSCHECK=path cargo test -p arkc-binlog`.
#[test]
fn extra_file_from_environment_matches() {
    let Ok(list) = std::env::var("ARKC_CROSSCHECK") else {
        return;
    };
    for p in list.split(':') {
        let n = common::crosscheck(std::path::Path::new(p)).unwrap();
        eprintln!("{p}: {n:?} values compared");
    }
}
