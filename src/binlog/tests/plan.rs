//! Flashback planning: rollback/forward SQL, refusals, filters and the spill/chunk logic.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use arkc_binlog::frame::EventHeader;
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner, WhereColumns};
use arkc_binlog::rows::{RowsEvent, RowsKind};
use arkc_binlog::tablemap::{ty, Column, TableMap};
use arkc_binlog::txn::{Filters, GtidSet, Transaction, TxnBuilder, TxnSink};
use arkc_binlog::{BinlogError, Event, EventBody};

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

fn run(file: &str, filters: Filters, opts: FlashbackOptions) -> Result<String, BinlogError> {
    let mut planner = FlashbackPlanner::new(opts)?;
    let mut builder = TxnBuilder::new(filters);
    scan_files(
        &[PathBuf::from(CORPUS).join(file)],
        &mut builder,
        &mut planner,
    )?;
    let mut out = Vec::new();
    planner.finish(&mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn statements(sql: &str) -> Vec<&str> {
    sql.lines()
        .filter(|l| l.starts_with("INSERT") || l.starts_with("DELETE") || l.starts_with("UPDATE"))
        .collect()
}

#[test]
fn rollback_deletes_inserted_rows_newest_first() {
    let sql = run(
        "mariadb-bin.000001",
        Filters::default(),
        FlashbackOptions::default(),
    )
    .unwrap();
    assert!(sql.contains("SET NAMES utf8mb4;\nSET time_zone='+00:00';"));
    assert_eq!(
        statements(&sql),
        [
            "DELETE FROM `toddy_test`.`outbox` WHERE `id` = 63 LIMIT 1;",
            "DELETE FROM `toddy_test`.`outbox` WHERE `id` = 62 LIMIT 1;",
        ]
    );
    let first = sql
        .find("GTID 0-1-2 at mariadb-bin.000001:702-1074")
        .unwrap();
    assert!(
        first
            < sql
                .find("GTID 0-1-1 at mariadb-bin.000001:330-702")
                .unwrap()
    );
    assert_eq!(sql.matches("BEGIN;").count(), 2);
    assert_eq!(sql.matches("COMMIT;").count(), 2);
}

#[test]
fn forward_replays_with_values_mariadb_binlog_shows() {
    let opts = FlashbackOptions {
        direction: Direction::Forward,
        ..Default::default()
    };
    let sql = run("mariadb-bin.000001", Filters::default(), opts).unwrap();
    // mariadb-binlog -vv: @1=62 @2='foo' @3=2 (ENUM 'JSON') @4='{"foo":1}' (binary BLOB) @5=1650493084
    assert_eq!(
        statements(&sql)[0],
        "INSERT INTO `toddy_test`.`outbox` (`id`, `topic`, `event_type`, `event`, `created`) VALUES \
         (62, 'foo', 'JSON', X'7B22666F6F223A317D', '2022-04-20 22:18:04');"
    );
    assert!(sql.find("(62,").unwrap() < sql.find("(63,").unwrap());
}

#[test]
fn filters_select_transactions_and_tables() {
    let opts = FlashbackOptions::default();
    let only = |f: Filters| statements(&run("mariadb-bin.000001", f, opts).unwrap()).len();
    let gtid = Filters {
        gtid_include: Some(GtidSet::parse("0-1-2").unwrap()),
        ..Default::default()
    };
    assert_eq!(only(gtid), 1);
    let excl = Filters {
        gtid_exclude: Some(GtidSet::parse("0-1-1-2").unwrap()),
        ..Default::default()
    };
    assert_eq!(only(excl), 0);
    let start = Filters {
        start: Some(("mariadb-bin.000001".into(), 702)),
        ..Default::default()
    };
    let sql = run("mariadb-bin.000001", start, opts).unwrap();
    assert_eq!(
        statements(&sql),
        ["DELETE FROM `toddy_test`.`outbox` WHERE `id` = 63 LIMIT 1;"]
    );
    let stop = Filters {
        stop: Some(("mariadb-bin.000001".into(), 702)),
        ..Default::default()
    };
    assert_eq!(only(stop), 1);
    let mut table = Filters::default();
    table.add_table("toddy_test.other");
    assert_eq!(only(table), 0);
    let mut table = Filters::default();
    table.add_table("outbox");
    assert_eq!(only(table), 2);
    let db = Filters {
        databases: vec!["toddy_test".into()],
        ..Default::default()
    };
    assert_eq!(only(db), 2);
    let kind = Filters {
        sql_types: vec![RowsKind::Delete],
        ..Default::default()
    };
    assert_eq!(only(kind), 0);
    let time = Filters {
        start_time: Some(1_650_493_100),
        ..Default::default()
    };
    assert_eq!(only(time), 1);
}

fn refused(file: &str, opts: FlashbackOptions) -> String {
    match run(file, Filters::default(), opts) {
        Err(e @ BinlogError::Refused(_)) => e.to_string(),
        other => panic!("{file}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn refuses_ddl_naming_position_and_statement() {
    let msg = refused(
        "rpl_atomic_ddl_rollback_full.000001",
        FlashbackOptions::default(),
    );
    assert!(
        msg.contains("rpl_atomic_ddl_rollback_full.000001:219"),
        "{msg}"
    );
    assert!(msg.contains("CREATE TABLE t1 (a INT)"), "{msg}");
    assert!(
        msg.contains("a0205340-db2c-11e7-babd-340286faf52d:1"),
        "{msg}"
    );
}

#[test]
fn refusal_messages_hide_credentials() {
    let msg = refused("json.binlog.000001", FlashbackOptions::default());
    assert!(msg.contains("ALTER USER"), "{msg}");
    assert!(!msg.contains("$A$005"), "{msg}");
}

#[test]
fn refuses_tables_without_column_names() {
    let msg = refused("minimal_row_metadata.000001", FlashbackOptions::default());
    assert!(
        msg.contains("`noria`.`t1`") && msg.contains("binlog_row_metadata=FULL"),
        "{msg}"
    );
}

fn table(pk: bool) -> Arc<TableMap> {
    let col = |name: &str, type_code, meta| Column {
        type_code,
        meta,
        nullable: true,
        unsigned: false,
        collation: Some(255),
        name: Some(name.into()),
        enum_values: None,
        set_values: None,
        generated: None,
    };
    Arc::new(TableMap {
        table_id: 7,
        schema: "s".into(),
        table: "t".into(),
        columns: vec![col("id", ty::LONG, 0), col("v", ty::VARCHAR, 40)],
        primary_key: if pk { vec![0] } else { vec![] },
        has_names: true,
        drift: None,
        generated_known: true,
        raw_body: None,
    })
}

/// Row bytes for (id INT, v VARCHAR) rows, all columns present.
fn row_bytes(rows: &[(i32, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (id, v) in rows {
        b.push(0);
        b.extend_from_slice(&id.to_le_bytes());
        b.push(v.len() as u8);
        b.extend_from_slice(v.as_bytes());
    }
    b
}

fn event() -> Event<'static> {
    let header = EventHeader {
        timestamp: 0,
        type_code: 30,
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

fn txn(n: u64) -> Transaction {
    Transaction {
        file: "f".into(),
        start_pos: n,
        gtid: Some(format!("0-1-{n}")),
        ..Default::default()
    }
}

fn plan_synthetic(opts: FlashbackOptions, present: &'static [u8]) -> Result<String, BinlogError> {
    let mut p = FlashbackPlanner::new(opts)?;
    for t in 1..=3 {
        let rows: Vec<(i32, String)> = (0..40)
            .map(|i| (t * 100 + i, format!("v{t}-{i}")))
            .collect();
        let rows: Vec<(i32, &str)> = rows.iter().map(|(i, s)| (*i, s.as_str())).collect();
        let ev = RowsEvent {
            kind: RowsKind::Insert,
            table: table(t != 2),
            flags: 1,
            partial: false,
            column_count: 2,
            present,
            present_after: present,
            rows: Cow::Owned(row_bytes(&rows)),
        };
        let tx = txn(t as u64);
        let n = p.rows(&tx, &event(), &ev)?;
        if present == [0b11] {
            assert_eq!(n, 40);
        }
        p.commit(&tx)?;
    }
    // A transaction rolled back in the binlog leaves nothing behind.
    let tx = txn(9);
    let ev = RowsEvent {
        kind: RowsKind::Delete,
        table: table(true),
        flags: 1,
        partial: false,
        column_count: 2,
        present,
        present_after: present,
        rows: Cow::Owned(row_bytes(&[(9, "gone")])),
    };
    p.rows(&tx, &event(), &ev)?;
    p.rollback(&tx)?;
    let mut out = Vec::new();
    p.finish(&mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn chunked_spill_gives_the_same_sql_as_one_block() {
    for direction in [Direction::Rollback, Direction::Forward] {
        let big = FlashbackOptions {
            direction,
            ..Default::default()
        };
        let small = FlashbackOptions {
            direction,
            chunk_bytes: 200,
            ..Default::default()
        };
        let a = plan_synthetic(big, &[0b11]).unwrap();
        let b = plan_synthetic(small, &[0b11]).unwrap();
        assert_eq!(a, b, "{direction:?}");
        assert_eq!(statements(&a).len(), 120);
        assert!(!a.contains("gone"));
    }
    let rb = plan_synthetic(FlashbackOptions::default(), &[0b11]).unwrap();
    let st = statements(&rb);
    assert_eq!(st[0], "DELETE FROM `s`.`t` WHERE `id` = 339 LIMIT 1;");
    assert_eq!(st[119], "DELETE FROM `s`.`t` WHERE `id` = 100 LIMIT 1;");
    // Table 2 has no primary key: every column, NULL-safe.
    assert!(rb.contains("DELETE FROM `s`.`t` WHERE `id` <=> 239 AND `v` <=> 'v2-39' LIMIT 1;"));
    let fw = plan_synthetic(
        FlashbackOptions {
            direction: Direction::Forward,
            ..Default::default()
        },
        &[0b11],
    )
    .unwrap();
    assert_eq!(
        statements(&fw)[0],
        "INSERT INTO `s`.`t` (`id`, `v`) VALUES (100, 'v1-0');"
    );
}

#[test]
fn where_all_columns_option_ignores_the_key() {
    let opts = FlashbackOptions {
        where_columns: WhereColumns::All,
        ..Default::default()
    };
    let sql = plan_synthetic(opts, &[0b11]).unwrap();
    assert!(sql.contains("WHERE `id` <=> 339 AND `v` <=> 'v3-39' LIMIT 1;"));
}

#[test]
fn refuses_minimal_row_images() {
    // Only the id column is logged: binlog_row_image=MINIMAL.
    let err = plan_synthetic(FlashbackOptions::default(), &[0b01]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("MINIMAL") && msg.contains("f:100"), "{msg}");
}

#[test]
fn collector_lists_transaction_summaries_and_keeps_the_newest() {
    use arkc_binlog::txn::TransactionCollector;
    let path = PathBuf::from(CORPUS).join("mariadb-bin.000001");
    let mut all = TransactionCollector::new(None);
    scan_files(
        std::slice::from_ref(&path),
        &mut TxnBuilder::new(Filters::default()),
        &mut all,
    )
    .unwrap();
    let t: Vec<_> = all.transactions.iter().collect();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].gtid.as_deref(), t[0].start_pos, t[0].end_pos),
        (Some("0-1-1"), 330, 702)
    );
    assert_eq!(
        (t[0].inserts, t[0].tables.as_slice()),
        (1, &["toddy_test.outbox".to_string()][..])
    );
    assert_eq!(t[1].timestamp, 1_650_493_195);
    let mut newest = TransactionCollector::new(Some(1));
    scan_files(
        &[path],
        &mut TxnBuilder::new(Filters::default()),
        &mut newest,
    )
    .unwrap();
    assert_eq!(newest.transactions[0].gtid.as_deref(), Some("0-1-2"));
}

#[test]
fn compressed_transaction_spans_its_payload_event() {
    use arkc_binlog::txn::TransactionCollector;
    let path = PathBuf::from(CORPUS).join("transaction_compression.000001");
    let mut all = TransactionCollector::new(None);
    scan_files(&[path], &mut TxnBuilder::new(Filters::default()), &mut all).unwrap();
    let t = &all.transactions[0];
    // ANONYMOUS_GTID at 197 (0xc5), TRANSACTION_PAYLOAD at 274..431 (0x112 + 157).
    assert_eq!((t.start_pos, t.end_pos, t.inserts), (197, 431, 1));
}
