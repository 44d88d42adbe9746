//! Values as SQL literals the stock `mariadb`/`mysql` client accepts, written straight
//! into a reusable String; identifiers quoted with backticks; a row's WHERE conditions.

use std::cell::RefCell;
use std::fmt::Write as _;

use crate::charset::{text_kind, TextKind};
use crate::digits::{push_2, push_i64, push_padded, push_u64};
use crate::jsonb::{jsonb_to_text, parse_json_diffs, write_json_string, JsonDiffOp};
use crate::rows::Image;
use crate::tablemap::{ty, Column, Generated, TableMap};
use crate::value::{decimal_to_string, Date, Time, Value};

/// Appends a backtick-quoted identifier (backticks doubled).
pub fn push_ident(name: &str, out: &mut String) {
    out.reserve(name.len() + 2);
    out.push('`');
    let mut rest = name;
    // Backticks are ASCII, so the cuts fall on character boundaries.
    while let Some(k) = memchr::memchr(b'`', rest.as_bytes()) {
        out.push_str(&rest[..=k]);
        out.push('`');
        rest = &rest[k + 1..];
    }
    out.push_str(rest);
    out.push('`');
}

/// Appends `X'..'`.
pub fn push_hex(bytes: &[u8], out: &mut String) {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2 + 3);
    out.push_str("X'");
    for &b in bytes {
        out.push(H[(b >> 4) as usize] as char);
        out.push(H[(b & 15) as usize] as char);
    }
    out.push('\'');
}

/// Appends a quoted string literal if that is safe whatever the sql_mode (no
/// backslashes, NULs or ^Z); returns false otherwise, writing nothing.
fn push_quoted(s: &str, out: &mut String) -> bool {
    if memchr::memchr3(b'\\', 0, 0x1a, s.as_bytes()).is_some() {
        return false;
    }
    out.reserve(s.len() + 2);
    out.push('\'');
    let mut rest = s;
    // Quotes are ASCII, so the cuts fall on character boundaries.
    while let Some(k) = memchr::memchr(b'\'', rest.as_bytes()) {
        out.push_str(&rest[..=k]);
        out.push('\'');
        rest = &rest[k + 1..];
    }
    out.push_str(rest);
    out.push('\'');
    true
}

/// Appends text bytes of a column in the given collation.
pub fn push_text(bytes: &[u8], collation: Option<u16>, out: &mut String) {
    match text_kind(collation) {
        TextKind::Binary => push_hex(bytes, out),
        TextKind::Utf8(cs) => match std::str::from_utf8(bytes) {
            Ok(s) if push_quoted(s, out) => {}
            _ => push_utf8_hex(cs, bytes, out),
        },
        TextKind::Other(cs) => {
            if !(bytes.iter().all(|b| (0x20..0x7f).contains(b)) && push_quoted(ascii(bytes), out)) {
                out.push('_');
                out.push_str(cs);
                out.push(' ');
                push_hex(bytes, out);
            }
        }
        TextKind::Unknown => {
            if !(bytes.iter().all(|b| (0x20..0x7f).contains(b)) && push_quoted(ascii(bytes), out)) {
                push_hex(bytes, out);
            }
        }
    }
}

/// `push_text` of text already known to be UTF-8: the same literal, without validating it
/// again.
fn push_text_str(s: &str, collation: Option<u16>, out: &mut String) {
    match text_kind(collation) {
        TextKind::Utf8(cs) => {
            if !push_quoted(s, out) {
                push_utf8_hex(cs, s.as_bytes(), out);
            }
        }
        _ => push_text(s.as_bytes(), collation, out),
    }
}

/// UTF-8 text that cannot be quoted safely: hex with its character set introducer.
fn push_utf8_hex(charset: &str, bytes: &[u8], out: &mut String) {
    out.push_str(if charset == "utf8mb3" {
        "_utf8"
    } else {
        "_utf8mb4"
    });
    out.push(' ');
    push_hex(bytes, out);
}

fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("")
}

fn push_date(d: &Date, out: &mut String) {
    // "{:04}-{:02}-{:02}"
    push_padded(u64::from(d.year), 4, out);
    out.push('-');
    push_2(u64::from(d.month), out);
    out.push('-');
    push_2(u64::from(d.day), out);
}

fn push_time(t: &Time, out: &mut String) {
    if t.negative {
        out.push('-');
    }
    push_hms(
        u64::from(t.hours),
        u64::from(t.minutes),
        u64::from(t.seconds),
        out,
    );
    push_fraction(t.micros, t.fsp, out);
}

/// "{:02}:{:02}:{:02}"
fn push_hms(h: u64, m: u64, s: u64, out: &mut String) {
    push_2(h, out);
    out.push(':');
    push_2(m, out);
    out.push(':');
    push_2(s, out);
}

fn push_fraction(micros: u32, fsp: u8, out: &mut String) {
    // The decoders clamp fsp to 6; clamp again so no caller can underflow the power.
    let fsp = fsp.min(6);
    if fsp > 0 {
        let v = micros / 10u32.pow(6 - u32::from(fsp));
        out.push('.');
        push_padded(u64::from(v), fsp as usize, out);
    }
}

/// Appends a UTC timestamp as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (0 is the zero date).
pub fn push_timestamp(seconds: u32, micros: u32, fsp: u8, out: &mut String) {
    if seconds == 0 && micros == 0 {
        out.push_str("0000-00-00 00:00:00");
        push_fraction(0, fsp, out);
        return;
    }
    let days = seconds as i64 / 86_400;
    let rem = seconds as i64 % 86_400;
    let (y, m, d) = civil_from_days(days);
    // From a u32 of seconds: the year is 1970..=2106 and every field is positive.
    push_padded(y.unsigned_abs(), 4, out);
    out.push('-');
    push_2(u64::from(m), out);
    out.push('-');
    push_2(u64::from(d), out);
    out.push(' ');
    let rem = rem.unsigned_abs();
    push_hms(rem / 3600, rem / 60 % 60, rem % 60, out);
    push_fraction(micros, fsp, out);
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Appends the SQL literal of a value of `col`.
pub fn push_sql_value(v: &Value, col: &Column, out: &mut String) {
    match *v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => push_i64(i, out),
        Value::UInt(u) | Value::Bit(u) => push_u64(u, out),
        // The f32 widened to f64 is exact: equal to the column in comparisons, and it
        // narrows back to the same float on insert.
        Value::Float(f) => push_double(f as f64, out),
        Value::Double(d) => push_double(d, out),
        Value::Decimal(b, p, s) => decimal_to_string(b, p, s, out),
        Value::Year(y) => push_u64(u64::from(y), out),
        Value::Date(d) => {
            out.push('\'');
            push_date(&d, out);
            out.push('\'');
        }
        Value::Time(t) => {
            out.push('\'');
            push_time(&t, out);
            out.push('\'');
        }
        Value::DateTime(d, t) => {
            out.push('\'');
            push_date(&d, out);
            out.push(' ');
            push_time(&t, out);
            out.push('\'');
        }
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => {
            out.push('\'');
            push_timestamp(seconds, micros, fsp, out);
            out.push('\'');
        }
        Value::Enum(i) => push_enum(i, col, out),
        Value::Set(bits) => push_set(bits, col, out),
        Value::Bytes(b) => push_bytes(b, col, out),
        Value::Json(b) => with_scratch(|text| match jsonb_to_text(b, text) {
            Ok(()) => {
                out.push_str("CAST(");
                push_text_str(text, Some(255), out);
                out.push_str(" AS JSON)");
            }
            Err(_) => push_hex(b, out),
        }),
        Value::JsonDiff(b) => push_hex(b, out),
        Value::Geometry(b) | Value::Vector(b) => push_hex(b, out),
    }
}

thread_local! {
    /// The JSON text of one value before it is quoted: one buffer per rendering thread
    /// instead of one allocation per JSON value.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on an empty scratch String (a fresh one if the thread's is in use).
fn with_scratch<R>(f: impl FnOnce(&mut String) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            s.clear();
            let r = f(&mut s);
            if s.capacity() > 1 << 20 {
                // One huge document must not pin its buffer for the rest of the run.
                *s = String::new();
            }
            r
        }
        Err(_) => f(&mut String::new()),
    })
}

fn push_double(d: f64, out: &mut String) {
    if d.is_finite() {
        let _ = write!(out, "{d:e}");
    } else {
        out.push_str("NULL");
    }
}

fn push_bytes(b: &[u8], col: &Column, out: &mut String) {
    // BINARY(n) is logged without its trailing zero padding; restore it for exact matches.
    if col.type_code == ty::STRING && col.collation == Some(63) && b.len() < col.meta as usize {
        let mut padded = b.to_vec();
        padded.resize(col.meta as usize, 0);
        return push_hex(&padded, out);
    }
    push_text(b, col.collation, out)
}

fn push_enum(i: u16, col: &Column, out: &mut String) {
    match col
        .enum_values
        .as_ref()
        .and_then(|v| v.get((i as usize).wrapping_sub(1)))
    {
        Some(name) => push_text_str(name, Some(255), out),
        None => push_u64(u64::from(i), out),
    }
}

fn push_set(bits: u64, col: &Column, out: &mut String) {
    let Some(names) = col.set_values.as_ref() else {
        let _ = write!(out, "{bits}");
        return;
    };
    let mut s = String::new();
    for (k, name) in names.iter().enumerate().take(64) {
        if bits & (1 << k) != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(name);
        }
    }
    push_text(s.as_bytes(), Some(255), out);
}

/// Appends a value as JSON for `--format json` (numbers stay numbers; binary is hex).
pub fn push_json_value(v: &Value, col: &Column, out: &mut String) {
    match *v {
        Value::Null => out.push_str("null"),
        Value::Int(_) | Value::UInt(_) | Value::Bit(_) | Value::Year(_) => {
            push_sql_value(v, col, out)
        }
        Value::Float(f) if f.is_finite() => {
            let _ = write!(out, "{}", f as f64);
        }
        Value::Double(d) if d.is_finite() => {
            let _ = write!(out, "{d}");
        }
        Value::Json(b) => {
            if jsonb_to_text(b, out).is_err() {
                out.push_str("null");
            }
        }
        Value::Bytes(b) if !matches!(text_kind(col.collation), TextKind::Binary) => {
            match std::str::from_utf8(b) {
                Ok(s) => write_json_string(s, out),
                Err(_) => json_hex(b, out),
            }
        }
        Value::Bytes(b) | Value::Geometry(b) | Value::Vector(b) | Value::JsonDiff(b) => {
            json_hex(b, out)
        }
        Value::Enum(i) => match col
            .enum_values
            .as_ref()
            .and_then(|v| v.get((i as usize).wrapping_sub(1)))
        {
            Some(name) => write_json_string(name, out),
            None => {
                let _ = write!(out, "{i}");
            }
        },
        Value::Set(bits) if col.set_values.is_some() => {
            let names = col.set_values.as_deref().map_or(&[][..], |v| v.as_slice());
            let picked: Vec<&str> = (0..names.len().min(64))
                .filter(|k| bits & (1 << k) != 0)
                .map(|k| names[k].as_str())
                .collect();
            write_json_string(&picked.join(","), out);
        }
        _ => {
            let mut s = String::new();
            push_sql_value(v, col, &mut s);
            let trimmed = s.trim_matches('\'');
            write_json_string(trimmed, out);
        }
    }
}

fn json_hex(b: &[u8], out: &mut String) {
    let mut s = String::with_capacity(b.len() * 2 + 3);
    push_hex(b, &mut s);
    write_json_string(&s, out);
}

/// Forward SQL for a partial JSON update: JSON_REPLACE/INSERT/REMOVE over the column.
pub fn push_json_diff(column: &str, diff: &[u8], out: &mut String) {
    let Ok(diffs) = parse_json_diffs(diff) else {
        out.push_str("NULL /* undecodable JSON diff */");
        return;
    };
    let mut expr = String::new();
    push_ident(column, &mut expr);
    for d in diffs {
        let func = match d.op {
            JsonDiffOp::Replace => "JSON_REPLACE",
            JsonDiffOp::Insert if d.path.ends_with(']') => "JSON_ARRAY_INSERT",
            JsonDiffOp::Insert => "JSON_INSERT",
            JsonDiffOp::Remove => "JSON_REMOVE",
        };
        let mut next = format!("{func}({expr}, ");
        push_text(d.path.as_bytes(), Some(255), &mut next);
        if let Some(v) = d.value {
            next.push_str(", CAST(");
            push_text(v.as_bytes(), Some(255), &mut next);
            next.push_str(" AS JSON)");
        }
        next.push(')');
        expr = next;
    }
    out.push_str(&expr);
}

/// A table's quoted name and its columns' (as `push_table` and `push_ident` write them),
/// made once per table map instead of once per row.
pub(crate) struct QuotedNames {
    pub table: String,
    columns: String,
    /// End of each column's name in `columns`.
    ends: Vec<usize>,
}

impl QuotedNames {
    pub fn new(t: &TableMap) -> QuotedNames {
        let mut table = String::new();
        push_table(t, &mut table);
        let mut columns = String::new();
        let ends = (0..t.columns.len())
            .map(|i| {
                push_ident(&t.column_name(i), &mut columns);
                columns.len()
            })
            .collect();
        QuotedNames {
            table,
            columns,
            ends,
        }
    }

    /// Appends column `i`'s quoted name.
    pub fn push_column(&self, t: &TableMap, i: usize, out: &mut String) {
        match self.ends.get(i) {
            Some(&end) => {
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                out.push_str(&self.columns[start..end]);
            }
            None => push_ident(&t.column_name(i), out),
        }
    }
}

pub(crate) fn is_generated(t: &TableMap, i: usize) -> bool {
    t.columns.get(i).is_some_and(|c| c.generated.is_some())
}

/// `a = 1 AND b = 'x'` on the primary key (when `use_pk` and the image has it), else
/// `<=>` on every logged column except JSON diffs and VIRTUAL columns: those are
/// recomputed in the reading session (time zone and all), so the logged value may not
/// match; the base columns they derive from are compared anyway.
pub(crate) fn push_conditions(
    t: &TableMap,
    names: &QuotedNames,
    image: &Image,
    use_pk: bool,
    out: &mut String,
) {
    let use_pk = use_pk
        && t.primary_key
            .iter()
            .all(|&i| matches!(image.get(i), Some(Some(_))));
    let mut first = true;
    let mut cond = |i: usize, v: &Value, out: &mut String| {
        if !first {
            out.push_str(" AND ");
        }
        first = false;
        names.push_column(t, i, out);
        out.push_str(if matches!(v, Value::Null) || !use_pk {
            " <=> "
        } else {
            " = "
        });
        push_sql_value(v, &t.columns[i], out);
    };
    if use_pk {
        for &i in &t.primary_key {
            if let Some(Some(v)) = image.get(i) {
                cond(i, v, out);
            }
        }
    } else {
        for (i, v) in image.iter().enumerate() {
            let virtual_col =
                t.columns.get(i).and_then(|c| c.generated) == Some(Generated::Virtual);
            match v {
                Some(Value::JsonDiff(_)) | None => {}
                Some(_) if virtual_col => {}
                Some(v) => cond(i, v, out),
            }
        }
    }
    if first {
        out.push_str("TRUE");
    }
}

pub(crate) fn push_table(t: &TableMap, out: &mut String) {
    push_ident(&t.schema, out);
    out.push('.');
    push_ident(&t.table, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(type_code: u8, collation: Option<u16>) -> Column {
        Column {
            type_code,
            meta: 4,
            nullable: true,
            unsigned: false,
            collation,
            name: None,
            enum_values: None,
            set_values: None,
            generated: None,
        }
    }

    fn sql(v: Value, c: &Column) -> String {
        let mut s = String::new();
        push_sql_value(&v, c, &mut s);
        s
    }

    #[test]
    fn text_literals_by_charset() {
        let c = col(ty::VARCHAR, Some(255));
        assert_eq!(sql(Value::Bytes("it's é".as_bytes()), &c), "'it''s é'");
        assert_eq!(sql(Value::Bytes(b"a\\b"), &c), "_utf8mb4 X'615C62'");
        assert_eq!(
            sql(Value::Bytes(b"\xe9"), &col(ty::VARCHAR, Some(8))),
            "_latin1 X'E9'"
        );
        assert_eq!(
            sql(Value::Bytes(b"\x00\x01"), &col(ty::BLOB, Some(63))),
            "X'0001'"
        );
        assert_eq!(
            sql(Value::Bytes(b"\xc3\xa9"), &col(ty::VARCHAR, None)),
            "X'C3A9'"
        );
        let mut bin = col(ty::STRING, Some(63));
        bin.meta = 3;
        assert_eq!(sql(Value::Bytes(b"a"), &bin), "X'610000'");
    }

    #[test]
    fn floats_round_trip_and_idents() {
        let c = col(ty::DOUBLE, None);
        let s = sql(Value::Double(0.1), &c);
        assert_eq!(s.parse::<f64>().unwrap(), 0.1);
        let f = sql(Value::Float(0.1f32), &col(ty::FLOAT, None));
        assert_eq!(f.parse::<f64>().unwrap() as f32, 0.1f32);
        assert_eq!(f.parse::<f64>().unwrap(), 0.1f32 as f64);
        let mut id = String::new();
        push_ident("we`ird name", &mut id);
        assert_eq!(id, "`we``ird name`");
    }

    #[test]
    fn json_values_of_enums_keep_quotes_single() {
        let mut c = col(ty::ENUM, None);
        c.enum_values = Some(std::sync::Arc::new(vec!["it's".to_string()]));
        let mut s = String::new();
        push_json_value(&Value::Enum(1), &c, &mut s);
        assert_eq!(s, r#""it's""#);
        let mut c = col(ty::SET, None);
        c.set_values = Some(std::sync::Arc::new(vec![
            "a".into(),
            "b".into(),
            "c".into(),
        ]));
        s.clear();
        push_json_value(&Value::Set(0b101), &c, &mut s);
        assert_eq!(s, r#""a,c""#);
    }

    #[test]
    fn quotes_and_backticks_anywhere() {
        let c = col(ty::VARCHAR, Some(255));
        for (text, want) in [
            ("", "''"),
            ("'", "''''"),
            ("''x'", "'''''x'''"),
            ("é'é", "'é''é'"),
        ] {
            assert_eq!(sql(Value::Bytes(text.as_bytes()), &c), want);
        }
        for (name, want) in [("`", "````"), ("a``b`", "`a````b```"), ("ü", "`ü`")] {
            let mut id = String::new();
            push_ident(name, &mut id);
            assert_eq!(id, want);
        }
    }

    #[test]
    fn temporal_literals_match_the_format_spelling() {
        let c = col(ty::DATETIME2, None);
        for (year, month, day) in [
            (0, 0, 0),
            (7, 1, 2),
            (2026, 12, 31),
            (9999, 15, 31),
            (65535, 99, 99),
        ] {
            for (negative, hours, minutes, seconds, micros, fsp) in [
                (false, 0, 0, 0, 0, 0),
                (true, 838, 59, 59, 999_999, 6),
                (false, 5, 6, 7, 123_000, 3),
                (true, 1023, 63, 63, 16_777_215, 1),
                (false, 100, 99, 9, 5, 6),
            ] {
                let d = Date { year, month, day };
                let t = Time {
                    negative,
                    hours,
                    minutes,
                    seconds,
                    micros,
                    fsp,
                };
                let frac = if fsp > 0 {
                    let v = micros / 10u32.pow(6 - u32::from(fsp));
                    format!(".{:0w$}", v, w = fsp as usize)
                } else {
                    String::new()
                };
                let sign = if negative { "-" } else { "" };
                let time = format!("{sign}{hours:02}:{minutes:02}:{seconds:02}{frac}");
                let date = format!("{year:04}-{month:02}-{day:02}");
                assert_eq!(sql(Value::Date(d), &c), format!("'{date}'"));
                assert_eq!(sql(Value::Time(t), &c), format!("'{time}'"));
                assert_eq!(sql(Value::DateTime(d, t), &c), format!("'{date} {time}'"));
            }
        }
        assert_eq!(sql(Value::Int(i64::MIN), &c), i64::MIN.to_string());
        assert_eq!(sql(Value::UInt(u64::MAX), &c), u64::MAX.to_string());
        assert_eq!(sql(Value::Year(0), &c), "0");
        let mut s = String::new();
        push_timestamp(u32::MAX, 999_999, 6, &mut s);
        assert_eq!(s, "2106-02-07 06:28:15.999999");
        s.clear();
        push_timestamp(0, 0, 2, &mut s);
        assert_eq!(s, "0000-00-00 00:00:00.00");
    }

    #[test]
    fn known_utf8_text_renders_like_bytes() {
        for text in [
            "",
            "plain",
            "it's",
            "a\\b",
            "nul\0",
            "^Z\x1a",
            "é'ü",
            "{\"k\": \"v\\n\"}",
        ] {
            for collation in [Some(255), Some(33), Some(11), Some(8), Some(63), None] {
                let (mut a, mut b) = (String::new(), String::new());
                push_text(text.as_bytes(), collation, &mut a);
                push_text_str(text, collation, &mut b);
                assert_eq!(a, b, "{text:?} {collation:?}");
            }
        }
    }

    #[test]
    fn timestamps_in_utc() {
        let mut s = String::new();
        push_timestamp(1_650_493_084, 0, 0, &mut s);
        assert_eq!(s, "2022-04-20 22:18:04");
        s.clear();
        push_timestamp(951_782_400, 120_000, 3, &mut s);
        assert_eq!(s, "2000-02-29 00:00:00.120");
    }
}
