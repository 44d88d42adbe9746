//! Prints the fingerprint and query ID of each NUL-separated query on stdin, as
//! `ID<TAB>fingerprint<NUL>`; handy for spot checks against pt-query-digest.

use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let mut fingerprinter = arkc_slowlog::Fingerprinter::new();
    let mut out = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for query in input.split(|c| *c == 0).filter(|q| !q.is_empty()) {
        fingerprinter.fingerprint_into(query, &mut out);
        stdout.write_all(arkc_slowlog::query_id(&out).as_bytes())?;
        stdout.write_all(b"\t")?;
        stdout.write_all(&out)?;
        stdout.write_all(b"\0")?;
    }
    Ok(())
}
