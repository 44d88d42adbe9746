//! Streaming slow-log parser. It cuts and reads entries exactly as pt-query-digest 3.2.1's
//! `SlowLogParser` does, so both tools see the same statements: records end at `;\n#`,
//! server start-up banners are dropped, header lines are recognised by the same rules,
//! and a record with no statement line reads ahead the way the Perl code does.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;

use memchr::memmem;

use crate::error::SlowlogError;
use crate::event::{EventFields, SlowEvent};
use crate::input::{Position, RecordReader};
use crate::lines;

const EVENT_SEPARATOR: &[u8] = b";\n#";
const LINE_SEPARATOR: &[u8] = b";\n";
const NO_QUERY: &[u8] = b"/* No query */";
/// At most this many skipped entries are remembered with their line numbers.
const MAX_REMEMBERED_PROBLEMS: usize = 100;

/// What was wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Header lines but no statement (a truncated entry): the entry is skipped.
    NoStatement,
    /// A numeric attribute that is not a number: the value is ignored, the entry kept
    /// (as pt-query-digest keeps it).
    BadNumber { attribute: String, value: String },
}

/// A problem found in an entry, with the line where the entry starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProblem {
    pub line: u64,
    pub kind: ProblemKind,
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemKind::NoStatement => write!(
                f,
                "entry has header lines but no statement (truncated?); skipped"
            ),
            ProblemKind::BadNumber { attribute, value } => {
                write!(f, "{attribute} {value:?} is not a number; value ignored")
            }
        }
    }
}

/// Counters for one or more inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub bytes: u64,
    /// Entries with a statement.
    pub entries: u64,
    /// Entries skipped for having no statement.
    pub skipped: u64,
    /// Values ignored for not being numbers.
    pub bad_values: u64,
    /// The first [`MAX_REMEMBERED_PROBLEMS`] problems, with line numbers.
    pub problems: Vec<EntryProblem>,
}

impl ParseStats {
    pub fn record_problem(&mut self, line: u64, kind: ProblemKind) {
        match kind {
            ProblemKind::NoStatement => self.skipped += 1,
            ProblemKind::BadNumber { .. } => self.bad_values += 1,
        }
        if self.problems.len() < MAX_REMEMBERED_PROBLEMS {
            self.problems.push(EntryProblem { line, kind });
        }
    }

    /// Adds another input's counters.
    pub fn merge(&mut self, other: &ParseStats) {
        self.bytes += other.bytes;
        self.entries += other.entries;
        self.skipped += other.skipped;
        self.bad_values += other.bad_values;
        let room = MAX_REMEMBERED_PROBLEMS.saturating_sub(self.problems.len());
        self.problems
            .extend(other.problems.iter().take(room).cloned());
    }
}

/// A lending iterator over the entries of one slow log.
pub struct SlowLogParser<R> {
    name: PathBuf,
    reader: RecordReader<R>,
    pending: VecDeque<(Vec<u8>, Position)>,
    stmt: Vec<u8>,
    scratch: Vec<u8>,
    fields: EventFields,
    stats: ParseStats,
}

impl<R: Read> SlowLogParser<R> {
    /// `name` is used in error messages only.
    pub fn new(src: R, name: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            reader: RecordReader::new(src),
            pending: VecDeque::new(),
            stmt: Vec::new(),
            scratch: Vec::new(),
            fields: EventFields::default(),
            stats: ParseStats::default(),
        }
    }

    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }

    pub fn stats_mut(&mut self) -> &mut ParseStats {
        &mut self.stats
    }

    /// The next entry with a statement; `Ok(None)` at the end of the input.
    pub fn next_event(&mut self) -> Result<Option<SlowEvent<'_>>, SlowlogError> {
        loop {
            let Some(pos) = self.load_next_statement()? else {
                self.stats.bytes = self.reader.position().offset;
                return Ok(None);
            };
            match self.read_entry(pos)? {
                Entry::Complete => {
                    self.stats.entries += 1;
                    return Ok(Some(SlowEvent {
                        buf: &self.stmt,
                        fields: &self.fields,
                    }));
                }
                Entry::NoStatement if self.has_content() => self
                    .stats
                    .record_problem(pos.line, ProblemKind::NoStatement),
                Entry::NoStatement => {}
            }
        }
    }

    fn read_error(&self, source: std::io::Error) -> SlowlogError {
        SlowlogError::Read {
            path: self.name.clone(),
            offset: self.reader.position().offset,
            source,
        }
    }

    /// Fills `stmt` with the next record, cleaned up as pt-query-digest does.
    fn load_next_statement(&mut self) -> Result<Option<Position>, SlowlogError> {
        let (pos, has_banner) = if let Some((chunk, pos)) = self.pending.pop_front() {
            self.stmt.clear();
            self.stmt.extend_from_slice(&chunk);
            (pos, lines::has_server_header(&chunk))
        } else {
            let pos = self.reader.position();
            let record = match self.reader.next_record(EVENT_SEPARATOR) {
                Ok(Some(record)) => record,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.read_error(e)),
            };
            let has_banner = lines::has_server_header(record);
            self.stmt.clear();
            // The usual case: no banner, so the leading `#` can go in before the copy.
            if !has_banner && !record.starts_with(b"#") {
                self.stmt.push(b'#');
            }
            self.stmt.extend_from_slice(record);
            (pos, has_banner)
        };
        let mut pos = pos;
        if has_banner {
            if let Some(leading) = self.remove_server_headers() {
                pos.line += leading;
                self.split_after_header_removal(pos);
            }
        }
        if !self.stmt.starts_with(b"#") {
            self.stmt.insert(0, b'#');
        }
        strip_separator_tail(&mut self.stmt);
        Ok(Some(pos))
    }

    /// Drops server start-up banner lines; when any was found, returns how many of them
    /// came before the first kept line.
    fn remove_server_headers(&mut self) -> Option<u64> {
        let mut removed = false;
        let mut leading = 0;
        self.scratch.clear();
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.stmt[start..]).map(|p| start + p) {
            if lines::is_server_header(&self.stmt[start..nl]) {
                removed = true;
                leading += u64::from(self.scratch.is_empty());
            } else {
                self.scratch.extend_from_slice(&self.stmt[start..=nl]);
            }
            start = nl + 1;
        }
        if removed {
            self.scratch.extend_from_slice(&self.stmt[start..]);
            std::mem::swap(&mut self.stmt, &mut self.scratch);
        }
        removed.then_some(leading)
    }

    /// Removing banners can join two entries; Perl splits them again (dropping trailing
    /// empty pieces) and queues all but the first.
    fn split_after_header_removal(&mut self, pos: Position) {
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for at in memmem::find_iter(&self.stmt, EVENT_SEPARATOR) {
            pieces.push(&self.stmt[start..at]);
            start = at + EVENT_SEPARATOR.len();
        }
        pieces.push(&self.stmt[start..]);
        while pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
        if pieces.len() < 2 {
            if pieces.is_empty() {
                self.stmt.clear();
            }
            return;
        }
        let mut line = pos.line;
        let mut queued = Vec::with_capacity(pieces.len() - 1);
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                queued.push((
                    piece.to_vec(),
                    Position {
                        offset: pos.offset,
                        line,
                    },
                ));
            }
            line += memchr::memchr_iter(b'\n', piece).count() as u64 + 1;
        }
        let first_len = pieces[0].len();
        for item in queued.into_iter().rev() {
            self.pending.push_front(item);
        }
        self.stmt.truncate(first_len);
    }

    fn has_content(&self) -> bool {
        self.stmt
            .iter()
            .any(|c| !matches!(c, b'#' | b' ' | b'\n' | b'\r' | b'\t'))
    }
}

enum Entry {
    Complete,
    /// Header lines only; also pt-query-digest's `next EVENT` at the end of the input.
    NoStatement,
}

/// `s/;\n#?\Z//`: the leftmost `;\n` followed by an optional `#` and the end of the
/// text (or a final newline).
fn strip_separator_tail(stmt: &mut Vec<u8>) {
    let n = stmt.len();
    let tail = |from: usize| n.checked_sub(from).map(|at| &stmt[at..]);
    if tail(4) == Some(b";\n#\n") {
        stmt.drain(n - 4..n - 1);
    } else if tail(3) == Some(b";\n#") {
        stmt.truncate(n - 3);
    } else if tail(3) == Some(b";\n\n") {
        stmt.drain(n - 3..n - 1);
    } else if tail(2) == Some(b";\n") {
        stmt.truncate(n - 2);
    }
}

mod entry;

#[cfg(test)]
mod tests;
