//! Every corpus slow log parses without an error or a panic; a few files checked in
//! detail against what they contain.

mod common;

use arkc_slowlog::{Digest, DigestFilter, ProblemKind};
use common::{corpus_dir, corpus_files};

fn digest(name: &str) -> Digest {
    let mut digest = Digest::new(DigestFilter::default());
    digest
        .add_file(&corpus_dir().join(name))
        .unwrap_or_else(|e| panic!("{e}"));
    digest
}

#[test]
fn every_corpus_file_parses() {
    let files = corpus_files();
    assert!(
        files.len() >= 70,
        "expected the 72-file corpus, found {}",
        files.len()
    );
    let mut entries = 0;
    for path in &files {
        let mut digest = Digest::new(DigestFilter::default());
        digest
            .add_file(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stats = digest.stats();
        assert_eq!(
            stats.entries as usize,
            digest.classes().map(|c| c.count as usize).sum::<usize>(),
            "{}",
            path.display()
        );
        entries += stats.entries;
    }
    assert!(entries > 2500, "only {entries} entries in the whole corpus");
}

#[test]
fn gzip_files_are_read_through() {
    let d = digest("slow039.txt.gz");
    assert_eq!(d.class_count(), 1);
    let class = d.classes().next().expect("one class");
    assert_eq!(class.fingerprint, "insert into the_universe values(?+)");
    assert!(
        d.stats().bytes > 1_000_000,
        "decompressed size counted: {}",
        d.stats().bytes
    );
}

#[test]
fn two_thousand_one_selects_collapse_into_one_class() {
    let d = digest("slow009.txt");
    let class = d.classes().next().expect("one class");
    assert_eq!((d.class_count(), class.count), (1, 2001));
    assert_eq!(class.fingerprint, "select ? from foo");
    assert_eq!(class.databases.sorted(), [("db", 2001)]);
}

#[test]
fn a_truncated_entry_is_skipped_and_located() {
    let d = digest("slow015.txt");
    assert_eq!(d.class_count(), 0);
    assert_eq!(d.stats().skipped, 1);
    assert_eq!(d.stats().problems[0].line, 1);
}

#[test]
fn a_garbled_number_is_reported_but_the_entry_counts() {
    let d = digest("slow017.txt");
    assert_eq!(d.class_count(), 1);
    assert_eq!(d.stats().bad_values, 1);
    assert!(
        matches!(&d.stats().problems[0].kind, ProblemKind::BadNumber { attribute, .. } if attribute == "Query_time")
    );
    assert_eq!(d.stats().problems[0].line, 1);
}

#[test]
fn the_empty_file_has_no_classes() {
    let d = digest("empty");
    assert_eq!(
        (d.class_count(), d.stats().entries, d.stats().skipped),
        (0, 0, 0)
    );
}

#[test]
fn a_truncated_gzip_fails_with_its_offset_and_keeps_what_was_read() {
    use std::io::Write;
    // Enough entries to fill several batches before the damage.
    let entry = "# Time: 071015 21:43:52\n# Query_time: 2  Lock_time: 0  Rows_sent: 1  Rows_examined: 0\nselect * from t where id = 1;\n";
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..50_000 {
        encoder.write_all(entry.as_bytes()).expect("compress");
    }
    let gz = encoder.finish().expect("compress");
    let dir = std::env::temp_dir().join(format!("arkc-slowlog-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("slow.log.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).expect("write");
    let mut digest = Digest::new(DigestFilter::default());
    let err = digest
        .add_file(&path)
        .expect_err("a truncated gzip is an error")
        .to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        err.contains("slow.log.gz") && err.contains("at byte"),
        "{err}"
    );
    let read = digest.classes().map(|c| c.count).sum::<u64>();
    assert!(
        read > 1000 && read < 50_000,
        "{read} entries kept from before the damage"
    );
}
