//! Reading the header lines and statement of one record (pt-query-digest's LINE loop).

use std::io::Read;
use std::ops::Range;

use super::{Entry, SlowLogParser, EVENT_SEPARATOR, LINE_SEPARATOR, NO_QUERY};
use crate::error::SlowlogError;
use crate::event::EventKind;
use crate::fingerprint::is_space;
use crate::input::Position;
use crate::lines;

#[derive(Default)]
struct Seen {
    time: bool,
    user_host: bool,
    admin: bool,
    db: bool,
    set: bool,
}

impl<R: Read> SlowLogParser<R> {
    pub(super) fn read_entry(&mut self, pos: Position) -> Result<Entry, SlowlogError> {
        self.fields.clear();
        self.fields.pos = pos;
        let mut seen = Seen::default();
        let len = self.stmt.len();
        let mut start = 0;
        while start < len {
            let end = memchr::memchr(b'\n', &self.stmt[start..]).map_or(len, |p| start + p);
            let line = &self.stmt[start..end];
            if !is_header_like(line) {
                self.fields.query = Some(start..len);
                self.fields.kind.get_or_insert(EventKind::Query);
                return Ok(Entry::Complete);
            }
            self.read_header_line(start..end, &mut seen);
            if self.fields.query.is_none() && self.fields.static_query.is_none() && end == len {
                return self.read_ahead_for_statement();
            }
            if end == len {
                break;
            }
            start = end + 1;
        }
        Ok(if self.fields.query.is_some() {
            Entry::Complete
        } else {
            Entry::NoStatement
        })
    }

    fn read_header_line(&mut self, range: Range<usize>, seen: &mut Seen) {
        let line = &self.stmt[range.clone()];
        let base = range.start;
        let shift = |r: Range<usize>| r.start + base..r.end + base;
        if let Some(time) = lines::time_value(line).filter(|_| !seen.time) {
            seen.time = true;
            self.fields.time = Some(shift(time));
            if !seen.user_host {
                if let Some(uh) = lines::user_host(line) {
                    seen.user_host = true;
                    self.set_user_host(uh, base);
                }
            }
        } else if let Some(uh) = (!seen.user_host).then(|| lines::user_host(line)).flatten() {
            seen.user_host = true;
            self.set_user_host(uh, base);
        } else if !seen.admin && line.starts_with(b"# administrator command:") {
            seen.admin = true;
            let skip = 1 + line[1..].iter().take_while(|c| is_space(**c)).count();
            self.fields.kind = Some(EventKind::Admin);
            self.fields.query = Some(base + skip..range.end);
        } else if lines::is_attribute_line(line) {
            match lines::empty_schema_span(line) {
                Some(gap) => {
                    lines::scan_attributes(
                        &self.stmt,
                        base..base + gap.start,
                        &mut self.fields.attributes,
                    );
                    lines::scan_attributes(
                        &self.stmt,
                        base + gap.end..range.end,
                        &mut self.fields.attributes,
                    );
                }
                None => lines::scan_attributes(&self.stmt, range, &mut self.fields.attributes),
            }
        } else if let Some(db) = use_database(line).filter(|_| !seen.db) {
            seen.db = true;
            self.fields.db = Some(shift(db));
        } else if let Some(setting) = set_clause(line).filter(|_| !seen.set) {
            seen.set = true;
            self.push_set_pairs(shift(setting));
        }
    }

    fn set_user_host(&mut self, uh: lines::UserHost, base: usize) {
        let shift = |r: Range<usize>| r.start + base..r.end + base;
        self.fields.user = Some(shift(uh.user));
        self.fields.host = Some(shift(uh.host));
        self.fields.ip = Some(shift(uh.ip));
        self.fields.thread_id = uh.thread_id.map(shift);
    }

    /// `split(/,|\s*=\s*/, $setting)` taken as name/value pairs.
    fn push_set_pairs(&mut self, setting: Range<usize>) {
        let s = &self.stmt;
        let mut tokens = Vec::new();
        let mut token_start = setting.start;
        let mut i = setting.start;
        while i < setting.end {
            let spaces = s[i..setting.end]
                .iter()
                .take_while(|c| is_space(**c))
                .count();
            let sep_len = if s[i] == b',' {
                1
            } else if s.get(i + spaces) == Some(&b'=') && i + spaces < setting.end {
                spaces
                    + 1
                    + s[i + spaces + 1..setting.end]
                        .iter()
                        .take_while(|c| is_space(**c))
                        .count()
            } else {
                0
            };
            if sep_len == 0 {
                i += 1;
                continue;
            }
            tokens.push(token_start..i);
            i += sep_len;
            token_start = i;
        }
        tokens.push(token_start..setting.end);
        while tokens.last().is_some_and(|t| t.is_empty()) {
            tokens.pop();
        }
        for pair in tokens.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or(pair[0].end..pair[0].end);
            self.fields.attributes.push((pair[0].clone(), value));
        }
    }

    /// The record ended with header lines only. Like the Perl, read the next `;\n`-ended
    /// piece: if it starts like an attribute (` Time: ...`) this entry had no query and
    /// the piece (plus the rest of its entry) is queued; otherwise the piece is this
    /// entry's statement.
    fn read_ahead_for_statement(&mut self) -> Result<Entry, SlowlogError> {
        let piece_pos = self.reader.position();
        let piece = match self.reader.next_record(LINE_SEPARATOR) {
            Ok(Some(piece)) => piece.to_vec(),
            Ok(None) => return Ok(Entry::NoStatement),
            Err(e) => return Err(self.read_error(e)),
        };
        if starts_like_attribute(&piece) {
            let mut queued = piece;
            match self.reader.next_record(EVENT_SEPARATOR) {
                Ok(Some(rest)) => queued.extend_from_slice(rest),
                Ok(None) => {}
                Err(e) => return Err(self.read_error(e)),
            }
            self.pending.push_back((queued, piece_pos));
            self.fields.kind = Some(EventKind::Query);
            self.fields.static_query = Some(NO_QUERY);
            return Ok(Entry::Complete);
        }
        let mut statement: &[u8] = piece.strip_suffix(LINE_SEPARATOR).unwrap_or(&piece);
        while statement.first().is_some_and(|c| is_space(*c)) {
            statement = &statement[1..];
        }
        let start = self.stmt.len();
        self.stmt.extend_from_slice(statement);
        self.fields.kind = Some(EventKind::Admin);
        self.fields.query = Some(start..self.stmt.len());
        Ok(Entry::Complete)
    }
}

/// `^(?:#|use |SET (?:last_insert_id|insert_id|timestamp))`
fn is_header_like(line: &[u8]) -> bool {
    line.starts_with(b"#")
        || line.starts_with(b"use ")
        || line.strip_prefix(b"SET ").is_some_and(|r| {
            r.starts_with(b"last_insert_id")
                || r.starts_with(b"insert_id")
                || r.starts_with(b"timestamp")
        })
}

/// `^use ([^;]+)`
fn use_database(line: &[u8]) -> Option<Range<usize>> {
    let rest = line.strip_prefix(b"use ")?;
    let len = rest.iter().take_while(|c| **c != b';').count();
    (len > 0).then_some(4..4 + len)
}

/// `^SET\s+([^;]*)`
fn set_clause(line: &[u8]) -> Option<Range<usize>> {
    let rest = line.strip_prefix(b"SET")?;
    let spaces = rest.iter().take_while(|c| is_space(**c)).count();
    if spaces == 0 {
        return None;
    }
    let start = 3 + spaces;
    let len = line[start..].iter().take_while(|c| **c != b';').count();
    Some(start..start + len)
}

/// `^\s*[A-Z][a-z_]+: `
fn starts_like_attribute(piece: &[u8]) -> bool {
    let s = &piece[piece.iter().take_while(|c| is_space(**c)).count()..];
    if !s.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let len = s[1..]
        .iter()
        .take_while(|c| c.is_ascii_lowercase() || **c == b'_')
        .count();
    len > 0 && s[1 + len..].starts_with(b": ")
}
