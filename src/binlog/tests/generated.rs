//! Generated columns: the server computes them and rejects explicit values, so rollback and
//! forward SQL leave them out; without schema info the output says it cannot tell.

use std::borrow::Cow;
use std::sync::Arc;

use arkc_binlog::check::{CheckMode, CheckPlan, CheckRowSink};
use arkc_binlog::frame::EventHeader;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner, WhereColumns};
use arkc_binlog::rows::{RowsEvent, RowsKind};
use arkc_binlog::tablemap::{ty, Column, Generated, TableMap};
use arkc_binlog::txn::{Transaction, TxnSink};
use arkc_binlog::{Event, EventBody};

/// `t (id INT, a INT, b INT AS (a*2) VIRTUAL, c INT AS (a+1) STORED)`, as the decoder
/// leaves it with schema info (`known`) or without.
fn table(known: bool, pk: bool) -> Arc<TableMap> {
    let col = |name: &str, generated| Column {
        type_code: ty::LONG,
        meta: 0,
        nullable: true,
        unsigned: false,
        collation: None,
        name: Some(name.into()),
        enum_values: None,
        set_values: None,
        generated: if known { generated } else { None },
    };
    Arc::new(TableMap {
        table_id: 3,
        schema: "g".into(),
        table: "t".into(),
        columns: vec![
            col("id", None),
            col("a", None),
            col("b", Some(Generated::Virtual)),
            col("c", Some(Generated::Stored)),
        ],
        primary_key: if pk { vec![0] } else { vec![] },
        has_names: true,
        drift: None,
        generated_known: known,
        raw_body: None,
    })
}

/// One image of the four INT columns, none NULL, for a row with base value `a`.
fn image(id: i32, a: i32) -> Vec<u8> {
    let mut b = vec![0u8];
    for v in [id, a, a * 2, a + 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn rows_event(kind: RowsKind, table: Arc<TableMap>, rows: Vec<u8>) -> RowsEvent<'static> {
    RowsEvent {
        kind,
        table,
        flags: 1,
        partial: false,
        column_count: 4,
        present: &[0b1111],
        present_after: &[0b1111],
        rows: Cow::Owned(rows),
    }
}

fn event() -> Event<'static> {
    let header = EventHeader {
        timestamp: 0,
        type_code: 32,
        server_id: 1,
        event_size: 100,
        log_pos: 0,
        flags: 0,
    };
    Event {
        header,
        offset: 100,
        end: 200,
        body: EventBody::Other,
    }
}

/// A DELETE of (1, 2) and an UPDATE of (5, 1) to (5, 7), in one transaction.
fn events(t: &Arc<TableMap>) -> [RowsEvent<'static>; 2] {
    let update = [image(5, 1), image(5, 7)].concat();
    [
        rows_event(RowsKind::Delete, t.clone(), image(1, 2)),
        rows_event(RowsKind::Update, t.clone(), update),
    ]
}

fn plan(t: Arc<TableMap>, opts: FlashbackOptions) -> (String, Option<String>) {
    let mut p = FlashbackPlanner::new(opts).unwrap();
    let tx = Transaction {
        file: "f".into(),
        gtid: Some("0-1-1".into()),
        ..Default::default()
    };
    for ev in events(&t) {
        p.rows(&tx, &event(), &ev).unwrap();
    }
    p.commit(&tx).unwrap();
    let note = p.generated_note();
    let mut out = Vec::new();
    p.finish(&mut out).unwrap();
    (String::from_utf8(out).unwrap(), note)
}

fn statements(sql: &str) -> Vec<&str> {
    sql.lines()
        .filter(|l| l.starts_with("INSERT") || l.starts_with("DELETE") || l.starts_with("UPDATE"))
        .collect()
}

#[test]
fn rollback_leaves_generated_columns_to_the_server() {
    let (sql, note) = plan(table(true, true), FlashbackOptions::default());
    assert_eq!(
        statements(&sql),
        [
            "UPDATE `g`.`t` SET `a` = 1 WHERE `id` = 5 LIMIT 1;",
            "INSERT INTO `g`.`t` (`id`, `a`) VALUES (1, 2);",
        ]
    );
    assert_eq!(note, None);
    assert!(!sql.contains("-- note"), "{sql}");
}

#[test]
fn forward_leaves_generated_columns_to_the_server() {
    let opts = FlashbackOptions {
        direction: Direction::Forward,
        ..Default::default()
    };
    let (sql, _) = plan(table(true, true), opts);
    assert_eq!(
        statements(&sql),
        [
            "DELETE FROM `g`.`t` WHERE `id` = 1 LIMIT 1;",
            "UPDATE `g`.`t` SET `a` = 7 WHERE `id` = 5 LIMIT 1;",
        ]
    );
}

#[test]
fn where_on_all_columns_skips_virtual_keeps_stored() {
    let opts = FlashbackOptions {
        where_columns: WhereColumns::All,
        ..Default::default()
    };
    for (t, what) in [
        (table(true, true), "--where-columns all"),
        (table(true, false), "no key"),
    ] {
        let (sql, _) = plan(t, opts);
        assert_eq!(
            statements(&sql)[0],
            "UPDATE `g`.`t` SET `a` = 1 WHERE `id` <=> 5 AND `a` <=> 7 AND `c` <=> 8 LIMIT 1;",
            "{what}"
        );
    }
    // The conflict check's all-column queries follow the same rule.
    let mut check = CheckRowSink::new();
    let tx = Transaction::default();
    for ev in events(&table(true, false)) {
        check.rows(&tx, &event(), &ev).unwrap();
    }
    check.commit(&tx).unwrap();
    let (rows, _) = check.rollback_order();
    let plan = CheckPlan::new(CheckMode::BeforeApply, &rows);
    let queries: Vec<&str> = plan.lookups.iter().map(|l| l.cond.as_str()).collect();
    assert_eq!(queries, ["`id` <=> 5 AND `a` <=> 7 AND `c` <=> 8"]);
}

#[test]
fn without_schema_info_the_header_says_so_and_names_the_table() {
    let (sql, note) = plan(table(false, true), FlashbackOptions::default());
    let note = note.expect("a note when generated columns are unknown");
    assert!(note.contains("`g`.`t`") && note.contains("--url"), "{note}");
    assert!(sql.starts_with("-- arkc flashback:"), "{sql}");
    assert!(sql.contains(&format!("-- note: {note}\n")), "{sql}");
    // Nothing is left out that nobody said was generated.
    assert!(sql.contains("INSERT INTO `g`.`t` (`id`, `a`, `b`, `c`) VALUES (1, 2, 4, 3);"));
}
