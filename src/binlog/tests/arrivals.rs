//! Events that arrive one by one (as from a replication stream) decode to exactly what
//! the same binlog file gives, and damage in them is reported with file and offset.

use std::path::PathBuf;

use arkc_binlog::listing::{EventLister, ListFormat};
use arkc_binlog::pipeline::{scan_arrivals, scan_files, Arrival};
use arkc_binlog::txn::{Filters, TxnBuilder};
use arkc_binlog::BinlogError;

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

/// Files with MariaDB GTID/annotate events, MySQL GTIDs, zstd payloads, JSON and no checksums.
const FILES: &[&str] = &[
    "mariadb-bin.000001",
    "binlog_transaction_with_GTID.000001",
    "transaction_compression.000001",
    "json.binlog.000001",
    "update-partial-row.binlog",
    "vector.binlog",
];

/// Splits a file into whole events by their size fields, checksums left in place.
fn arrivals_of(name: &str) -> Vec<Arrival> {
    let bytes = std::fs::read(format!("{CORPUS}/{name}")).unwrap();
    let mut out = vec![Arrival::File(name.to_string())];
    let mut at = 4;
    while at + 19 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[at + 9..at + 13].try_into().unwrap()) as usize;
        if size < 19 || at + size > bytes.len() {
            break;
        }
        out.push(Arrival::Event {
            offset: at as u64,
            data: bytes[at..at + size].to_vec(),
        });
        out.push(Arrival::Idle);
        at += size;
    }
    out
}

fn listed(arrivals: Vec<Arrival>) -> Result<String, BinlogError> {
    let mut builder = TxnBuilder::new(Filters::default());
    let mut lister = EventLister::new(Vec::new(), ListFormat::Json);
    scan_arrivals(
        arrivals,
        "server:3306",
        &mut builder,
        &mut lister,
        &mut |_| {},
    )?;
    Ok(String::from_utf8(lister.into_inner()).unwrap())
}

fn listed_file(name: &str) -> String {
    let mut builder = TxnBuilder::new(Filters::default());
    let mut lister = EventLister::new(Vec::new(), ListFormat::Json);
    let path = PathBuf::from(format!("{CORPUS}/{name}"));
    scan_files(&[path], &mut builder, &mut lister).unwrap();
    String::from_utf8(lister.into_inner()).unwrap()
}

#[test]
fn arrivals_decode_exactly_like_the_file() {
    for name in FILES {
        let from_file = listed_file(name);
        assert!(!from_file.is_empty(), "{name} lists transactions");
        assert_eq!(listed(arrivals_of(name)).unwrap(), from_file, "{name}");
    }
}

#[test]
fn a_flipped_byte_is_a_checksum_error_at_its_offset() {
    let mut arrivals = arrivals_of("mariadb-bin.000001");
    let (offset, data) = arrivals
        .iter_mut()
        .filter_map(|a| match a {
            Arrival::Event { offset, data } => Some((*offset, data)),
            _ => None,
        })
        .nth(5)
        .unwrap();
    data[25] ^= 0x40;
    match listed(arrivals) {
        Err(BinlogError::Checksum {
            path, offset: at, ..
        }) => {
            assert_eq!(at, offset);
            assert!(path.ends_with("mariadb-bin.000001"), "{path:?}");
            assert!(path.starts_with("server:3306"), "{path:?}");
        }
        other => panic!("expected a checksum error, got {other:?}"),
    }
}

#[test]
fn an_event_shorter_than_its_size_field_is_corrupt_not_a_panic() {
    let mut arrivals = arrivals_of("mariadb-bin.000001");
    if let Some(Arrival::Event { data, .. }) = arrivals.get_mut(3) {
        data.truncate(data.len() - 3);
    }
    let err = listed(arrivals).unwrap_err();
    assert!(matches!(err, BinlogError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("arrived"), "{err}");
    let short = vec![
        Arrival::File("x.000001".into()),
        Arrival::Event {
            offset: 4,
            data: vec![1, 2, 3],
        },
    ];
    assert!(listed(short).is_err());
}

/// Records every table it is asked for; knows none.
#[derive(Default)]
struct AskedFor(std::sync::Mutex<Vec<(String, String)>>);

impl arkc_binlog::schema::ColumnSource for AskedFor {
    fn columns(
        &self,
        schema: &str,
        table: &str,
    ) -> Option<std::sync::Arc<Vec<arkc_binlog::schema::ColumnInfo>>> {
        let mut asked = self.0.lock().unwrap();
        asked.push((schema.to_string(), table.to_string()));
        None
    }
}

/// One pass: each table's definition is asked for once, when its first TABLE_MAP arrives,
/// both from files and from arrivals, and the output is what a scan without a source gives.
#[test]
fn a_column_source_is_asked_once_per_table_as_its_first_table_map_arrives() {
    for name in [
        "mariadb-bin.000001",
        "transaction_compression.000001",
        "json.binlog.000001",
    ] {
        let source = std::sync::Arc::new(AskedFor::default());
        let mut builder = TxnBuilder::new(Filters::default());
        builder.columns = Some(source.clone());
        let mut lister = EventLister::new(Vec::new(), ListFormat::Json);
        scan_arrivals(
            arrivals_of(name),
            "s:1",
            &mut builder,
            &mut lister,
            &mut |_| {},
        )
        .unwrap();
        let streamed = String::from_utf8(lister.into_inner()).unwrap();
        assert_eq!(streamed, listed_file(name), "{name}");
        let asked = source.0.lock().unwrap().clone();
        let mut distinct = asked.clone();
        distinct.sort();
        distinct.dedup();
        assert!(!asked.is_empty(), "{name}: no table map?");
        assert_eq!(
            asked.len(),
            distinct.len(),
            "{name}: asked twice: {asked:?}"
        );

        let files = std::sync::Arc::new(AskedFor::default());
        let mut builder = TxnBuilder::new(Filters::default());
        builder.columns = Some(files.clone());
        let path = PathBuf::from(format!("{CORPUS}/{name}"));
        let mut lister = EventLister::new(Vec::new(), ListFormat::Json);
        scan_files(&[path], &mut builder, &mut lister).unwrap();
        assert_eq!(*files.0.lock().unwrap(), asked, "{name}");
    }
}
