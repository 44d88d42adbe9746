//! The part of an entry the digest aggregates, borrowed or batched.
//!
//! `Digest::add_reader` parses on one thread and aggregates on another: the parser copies
//! these few fields of each entry into a reusable batch, so the two halves (reading
//! headers, and fingerprinting) run in parallel while entries keep their order.

use std::ops::Range;

use crate::event::SlowEvent;

/// One entry's aggregated fields, as raw text (numbers are parsed by the digest, which
/// reports bad ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryFields<'a> {
    pub line: u64,
    pub query: &'a [u8],
    pub unix_time: Option<i64>,
    pub database: Option<&'a [u8]>,
    pub user: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
    pub query_time: Option<&'a [u8]>,
    pub lock_time: Option<&'a [u8]>,
    pub rows_sent: Option<&'a [u8]>,
    pub rows_examined: Option<&'a [u8]>,
    pub no_index_used: bool,
}

impl<'a> EntryFields<'a> {
    /// Whether any `# Time:`, `# User@Host:` or `# Query_time:` style value came with the
    /// statement; plain text split into "statements" has none.
    pub fn has_header(&self) -> bool {
        self.unix_time.is_some()
            || self.user.is_some()
            || self.host.is_some()
            || self.query_time.is_some()
            || self.lock_time.is_some()
            || self.rows_sent.is_some()
            || self.rows_examined.is_some()
    }

    pub fn of(event: &SlowEvent<'a>) -> Self {
        let common = event.common_attributes();
        Self {
            line: event.position().line,
            query: event.query(),
            unix_time: event.unix_time_with(&common),
            database: event.database_with(&common),
            user: event.user(),
            host: event.host(),
            query_time: common.query_time,
            lock_time: common.lock_time,
            rows_sent: common.rows_sent,
            rows_examined: common.rows_examined,
            no_index_used: common.no_index_used,
        }
    }
}

type Span = Option<Range<u32>>;

/// [`EntryFields`] with byte ranges into a batch buffer.
#[derive(Debug, Clone)]
struct StoredEntry {
    line: u64,
    unix_time: Option<i64>,
    no_index_used: bool,
    /// query, database, user, host, query_time, lock_time, rows_sent, rows_examined
    spans: [Span; 8],
}

/// Entries copied out of the parser's buffer, to hand to the aggregating thread.
#[derive(Debug, Default)]
pub struct EntryBatch {
    bytes: Vec<u8>,
    entries: Vec<StoredEntry>,
}

/// Batches are handed over when either limit is reached.
const BATCH_ENTRIES: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;

impl EntryBatch {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() >= BATCH_ENTRIES || self.bytes.len() >= BATCH_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn store(&mut self, text: Option<&[u8]>) -> Span {
        let text = text?;
        let start = u32::try_from(self.bytes.len()).ok()?;
        let end = u32::try_from(self.bytes.len() + text.len()).ok()?;
        self.bytes.extend_from_slice(text);
        Some(start..end)
    }

    pub fn push(&mut self, e: &EntryFields<'_>) {
        let texts = [
            Some(e.query),
            e.database,
            e.user,
            e.host,
            e.query_time,
            e.lock_time,
            e.rows_sent,
            e.rows_examined,
        ];
        let spans = texts.map(|t| self.store(t));
        self.entries.push(StoredEntry {
            line: e.line,
            unix_time: e.unix_time,
            no_index_used: e.no_index_used,
            spans,
        });
    }

    pub fn iter(&self) -> impl Iterator<Item = EntryFields<'_>> {
        self.entries.iter().map(|s| {
            let text = |i: usize| {
                s.spans[i]
                    .clone()
                    .map(|r| &self.bytes[r.start as usize..r.end as usize])
            };
            EntryFields {
                line: s.line,
                query: text(0).unwrap_or_default(),
                unix_time: s.unix_time,
                database: text(1),
                user: text(2),
                host: text(3),
                query_time: text(4),
                lock_time: text(5),
                rows_sent: text(6),
                rows_examined: text(7),
                no_index_used: s.no_index_used,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_give_back_what_was_stored() {
        let mut batch = EntryBatch::default();
        let first = EntryFields {
            line: 3,
            query: b"select 1",
            database: Some(b"shop"),
            query_time: Some(b"0.5"),
            no_index_used: true,
            ..Default::default()
        };
        let second = EntryFields {
            line: 9,
            query: b"",
            user: Some(b"app"),
            unix_time: Some(7),
            ..Default::default()
        };
        batch.push(&first);
        batch.push(&second);
        let back: Vec<_> = batch.iter().collect();
        assert_eq!(
            (
                back[0].line,
                back[0].query,
                back[0].database,
                back[0].query_time
            ),
            (3, &b"select 1"[..], Some(&b"shop"[..]), Some(&b"0.5"[..]))
        );
        assert!(back[0].no_index_used && back[0].user.is_none());
        assert_eq!(
            (back[1].query, back[1].user, back[1].unix_time),
            (&b""[..], Some(&b"app"[..]), Some(7))
        );
        batch.clear();
        assert!(batch.is_empty());
    }
}
