//! Prints `query_id<TAB>count<TAB>fingerprint` for every class of the given slow logs,
//! plus parse counters on stderr: a quick way to compare with pt-query-digest.

use arkc_slowlog::{Digest, DigestFilter, OrderBy, SortFunction};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut digest = Digest::new(DigestFilter::default());
    for path in std::env::args_os().skip(1) {
        digest.add_file(path.as_ref())?;
    }
    let order = OrderBy {
        function: SortFunction::Count,
        ..OrderBy::default()
    };
    for class in order.rank(digest.classes(), None) {
        println!(
            "{}\t{}\t{}",
            class.query_id,
            class.count,
            class.fingerprint.escape_debug()
        );
    }
    eprintln!("{:?}", digest.stats());
    Ok(())
}
