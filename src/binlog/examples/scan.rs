//! Development helper: `cargo run -p arkc-binlog --example scan -- events|json|rollback|forward FILES...`

use std::io::Write;
use std::path::PathBuf;

use arkc_binlog::listing::{EventLister, ListFormat};
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::plan::{Direction, FlashbackOptions, FlashbackPlanner};
use arkc_binlog::txn::{Filters, TxnBuilder};

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
            FlashbackPlanner::new(opts).and_then(|mut p| {
                let s = scan_files(&files, &mut builder, &mut p)?;
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
