//! The individual rewriting steps of the fingerprint, in pt-query-digest's order.
//! Each `fn x(src, dst) -> bool` writes into `dst` and returns true when it changed
//! something (false leaves `dst` unspecified and the caller keeps `src`).

use std::sync::LazyLock;

use memchr::memmem;

pub(super) type Finder = LazyLock<memmem::Finder<'static>>;
// Built once: constructing a searcher per call dominated the profile.
static OPEN_COMMENT: Finder = LazyLock::new(|| memmem::Finder::new("/*"));
static CLOSE_COMMENT: Finder = LazyLock::new(|| memmem::Finder::new("*/"));

/// Perl's `\s` on byte strings.
pub(crate) fn is_space(c: u8) -> bool {
    CLASSES[c as usize] & SPACE != 0
}

/// Perl's `\w` on byte strings.
pub(crate) fn is_word(c: u8) -> bool {
    CLASSES[c as usize] & WORD != 0
}

const SPACE: u8 = 1;
const WORD: u8 = 2;
/// Byte classes as a table: these tests run on every byte of every entry.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            table[c] |= SPACE;
        }
        if b.is_ascii_alphanumeric() || b == b'_' {
            table[c] |= WORD;
        }
        c += 1;
    }
    table
};

pub(super) fn word_boundary_before(s: &[u8], i: usize) -> bool {
    i == 0 || !is_word(s[i - 1])
}

pub(super) fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// mysqldump and percona-toolkit queries collapse to a fixed name; administrator
/// commands are kept verbatim.
pub(super) fn special_case(q: &[u8]) -> Option<&[u8]> {
    if q.starts_with(b"SELECT /*!40001 SQL_NO_CACHE */ * FROM `") {
        return Some(b"mysqldump");
    }
    if has_toolkit_comment(q) {
        return Some(b"percona-toolkit");
    }
    if q.starts_with(b"administrator command: ") {
        return Some(q);
    }
    None
}

/// `/\*\w+\.\w+:[0-9]/[0-9]\*/`, the tag pt-table-checksum and friends put in queries.
fn has_toolkit_comment(q: &[u8]) -> bool {
    OPEN_COMMENT.find_iter(q).any(|start| {
        let rest = &q[start + 2..];
        let w1 = rest.iter().take_while(|c| is_word(**c)).count();
        if w1 == 0 || rest.get(w1) != Some(&b'.') {
            return false;
        }
        let rest = &rest[w1 + 1..];
        let w2 = rest.iter().take_while(|c| is_word(**c)).count();
        let tail = &rest[w2..];
        w2 > 0
            && tail.len() >= 6
            && tail[0] == b':'
            && tail[1].is_ascii_digit()
            && tail[2] == b'/'
            && tail[3].is_ascii_digit()
            && &tail[4..6] == b"*/"
    })
}

/// `\A\s*(call\s+\S+)\(` (case-insensitive): returns the `call name` part.
pub(super) fn call_prefix(q: &[u8]) -> Option<&[u8]> {
    let start = q.iter().take_while(|c| is_space(**c)).count();
    let s = &q[start..];
    if !starts_with_ci(s, b"call") {
        return None;
    }
    let spaces = s[4..].iter().take_while(|c| is_space(**c)).count();
    if spaces == 0 {
        return None;
    }
    let name_start = 4 + spaces;
    let run = s[name_start..]
        .iter()
        .take_while(|c| !is_space(**c))
        .count();
    // Greedy `\S+` backs off to the last `(` that still leaves a non-empty name.
    let name = &s[name_start..name_start + run];
    let paren = name.iter().rposition(|c| *c == b'(')?;
    if paren == 0 {
        return None;
    }
    Some(&s[..name_start + paren])
}

/// Keeps only the first row of a multi-row INSERT/REPLACE:
/// `\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(` (/is).
pub(super) fn shorten_multi_insert(q: &[u8]) -> &[u8] {
    let Some(after_verb) = [&b"INSERT"[..], b"REPLACE"]
        .iter()
        .find(|v| starts_with_ci(q, v))
        .map(|v| v.len())
    else {
        return q;
    };
    let into_at = |from: usize| -> Option<usize> {
        let spaces = q[from..].iter().take_while(|c| is_space(**c)).count();
        (spaces > 0 && starts_with_ci(&q[from + spaces..], b"INTO")).then_some(from + spaces + 4)
    };
    let after_into =
        if q[after_verb..].starts_with(b" ") && starts_with_ci(&q[after_verb + 1..], b"IGNORE") {
            into_at(after_verb + 7).or_else(|| into_at(after_verb))
        } else {
            into_at(after_verb)
        };
    let Some(after_into) = after_into else {
        return q;
    };
    for values_at in (after_into + 1..q.len()).filter(|&i| starts_with_ci(&q[i..], b"VALUES")) {
        let mut open = values_at + 6;
        open += q[open..].iter().take_while(|c| is_space(**c)).count();
        if q.get(open) != Some(&b'(') {
            continue;
        }
        for close in memchr::memchr_iter(b')', &q[open + 1..]).map(|i| i + open + 1) {
            let mut j = close + 1;
            j += q[j..].iter().take_while(|c| is_space(**c)).count();
            if q.get(j) != Some(&b',') {
                continue;
            }
            j += 1;
            j += q[j..].iter().take_while(|c| is_space(**c)).count();
            if q.get(j) == Some(&b'(') {
                return &q[..=close];
            }
        }
    }
    q
}

/// Removes `/\*[^!].*?\*/` (/s): block comments, but not `/*!version ... */` hints.
pub(super) fn strip_block_comments(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let mut changed = false;
    let mut copied = 0;
    let mut search = 0;
    dst.clear();
    while let Some(rel) = OPEN_COMMENT.find(&src[search..]) {
        let start = search + rel;
        match src.get(start + 2) {
            Some(b'!') | None => {
                search = start + 1;
                continue;
            }
            Some(_) => {}
        }
        let Some(end_rel) = CLOSE_COMMENT.find(&src[start + 3..]) else {
            break; // no terminator anywhere later, so no later start can match either
        };
        dst.extend_from_slice(&src[copied..start]);
        copied = start + 3 + end_rel + 2;
        search = copied;
        changed = true;
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

/// Removes `(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)`: one-line comments that contain no quote.
pub(super) fn strip_line_comments(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    dst.clear();
    while i < src.len() {
        let opener = match src[i] {
            b'#' => 1,
            b'-' if src.get(i + 1) == Some(&b'-') => 2,
            _ => {
                i += 1;
                continue;
            }
        };
        let body = i + opener;
        let stop = src[body..]
            .iter()
            .position(|c| matches!(c, b'\'' | b'"' | b'\r' | b'\n'))
            .map_or(src.len(), |p| body + p);
        if stop < src.len() && matches!(src[stop], b'\'' | b'"') {
            // Every start before the quote runs into the same quote.
            i = stop + 1;
            continue;
        }
        dst.extend_from_slice(&src[copied..i]);
        copied = stop;
        i = stop;
        changed = true;
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

/// `\Ause \S+\Z` (/i): Some(true) when the `\Z` matched before a final newline, which
/// pt-query-digest keeps in the fingerprint.
pub(super) fn is_use_statement(q: &[u8]) -> Option<bool> {
    if !starts_with_ci(q, b"use ") {
        return None;
    }
    let name = q[4..].iter().take_while(|c| !is_space(**c)).count();
    if name == 0 {
        return None;
    }
    match &q[4 + name..] {
        [] => Some(false),
        [b'\n'] => Some(true),
        _ => None,
    }
}

/// Removes `\\["']` (backslash-escaped quotes).
pub(super) fn strip_escaped_quotes(src: &[u8], dst: &mut Vec<u8>) -> bool {
    if memchr::memchr(b'\\', src).is_none() {
        return false;
    }
    dst.clear();
    let mut changed = false;
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'\\' && matches!(src.get(i + 1), Some(b'"' | b'\'')) {
            i += 2;
            changed = true;
        } else {
            dst.push(src[i]);
            i += 1;
        }
    }
    changed
}

/// `s/Q.*?Q/?/sg` for one quote character Q.
pub(super) fn replace_quoted(src: &[u8], dst: &mut Vec<u8>, quote: u8) -> bool {
    let Some(first) = memchr::memchr(quote, src) else {
        return false;
    };
    dst.clear();
    let mut changed = false;
    let mut copied = 0;
    let mut open = Some(first);
    while let Some(start) = open {
        let Some(len) = memchr::memchr(quote, &src[start + 1..]) else {
            break;
        };
        dst.extend_from_slice(&src[copied..start]);
        dst.push(b'?');
        copied = start + 1 + len + 1;
        changed = true;
        open = memchr::memchr(quote, &src[copied..]).map(|p| p + copied);
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

fn is_number_char(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'.' | b'x' | b'+' | b'-')
}

/// Length of a `true`/`false` keyword at `i` when `\btrue\b|\bfalse\b` (/i) matches there.
fn boolean_at(s: &[u8], i: usize) -> Option<usize> {
    if !matches!(s[i], b't' | b'T' | b'f' | b'F') || !word_boundary_before(s, i) {
        return None;
    }
    let len = if starts_with_ci(&s[i..], b"true") {
        4
    } else if starts_with_ci(&s[i..], b"false") {
        5
    } else {
        return None;
    };
    (s.get(i + len).is_none_or(|c| !is_word(*c))).then_some(len)
}

/// One pass doing, in effect: booleans to `?`; `[0-9+-][0-9a-f.xb+-]*` to `?`;
/// `[xb.+-]\?` to `?`; leading whitespace and one trailing newline dropped; runs of
/// `[ \n\t\r\f]` squeezed to one space; ASCII lower-casing.
pub(super) fn abstract_literals(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let start = src.iter().take_while(|c| is_space(**c)).count();
    let end = if src.len() > start && src.ends_with(b"\n") {
        src.len() - 1
    } else {
        src.len()
    };
    let s = &src[..end];
    let mut i = start;
    // The byte before the last pushed `?` candidate, un-lower-cased, for `[xb.+-]\?`.
    let mut last_raw: u8 = 0;
    while i < s.len() {
        let c = s[i];
        if matches!(c, b'0'..=b'9' | b'+' | b'-') {
            i = number_end(s, i);
            push_placeholder(dst, last_raw);
            last_raw = b'?';
        } else if let Some(len) = boolean_at(s, i) {
            i += len;
            push_placeholder(dst, last_raw);
            last_raw = b'?';
        } else if c == b'?' {
            i += 1;
            push_placeholder(dst, last_raw);
            last_raw = b'?';
        } else if matches!(c, b' ' | b'\n' | b'\t' | b'\r' | 0x0c) {
            i += 1;
            if !matches!(last_raw, b' ' | b'\n' | b'\t' | b'\r' | 0x0c) {
                dst.push(b' ');
            }
            last_raw = c;
        } else {
            i += 1;
            dst.push(c.to_ascii_lowercase());
            last_raw = c;
        }
    }
}

fn push_placeholder(dst: &mut Vec<u8>, last_raw: u8) {
    if matches!(last_raw, b'x' | b'b' | b'.' | b'+' | b'-') {
        dst.pop();
    }
    dst.push(b'?');
}

/// End of the number run starting at `i`; a `false` the boolean rule already replaced
/// (it runs first in pt-query-digest) ends the run.
fn number_end(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && is_number_char(s[j]) {
        if s[j] == b'f' && boolean_at(s, j).is_some() {
            break;
        }
        j += 1;
    }
    j
}
