//! The check over spilled rows (`arkc flashback --check`, bounded memory) asks the same
//! lookups and gives the same verdicts as the check over rows in memory (the Binlog pane),
//! on every corpus binlog read twice in a row (so the walk meets each key again and decides
//! the older rows against the newer images).

use std::path::PathBuf;

use arkc_binlog::check::{CheckMode, CheckPlan, CheckRowSink, Lookup, RowState};
use arkc_binlog::check_spill::CheckSpill;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::txn::{Filters, TxnBuilder};

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

/// What the server is made to answer: lookup `l` matched `l % 3` rows.
fn answer(l: usize) -> u32 {
    (l % 3) as u32
}

type Problems = Vec<((usize, usize), RowState)>;

fn in_memory(files: &[PathBuf]) -> Option<(Vec<Lookup>, Problems)> {
    let mut sink = CheckRowSink::new();
    scan_files(files, &mut TxnBuilder::new(Filters::default()), &mut sink).ok()?;
    let (rows, _) = sink.rollback_order();
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let found: Vec<u32> = (0..plan.lookups.len()).map(answer).collect();
    let problems = plan
        .verdict(&found)
        .into_iter()
        .filter(|(_, s)| s.is_problem())
        .collect();
    Some((plan.lookups, problems))
}

fn spilled(files: &[PathBuf], batch_bytes: usize) -> (Vec<Lookup>, Problems) {
    let dir = std::env::temp_dir().join("arkc-check-spill-test");
    let mut sink = CheckSpill::new(&dir).unwrap();
    scan_files(files, &mut TxnBuilder::new(Filters::default()), &mut sink).unwrap();
    let mut check = sink.into_check(batch_bytes).unwrap();
    let mut lookups: Vec<Option<Lookup>> = Vec::new();
    while let Some(batch) = check.next_batch().unwrap() {
        for (id, lookup) in batch {
            check.found(id, answer(id));
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
    let mut compared = 0;
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
        for batch in [1, 1 << 20] {
            let (l, p) = spilled(&files, batch);
            assert_eq!(l, lookups, "{} (batch {batch})", path.display());
            assert_eq!(p, problems, "{} (batch {batch})", path.display());
        }
        compared += 1;
    }
    assert!(
        compared >= 5,
        "only {compared} corpus files had rows to check"
    );
}

#[test]
fn a_spill_dir_that_cannot_be_made_is_an_error_naming_it() {
    let err = CheckSpill::new(std::path::Path::new("/proc/arkc-no/tmp")).unwrap_err();
    assert!(err.to_string().contains("/proc/arkc-no/tmp"), "{err}");
}
