//! The rollback as row events (`arkc_binlog::invert`): each kind inverted, inverting twice
//! gives the original bytes (synthetic events and every MariaDB rows event of the corpus),
//! the sink's statement, the format description.

use std::sync::Arc;

use arkc_binlog::invert::*;
use arkc_binlog::rows::RowsEvent;
use arkc_binlog::tablemap::ty;
use arkc_binlog::tablemap::{Column, TableMap};
use arkc_binlog::txn::{Transaction, TxnSink};
use arkc_binlog::{BinlogReader, Decoder, Event, EventBody, EventHeader, RowsKind};

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

fn table() -> Arc<TableMap> {
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
        primary_key: vec![0],
        has_names: true,
        drift: None,
        generated_known: true,
        raw_body: Some(Arc::from(&b"table map bytes"[..])),
    })
}

/// One (id INT, v VARCHAR) image, both columns present.
fn image(id: i32, v: &str) -> Vec<u8> {
    let mut b = vec![0];
    b.extend_from_slice(&id.to_le_bytes());
    b.push(v.len() as u8);
    b.extend_from_slice(v.as_bytes());
    b
}

/// A v1 rows event body: table id 7, `flags`, 2 columns, all present.
fn body(kind: RowsKind, flags: u16, rows: &[Vec<u8>]) -> Vec<u8> {
    let mut b = 7u64.to_le_bytes()[..6].to_vec();
    b.extend_from_slice(&flags.to_le_bytes());
    b.push(2);
    b.push(0b11);
    if kind == RowsKind::Update {
        b.push(0b11);
    }
    b.extend(rows.iter().flatten());
    b
}

fn type_of(kind: RowsKind) -> u8 {
    match kind {
        RowsKind::Insert => WRITE_ROWS_EVENT_V1,
        RowsKind::Update => UPDATE_ROWS_EVENT_V1,
        RowsKind::Delete => DELETE_ROWS_EVENT_V1,
    }
}

#[test]
fn insert_becomes_delete_of_the_same_rows_newest_first() {
    let rows = [image(1, "a"), image(2, "bb"), image(3, "ccc")];
    let b = body(RowsKind::Insert, 0, &rows);
    let ev = RowsEvent::parse(WRITE_ROWS_EVENT_V1, &b, 8, table()).unwrap();
    let (t, inv) = inverted_rows(&ev).unwrap();
    assert_eq!(t, DELETE_ROWS_EVENT_V1);
    let reversed = [rows[2].clone(), rows[1].clone(), rows[0].clone()];
    assert_eq!(inv, body(RowsKind::Delete, STMT_END_F, &reversed));
}

#[test]
fn update_swaps_before_and_after_per_row() {
    let rows = [
        image(1, "old"),
        image(1, "new"),
        image(2, "x"),
        image(2, "y"),
    ];
    let b = body(RowsKind::Update, STMT_END_F, &rows);
    let ev = RowsEvent::parse(UPDATE_ROWS_EVENT_V1, &b, 8, table()).unwrap();
    let (t, inv) = inverted_rows(&ev).unwrap();
    assert_eq!(t, UPDATE_ROWS_EVENT_V1);
    let want = [
        image(2, "y"),
        image(2, "x"),
        image(1, "new"),
        image(1, "old"),
    ];
    assert_eq!(inv, body(RowsKind::Update, STMT_END_F, &want));
}

#[test]
fn inverting_twice_gives_the_original_bytes() {
    for kind in [RowsKind::Insert, RowsKind::Update, RowsKind::Delete] {
        let rows: Vec<Vec<u8>> = (0..10).map(|i| image(i, &"v".repeat(i as usize))).collect();
        let b = body(kind, STMT_END_F, &rows);
        let ev = RowsEvent::parse(type_of(kind), &b, 8, table()).unwrap();
        let (t1, once) = inverted_rows(&ev).unwrap();
        let ev1 = RowsEvent::parse(t1, &once, 8, table()).unwrap();
        let (t2, twice) = inverted_rows(&ev1).unwrap();
        assert_eq!((t2, twice), (type_of(kind), b), "{kind:?}");
    }
}

#[test]
fn base64_matches_the_standard_alphabet_and_padding() {
    for (bytes, want) in [
        (&b""[..], ""),
        (b"f", "Zg=="),
        (b"fo", "Zm8="),
        (b"foo", "Zm9v"),
        (b"foobar", "Zm9vYmFy"),
        (&[0xfb, 0xff, 0xfe][..], "+//+"),
    ] {
        let mut s = String::new();
        base64(bytes, &mut s);
        assert_eq!(s, want);
    }
}

#[test]
fn format_description_has_no_checksum_and_mariadb_lengths() {
    let e = format_description(5, 1);
    let n = e.len();
    assert_eq!(e[4], FORMAT_DESCRIPTION_EVENT);
    assert_eq!(u32::from_le_bytes(e[9..13].try_into().unwrap()) as usize, n);
    assert!(String::from_utf8_lossy(&e[21..71]).contains("MariaDB"));
    assert_eq!(e[75], 19, "header length");
    assert_eq!(e[n - 5], 0, "checksum algorithm off");
    let crc = u32::from_le_bytes(e[n - 4..].try_into().unwrap());
    assert_eq!(crc, crc32fast::hash(&e[..n - 4]));
    for t in [TABLE_MAP_EVENT, WRITE_ROWS_EVENT_V1, DELETE_ROWS_EVENT_V1] {
        assert_eq!(e[76 + t as usize - 1], 8, "post-header length of type {t}");
    }
}

fn event() -> Event<'static> {
    let header = EventHeader {
        timestamp: 9,
        type_code: WRITE_ROWS_EVENT_V1,
        server_id: 1,
        event_size: 0,
        log_pos: 0,
        flags: 0,
    };
    Event {
        header,
        offset: 0,
        end: 0,
        body: EventBody::Other,
    }
}

fn decode64(s: &str) -> Vec<u8> {
    let abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = abc.bytes().position(|a| a == c).unwrap();
        bits.extend((0..6).rev().map(|i| (v >> i) & 1));
    }
    bits.chunks_exact(8)
        .map(|b| b.iter().fold(0u8, |a, &x| (a << 1) | x as u8))
        .collect()
}

#[test]
fn sink_writes_each_transaction_newest_event_first_with_its_table_map() {
    let mut sink = RowEventSink::new(Vec::new());
    let txn = Transaction {
        file: "bin.000002".into(),
        start_pos: 400,
        ..Default::default()
    };
    let first = body(RowsKind::Insert, 0, &[image(1, "a")]);
    let second = body(RowsKind::Delete, STMT_END_F, &[image(2, "b")]);
    for (t, b) in [
        (WRITE_ROWS_EVENT_V1, &first),
        (DELETE_ROWS_EVENT_V1, &second),
    ] {
        let ev = RowsEvent::parse(t, b, 8, table()).unwrap();
        sink.rows(&txn, &event(), &ev).unwrap();
    }
    sink.commit(&txn).unwrap();
    assert!(sink.unsupported.is_none());
    let block = sink.blocks[0].clone();
    assert_eq!(
        (block.file.as_str(), block.start_pos, block.offset),
        ("bin.000002", 400, 0)
    );
    let out = String::from_utf8(sink.into_inner()).unwrap();
    assert_eq!(out.len(), block.len);
    let sql = out
        .strip_prefix("BINLOG '")
        .unwrap()
        .strip_suffix('\'')
        .unwrap();
    // One table map for the statement; only its last rows event ends it.
    let mut want = frame(TABLE_MAP_EVENT, 9, 1, b"table map bytes");
    want.extend(frame(
        WRITE_ROWS_EVENT_V1,
        9,
        1,
        &body(RowsKind::Delete, 0, &[image(2, "b")]),
    ));
    want.extend(frame(
        DELETE_ROWS_EVENT_V1,
        9,
        1,
        &body(RowsKind::Insert, STMT_END_F, &[image(1, "a")]),
    ));
    assert_eq!(decode64(sql), want);
}

/// Every MariaDB v1 rows event of the shared corpus, inverted twice, is its own bytes again
/// (with the statement-end flag each inverted event carries).
#[test]
fn corpus_rows_events_invert_twice_to_their_bytes() {
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    for path in files {
        let Ok(mut reader) = BinlogReader::open(&path) else {
            continue;
        };
        let mut dec = Decoder::new();
        dec.set_path(&path);
        while let Ok(Some(raw)) = reader.next_event() {
            let original = raw.body().to_vec();
            let t = raw.header.type_code;
            let _ = dec.decode_each(raw, &mut |ev| {
                let EventBody::Rows(r) = &ev.body else {
                    return Ok(());
                };
                if !(WRITE_ROWS_EVENT_V1..=DELETE_ROWS_EVENT_V1).contains(&t)
                    || r.table.raw_body.is_none()
                    || r.row_reader().next_row_span().is_err()
                {
                    return Ok(());
                }
                let (t1, once) = inverted_rows(r).unwrap();
                let inv = RowsEvent::parse(t1, &once, 8, r.table.clone()).unwrap();
                let (t2, twice) = inverted_rows(&inv).unwrap();
                let mut want = original.clone();
                want[6] |= STMT_END_F as u8;
                assert_eq!(
                    (t2, &twice),
                    (t, &want),
                    "{} at {}",
                    path.display(),
                    ev.offset
                );
                checked += 1;
                Ok(())
            });
        }
    }
    assert!(checked >= 10, "only {checked} rows events checked");
}

#[test]
fn a_large_transaction_is_several_statements_of_whole_events() {
    let mut sink = RowEventSink::new(Vec::new());
    let txn = Transaction {
        file: "bin.000003".into(),
        start_pos: 4,
        ..Default::default()
    };
    let big: Vec<Vec<u8>> = (0..2500).map(|i| image(i, &"y".repeat(240))).collect();
    let b = body(RowsKind::Insert, 0, &big);
    for _ in 0..3 {
        let ev = RowsEvent::parse(WRITE_ROWS_EVENT_V1, &b, 8, table()).unwrap();
        sink.rows(&txn, &event(), &ev).unwrap();
    }
    sink.commit(&txn).unwrap();
    let len = sink.blocks[0].len;
    let out = String::from_utf8(sink.into_inner()).unwrap();
    assert_eq!(out.len(), len);
    let statements: Vec<&str> = out.split(";\n").collect();
    assert_eq!(statements.len(), 3, "one event per statement at this size");
    // The payloads the apply binds are each statement's base64, in order.
    let payloads = statement_payloads(out.clone().into_bytes()).unwrap();
    let bare: Vec<&[u8]> = statements
        .iter()
        .map(|s| &s.as_bytes()["BINLOG '".len()..s.len() - 1])
        .collect();
    assert_eq!(payloads, bare);
    for s in statements {
        let events = decode64(
            s.strip_prefix("BINLOG '")
                .unwrap()
                .strip_suffix('\'')
                .unwrap(),
        );
        assert!(events.len() <= STATEMENT_EVENT_BYTES);
        assert_eq!(events[4], TABLE_MAP_EVENT);
    }
}

/// The sink's keys for one transaction of `rows` events on `table`, and its row count.
fn keys_of(
    table: Arc<TableMap>,
    events: &[(RowsKind, Vec<Vec<u8>>)],
) -> (Option<arkc_binlog::apply_keys::TxnKeys>, u64) {
    let mut sink = RowEventSink::new(Vec::new());
    let txn = Transaction {
        file: "bin.000003".into(),
        start_pos: 4,
        ..Default::default()
    };
    for (kind, rows) in events {
        let b = body(*kind, STMT_END_F, rows);
        let ev = RowsEvent::parse(type_of(*kind), &b, 8, table.clone()).unwrap();
        sink.rows(&txn, &event(), &ev).unwrap();
    }
    sink.commit(&txn).unwrap();
    assert!(sink.unsupported.is_none());
    (sink.keys.pop().unwrap(), sink.blocks[0].rows)
}

#[test]
fn keys_from_the_row_images_find_the_same_row_by_its_primary_key() {
    // An update of row 1 (its other column changed), a delete of row 1 in the state the
    // update left, an insert of row 2, and an update that moves row 2 to key 3.
    let update = [(
        RowsKind::Update,
        vec![[image(1, "a"), image(1, "b")].concat()],
    )];
    let delete = [(RowsKind::Delete, vec![image(1, "b")])];
    let insert = [(RowsKind::Insert, vec![image(2, "c"), image(4, "d")])];
    let moved = [(
        RowsKind::Update,
        vec![[image(2, "c"), image(3, "c")].concat()],
    )];
    let (update, n) = keys_of(table(), &update);
    assert_eq!(n, 1);
    let (delete, _) = keys_of(table(), &delete);
    let (insert, n) = keys_of(table(), &insert);
    assert_eq!(n, 2);
    let (moved, _) = keys_of(table(), &moved);
    let [update, delete, insert, moved] = [update, delete, insert, moved].map(Option::unwrap);
    assert!(update.overlaps(&delete), "row 1 in both");
    assert!(!update.overlaps(&insert), "rows 1 and 2, 4");
    assert!(!delete.overlaps(&insert));
    assert!(
        insert.overlaps(&moved),
        "row 2 is moved to 3: both keys count"
    );
    assert!(!update.overlaps(&moved));
}

#[test]
fn a_table_map_without_its_primary_key_gives_no_keys() {
    let mut keyless = (*table()).clone();
    keyless.primary_key.clear();
    let (keys, rows) = keys_of(
        Arc::new(keyless),
        &[(RowsKind::Delete, vec![image(1, "a")])],
    );
    assert!(keys.is_none());
    assert_eq!(rows, 1);
}

#[test]
fn statement_payloads_take_only_binlog_statements() {
    let one = b"BINLOG 'QUJD'".to_vec();
    assert_eq!(statement_payloads(one).unwrap(), vec![b"QUJD".to_vec()]);
    let two = b"BINLOG 'QUJD';\nBINLOG 'REVG'".to_vec();
    assert_eq!(
        statement_payloads(two).unwrap(),
        vec![b"QUJD".to_vec(), b"REVG".to_vec()]
    );
    for damaged in [
        &b""[..],
        b"BINLOG ''",
        b"BINLOG 'QUJD",
        b"SELECT 'QUJD'",
        b"BINLOG 'QUJD';\n",
        b"BINLOG 'QUJD';\nDROP TABLE t",
    ] {
        assert!(
            statement_payloads(damaged.to_vec()).is_err(),
            "{}",
            String::from_utf8_lossy(damaged)
        );
    }
}
