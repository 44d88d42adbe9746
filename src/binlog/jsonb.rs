//! MySQL binary JSON (the JSON column's storage format) to JSON text, and the partial
//! update diffs of PARTIAL_UPDATE_ROWS events.

use std::fmt::Write as _;

use crate::cursor::{le_uint, Cursor};
use crate::error::{DResult, DecodeError};
use crate::value::{datetime_from_packed, decimal_to_string, le_int};

const MAX_DEPTH: usize = 100;

/// Appends the JSON text of a binary JSON document.
pub fn jsonb_to_text(data: &[u8], out: &mut String) -> DResult<()> {
    if data.is_empty() {
        // An empty value is how MySQL logs a JSON NULL column set via some paths.
        out.push_str("null");
        return Ok(());
    }
    // Values may share offsets, so a corrupt document could expand exponentially: real text
    // is never more than a few times its binary size.
    let limit = out.len() + 8 * data.len() + 1024;
    write_value(data[0], &data[1..], out, &mut Walk { depth: 0, limit })
}

struct Walk {
    depth: usize,
    limit: usize,
}

fn err<T>(msg: &str) -> DResult<T> {
    Err(DecodeError(format!("binary JSON: {msg}")))
}

fn write_value(t: u8, data: &[u8], out: &mut String, walk: &mut Walk) -> DResult<()> {
    if walk.depth > MAX_DEPTH {
        return err("nesting too deep");
    }
    if out.len() > walk.limit {
        return err("document expands far beyond its size (corrupt offsets)");
    }
    let fixed =
        |n: usize| -> DResult<&[u8]> { data.get(..n).map_or_else(|| err("scalar truncated"), Ok) };
    match t {
        0x00 | 0x01 => write_container(data, t == 0x01, true, out, walk),
        0x02 | 0x03 => write_container(data, t == 0x03, false, out, walk),
        0x04 => write_literal(*data.first().unwrap_or(&0xff), out),
        0x05 => write_int(le_int(fixed(2)?), out),
        0x06 => write_int(le_uint(fixed(2)?) as i64, out),
        0x07 => write_int(le_int(fixed(4)?), out),
        0x08 => write_int(le_uint(fixed(4)?) as i64, out),
        0x09 => write_int(le_int(fixed(8)?), out),
        0x0a => {
            let _ = write!(out, "{}", le_uint(fixed(8)?));
            Ok(())
        }
        0x0b => {
            write_double(f64::from_bits(le_uint(fixed(8)?)), out);
            Ok(())
        }
        0x0c => {
            let mut c = Cursor::new(data);
            let n = varlen(&mut c)?;
            let s = c.take(n, "json string")?;
            write_json_string(&String::from_utf8_lossy(s), out);
            Ok(())
        }
        0x0f => write_opaque(data, out),
        other => err(&format!("unknown value type {other:#x}")),
    }
}

fn write_int(v: i64, out: &mut String) -> DResult<()> {
    let _ = write!(out, "{v}");
    Ok(())
}

fn write_literal(v: u8, out: &mut String) -> DResult<()> {
    out.push_str(match v {
        0 => "null",
        1 => "true",
        2 => "false",
        _ => return err("bad literal"),
    });
    Ok(())
}

fn write_double(v: f64, out: &mut String) {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        let _ = write!(out, "{v:.1}");
    } else if (1e-5..1e16).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// Lengths of strings and opaque values: 7 bits per byte, high bit continues.
fn varlen(c: &mut Cursor) -> DResult<usize> {
    let mut v = 0usize;
    for i in 0..5 {
        let b = c.u8("json length")?;
        v |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    err("length too long")
}

fn write_container(
    data: &[u8],
    large: bool,
    object: bool,
    out: &mut String,
    walk: &mut Walk,
) -> DResult<()> {
    let w = if large { 4 } else { 2 };
    let rd = |off: usize, n: usize| -> DResult<u64> {
        // Offsets come from the document: saturate, so a bad one is "out of range", not a panic.
        data.get(off..off.saturating_add(n))
            .map(le_uint)
            .map_or_else(|| err("container truncated"), Ok)
    };
    let count = rd(0, w)? as usize;
    let size = rd(w, w)? as usize;
    if size > data.len() || count > size {
        return err("container size exceeds its data");
    }
    let key_entries = 2 * w;
    let value_entries = key_entries + if object { count * (w + 2) } else { 0 };
    out.push(if object { '{' } else { '[' });
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        if object {
            let ko = key_entries + i * (w + 2);
            let (koff, klen) = (rd(ko, w)? as usize, rd(ko + w, 2)? as usize);
            let key = data
                .get(koff..koff.saturating_add(klen))
                .map_or_else(|| err("key out of range"), Ok)?;
            write_json_string(&String::from_utf8_lossy(key), out);
            out.push_str(": ");
        }
        let vo = value_entries + i * (1 + w);
        let t = *data
            .get(vo)
            .map_or_else(|| err("value entry out of range"), Ok)?;
        let inlined = matches!(t, 0x04..=0x06) || (large && matches!(t, 0x07 | 0x08));
        if inlined {
            let v = data
                .get(vo + 1..vo + 1 + w)
                .map_or_else(|| err("inline value"), Ok)?;
            write_value(t, v, out, walk)?;
        } else {
            let off = rd(vo + 1, w)? as usize;
            let v = data
                .get(off..size)
                .map_or_else(|| err("value offset out of range"), Ok)?;
            walk.depth += 1;
            let r = write_value(t, v, out, walk);
            walk.depth -= 1;
            r?;
        }
    }
    out.push(if object { '}' } else { ']' });
    Ok(())
}

/// Opaque values carry a MySQL column type: temporal and decimal ones become text.
fn write_opaque(data: &[u8], out: &mut String) -> DResult<()> {
    let mut c = Cursor::new(data);
    let field_type = c.u8("opaque type")?;
    let n = varlen(&mut c)?;
    let v = c.take(n, "opaque value")?;
    let mut s = String::new();
    match field_type {
        246 if v.len() >= 2 => {
            decimal_to_string(&v[2..], v[0], v[1], &mut s);
            out.push_str(&s);
            return Ok(());
        }
        10 | 11 | 12 | 7 | 14 | 17 | 18 | 19 if v.len() >= 8 => {
            let (d, t) = datetime_from_packed(le_int(&v[..8]), 6);
            match field_type {
                10 | 14 => {
                    let _ = write!(s, "{:04}-{:02}-{:02}", d.year, d.month, d.day);
                }
                11 | 19 => {
                    let sign = if t.negative { "-" } else { "" };
                    let hours = le_int(&v[..8]).unsigned_abs() >> 24 >> 12;
                    let _ = write!(
                        s,
                        "{sign}{hours:02}:{:02}:{:02}.{:06}",
                        t.minutes, t.seconds, t.micros
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
                        d.year, d.month, d.day, t.hours, t.minutes, t.seconds, t.micros
                    );
                }
            }
        }
        _ => {
            s.push_str("base64:type");
            let _ = write!(s, "{field_type}:");
            base64_encode(v, &mut s);
        }
    }
    write_json_string(&s, out);
    Ok(())
}

pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn base64_encode(data: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// One operation of a partial JSON update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDiff {
    pub op: JsonDiffOp,
    pub path: String,
    /// JSON text of the new value (absent for REMOVE).
    pub value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonDiffOp {
    Replace,
    Insert,
    Remove,
}

pub fn parse_json_diffs(data: &[u8]) -> DResult<Vec<JsonDiff>> {
    let mut c = Cursor::new(data);
    let mut diffs = Vec::new();
    while !c.is_empty() {
        let op = match c.u8("json diff operation")? {
            0 => JsonDiffOp::Replace,
            1 => JsonDiffOp::Insert,
            2 => JsonDiffOp::Remove,
            o => return err(&format!("unknown diff operation {o}")),
        };
        let path = String::from_utf8_lossy(c.lenenc_bytes("json diff path")?).into_owned();
        let value = if op == JsonDiffOp::Remove {
            None
        } else {
            let mut s = String::new();
            jsonb_to_text(c.lenenc_bytes("json diff value")?, &mut s)?;
            Some(s)
        };
        diffs.push(JsonDiff { op, path, value });
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_object_with_inline_and_string_values() {
        // {"a": 1, "b": "xy"}: count 2, size, key entries, value entries, keys, string value.
        let mut d = vec![0x00];
        let body: Vec<u8> = vec![
            2, 0, 23, 0, // count, size
            18, 0, 1, 0, // key a at 18
            19, 0, 1, 0, // key b at 19
            0x05, 1, 0, // int16 1 inline
            0x0c, 20, 0, // string at 20
            b'a', b'b', 2, b'x', b'y',
        ];
        d.extend_from_slice(&body);
        let mut out = String::new();
        jsonb_to_text(&d, &mut out).unwrap();
        assert_eq!(out, r#"{"a": 1, "b": "xy"}"#);
        assert!(jsonb_to_text(&d[..10], &mut String::new()).is_err());
        // Two entries pointing at the container itself: refused, not expanded forever.
        let looped = [0x02, 2, 0, 10, 0, 0x02, 0, 0, 0x02, 0, 0];
        assert!(jsonb_to_text(&looped, &mut String::new()).is_err());
    }

    #[test]
    fn scalars_and_escapes() {
        let mut out = String::new();
        jsonb_to_text(&[0x04, 1], &mut out).unwrap();
        jsonb_to_text(&[0x0b, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f], &mut out).unwrap();
        jsonb_to_text(&[0x0c, 2, b'"', b'\n'], &mut out).unwrap();
        assert_eq!(out, r#"true1.5"\"\n""#);
        let mut b = String::new();
        base64_encode(b"ab", &mut b);
        assert_eq!(b, "YWI=");
    }
}
