//! Opening slow logs (plain or gzip, detected by magic bytes) and cutting them into
//! records the way pt-query-digest's `$/ = ";\n#"` reads do, with bounded memory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use memchr::memmem;

use crate::error::SlowlogError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_CHUNK: usize = 256 * 1024;

/// Opens `path`, transparently decompressing gzip (concatenated members included).
pub fn open_log(path: &Path) -> Result<Box<dyn Read + Send>, SlowlogError> {
    let open_err = |source| SlowlogError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_err)?;
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic).map_err(open_err)?;
    let head = io::Cursor::new(magic[..got].to_vec());
    let whole = head.chain(file);
    if got == 2 && magic == GZIP_MAGIC {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            BufReader::with_capacity(READ_CHUNK, whole),
        )))
    } else {
        Ok(Box::new(whole))
    }
}

fn read_up_to(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Where a record starts in the (decompressed) input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Byte offset, 0-based.
    pub offset: u64,
    /// Line number, 1-based.
    pub line: u64,
}

/// Reads records ending with (and including) a separator; the last record may lack it.
pub struct RecordReader<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    pos: Position,
    /// One searcher per separator seen, built once.
    finders: Vec<memmem::Finder<'static>>,
}

impl<R: Read> RecordReader<R> {
    pub fn new(src: R) -> Self {
        Self {
            src,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            eof: false,
            pos: Position { offset: 0, line: 1 },
            finders: Vec::new(),
        }
    }

    /// Position of the next record.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// The next record up to and including `sep`, or the rest of the input at its end.
    pub fn next_record(&mut self, sep: &[u8]) -> io::Result<Option<&[u8]>> {
        let finder = match self.finders.iter().position(|f| f.needle() == sep) {
            Some(i) => i,
            None => {
                self.finders.push(memmem::Finder::new(sep).into_owned());
                self.finders.len() - 1
            }
        };
        let mut scanned = self.start;
        let record_end = loop {
            if let Some(found) = self.finders[finder].find(&self.buf[scanned..self.end]) {
                break scanned + found + sep.len();
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                break self.end;
            }
            // Rescan the tail: a separator may straddle the refill boundary.
            let keep = (self.end - self.start).min(sep.len() - 1);
            let rescan_from = self.end - keep - self.start;
            self.refill()?;
            scanned = self.start + rescan_from;
        };
        let record = &self.buf[self.start..record_end];
        self.pos.offset += record.len() as u64;
        self.pos.line += memchr::memchr_iter(b'\n', record).count() as u64;
        self.start = record_end;
        Ok(Some(record))
    }

    fn refill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK / 2 {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, to exercise refills mid-separator.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn records_split_on_the_separator_even_across_reads() {
        let text = b"# a\nselect 1;\n# b\nselect 2;\n#c";
        let mut reader = RecordReader::new(Trickle(text));
        let mut got = Vec::new();
        while let Some(r) = reader.next_record(b";\n#").unwrap() {
            got.push(String::from_utf8(r.to_vec()).unwrap());
        }
        assert_eq!(got, ["# a\nselect 1;\n#", " b\nselect 2;\n#", "c"]);
        assert_eq!(
            reader.position(),
            Position {
                offset: text.len() as u64,
                line: 5
            }
        );
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("arkc-slowlog-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.not-gz-suffix");
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"select 1;\n").unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let mut text = String::new();
        open_log(&path).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "select 1;\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
