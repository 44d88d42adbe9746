//! Recognisers for the header lines of a slow-log entry, matching the regexes of
//! pt-query-digest's `SlowLogParser` (positions are relative to the line given).

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem;

use crate::fingerprint::{is_space, is_word};

// Built once: constructing a searcher per call dominated the profile.
static USER_HOST: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("# User@Host: "));
static AT_SPACE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("@ "));
static VERSION: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new("Version"));
static SCHEMA: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new("Schema:"));

/// `^# Time: ((?:[0-9: ]{15})|(?:[-0-9: T]{19}))`: the range of the time value.
pub fn time_value(line: &[u8]) -> Option<Range<usize>> {
    let rest = line.strip_prefix(b"# Time: ")?;
    let all =
        |len: usize, ok: fn(u8) -> bool| rest.len() >= len && rest[..len].iter().all(|c| ok(*c));
    if all(15, |c| c.is_ascii_digit() || c == b':' || c == b' ') {
        Some(8..8 + 15)
    } else if all(19, |c| {
        c.is_ascii_digit() || matches!(c, b'-' | b':' | b' ' | b'T')
    }) {
        Some(8..8 + 19)
    } else {
        None
    }
}

/// The parts of `# User@Host: user[user] @ host [ip]  Id: 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHost {
    pub user: Range<usize>,
    pub host: Range<usize>,
    pub ip: Range<usize>,
    pub thread_id: Option<Range<usize>>,
}

/// `# User\@Host: ([^\[]+|\[[^[]+\]).*?@ (\S*) \[(.*)\]\s*(?:Id:\s*(\d+))?`, unanchored.
pub fn user_host(line: &[u8]) -> Option<UserHost> {
    USER_HOST
        .find_iter(line)
        .find_map(|at| user_host_at(line, at + 13))
}

fn user_host_at(line: &[u8], u: usize) -> Option<UserHost> {
    let plain = line[u..].iter().take_while(|c| **c != b'[').count();
    // Greedy `[^\[]+` backs off until the rest matches.
    for len in (1..=plain).rev() {
        if let Some(parts) = host_part(line, u + len) {
            return Some(UserHost {
                user: u..u + len,
                ..parts
            });
        }
    }
    if line.get(u) != Some(&b'[') {
        return None;
    }
    // `\[[^[]+\]`: the last `]` before the next `[` first, then earlier ones.
    let inner_end = line[u + 1..]
        .iter()
        .position(|c| *c == b'[')
        .map_or(line.len(), |p| u + 1 + p);
    (u + 2..inner_end)
        .rev()
        .filter(|&close| line[close] == b']')
        .find_map(|close| {
            host_part(line, close + 1).map(|parts| UserHost {
                user: u..close + 1,
                ..parts
            })
        })
}

/// `.*?@ (\S*) \[(.*)\]\s*(?:Id:\s*(\d+))?` from `from`; `user` is left empty.
fn host_part(line: &[u8], from: usize) -> Option<UserHost> {
    AT_SPACE.find_iter(&line[from..]).find_map(|rel| {
        let h = from + rel + 2;
        let host_len = line[h..].iter().take_while(|c| !is_space(**c)).count();
        let open = h + host_len;
        if line.get(open) != Some(&b' ') || line.get(open + 1) != Some(&b'[') {
            return None;
        }
        let close = open + 2 + memchr::memrchr(b']', &line[open + 2..])?;
        let mut j = close + 1;
        j += line[j..].iter().take_while(|c| is_space(**c)).count();
        let thread_id = line[j..].starts_with(b"Id:").then(|| {
            let digits = j + 3 + line[j + 3..].iter().take_while(|c| is_space(**c)).count();
            let end = digits
                + line[digits..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
            (end > digits).then_some(digits..end)
        });
        Some(UserHost {
            user: 0..0,
            host: h..open,
            ip: open + 2..close,
            thread_id: thread_id.flatten(),
        })
    })
}

/// `^# +[A-Z][A-Za-z_]+: \S+`: the cheap test for an attribute line.
pub fn is_attribute_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"#") else {
        return false;
    };
    let spaces = rest.iter().take_while(|c| **c == b' ').count();
    let name = &rest[spaces..];
    if spaces == 0 || !name.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let len = 1 + name[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic() || **c == b'_')
        .count();
    len >= 2 && name[len..].starts_with(b": ") && name.get(len + 2).is_some_and(|c| !is_space(*c))
}

/// `(\w+):\s+(\S+|\Z)` repeatedly over `line[range]`, pushing (name, value) ranges.
pub fn scan_attributes(
    line: &[u8],
    range: Range<usize>,
    out: &mut Vec<(Range<usize>, Range<usize>)>,
) {
    let end = range.end;
    let mut i = range.start;
    while i < end {
        if !is_word(line[i]) {
            i += 1;
            continue;
        }
        let name_end = i + line[i..end].iter().take_while(|c| is_word(**c)).count();
        let spaces = line[(name_end + 1).min(end)..end]
            .iter()
            .take_while(|c| is_space(**c))
            .count();
        if name_end >= end || line[name_end] != b':' || spaces == 0 {
            i = name_end;
            continue;
        }
        let value = name_end + 1 + spaces;
        let value_end = value
            + line[value..end]
                .iter()
                .take_while(|c| !is_space(**c))
                .count();
        out.push((i..name_end, value..value_end));
        i = value_end.max(name_end + 1);
    }
}

/// `Schema:\s+\w+: ` (an empty Percona `Schema:`): the span `Schema:\s+` that
/// pt-query-digest deletes before scanning the line.
pub fn empty_schema_span(line: &[u8]) -> Option<Range<usize>> {
    let spans = SCHEMA.find_iter(line).filter_map(|at| {
        let spaces = line[at + 7..].iter().take_while(|c| is_space(**c)).count();
        (spaces > 0).then_some(at..at + 7 + spaces)
    });
    let mut first = None;
    let mut condition = false;
    for span in spans {
        first.get_or_insert(span.clone());
        let word = line[span.end..].iter().take_while(|c| is_word(**c)).count();
        condition |= word > 0 && line[span.end + word..].starts_with(b": ");
    }
    first.filter(|_| condition)
}

/// Whether any line of `record` is a server banner line (banner lines never start with `#`).
pub fn has_server_header(record: &[u8]) -> bool {
    let mut start = 0;
    while start < record.len() {
        let end = memchr::memchr(b'\n', &record[start..]).map_or(record.len(), |p| start + p);
        let first = record[start];
        if (first == b'/' || first.is_ascii_alphabetic()) && is_server_header(&record[start..end]) {
            return true;
        }
        start = end + 1;
    }
    false
}

/// The server start-up banner lines pt-query-digest throws away (`/usr/sbin/mysqld,
/// Version: ... started with:`, `Tcp port: ...`, `Time  Id Command  Argument`).
pub fn is_server_header(line: &[u8]) -> bool {
    is_port_line(line) || is_banner_line(line) || is_column_title_line(line)
}

fn is_port_line(l: &[u8]) -> bool {
    l.len() > 10
        && l[0] == b'T'
        && matches!(l[1], b'c' | b'C')
        && matches!(l[2], b'p' | b'P')
        && is_space(l[3])
        && matches!(l[4], b'p' | b'P')
        && &l[5..9] == b"ort:"
        && {
            let spaces = l[9..].iter().take_while(|c| is_space(**c)).count();
            spaces > 0 && l.get(9 + spaces).is_some_and(u8::is_ascii_digit)
        }
}

/// pt-query-digest's `[/A-Z].*mysqld,\sVersion.*(?:started\swith:|embedded\slibrary)`, plus
/// MariaDB's `mariadbd, Version: ...` banner, which pt-query-digest misses (a deliberate
/// difference: without it a restart glues two entries together).
fn is_banner_line(l: &[u8]) -> bool {
    let first = l.first().copied().unwrap_or(0);
    let mysql = first == b'/' || first.is_ascii_uppercase();
    let mariadb = first == b'/' || first.is_ascii_alphabetic();
    // `Version` is rare in ordinary lines, so look for it first.
    let named = |v: usize, name: &[u8], min_start: usize| {
        v >= name.len() + 1 + min_start
            && is_space(l[v - 1])
            && &l[v - 1 - name.len()..v - 1] == name
    };
    let version_end = VERSION
        .find_iter(l)
        .find(|&v| (mysql && named(v, b"mysqld,", 1)) || (mariadb && named(v, b"mariadbd,", 0)))
        .map(|v| v + 7);
    let Some(after) = version_end else {
        return false;
    };
    let tail = &l[after..];
    let spaced = |first: &[u8], second: &[u8]| {
        memmem::find_iter(tail, first).any(|p| {
            let q = p + first.len();
            tail.get(q).is_some_and(|c| is_space(*c)) && tail[q + 1..].starts_with(second)
        })
    };
    spaced(b"started", b"with:") || spaced(b"embedded", b"library")
}

fn is_column_title_line(l: &[u8]) -> bool {
    let Some(rest) = l.strip_prefix(b"Time") else {
        return false;
    };
    let skip = |s: &[u8]| s.iter().take_while(|c| is_space(**c)).count();
    let a = skip(rest);
    let Some(rest) = rest[a..].strip_prefix(b"Id").filter(|_| a > 0) else {
        return false;
    };
    let b = skip(rest);
    b > 0 && rest[b..].starts_with(b"Command")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(line: &'a [u8], r: &Range<usize>) -> &'a str {
        std::str::from_utf8(&line[r.clone()]).unwrap()
    }

    #[test]
    fn user_host_variants() {
        let line = b"# User@Host: root[root] @ localhost [127.0.0.1]  Id:     3";
        let uh = user_host(line).unwrap();
        assert_eq!(
            (
                text(line, &uh.user),
                text(line, &uh.host),
                text(line, &uh.ip)
            ),
            ("root", "localhost", "127.0.0.1")
        );
        assert_eq!(text(line, uh.thread_id.as_ref().unwrap()), "3");
        let line = b"# Time: 071218 11:48:27 # User@Host: [SQL_SLAVE] @  []";
        let uh = user_host(line).unwrap();
        assert_eq!(
            (
                text(line, &uh.user),
                text(line, &uh.host),
                text(line, &uh.ip)
            ),
            ("[SQL_SLAVE]", "", "")
        );
        assert_eq!(user_host(b"# User@Host: truncated"), None);
    }

    #[test]
    fn attributes_scan_like_the_perl_regex() {
        let line = b"# Query_time: 2  Lock_time: 0  Rows_sent: 1  Schema: ";
        let mut out = Vec::new();
        scan_attributes(line, 0..line.len(), &mut out);
        let pairs: Vec<_> = out
            .iter()
            .map(|(k, v)| (text(line, k), text(line, v)))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Query_time", "2"),
                ("Lock_time", "0"),
                ("Rows_sent", "1"),
                ("Schema", "")
            ]
        );
        assert!(is_attribute_line(line));
        assert!(!is_attribute_line(b"# administrator command: Quit"));
        assert_eq!(
            empty_schema_span(b"# Thread_id: 4  Schema:   Last_errno: 0"),
            Some(16..26)
        );
        assert_eq!(
            empty_schema_span(b"# Thread_id: 4  Schema: db  Last_errno: 0"),
            None
        );
    }

    #[test]
    fn server_headers_and_times() {
        assert!(is_server_header(
            b"mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:"
        ));
        assert!(!is_server_header(
            b"select 'mysqld, Version 5 started with: x'"
        ));
        assert!(is_server_header(
            b"/usr/sbin/mysqld, Version: 5.7.12-0ubuntu1.1-log ((Ubuntu)). started with:"
        ));
        assert!(is_server_header(
            b"Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock"
        ));
        assert!(is_server_header(
            b"Time                 Id Command    Argument"
        ));
        assert!(!is_server_header(b"Time is money"));
        assert_eq!(time_value(b"# Time: 071015 21:43:52"), Some(8..23));
        assert_eq!(
            time_value(b"# Time: 2016-07-20T18:13:25.698433Z"),
            Some(8..27)
        );
        assert_eq!(time_value(b"# Time: soon"), None);
    }
}
