//! `review`: rows and statements per transaction, and the assembled rollback of a selection,
//! compared with the planner's own output for the same binlog.

use std::path::PathBuf;

use arkc_binlog::pipeline::scan_files;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner};
use arkc_binlog::review::{
    assemble_redo, assemble_rollback, Chosen, ReviewLimits, ReviewSink, ReviewedTxn,
};
use arkc_binlog::txn::{Filters, TxnBuilder};
use arkc_binlog::RowsKind;

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

fn review(file: &str, limits: ReviewLimits) -> Vec<ReviewedTxn> {
    let mut got = Vec::new();
    let mut sink = ReviewSink::new(limits, |t| {
        got.push(t);
        Ok(())
    })
    .expect("sink");
    let mut builder = TxnBuilder::new(Filters::default());
    scan_files(&[PathBuf::from(CORPUS).join(file)], &mut builder, &mut sink).expect("scan");
    drop(sink);
    got
}

fn planner(file: &str, direction: Direction) -> Option<String> {
    let opts = FlashbackOptions {
        direction,
        ..Default::default()
    };
    let mut planner = FlashbackPlanner::new(opts).ok()?;
    let mut builder = TxnBuilder::new(Filters::default());
    scan_files(
        &[PathBuf::from(CORPUS).join(file)],
        &mut builder,
        &mut planner,
    )
    .ok()?;
    let mut out = Vec::new();
    planner.finish(&mut out).ok()?;
    String::from_utf8(out).ok()
}

fn everything(txns: &[ReviewedTxn]) -> Vec<Chosen<'_>> {
    txns.iter()
        .map(|t| Chosen {
            txn: t,
            rows: (0..t.rows.len()).collect(),
        })
        .collect()
}

/// The text without its `-- note:` line (the pane words it for the pane, the CLI for the CLI).
fn without_note(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.starts_with("-- note: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn full_selection_is_the_planners_rollback_and_replay() {
    let mut compared = 0;
    for entry in std::fs::read_dir(CORPUS).expect("corpus") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (Some(rollback), Some(forward)) = (
            planner(&name, Direction::Rollback),
            planner(&name, Direction::Forward),
        ) else {
            continue; // refused or undecodable: covered by the planner's own tests
        };
        let txns = review(&name, ReviewLimits::default());
        let chosen = everything(&txns);
        let assembled = assemble_rollback(&chosen).expect(&name);
        assert_eq!(without_note(&assembled), without_note(&rollback), "{name}");
        assert_eq!(
            without_note(&assemble_redo(&chosen)),
            without_note(&forward)
        );
        // The note is worded for the pane, but is there exactly when the planner has one.
        let noted = |s: &str| s.contains("-- note: ");
        assert_eq!(noted(&assembled), noted(&rollback), "{name}");
        compared += 1;
    }
    assert!(compared >= 3, "only {compared} corpus files planned");
}

#[test]
fn rows_carry_images_and_conditions() {
    let txns = review("mariadb-bin.000001", ReviewLimits::default());
    let rows: Vec<_> = txns.iter().flat_map(|t| &t.rows).collect();
    assert_eq!(rows.len(), 2);
    let row = rows[0];
    assert_eq!(row.kind, RowsKind::Insert);
    assert_eq!(row.table, "toddy_test.outbox");
    assert!(row.before.is_empty());
    let id = row
        .columns
        .iter()
        .position(|c| c == "id")
        .expect("id column");
    assert_eq!(row.after[id].as_deref(), Some("62"));
    let cond = row.after_cond().expect("after conditions");
    assert!(cond.has_key);
    assert_eq!(cond.key, "`id` <=> 62");
    assert!(cond.full.starts_with("`id` <=> 62 AND "));
    assert!(row.before_cond().is_none());
    assert_eq!(
        row.undo_sql,
        "DELETE FROM `toddy_test`.`outbox` WHERE `id` = 62 LIMIT 1;\n"
    );
}

#[test]
fn a_single_row_selection_undoes_only_that_row() {
    let txns = review("mariadb-bin.000001", ReviewLimits::default());
    let with_rows: Vec<&ReviewedTxn> = txns.iter().filter(|t| !t.rows.is_empty()).collect();
    let chosen = [Chosen {
        txn: with_rows[1],
        rows: vec![0],
    }];
    let sql = assemble_rollback(&chosen).expect("plan");
    assert!(sql.starts_with("-- arkc flashback: rollback of 1 transaction(s), 1 statement(s)\n"));
    assert!(sql.contains("WHERE `id` = 63 LIMIT 1;"));
    assert!(!sql.contains("`id` = 62"));
}

#[test]
fn rows_over_the_limit_are_counted_and_block_the_plan() {
    let limits = ReviewLimits {
        max_rows_per_txn: 0,
        ..Default::default()
    };
    let txns = review("mariadb-bin.000001", limits);
    let t = txns
        .iter()
        .find(|t| t.row_count() > 0)
        .expect("a txn with rows");
    assert!(t.rows.is_empty());
    assert_eq!(t.rows_dropped, t.row_count());
    let err = assemble_rollback(&[Chosen {
        txn: t,
        rows: vec![],
    }])
    .unwrap_err();
    assert!(err[0].contains("not kept in memory"), "{err:?}");
}
