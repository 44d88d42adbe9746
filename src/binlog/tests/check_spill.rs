//! The check over spilled rows (`arkc flashback --check`, bounded memory) asks the same
//! lookups and gives the same verdicts as the check over rows in memory (the Binlog pane),
//! on every corpus binlog read twice in a row (so the walk meets each key again and decides
//! the older rows against the newer images); in several passes over the keys, the same
//! verdicts for the same answers.

use std::path::PathBuf;

use arkc_binlog::check::{CheckMode, CheckPlan, CheckRowSink, Lookup, RowState};
use arkc_binlog::check_spill::CheckSpill;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::txn::{Filters, TxnBuilder};

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

/// What the server is made to answer for a lookup: 0, 1 or 2 rows, by its text.
fn answer(l: &Lookup) -> u32 {
    ((l.cond.len() + l.limit as usize) % 3) as u32
}

type Problems = Vec<((usize, usize), RowState)>;

fn in_memory(files: &[PathBuf]) -> Option<(Vec<Lookup>, Problems)> {
    let mut sink = CheckRowSink::new();
    scan_files(files, &mut TxnBuilder::new(Filters::default()), &mut sink).ok()?;
    let (rows, _) = sink.rollback_order();
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let found: Vec<u32> = plan.lookups.iter().map(answer).collect();
    let problems = plan
        .verdict(&found)
        .into_iter()
        .filter(|(_, s)| s.is_problem())
        .collect();
    Some((plan.lookups, problems))
}

fn spilled(files: &[PathBuf], batch_bytes: usize, passes: u64) -> (Vec<Lookup>, Problems) {
    let dir = std::env::temp_dir().join("arkc-check-spill-test");
    let mut sink = CheckSpill::new(&dir).unwrap();
    scan_files(files, &mut TxnBuilder::new(Filters::default()), &mut sink).unwrap();
    walk(sink, batch_bytes, passes)
}

/// The rows of a selection held in memory (the pane's), pushed one by one.
fn pushed(files: &[PathBuf], batch_bytes: usize, passes: u64) -> (Vec<Lookup>, Problems) {
    let mut rows = CheckRowSink::new();
    scan_files(files, &mut TxnBuilder::new(Filters::default()), &mut rows).unwrap();
    let dir = std::env::temp_dir().join("arkc-check-spill-test");
    let mut sink = CheckSpill::new(&dir).unwrap();
    for (row, origin) in rows.rows.iter().zip(&rows.origins) {
        sink.push_row(row, origin).unwrap();
    }
    walk(sink, batch_bytes, passes)
}

fn walk(sink: CheckSpill, batch_bytes: usize, passes: u64) -> (Vec<Lookup>, Problems) {
    let mut check = sink.into_check(batch_bytes).unwrap().with_passes(passes);
    let mut lookups: Vec<Option<Lookup>> = Vec::new();
    while let Some(batch) = check.next_batch().unwrap() {
        for (id, lookup) in batch {
            check.found(id, answer(&lookup));
            if lookups.len() <= id {
                lookups.resize(id + 1, None);
            }
            assert!(lookups[id].replace(lookup).is_none(), "lookup {id} twice");
        }
    }
    let mut problems = Vec::new();
    check
        .verdicts(&mut |p| {
            problems.push((p.row.id, p.state));
            Ok(())
        })
        .unwrap();
    let lookups = lookups.into_iter().map(|l| l.expect("every id")).collect();
    (lookups, problems)
}

#[test]
fn spilled_check_matches_the_check_in_memory_on_the_corpus() {
    let (mut compared, mut with_problems) = (0, 0);
    let mut names: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let files = vec![path.clone(), path.clone()];
        let Some((lookups, problems)) = in_memory(&files) else {
            continue;
        };
        if lookups.is_empty() {
            continue;
        }
        // Small batches too: the walk stops and resumes between them.
        // Lookups are numbered pass by pass: compare them as a set.
        let sorted = |mut l: Vec<Lookup>| {
            l.sort_by(|a, b| (&a.table_sql, &a.cond).cmp(&(&b.table_sql, &b.cond)));
            l
        };
        for (batch, passes) in [(1, 1), (1 << 20, 1), (1, 3), (1 << 20, 2)] {
            let (l, p) = spilled(&files, batch, passes);
            let what = format!("{} (batch {batch}, {passes} passes)", path.display());
            if passes == 1 {
                assert_eq!(l, lookups, "{what}");
            } else {
                assert_eq!(sorted(l), sorted(lookups.clone()), "{what}");
            }
            assert_eq!(p, problems, "{what}");
            let (l, p) = pushed(&files, batch, passes);
            assert_eq!(sorted(l), sorted(lookups.clone()), "{what}, pushed");
            assert_eq!(p, problems, "{what}, pushed");
        }
        compared += 1;
        with_problems += usize::from(!problems.is_empty());
    }
    assert!(compared >= 5, "only {compared} files had rows to check");
    assert!(
        with_problems >= 2,
        "only {with_problems} files had rows to report"
    );
}

#[test]
fn a_spill_dir_that_cannot_be_made_is_an_error_naming_it() {
    let err = CheckSpill::new(std::path::Path::new("/proc/arkc-no/tmp")).unwrap_err();
    assert!(err.to_string().contains("/proc/arkc-no/tmp"), "{err}");
}
