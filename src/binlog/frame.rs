//! Event framing: a streaming reader that splits a binlog file into events by their
//! 19-byte headers, learns the checksum algorithm from each FORMAT_DESCRIPTION_EVENT
//! and verifies CRC32. Memory holds one read chunk plus the largest event, never the file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cursor::le_uint;
use crate::error::BinlogError;

pub const MAGIC: &[u8; 4] = b"\xfebin";
pub const HEADER_LEN: usize = 19;
pub const FORMAT_DESCRIPTION_EVENT: u8 = 15;
const READ_CHUNK: usize = 256 * 1024;
/// Larger than max_allowed_packet's 1 GiB ceiling: anything bigger is a corrupt size field.
const MAX_EVENT_SIZE: u32 = (1 << 30) + (1 << 20);

/// The common header every binlog event starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    pub timestamp: u32,
    pub type_code: u8,
    pub server_id: u32,
    pub event_size: u32,
    pub log_pos: u32,
    pub flags: u16,
}

impl EventHeader {
    pub fn parse(b: &[u8; HEADER_LEN]) -> Self {
        EventHeader {
            timestamp: le_uint(&b[0..4]) as u32,
            type_code: b[4],
            server_id: le_uint(&b[5..9]) as u32,
            event_size: le_uint(&b[9..13]) as u32,
            log_pos: le_uint(&b[13..17]) as u32,
            flags: le_uint(&b[17..19]) as u16,
        }
    }
}

/// Checksum algorithm announced by the last FORMAT_DESCRIPTION_EVENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlg {
    Off,
    Crc32,
}

/// One framed event, borrowing the reader's buffer (header + body, checksum stripped).
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    pub header: EventHeader,
    /// Byte offset of the event's first header byte in its file.
    pub offset: u64,
    pub data: &'a [u8],
}

impl<'a> RawEvent<'a> {
    pub fn body(&self) -> &'a [u8] {
        &self.data[HEADER_LEN.min(self.data.len())..]
    }

    /// Offset just past this event (where the next one starts). Saturates: the offset of a
    /// stream arrival is the caller's, and the size field is the event's own.
    pub fn end_offset(&self) -> u64 {
        self.offset
            .saturating_add(u64::from(self.header.event_size))
    }
}

/// Streaming event reader over any `Read` (a file, a pipe).
pub struct BinlogReader<R> {
    path: PathBuf,
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    checksum: ChecksumAlg,
    follow: bool,
    done: bool,
}

impl BinlogReader<File> {
    /// Opens a binlog file and checks its magic number.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BinlogError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| BinlogError::Io {
            path: path.clone(),
            source,
        })?;
        BinlogReader::new(path, file)
    }
}

impl<R: Read> BinlogReader<R> {
    /// Wraps a reader positioned at the start of a binlog; `path` is used in errors.
    pub fn new(path: impl Into<PathBuf>, src: R) -> Result<Self, BinlogError> {
        let mut r = BinlogReader {
            path: path.into(),
            src,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            end: 0,
            offset: 0,
            checksum: ChecksumAlg::Off,
            follow: false,
            done: false,
        };
        if !r.fill(4)? || &r.buf[..4] != MAGIC {
            return Err(BinlogError::BadMagic { path: r.path });
        }
        r.start = 4;
        r.offset = 4;
        Ok(r)
    }

    /// In follow mode an incomplete last event means "not written yet": `next_event`
    /// returns `Ok(None)` and can be called again later to pick it up.
    pub fn set_follow(&mut self, follow: bool) {
        self.follow = follow;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset of the next event to be read.
    pub fn position(&self) -> u64 {
        self.offset
    }

    pub fn checksum(&self) -> ChecksumAlg {
        self.checksum
    }

    /// True when bytes of a not yet complete event are pending (follow mode).
    pub fn has_incomplete_tail(&self) -> bool {
        self.end > self.start
    }

    /// Makes sure `n` bytes are buffered from `start`; false at end of input.
    fn fill(&mut self, n: usize) -> Result<bool, BinlogError> {
        while self.end - self.start < n {
            // Move the unconsumed tail to the front: the buffer never holds more than
            // one chunk or one event, whatever the file size.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let want = n.max(READ_CHUNK);
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
            let got = loop {
                match self.src.read(&mut self.buf[self.end..]) {
                    Ok(g) => break g,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        return Err(BinlogError::Io {
                            path: self.path.clone(),
                            source,
                        })
                    }
                }
            };
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    fn truncated(&mut self, needed: u64) -> Result<Option<RawEvent<'_>>, BinlogError> {
        if self.follow || self.end == self.start {
            return Ok(None);
        }
        self.done = true;
        Err(BinlogError::Truncated {
            path: self.path.clone(),
            offset: self.offset,
            needed,
            available: (self.end - self.start) as u64,
        })
    }

    fn corrupt(&mut self, reason: String) -> BinlogError {
        self.done = true;
        BinlogError::Corrupt {
            path: self.path.clone(),
            offset: self.offset,
            reason,
        }
    }

    /// The next event, `Ok(None)` at a clean end of file.
    pub fn next_event(&mut self) -> Result<Option<RawEvent<'_>>, BinlogError> {
        if self.done {
            return Ok(None);
        }
        if !self.fill(HEADER_LEN)? {
            return self.truncated(HEADER_LEN as u64);
        }
        let mut hb = [0u8; HEADER_LEN];
        hb.copy_from_slice(&self.buf[self.start..self.start + HEADER_LEN]);
        let header = EventHeader::parse(&hb);
        let size = header.event_size;
        if (size as usize) < HEADER_LEN || size > MAX_EVENT_SIZE {
            return Err(self.corrupt(format!(
                "event size {size} is impossible (type {}); the file is damaged here",
                header.type_code
            )));
        }
        if !self.fill(size as usize)? {
            return self.truncated(size as u64);
        }
        let raw = &self.buf[self.start..self.start + size as usize];
        let (payload_len, alg) = match verify_checksum(&header, raw, self.checksum) {
            Ok(v) => v,
            Err(FrameProblem::Corrupt(reason)) => return Err(self.corrupt(reason)),
            Err(FrameProblem::Checksum { stored, computed }) => {
                self.done = true;
                return Err(BinlogError::Checksum {
                    path: self.path.clone(),
                    offset: self.offset,
                    stored,
                    computed,
                });
            }
        };
        self.checksum = alg;
        let offset = self.offset;
        let begin = self.start;
        self.start += size as usize;
        self.offset += size as u64;
        Ok(Some(RawEvent {
            header,
            offset,
            data: &self.buf[begin..begin + payload_len],
        }))
    }
}

/// Frames events that arrive one at a time (a replication stream) rather than from a
/// file: the same size and CRC32 checks, the checksum algorithm learnt from each FDE.
pub struct EventFramer {
    path: PathBuf,
    checksum: ChecksumAlg,
}

impl EventFramer {
    /// `path` names the source in errors (e.g. `host:port/binlog.000001`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EventFramer {
            path: path.into(),
            checksum: ChecksumAlg::Off,
        }
    }

    pub fn set_path(&mut self, path: impl Into<PathBuf>) {
        self.path = path.into();
    }

    /// Checks one whole event (header, body, checksum) found at `offset` of its file.
    pub fn frame<'a>(&mut self, offset: u64, data: &'a [u8]) -> Result<RawEvent<'a>, BinlogError> {
        let corrupt = |reason: String| BinlogError::Corrupt {
            path: self.path.clone(),
            offset,
            reason,
        };
        let Some(head) = data.first_chunk::<HEADER_LEN>() else {
            return Err(corrupt(format!(
                "event of {} bytes is shorter than its header",
                data.len()
            )));
        };
        let header = EventHeader::parse(head);
        if header.event_size as usize != data.len() {
            return Err(corrupt(format!(
                "event size field says {} bytes, {} arrived",
                header.event_size,
                data.len()
            )));
        }
        let (len, alg) = match verify_checksum(&header, data, self.checksum) {
            Ok(v) => v,
            Err(FrameProblem::Corrupt(reason)) => return Err(corrupt(reason)),
            Err(FrameProblem::Checksum { stored, computed }) => {
                return Err(BinlogError::Checksum {
                    path: self.path.clone(),
                    offset,
                    stored,
                    computed,
                })
            }
        };
        self.checksum = alg;
        Ok(RawEvent {
            header,
            offset,
            data: &data[..len],
        })
    }
}

enum FrameProblem {
    Corrupt(String),
    Checksum { stored: u32, computed: u32 },
}

/// Verifies the checksum (learning the algorithm from an FDE); returns the length without it.
fn verify_checksum(
    header: &EventHeader,
    raw: &[u8],
    current: ChecksumAlg,
) -> Result<(usize, ChecksumAlg), FrameProblem> {
    let is_fde = header.type_code == FORMAT_DESCRIPTION_EVENT;
    let alg = if is_fde {
        match fde_checksum_alg(&raw[HEADER_LEN..]) {
            Some(1) => ChecksumAlg::Crc32,
            Some(0) => ChecksumAlg::Off,
            Some(other) => {
                return Err(FrameProblem::Corrupt(format!(
                    "unknown checksum algorithm {other} in FORMAT_DESCRIPTION_EVENT"
                )))
            }
            None => return Ok((raw.len(), ChecksumAlg::Off)),
        }
    } else {
        current
    };
    if alg == ChecksumAlg::Off {
        // A checksum-aware FDE always carries the 4-byte field, zero when off.
        return Ok((raw.len() - if is_fde { 4 } else { 0 }, alg));
    }
    if raw.len() < HEADER_LEN + 4 {
        return Err(FrameProblem::Corrupt(
            "event too short to hold its CRC32".into(),
        ));
    }
    let n = raw.len() - 4;
    let stored = le_uint(&raw[n..]) as u32;
    let computed = if is_fde && raw[17] & 1 != 0 {
        // The FDE's checksum is computed with LOG_EVENT_BINLOG_IN_USE_F cleared.
        let mut h = crc32fast::Hasher::new();
        h.update(&raw[..17]);
        h.update(&[raw[17] & !1]);
        h.update(&raw[18..n]);
        h.finalize()
    } else {
        crc32fast::hash(&raw[..n])
    };
    if stored != computed {
        return Err(FrameProblem::Checksum { stored, computed });
    }
    Ok((n, alg))
}

/// Checksum algorithm byte of an FDE body, or None for servers older than checksums
/// (MySQL < 5.6.1, MariaDB < 5.3) whose FDE has no such field.
pub fn fde_checksum_alg(body: &[u8]) -> Option<u8> {
    if body.len() < 2 + 50 + 4 + 1 + 5 {
        return None;
    }
    let version = &body[2..52];
    let end = version.iter().position(|&b| b == 0).unwrap_or(50);
    let version = std::str::from_utf8(&version[..end]).unwrap_or("");
    let nums: Vec<u32> = version
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    let v = (
        nums.first().copied().unwrap_or(0),
        nums.get(1).copied().unwrap_or(0),
        nums.get(2).copied().unwrap_or(0),
    );
    let aware = if version.contains("MariaDB") {
        v >= (5, 3, 0)
    } else {
        v >= (5, 6, 1)
    };
    aware.then(|| body[body.len() - 5])
}
