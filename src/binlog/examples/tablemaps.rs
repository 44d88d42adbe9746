//! Development helper: print every table map's columns and metadata.
use arkc_binlog::{BinlogReader, Decoder, EventBody};

fn main() {
    for path in std::env::args().skip(1) {
        let mut r = BinlogReader::open(&path).expect("open");
        let mut d = Decoder::new();
        while let Some(raw) = r.next_event().expect("event") {
            let ev = d.decode(raw).expect("decode");
            if let EventBody::TableMap(t) = ev.body {
                println!("{}.{} pk={:?}", t.schema, t.table, t.primary_key);
                for c in &t.columns {
                    println!(
                        "  {:?} {} meta={} unsigned={} coll={:?}",
                        c.name,
                        c.type_name(),
                        c.meta,
                        c.unsigned,
                        c.collation
                    );
                }
            }
        }
    }
}
