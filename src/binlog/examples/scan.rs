//! Development helper: `cargo run -p arkc-binlog --example scan -- events|json|rollback|forward|rollback+rows FILES...`
//! (`rollback+rows` also inverts the rows events into MariaDB row events, as `flashback --execute`
//! does on its rollback thread, and prints their size and CRC-32: for timing and comparing builds.)

use std::io::Write;
use std::path::PathBuf;

use arkc_binlog::event::QueryEvent;
use arkc_binlog::invert::RowEventSink;
use arkc_binlog::listing::{EventLister, ListFormat};
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner};
use arkc_binlog::txn::{Filters, Transaction, TxnBuilder, TxnSink};
use arkc_binlog::{BinlogError, Event, RowsEvent};

/// The row events' length and checksum: enough to tell two builds' output apart.
#[derive(Default)]
struct Crc(crc32fast::Hasher, u64);

impl Write for Crc {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Both sinks see every transaction.
struct Pair<A, B>(A, B);

impl<A: TxnSink, B: TxnSink> TxnSink for Pair<A, B> {
    fn rows(
        &mut self,
        t: &Transaction,
        e: &Event<'_>,
        r: &RowsEvent<'_>,
    ) -> Result<u64, BinlogError> {
        self.1.rows(t, e, r)?;
        self.0.rows(t, e, r)
    }
    fn statement(
        &mut self,
        t: &Transaction,
        e: &Event<'_>,
        q: &QueryEvent<'_>,
    ) -> Result<(), BinlogError> {
        self.1.statement(t, e, q)?;
        self.0.statement(t, e, q)
    }
    fn commit(&mut self, t: &Transaction) -> Result<(), BinlogError> {
        self.1.commit(t)?;
        self.0.commit(t)
    }
    fn rollback(&mut self, t: &Transaction) -> Result<(), BinlogError> {
        self.1.rollback(t)?;
        self.0.rollback(t)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let files: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let mut builder = TxnBuilder::new(Filters::default());
    let stdout = std::io::stdout();
    let result = match mode.as_str() {
        "events" | "json" => {
            let fmt = if mode == "json" {
                ListFormat::Json
            } else {
                ListFormat::Text
            };
            let mut lister = EventLister::new(stdout.lock(), fmt);
            scan_files(&files, &mut builder, &mut lister).map(|s| format!("{s:?}"))
        }
        _ => {
            let direction = if mode == "forward" {
                Direction::Forward
            } else {
                Direction::Rollback
            };
            let opts = FlashbackOptions {
                direction,
                ..Default::default()
            };
            FlashbackPlanner::new(opts).and_then(|p| {
                let mut pair = Pair(p, RowEventSink::new(Crc::default()));
                let s = if mode == "rollback+rows" {
                    scan_files(&files, &mut builder, &mut pair)?
                } else {
                    scan_files(&files, &mut builder, &mut pair.0)?
                };
                if mode == "rollback+rows" {
                    let Crc(crc, len) = pair.1.into_inner();
                    eprintln!("row events: {len} bytes, crc32 {:08x}", crc.finalize());
                }
                let p = pair.0;
                let mut out = std::io::BufWriter::new(stdout.lock());
                let f = p.finish(&mut out)?;
                out.flush().ok();
                Ok(format!("{s:?} {f:?}"))
            })
        }
    };
    match result {
        Ok(s) => eprintln!("{s}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
