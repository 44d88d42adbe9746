//! One slow-log entry, borrowed from the parser's buffer (no per-event allocation).

use std::ops::Range;

use crate::input::Position;

/// What kind of statement an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An SQL statement (also `/* No query */` for header-only entries, as pt-query-digest).
    Query,
    /// `# administrator command: Quit;` and similar, or a query-less statement line.
    Admin,
}

/// Byte ranges into the parser's statement buffer.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventFields {
    pub pos: Position,
    pub kind: Option<EventKind>,
    pub query: Option<Range<usize>>,
    pub static_query: Option<&'static [u8]>,
    pub time: Option<Range<usize>>,
    pub user: Option<Range<usize>>,
    pub host: Option<Range<usize>>,
    pub ip: Option<Range<usize>>,
    pub thread_id: Option<Range<usize>>,
    pub db: Option<Range<usize>>,
    /// Every `Name: value` pair from `#` lines and `SET a=b` lines, in order.
    pub attributes: Vec<(Range<usize>, Range<usize>)>,
}

impl EventFields {
    pub fn clear(&mut self) {
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.clear();
        *self = Self {
            attributes,
            ..Self::default()
        };
    }
}

/// A parsed slow-log entry. Attribute names and values are kept as written, unknown ones
/// included; typed accessors cover the ones the digest needs.
#[derive(Clone, Copy)]
pub struct SlowEvent<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) fields: &'a EventFields,
}

impl<'a> SlowEvent<'a> {
    fn slice(&self, range: &Option<Range<usize>>) -> Option<&'a [u8]> {
        range.as_ref().map(|r| &self.buf[r.clone()])
    }

    /// Where the entry starts in the (decompressed) input.
    pub fn position(&self) -> Position {
        self.fields.pos
    }

    pub fn kind(&self) -> EventKind {
        self.fields.kind.unwrap_or(EventKind::Query)
    }

    /// The statement text (without the trailing `;`).
    pub fn query(&self) -> &'a [u8] {
        self.fields
            .static_query
            .or_else(|| self.slice(&self.fields.query))
            .unwrap_or_default()
    }

    /// The `# Time:` value as written (`071015 21:43:52` or `2016-07-20T18:13:25`).
    pub fn time_text(&self) -> Option<&'a [u8]> {
        self.slice(&self.fields.time)
    }

    /// Seconds since the epoch: `SET timestamp=` when present, else `# Time:` read as UTC.
    pub fn unix_time(&self) -> Option<i64> {
        self.unix_time_with(&self.common_attributes())
    }

    pub fn user(&self) -> Option<&'a [u8]> {
        self.slice(&self.fields.user)
    }

    /// Host name, or the IP address when the server logged no name.
    pub fn host(&self) -> Option<&'a [u8]> {
        self.slice(&self.fields.host)
            .filter(|h| !h.is_empty())
            .or_else(|| self.slice(&self.fields.ip))
    }

    pub fn ip(&self) -> Option<&'a [u8]> {
        self.slice(&self.fields.ip)
    }

    pub fn thread_id(&self) -> Option<u64> {
        self.slice(&self.fields.thread_id).and_then(parse_ascii)
    }

    /// The default database: `use db;` in the entry, else a non-empty `Schema:` (Percona,
    /// MariaDB). Entries that name none ran in the last one named (see [`crate::Digest`]).
    pub fn database(&self) -> Option<&'a [u8]> {
        self.database_with(&self.common_attributes())
    }

    /// The last value of attribute `name` (pt-query-digest keeps the last one too).
    pub fn attribute(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.fields
            .attributes
            .iter()
            .rev()
            .find(|(k, _)| &self.buf[k.clone()] == name)
            .map(|(_, v)| &self.buf[v.clone()])
    }

    /// All attributes as written, in order, unknown ones included.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.fields
            .attributes
            .iter()
            .map(|(k, v)| (&self.buf[k.clone()], &self.buf[v.clone()]))
    }

    /// A numeric attribute: None when absent, Err(value) when present but not a number.
    pub fn number(&self, name: &[u8]) -> Option<Result<f64, &'a [u8]>> {
        self.attribute(name).map(|v| parse_ascii::<f64>(v).ok_or(v))
    }

    /// `No_index_used: Yes` (MySQL/Percona) or `Full_scan: Yes` (MariaDB/Percona).
    pub fn no_index_used(&self) -> bool {
        self.common_attributes().no_index_used
    }
}

/// The attributes the digest reads, found in one pass (the last value of each wins).
#[derive(Debug, Default, Clone, Copy)]
pub struct CommonAttributes<'a> {
    pub query_time: Option<&'a [u8]>,
    pub lock_time: Option<&'a [u8]>,
    pub rows_sent: Option<&'a [u8]>,
    pub rows_examined: Option<&'a [u8]>,
    /// `SET timestamp=` (Unix seconds).
    pub timestamp: Option<&'a [u8]>,
    pub schema: Option<&'a [u8]>,
    pub no_index_used: bool,
}

impl<'a> SlowEvent<'a> {
    pub fn common_attributes(&self) -> CommonAttributes<'a> {
        let mut c = CommonAttributes::default();
        let (mut no_index, mut full_scan) = (None, None);
        for (name, value) in self.attributes() {
            match name {
                b"Query_time" => c.query_time = Some(value),
                b"Lock_time" => c.lock_time = Some(value),
                b"Rows_sent" => c.rows_sent = Some(value),
                b"Rows_examined" => c.rows_examined = Some(value),
                b"timestamp" => c.timestamp = Some(value),
                b"Schema" => c.schema = Some(value),
                b"No_index_used" => no_index = Some(value),
                b"Full_scan" => full_scan = Some(value),
                _ => {}
            }
        }
        c.no_index_used = no_index == Some(b"Yes") || full_scan == Some(b"Yes");
        c
    }

    /// [`Self::unix_time`] given the entry's common attributes.
    pub fn unix_time_with(&self, common: &CommonAttributes<'a>) -> Option<i64> {
        common
            .timestamp
            .and_then(parse_ascii::<i64>)
            .or_else(|| self.time_text().and_then(parse_log_time))
    }

    /// [`Self::database`] given the entry's common attributes.
    pub fn database_with(&self, common: &CommonAttributes<'a>) -> Option<&'a [u8]> {
        self.slice(&self.fields.db)
            .or_else(|| common.schema.filter(|s| !s.is_empty()))
    }
}

pub(crate) fn parse_ascii<T: std::str::FromStr>(bytes: &[u8]) -> Option<T> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// `YYMMDD H:MM:SS` (MySQL 5.x, MariaDB) or `YYYY-MM-DDTHH:MM:SS` (MySQL 5.7+), as UTC.
pub fn parse_log_time(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let date = if date.len() == 6 {
        let n = |r: Range<usize>| date.get(r)?.parse::<u32>().ok();
        chrono::NaiveDate::from_ymd_opt(2000 + n(0..2)? as i32, n(2..4)?, n(4..6)?)?
    } else {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?
    };
    let time = time.trim_start();
    let clock_len = time
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(time.len());
    let mut hms = time[..clock_len]
        .split(':')
        .map(|part| part.parse::<u32>().ok());
    let time = chrono::NaiveTime::from_hms_opt(hms.next()??, hms.next()??, hms.next()??)?;
    Some(date.and_time(time).and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::parse_log_time;

    #[test]
    fn both_time_formats_parse() {
        assert_eq!(parse_log_time(b"071015 21:43:52"), Some(1_192_484_632));
        assert_eq!(parse_log_time(b"231125  9:05:03"), Some(1_700_903_103));
        assert_eq!(parse_log_time(b"2016-07-20T18:13:25"), Some(1_469_038_405));
        assert_eq!(
            parse_log_time(b"2016-07-20T18:13:25.698433Z"),
            Some(1_469_038_405)
        );
        assert_eq!(parse_log_time(b"garbage"), None);
    }
}
