//! Every binlog in the shared corpus either decodes fully or fails with a clear error.

use std::path::{Path, PathBuf};

use arkc_binlog::rows::Image;
use arkc_binlog::{BinlogError, BinlogReader, Decoder, EventBody};

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

fn corpus_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| !p.to_string_lossy().ends_with(".txt"))
        .collect();
    v.sort();
    v
}

/// Decodes a whole file, rows included; returns (events, rows).
fn decode_all(path: &Path) -> Result<(usize, usize), BinlogError> {
    let mut reader = BinlogReader::open(path)?;
    let mut dec = Decoder::new();
    dec.set_path(path);
    let (mut events, mut rows) = (0, 0);
    while let Some(raw) = reader.next_event()? {
        dec.decode_each(raw, &mut |ev| {
            events += 1;
            if let EventBody::Rows(r) = &ev.body {
                let mut rd = r.row_reader();
                let (mut b, mut a): (Image, Image) = (Vec::new(), Vec::new());
                while rd
                    .next_row(&mut b, &mut a)
                    .map_err(|e| BinlogError::Decode {
                        path: path.to_path_buf(),
                        offset: ev.offset,
                        event: "ROWS",
                        reason: e.0,
                    })?
                {
                    rows += 1;
                }
            }
            Ok(())
        })?;
    }
    Ok((events, rows))
}

#[test]
fn every_corpus_file_decodes_or_fails_clearly() {
    let files = corpus_files();
    assert!(files.len() >= 40, "corpus has {} files", files.len());
    let mut failures = Vec::new();
    for f in &files {
        match decode_all(f) {
            Ok((events, rows)) => eprintln!("ok   {}: {events} events, {rows} rows", f.display()),
            Err(e) => {
                let msg = e.to_string();
                eprintln!("err  {msg}");
                assert!(
                    msg.contains(&*f.to_string_lossy()),
                    "error must name the file: {msg}"
                );
                failures.push(f.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    eprintln!("failures: {failures:?}");
    // Exactly the files known to be damaged fail; every other one decodes with its rows.
    let expected_bad = [
        "binlog_truncated_event.000001",
        "binlog_truncated_prev_gtid_event.000001",
        "corrupt-relay-bin.000624",
    ];
    assert_eq!(failures, expected_bad);
}

fn listing(name: &str) -> String {
    use arkc_binlog::listing::{EventLister, ListFormat};
    use arkc_binlog::pipeline::scan_files;
    use arkc_binlog::txn::{Filters, TxnBuilder};
    let mut lister = EventLister::new(Vec::new(), ListFormat::Text);
    let path = PathBuf::from(CORPUS).join(name);
    scan_files(
        &[path],
        &mut TxnBuilder::new(Filters::default()),
        &mut lister,
    )
    .unwrap();
    String::from_utf8(lister.into_inner()).unwrap()
}

/// Values mariadb-binlog cannot show (MySQL-only types), checked against the statements
/// that wrote them.
#[test]
fn mysql_only_types_decode_as_written() {
    let v = listing("vector.binlog");
    // VECTOR(3) [1.1, 2.2, 3.3] as little-endian floats; TEXT 'bar' after two VECTOR columns.
    assert!(
        v.contains("vector_column=X'CDCC8C3FCDCC0C4033335340'"),
        "{v}"
    );
    assert!(v.contains("foo='bar'"), "{v}");
    let j = listing("json-opaque.binlog");
    for want in [
        r#"{"b": "2012-03-18"}"#,
        r#"{"c": "2012-03-18 11:30:45.000000"}"#,
        r#"{"d": 123.456}"#,
    ] {
        assert!(j.contains(want), "missing {want} in {j}");
    }
    let e = listing("mysql-enum-string-set.000001");
    assert!(e.contains("f3='variant2', f4='two,four'"), "{e}");
    let p = listing("json.binlog.000001");
    assert!(
        p.contains("@2=JSON_REPLACE(`@2`, '$.age', CAST('26' AS JSON))"),
        "{p}"
    );
}

/// All the spans (or the error) of a rows event's rows, by `step`.
fn spans(
    r: &arkc_binlog::RowsEvent<'_>,
    decoding: bool,
) -> Result<Vec<(usize, usize, usize)>, String> {
    let mut rd = r.row_reader();
    let mut v = Vec::new();
    loop {
        let next = if decoding {
            rd.next_row_span_decoding()
        } else {
            rd.next_row_span()
        };
        match next {
            Ok(Some(span)) => v.push(span),
            Ok(None) => return Ok(v),
            Err(e) => return Err(format!("after {} rows: {}", v.len(), e.0)),
        }
    }
}

/// Calls `each` with every rows event of the corpus (its file, its offset, the event).
fn each_rows_event(mut each: impl FnMut(&Path, u64, &arkc_binlog::RowsEvent<'_>)) {
    for path in corpus_files() {
        let Ok(mut reader) = BinlogReader::open(&path) else {
            continue;
        };
        let mut dec = Decoder::new();
        dec.set_path(&path);
        while let Ok(Some(raw)) = reader.next_event() {
            let _ = dec.decode_each(raw, &mut |ev| {
                if let EventBody::Rows(r) = &ev.body {
                    each(&path, ev.offset, r);
                }
                Ok(())
            });
        }
    }
}

#[test]
fn row_spans_by_width_match_decoding_on_every_prefix() {
    // Each rows event of the corpus, whole and cut at every byte: stepping over values by
    // their widths finds the same rows, and fails at the same row with the same reason.
    let mut checked = 0;
    each_rows_event(|path, offset, r| {
        for cut in (0..=r.rows.len()).rev() {
            let mut part = r.clone();
            part.rows = std::borrow::Cow::Borrowed(&r.rows[..cut]);
            assert_eq!(
                spans(&part, false),
                spans(&part, true),
                "{} at {offset} cut at {cut}",
                path.display(),
            );
            checked += 1;
        }
    });
    assert!(checked > 1000, "only {checked} rows events checked");
}

/// The rows of a rows event as `next_row_span_keys(key)` reads them (spans and the key
/// columns' values, by debug text), or as `next_row_span_into` reads them with every other
/// column dropped; or the error.
fn keyed_rows(
    r: &arkc_binlog::RowsEvent<'_>,
    key: &[usize],
    only_keys: bool,
) -> Result<Vec<String>, String> {
    let mut rd = r.row_reader();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut v = Vec::new();
    loop {
        let next = match only_keys {
            true => rd.next_row_span_keys(key, &mut before, &mut after),
            false => rd.next_row_span_into(&mut before, &mut after),
        };
        let span = match next {
            Ok(Some(span)) => span,
            Ok(None) => return Ok(v),
            Err(e) => return Err(format!("after {} rows: {}", v.len(), e.0)),
        };
        let keyed = |image: &arkc_binlog::rows::Image<'_>| match image.is_empty() {
            true => "no image".to_string(),
            false => format!(
                "{:?}",
                key.iter().map(|&i| image.get(i)).collect::<Vec<_>>()
            ),
        };
        v.push(format!("{span:?} {} {}", keyed(&before), keyed(&after)));
    }
}

#[test]
fn key_columns_read_alone_match_the_whole_row() {
    // Each rows event of the corpus: reading only some columns' values (its primary key, each
    // column alone, all of them) finds the same rows with the same values of those columns
    // as decoding every value; cut at every byte, it fails at the same row for the same reason.
    let (mut checked, mut keyed) = (0, 0);
    each_rows_event(|path, offset, r| {
        let n = r.table.columns.len();
        let mut keys = vec![r.table.primary_key.clone(), (0..n).collect()];
        keys.extend((0..n).map(|i| vec![i]));
        keyed += usize::from(!r.table.primary_key.is_empty());
        for key in &keys {
            let at = format!("{} at {offset} key {key:?}", path.display());
            assert_eq!(keyed_rows(r, key, true), keyed_rows(r, key, false), "{at}");
        }
        // Cut, the primary key, or the first column where the table map has none.
        let key = match r.table.primary_key.is_empty() {
            true => &keys[2],
            false => &keys[0],
        };
        for cut in (0..r.rows.len()).rev() {
            let mut part = r.clone();
            part.rows = std::borrow::Cow::Borrowed(&r.rows[..cut]);
            assert_eq!(
                keyed_rows(&part, key, true),
                keyed_rows(&part, key, false),
                "{} at {offset} cut at {cut}",
                path.display(),
            );
        }
        checked += 1;
    });
    assert!(checked >= 50, "only {checked} rows events checked");
    assert!(keyed >= 5, "only {keyed} rows events with a primary key");
}
