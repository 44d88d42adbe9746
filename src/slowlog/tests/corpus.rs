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
