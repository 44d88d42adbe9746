//! The one conflict check, planned without a server: which lookups it asks, and the verdict
//! for what the server answers. Both directions: no false alarm on keyless duplicates, key
//! updates and re-taken keys; every later write (update, delete, re-insert) reported.

use std::sync::Arc;

use arkc_binlog::check::{lookup_queries, CheckMode, CheckPlan, CheckRow, RowState};
use arkc_binlog::RowsKind;

fn img(cells: &[&str]) -> Vec<Option<String>> {
    cells.iter().map(|c| Some(c.to_string())).collect()
}

fn row(id: (usize, usize), kind: RowsKind, pk: bool, before: &[&str], after: &[&str]) -> CheckRow {
    CheckRow {
        id,
        kind,
        table: "d.t".into(),
        table_sql: "`d`.`t`".into(),
        columns: Arc::new(vec!["id".into(), "v".into()]),
        primary_key: Arc::new(if pk { vec![0] } else { vec![] }),
        before: img(before),
        after: img(after),
    }
}

/// The verdicts when the server answers every lookup with `found`.
fn verdicts(plan: &CheckPlan, found: &[u32]) -> Vec<RowState> {
    plan.verdict(found).into_iter().map(|(_, s)| s).collect()
}

fn problems(plan: &CheckPlan, found: &[u32]) -> usize {
    verdicts(plan, found)
        .iter()
        .filter(|s| s.is_problem())
        .count()
}

#[test]
fn keyless_duplicates_are_a_multiset() {
    use RowsKind::*;
    // One UPDATE changed three identical keyless rows; two more were inserted twice.
    let rows = [
        row((1, 1), Insert, false, &[], &["3", "'c'"]),
        row((1, 0), Insert, false, &[], &["3", "'c'"]),
        row((0, 2), Update, false, &["1", "'a'"], &["1", "'z'"]),
        row((0, 1), Update, false, &["1", "'a'"], &["1", "'z'"]),
        row((0, 0), Update, false, &["1", "'a'"], &["1", "'z'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let conds: Vec<(&str, u32)> = plan
        .lookups
        .iter()
        .map(|l| (l.cond.as_str(), l.limit))
        .collect();
    assert_eq!(
        conds,
        [
            ("`id` <=> 3 AND `v` <=> 'c'", 2),
            ("`id` <=> 1 AND `v` <=> 'z'", 3)
        ]
    );
    // Nothing written since: the server holds every copy.
    assert_eq!(problems(&plan, &[2, 3]), 0);
    // One copy deleted (or updated) since: exactly one row reported.
    assert_eq!(problems(&plan, &[2, 2]), 1);
    assert_eq!(problems(&plan, &[0, 3]), 2);
}

#[test]
fn a_keyless_row_deleted_then_reinserted_in_the_range_needs_nothing() {
    use RowsKind::*;
    // Older: insert of a copy; newer: delete of the same image. The delete's undo puts one
    // back, which the insert's undo then takes: the server is not asked.
    let rows = [
        row((1, 0), Delete, false, &["1", "'a'"], &[]),
        row((0, 0), Insert, false, &[], &["1", "'a'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    assert!(plan.lookups.is_empty(), "{:?}", plan.lookups);
    assert_eq!(problems(&plan, &[]), 0);
}

#[test]
fn primary_key_updates_are_followed_key_to_key() {
    use RowsKind::*;
    // UPDATE t SET id = id + 1 ORDER BY id DESC on ids 1..3: 3->4, 2->3, 1->2.
    let rows = [
        row((0, 2), Update, true, &["1", "'a'"], &["2", "'a'"]),
        row((0, 1), Update, true, &["2", "'b'"], &["3", "'b'"]),
        row((0, 0), Update, true, &["3", "'c'"], &["4", "'c'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let conds: Vec<&str> = plan.lookups.iter().map(|l| l.cond.as_str()).collect();
    // Only what the server itself must hold: 2 as left, 1 free; 3 as left; 4 as left.
    assert_eq!(
        conds,
        [
            "`id` <=> 2 AND `v` <=> 'a'",
            "`id` <=> 1",
            "`id` <=> 3 AND `v` <=> 'b'",
            "`id` <=> 4 AND `v` <=> 'c'"
        ]
    );
    assert_eq!(problems(&plan, &[1, 0, 1, 1]), 0);
    // Someone inserted id 1 again: the first undo would collide.
    assert_eq!(
        verdicts(&plan, &[1, 1, 1, 1]),
        [RowState::KeyTaken, RowState::AsLeft, RowState::AsLeft]
    );
}

#[test]
fn a_key_retaken_inside_the_range_is_not_a_conflict_but_after_it_is() {
    use RowsKind::*;
    // Older: delete of id 4; newer: insert of id 4 again. Both selected.
    let both = [
        row((1, 0), Insert, true, &[], &["4", "'new'"]),
        row((0, 0), Delete, true, &["4", "'d'"], &[]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &both);
    assert_eq!(plan.lookups.len(), 1);
    assert_eq!(problems(&plan, &[1]), 0);
    // The insert is gone since: reported on the insert, not on the delete.
    assert_eq!(
        verdicts(&plan, &[0]),
        [RowState::ChangedSince, RowState::AsLeft]
    );
    // Only the delete selected, and the key taken later: reported.
    let plan = CheckPlan::new(CheckMode::BeforeApply, &both[1..]);
    assert_eq!(plan.lookups[0].cond, "`id` <=> 4");
    assert_eq!(verdicts(&plan, &[1]), [RowState::KeyTaken]);
    assert_eq!(verdicts(&plan, &[0]), [RowState::AsLeft]);
}

#[test]
fn a_row_changed_again_is_judged_against_the_newer_image() {
    use RowsKind::*;
    let chained = [
        row((1, 0), Update, true, &["1", "'b'"], &["1", "'c'"]),
        row((0, 0), Update, true, &["1", "'a'"], &["1", "'b'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &chained);
    assert_eq!(plan.lookups.len(), 1, "{:?}", plan.lookups);
    assert_eq!(problems(&plan, &[1]), 0);
    // A write between the two selected transactions (b -> x, not selected): the older undo
    // would not find its row.
    let gap = [
        row((1, 0), Update, true, &["1", "'x'"], &["1", "'c'"]),
        row((0, 0), Update, true, &["1", "'a'"], &["1", "'b'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &gap);
    assert_eq!(
        verdicts(&plan, &[1]),
        [RowState::AsLeft, RowState::ChangedSince]
    );
}

#[test]
fn later_update_and_delete_are_reported() {
    use RowsKind::*;
    let rows = [
        row((0, 1), Insert, true, &[], &["7", "'n'"]),
        row((0, 0), Update, true, &["1", "'a'"], &["1", "'b'"]),
    ];
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    assert_eq!(problems(&plan, &[1, 1]), 0);
    // The inserted row deleted or updated since (the lookup by all columns finds nothing).
    assert_eq!(
        verdicts(&plan, &[0, 1]),
        [RowState::ChangedSince, RowState::AsLeft]
    );
    assert_eq!(
        verdicts(&plan, &[1, 0]),
        [RowState::AsLeft, RowState::ChangedSince]
    );
}

#[test]
fn after_apply_verifies_the_oldest_before_image() {
    use RowsKind::*;
    let rows = [
        row((1, 0), Delete, true, &["1", "'b'"], &[]),
        row((0, 0), Update, true, &["1", "'a'"], &["1", "'b'"]),
        row((0, 1), Insert, true, &[], &["2", "'n'"]),
    ];
    let plan = CheckPlan::new(CheckMode::AfterApply, &rows);
    let conds: Vec<&str> = plan.lookups.iter().map(|l| l.cond.as_str()).collect();
    assert_eq!(conds, ["`id` <=> 1 AND `v` <=> 'a'", "`id` <=> 2"]);
    assert!(verdicts(&plan, &[1, 0])
        .iter()
        .all(|s| *s == RowState::Restored));
    assert_eq!(
        verdicts(&plan, &[1, 1]),
        [
            RowState::Restored,
            RowState::Restored,
            RowState::NotRestored
        ]
    );
}

#[test]
fn lookups_are_batched_into_union_statements() {
    use RowsKind::*;
    let mut rows: Vec<CheckRow> = (0..100)
        .map(|i| {
            let id = i.to_string();
            row((i, 0), Insert, true, &[], &[id.as_str(), "'v'"])
        })
        .collect();
    // A string key and a keyless row: point selects of their own.
    rows.push(row((100, 0), Insert, true, &[], &["'s'", "'v'"]));
    rows.push(row((101, 0), Insert, false, &[], &["7", "'v'"]));
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let batches: Vec<_> = lookup_queries(&plan.lookups, 200).collect();
    let covered: usize = batches.iter().map(|(r, _)| r.len()).sum();
    assert_eq!(covered, 102);
    let sql: Vec<&str> = batches.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(sql.len(), 3, "{sql:#?}");
    assert!(sql[0].starts_with(
        "(SELECT CONCAT_WS(',', CASE WHEN `id` = 0 THEN IF(`id` <=> 0 AND `v` <=> 'v', 0, NULL) \
         WHEN `id` = 1 THEN IF(`id` <=> 1 AND "
    ));
    assert!(sql[0].ends_with(", 63, NULL) END) FROM `d`.`t` WHERE `id` IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63))"));
    assert!(sql[1].contains("WHERE `id` IN (64, "));
    assert!(sql[2].starts_with("(SELECT 100 FROM `d`.`t` WHERE `id` <=> 's' AND `v` <=> 'v' LIMIT 1) UNION ALL (SELECT 101 FROM `d`.`t` WHERE `id` <=> 7 AND `v` <=> 'v' LIMIT 1)"), "{}", sql[2]);
    let hits: Vec<usize> = arkc_binlog::check::matched_lookups("3,70,")
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(hits, [3, 70]);
    assert_eq!(arkc_binlog::check::matched_lookups("").count(), 0);
}

/// An image missing a column (a JSON diff) is compared on the columns both images hold,
/// though the walk keeps only digests: the newer image is read again for it.
#[test]
fn images_missing_columns_compare_on_the_columns_both_hold() {
    use RowsKind::*;
    let three = |id, kind, before: Vec<Option<String>>, after: Vec<Option<String>>| CheckRow {
        id,
        kind,
        table: "d.t".into(),
        table_sql: "`d`.`t`".into(),
        columns: Arc::new(vec!["id".into(), "v".into(), "w".into()]),
        primary_key: Arc::new(vec![0]),
        before,
        after,
    };
    let cells = |c: &[Option<&str>]| -> Vec<Option<String>> {
        c.iter().map(|c| c.map(str::to_string)).collect()
    };
    for (w, want) in [("'x'", RowState::AsLeft), ("'y'", RowState::ChangedSince)] {
        let rows = [
            // Newest: an update of key 1 whose undo leaves (1, 'a', 'x').
            three(
                (1, 0),
                Update,
                cells(&[Some("1"), Some("'a'"), Some("'x'")]),
                cells(&[Some("1"), Some("'b'"), Some("'x'")]),
            ),
            // Older: the insert of key 1, its `v` a diff the check cannot compare.
            three((0, 0), Insert, vec![], cells(&[Some("1"), None, Some(w)])),
        ];
        let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
        assert_eq!(verdicts(&plan, &[1])[1], want, "w = {w}");
    }
}

/// Two lookups of one key never share a select: its row would answer only the first.
#[test]
fn a_key_asked_twice_goes_to_another_select() {
    use arkc_binlog::check::{Lookup, LookupKey};
    let lookup = |key: &str, cond: &str| Lookup {
        table_sql: "`d`.`t`".into(),
        cond: cond.into(),
        limit: 1,
        key: Some(LookupKey {
            columns: "`id`".into(),
            values: key.into(),
        }),
    };
    let lookups = [lookup("1", "a"), lookup("2", "b"), lookup("1", "c")];
    let sql: Vec<String> = lookup_queries(&lookups, 1 << 20).map(|(_, s)| s).collect();
    assert_eq!(
        sql,
        [
            "(SELECT CONCAT_WS(',', CASE WHEN `id` = 1 THEN IF(a, 0, NULL) WHEN `id` = 2 THEN \
          IF(b, 1, NULL) END) FROM `d`.`t` WHERE `id` IN (1, 2)) UNION ALL (SELECT \
          CONCAT_WS(',', CASE WHEN `id` = 1 THEN IF(c, 2, NULL) END) FROM `d`.`t` WHERE `id` \
          IN (1))"
        ]
    );
}
