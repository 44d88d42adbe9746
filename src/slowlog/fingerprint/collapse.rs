//! The steps that run on the lower-cased, literal-free text: NULL, IN/VALUES lists,
//! repeated UNIONs, LIMIT offsets and `ASC` in ORDER BY. Same conventions as `passes`.

use std::sync::LazyLock;

use memchr::memmem;

use super::passes::{is_space, is_word, starts_with_ci, word_boundary_before, Finder};

static NULL: Finder = LazyLock::new(|| memmem::Finder::new("null"));
static UNION: Finder = LazyLock::new(|| memmem::Finder::new("union"));
static LIMIT: Finder = LazyLock::new(|| memmem::Finder::new("limit ?"));
static ORDER_BY: Finder = LazyLock::new(|| memmem::Finder::new("order by "));

/// `s/\bnull\b/?/g` on the lower-cased text.
pub(super) fn replace_null(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let mut changed = false;
    let mut copied = 0;
    dst.clear();
    for at in NULL.find_iter(src) {
        if at < copied
            || !word_boundary_before(src, at)
            || src.get(at + 4).is_some_and(|c| is_word(*c))
        {
            continue;
        }
        dst.extend_from_slice(&src[copied..at]);
        dst.push(b'?');
        copied = at + 4;
        changed = true;
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

/// `s/\b(in|values?)(?:[\s,]*\([\s?,]*\))+/$1(?+)/gx`.
pub(super) fn collapse_lists(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    dst.clear();
    while i + 2 <= src.len() {
        let keyword = if !word_boundary_before(src, i) {
            None
        } else if src[i..].starts_with(b"in") {
            Some(2)
        } else if src[i..].starts_with(b"value") {
            Some(if src.get(i + 5) == Some(&b's') { 6 } else { 5 })
        } else {
            None
        };
        let Some(mut kw_len) = keyword else {
            i += 1;
            continue;
        };
        let mut end = list_groups_end(src, i + kw_len);
        if end.is_none() && kw_len == 6 {
            kw_len = 5; // `values?` backs off to `value`
            end = list_groups_end(src, i + kw_len);
        }
        match end {
            Some(end) => {
                dst.extend_from_slice(&src[copied..i + kw_len]);
                dst.extend_from_slice(b"(?+)");
                copied = end;
                i = end;
                changed = true;
            }
            None => i += 1,
        }
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

/// End of one or more `[\s,]*\([\s?,]*\)` groups starting at `at`.
fn list_groups_end(s: &[u8], at: usize) -> Option<usize> {
    let mut end = None;
    let mut j = at;
    loop {
        j += s[j..]
            .iter()
            .take_while(|c| is_space(**c) || **c == b',')
            .count();
        if s.get(j) != Some(&b'(') {
            return end;
        }
        j += 1;
        j += s[j..]
            .iter()
            .take_while(|c| is_space(**c) || matches!(c, b'?' | b','))
            .count();
        if s.get(j) != Some(&b')') {
            return end;
        }
        j += 1;
        end = Some(j);
    }
}

/// `s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//xg`.
pub(super) fn collapse_union(src: &[u8], dst: &mut Vec<u8>) -> bool {
    if UNION.find(src).is_none() {
        return false;
    }
    let mut changed = false;
    let mut copied = 0;
    let mut i = 0;
    dst.clear();
    while i < src.len() {
        let is_select = word_boundary_before(src, i)
            && src[i..].starts_with(b"select")
            && src.get(i + 6).is_some_and(|c| is_space(*c));
        match is_select.then(|| union_match(src, i)).flatten() {
            Some((first_end, union_word, end)) => {
                dst.extend_from_slice(&src[copied..first_end]);
                dst.extend_from_slice(b" /*repeat");
                dst.extend_from_slice(union_word);
                dst.extend_from_slice(b"*/");
                copied = end;
                i = end;
                changed = true;
            }
            None => i += 1,
        }
    }
    if changed {
        dst.extend_from_slice(&src[copied..]);
    }
    changed
}

/// For a `select\s` at `start`: (end of the repeated select, last union keyword, match end).
fn union_match(s: &[u8], start: usize) -> Option<(usize, &[u8], usize)> {
    let line_end = memchr::memchr(b'\n', &s[start..]).map_or(s.len(), |p| start + p);
    for found in UNION.find_iter(&s[start + 7..]) {
        let k = start + 7 + found - 1; // the `\s` before `union`
        if k > line_end {
            break;
        }
        if k < start + 7 || !is_space(s[k]) {
            continue;
        }
        let first = &s[start..k];
        let mut end = None;
        let mut last_word: &[u8] = &[];
        let mut at = k;
        while let Some((word_end, next)) = union_repeat(s, at, first) {
            last_word = &s[at..word_end];
            end = Some(next);
            at = next;
        }
        if let Some(end) = end {
            return Some((k, last_word, end));
        }
    }
    None
}

/// One `(\sunion(?:\sall)?)\s\1` at `at`: (end of the union keyword(s), end of the repeat).
fn union_repeat(s: &[u8], at: usize, first: &[u8]) -> Option<(usize, usize)> {
    if !s.get(at).is_some_and(|c| is_space(*c)) || !s[at + 1..].starts_with(b"union") {
        return None;
    }
    let after_union = at + 6;
    let with_all = s.get(after_union).is_some_and(|c| is_space(*c))
        && s[after_union + 1..].starts_with(b"all");
    let candidates = if with_all {
        vec![after_union + 4, after_union]
    } else {
        vec![after_union]
    };
    candidates.into_iter().find_map(|word_end| {
        let body = word_end + 1;
        (s.get(word_end).is_some_and(|c| is_space(*c)) && s[body..].starts_with(first))
            .then_some((word_end, body + first.len()))
    })
}

/// `s/\blimit \?(?:, ?\?| offset \?)?/limit ?/` (first match only).
pub(super) fn collapse_limit(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let Some(at) = LIMIT
        .find_iter(src)
        .find(|&at| word_boundary_before(src, at))
    else {
        return false;
    };
    let rest = &src[at + 7..];
    let extra = if rest.starts_with(b", ?") {
        3
    } else if rest.starts_with(b",?") {
        2
    } else if rest.starts_with(b" offset ?") {
        9
    } else {
        0
    };
    if extra == 0 {
        return false; // replacing `limit ?` by itself changes nothing
    }
    dst.clear();
    dst.extend_from_slice(&src[..at + 7]);
    dst.extend_from_slice(&rest[extra..]);
    true
}

/// After the first `\border by `: `s/\G(.+?)\s+ASC/$1/gi`, i.e. drops ` asc` from a run
/// of consecutive sort keys (and, as in the original, an `asc` prefix of a word).
pub(super) fn drop_order_by_asc(src: &[u8], dst: &mut Vec<u8>) -> bool {
    let Some(order_by) = ORDER_BY
        .find_iter(src)
        .find(|&at| word_boundary_before(src, at))
    else {
        return false;
    };
    let mut g = order_by + 9;
    let mut changed = false;
    dst.clear();
    dst.extend_from_slice(&src[..g]);
    while let Some((key_end, next)) = asc_after(src, g) {
        dst.extend_from_slice(&src[g..key_end]);
        g = next;
        changed = true;
    }
    dst.extend_from_slice(&src[g..]);
    changed
}

/// `(.+?)\s+asc` anchored at `g`: (end of `$1`, end of the match).
fn asc_after(s: &[u8], g: usize) -> Option<(usize, usize)> {
    let line_end = memchr::memchr(b'\n', &s[g..]).map_or(s.len(), |p| g + p);
    (g + 1..line_end).find_map(|m| {
        if !is_space(s[m]) {
            return None;
        }
        let w = m + s[m..].iter().take_while(|c| is_space(**c)).count();
        starts_with_ci(&s[w..], b"asc").then_some((m, w + 3))
    })
}
