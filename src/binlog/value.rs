//! Column values: decoding one value of a row image according to its table-map column.
//! Values borrow the event bytes; nothing here allocates.

use crate::cursor::{be_uint, le_uint, Cursor};
use crate::digits::push_padded;
use crate::error::{DResult, DecodeError};
use crate::tablemap::{ty, Column};

/// One decoded column value (borrowing the event).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// Binary DECIMAL with its precision and scale; rendered on demand.
    Decimal(&'a [u8], u8, u8),
    Date(Date),
    Time(Time),
    DateTime(Date, Time),
    /// Seconds since the epoch (UTC) and microseconds.
    Timestamp {
        seconds: u32,
        micros: u32,
        fsp: u8,
    },
    Year(u16),
    Bit(u64),
    Enum(u16),
    Set(u64),
    /// CHAR/VARCHAR/TEXT/BLOB/BINARY bytes, interpreted by the column's collation.
    Bytes(&'a [u8]),
    /// MySQL binary JSON.
    Json(&'a [u8]),
    /// MySQL partial JSON update (a list of diffs against the before image).
    JsonDiff(&'a [u8]),
    Geometry(&'a [u8]),
    Vector(&'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A time of day or a duration (TIME may be negative and exceed 24 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Time {
    pub negative: bool,
    pub hours: u32,
    pub minutes: u8,
    pub seconds: u8,
    pub micros: u32,
    pub fsp: u8,
}

/// Decodes the value of `col` at the cursor; `partial_json` marks a JSON diff.
// Inlined into its one caller: returned through memory, the value cost a store-forwarding
// stall per column (measured: most of the row reader's time).
#[inline(always)]
pub fn decode_value<'a>(
    col: &Column,
    c: &mut Cursor<'a>,
    partial_json: bool,
) -> DResult<Value<'a>> {
    use ty::*;
    let unsigned = col.unsigned;
    let int = |c: &mut Cursor<'a>, n: usize| -> DResult<Value<'a>> {
        let v = c.uint_le(n, "integer")?;
        Ok(if unsigned {
            Value::UInt(v)
        } else {
            let shift = 64 - 8 * n as u32;
            Value::Int(((v << shift) as i64) >> shift)
        })
    };
    Ok(match col.type_code {
        TINY => int(c, 1)?,
        SHORT => int(c, 2)?,
        INT24 => int(c, 3)?,
        LONG => int(c, 4)?,
        LONGLONG => int(c, 8)?,
        FLOAT => Value::Float(f32::from_bits(c.u32("float")?)),
        DOUBLE => Value::Double(f64::from_bits(c.u64("double")?)),
        NEWDECIMAL => {
            let (p, s) = ((col.meta >> 8) as u8, col.meta as u8);
            Value::Decimal(c.take(decimal_size(p, s)?, "decimal")?, p, s)
        }
        YEAR => {
            let y = c.u8("year")? as u16;
            Value::Year(if y == 0 { 0 } else { 1900 + y })
        }
        DATE | NEWDATE => Value::Date(date_from_packed(c.uint_le(3, "date")? as u32)),
        TIME => Value::Time(time_from_old(c.uint_le(3, "time")?)),
        DATETIME => old_datetime(c.u64("datetime")?),
        TIMESTAMP => Value::Timestamp {
            seconds: c.u32("timestamp")?,
            micros: 0,
            fsp: 0,
        },
        TIMESTAMP2 => {
            let seconds = be_uint(c.take(4, "timestamp2")?) as u32;
            let fsp = (col.meta as u8).min(6);
            let micros = read_fraction(c, fsp)?;
            Value::Timestamp {
                seconds,
                micros,
                fsp,
            }
        }
        DATETIME2 => datetime2(c, (col.meta as u8).min(6))?,
        TIME2 => Value::Time(time2(c, (col.meta as u8).min(6))?),
        BIT => {
            let n = (col.meta >> 8) as usize + usize::from(col.meta & 0xff != 0);
            Value::Bit(be_uint(c.take(n.min(8), "bit")?))
        }
        VARCHAR | VAR_STRING => {
            let n = if col.meta < 256 { 1 } else { 2 };
            let len = c.uint_le(n, "varchar length")? as usize;
            Value::Bytes(c.take(len, "varchar")?)
        }
        STRING => {
            let n = if col.meta < 256 { 1 } else { 2 };
            let len = c.uint_le(n, "char length")? as usize;
            Value::Bytes(c.take(len, "char")?)
        }
        ENUM => Value::Enum(c.uint_le((col.meta as usize).clamp(1, 2), "enum")? as u16),
        SET => Value::Set(c.uint_le((col.meta as usize).clamp(1, 8), "set")?),
        BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | JSON | GEOMETRY | VECTOR => {
            let n = col.meta as usize;
            if !(1..=4).contains(&n) {
                return Err(DecodeError(format!("blob length size {n} invalid")));
            }
            let len = c.uint_le(n, "blob length")? as usize;
            let data = c.take(len, "blob")?;
            match col.type_code {
                JSON if partial_json => Value::JsonDiff(data),
                JSON => Value::Json(data),
                GEOMETRY => Value::Geometry(data),
                VECTOR => Value::Vector(data),
                _ => Value::Bytes(data),
            }
        }
        NULL => Value::Null,
        other => return Err(DecodeError(format!("cannot decode column type {other}"))),
    })
}

/// How many bytes a value of a column takes in a row image, known without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueWidth {
    Fixed(usize),
    /// A little-endian length of this many bytes, then that many bytes.
    Prefixed(usize),
    /// `decode_value` refuses the column.
    Undecodable,
}

/// The width `decode_value` reads for `col`: where it succeeds, it consumes exactly this.
pub fn value_width(col: &Column) -> ValueWidth {
    use ty::*;
    use ValueWidth::{Fixed, Prefixed, Undecodable};
    let fsp_bytes = |meta: u16| ((meta as u8).min(6) as usize).div_ceil(2);
    match col.type_code {
        TINY | YEAR => Fixed(1),
        SHORT => Fixed(2),
        INT24 | DATE | NEWDATE | TIME => Fixed(3),
        LONG | FLOAT | TIMESTAMP => Fixed(4),
        LONGLONG | DOUBLE | DATETIME => Fixed(8),
        NEWDECIMAL => match decimal_size((col.meta >> 8) as u8, col.meta as u8) {
            Ok(n) => Fixed(n),
            Err(_) => Undecodable,
        },
        TIMESTAMP2 => Fixed(4 + fsp_bytes(col.meta)),
        DATETIME2 => Fixed(5 + fsp_bytes(col.meta)),
        TIME2 => Fixed(match (col.meta as u8).min(6) {
            0 => 3,
            1 | 2 => 4,
            3 | 4 => 5,
            _ => 6,
        }),
        BIT => Fixed(((col.meta >> 8) as usize + usize::from(col.meta & 0xff != 0)).min(8)),
        VARCHAR | VAR_STRING | STRING => Prefixed(if col.meta < 256 { 1 } else { 2 }),
        ENUM => Fixed((col.meta as usize).clamp(1, 2)),
        SET => Fixed((col.meta as usize).clamp(1, 8)),
        BLOB | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | JSON | GEOMETRY | VECTOR => {
            match col.meta as usize {
                n @ 1..=4 => Prefixed(n),
                _ => Undecodable,
            }
        }
        NULL => Fixed(0),
        _ => Undecodable,
    }
}

/// Size in bytes of a binary DECIMAL(p, s).
pub fn decimal_size(precision: u8, scale: u8) -> DResult<usize> {
    const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    if scale > precision || precision > 65 {
        return Err(DecodeError(format!("invalid DECIMAL({precision},{scale})")));
    }
    let intg = (precision - scale) as usize;
    let frac = scale as usize;
    Ok(intg / 9 * 4 + DIG2BYTES[intg % 9] + frac / 9 * 4 + DIG2BYTES[frac % 9])
}

/// Appends the decimal text of a binary DECIMAL (no exponent, exact).
pub fn decimal_to_string(bytes: &[u8], precision: u8, scale: u8, out: &mut String) {
    const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
    let intg = (precision.saturating_sub(scale)) as usize;
    let frac = scale as usize;
    let data = &bytes[..bytes.len().min(40)];
    // The sign bit is stored flipped; a negative number is stored with every bit inverted.
    let negative = data.first().is_none_or(|b| b & 0x80 == 0);
    let mask = if negative { 0xff } else { 0 };
    let mut pos = 0;
    // Big-endian groups; reads past the data (malformed JSON opaque decimals) yield what is
    // left of the group, then zeros, never a panic.
    let mut take = |len: usize| {
        let end = (pos + len).min(data.len());
        let mut v = 0u64;
        for (i, &b) in data.iter().enumerate().take(end).skip(pos) {
            let b = if i == 0 { b ^ mask ^ 0x80 } else { b ^ mask };
            v = (v << 8) | u64::from(b);
        }
        pos += len;
        v
    };
    if negative {
        out.push('-');
    }
    // The integer part without leading zeros: groups before the first non-zero one are
    // skipped, that one is written as is, the rest with their 9 digits.
    let mut started = false;
    let mut group = |v: u64, out: &mut String| {
        if started {
            push_padded(v, 9, out);
        } else if v != 0 {
            push_padded(v, 0, out);
            started = true;
        }
    };
    let lead = intg % 9;
    if lead > 0 {
        group(take(DIG2BYTES[lead]), out);
    }
    for _ in 0..intg / 9 {
        group(take(4), out);
    }
    if !started {
        out.push('0');
    }
    if frac > 0 {
        out.push('.');
        for _ in 0..frac / 9 {
            push_padded(take(4), 9, out);
        }
        let tail = frac % 9;
        if tail > 0 {
            let v = take(DIG2BYTES[tail]);
            push_padded(v, tail, out);
        }
    }
}

fn date_from_packed(v: u32) -> Date {
    Date {
        year: (v >> 9) as u16,
        month: ((v >> 5) & 15) as u8,
        day: (v & 31) as u8,
    }
}

fn time_from_old(raw: u64) -> Time {
    let v = ((raw << 40) as i64) >> 40;
    let a = v.unsigned_abs();
    Time {
        negative: v < 0,
        hours: (a / 10000) as u32,
        minutes: (a / 100 % 100) as u8,
        seconds: (a % 100) as u8,
        micros: 0,
        fsp: 0,
    }
}

fn old_datetime(v: u64) -> Value<'static> {
    let (d, t) = (v / 1_000_000, v % 1_000_000);
    Value::DateTime(
        Date {
            year: (d / 10000) as u16,
            month: (d / 100 % 100) as u8,
            day: (d % 100) as u8,
        },
        Time {
            negative: false,
            hours: (t / 10000) as u32,
            minutes: (t / 100 % 100) as u8,
            seconds: (t % 100) as u8,
            micros: 0,
            fsp: 0,
        },
    )
}

/// Fractional seconds of the *2 temporal types, in microseconds.
fn read_fraction(c: &mut Cursor, fsp: u8) -> DResult<u32> {
    let n = (fsp as usize).div_ceil(2);
    if n == 0 {
        return Ok(0);
    }
    let v = be_uint(c.take(n, "fractional seconds")?) as u32;
    Ok(v * [1, 10000, 100, 1][n])
}

fn datetime2<'a>(c: &mut Cursor<'a>, fsp: u8) -> DResult<Value<'a>> {
    let packed = be_uint(c.take(5, "datetime2")?) as i64 - 0x80_0000_0000;
    let micros = read_fraction(c, fsp)?;
    let v = packed.unsigned_abs();
    let ymd = v >> 17;
    let ym = ymd >> 5;
    let hms = v & 0x1ffff;
    Ok(Value::DateTime(
        Date {
            year: (ym / 13) as u16,
            month: (ym % 13) as u8,
            day: (ymd & 31) as u8,
        },
        Time {
            negative: false,
            hours: (hms >> 12) as u32,
            minutes: ((hms >> 6) & 63) as u8,
            seconds: (hms & 63) as u8,
            micros,
            fsp,
        },
    ))
}

/// TIME2: a packed integer offset by 0x800000 whose fraction borrows from the seconds
/// when negative.
fn time2(c: &mut Cursor, fsp: u8) -> DResult<Time> {
    let packed: i64 = match fsp {
        0 => (be_uint(c.take(3, "time2")?) as i64 - 0x80_0000) << 24,
        1 | 2 => {
            let mut int = be_uint(c.take(3, "time2")?) as i64 - 0x80_0000;
            let mut frac = c.u8("time2 fraction")? as i64;
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x100;
            }
            (int << 24) + frac * 10000
        }
        3 | 4 => {
            let mut int = be_uint(c.take(3, "time2")?) as i64 - 0x80_0000;
            let mut frac = be_uint(c.take(2, "time2 fraction")?) as i64;
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x10000;
            }
            (int << 24) + frac * 100
        }
        _ => be_uint(c.take(6, "time2")?) as i64 - 0x8000_0000_0000,
    };
    let a = packed.unsigned_abs();
    let hms = a >> 24;
    Ok(Time {
        negative: packed < 0,
        hours: ((hms >> 12) & 0x3ff) as u32,
        minutes: ((hms >> 6) & 63) as u8,
        seconds: (hms & 63) as u8,
        micros: (a & 0xff_ffff) as u32,
        fsp,
    })
}

/// Decodes MySQL's packed datetime longlong (used by JSON opaque values).
pub fn datetime_from_packed(v: i64, fsp: u8) -> (Date, Time) {
    let a = v.unsigned_abs();
    let ymdhms = a >> 24;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms & 0x1ffff;
    (
        Date {
            year: (ym / 13) as u16,
            month: (ym % 13) as u8,
            day: (ymd & 31) as u8,
        },
        Time {
            negative: v < 0,
            hours: (hms >> 12) as u32 & 0x3ff,
            minutes: ((hms >> 6) & 63) as u8,
            seconds: (hms & 63) as u8,
            micros: (a & 0xff_ffff) as u32,
            fsp,
        },
    )
}

/// Reads a little-endian signed integer of n bytes (helper for JSON scalars).
pub fn le_int(b: &[u8]) -> i64 {
    let n = b.len().min(8) as u32;
    if n == 0 {
        return 0;
    }
    let shift = 64 - 8 * n;
    ((le_uint(b) << shift) as i64) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(type_code: u8, meta: u16, unsigned: bool) -> Column {
        Column {
            type_code,
            meta,
            nullable: true,
            unsigned,
            collation: None,
            name: None,
            enum_values: None,
            set_values: None,
            generated: None,
        }
    }

    fn dec(bytes: &[u8], p: u8, s: u8) -> String {
        let mut out = String::new();
        decimal_to_string(bytes, p, s, &mut out);
        out
    }

    #[test]
    fn decimals_from_mysql_documentation_example() {
        // DECIMAL(14,4) 1234567890.1234 per MySQL's decimal2bin description.
        let b = [0x81, 0x0d, 0xfb, 0x38, 0xd2, 0x04, 0xd2];
        assert_eq!(decimal_size(14, 4).unwrap(), 7);
        assert_eq!(dec(&b, 14, 4), "1234567890.1234");
        let neg: Vec<u8> = b.iter().map(|x| !x).collect();
        assert_eq!(dec(&neg, 14, 4), "-1234567890.1234");
        // DECIMAL(5,2) 0.05 -> int part 0, frac 05
        assert_eq!(dec(&[0x80, 0x00, 0x05], 5, 2), "0.05");
    }

    /// The formatting-machinery spelling `decimal_to_string` replaced, kept as the oracle.
    fn dec_reference(bytes: &[u8], precision: u8, scale: u8) -> String {
        use std::fmt::Write as _;
        const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
        let intg = (precision.saturating_sub(scale)) as usize;
        let frac = scale as usize;
        let mut buf = [0u8; 40];
        let n = bytes.len().min(40);
        buf[..n].copy_from_slice(&bytes[..n]);
        let negative = buf[0] & 0x80 == 0;
        buf[0] ^= 0x80;
        if negative {
            buf[..n].iter_mut().for_each(|b| *b = !*b);
        }
        let mut pos = 0;
        let mut take = |len: usize| {
            let v = buf.get(pos..(pos + len).min(n)).map_or(0, be_uint);
            pos += len;
            v
        };
        let mut digits = String::new();
        let lead = intg % 9;
        if lead > 0 {
            digits.push_str(&take(DIG2BYTES[lead]).to_string());
        }
        for _ in 0..intg / 9 {
            let _ = write!(digits, "{:09}", take(4));
        }
        let int_part = digits.trim_start_matches('0');
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(if int_part.is_empty() { "0" } else { int_part });
        if frac > 0 {
            out.push('.');
            for _ in 0..frac / 9 {
                let _ = write!(out, "{:09}", take(4));
            }
            let tail = frac % 9;
            if tail > 0 {
                let _ = write!(out, "{:0width$}", take(DIG2BYTES[tail]), width = tail);
            }
        }
        out
    }

    #[test]
    fn decimals_edge_cases() {
        // DECIMAL(10,0) 0, -0 (all ones after the sign flip), and -1.
        assert_eq!(dec(&[0x80, 0, 0, 0, 0], 10, 0), "0");
        assert_eq!(dec(&[0x7f, 0xff, 0xff, 0xff, 0xff], 10, 0), "-0");
        assert_eq!(dec(&[0x7f, 0xff, 0xff, 0xff, 0xfe], 10, 0), "-1");
        // DECIMAL(4,4) -0.0001: no integer digits at all.
        assert_eq!(dec(&[!0x80, !0x01], 4, 4), "-0.0001");
        // DECIMAL(18,9) 1.000000005: a full fraction group keeps its leading zeros.
        let b = [0x80, 0, 0, 1, 0, 0, 0, 5];
        assert_eq!(dec(&b, 18, 9), "1.000000005");
        // DECIMAL(65,30) all nines: 8 leading digits in 4 bytes, three integer groups,
        // three fraction groups, 3 trailing digits in 2 bytes.
        let mut max = Vec::new();
        max.extend_from_slice(&99_999_999u32.to_be_bytes());
        for _ in 0..6 {
            max.extend_from_slice(&999_999_999u32.to_be_bytes());
        }
        max.extend_from_slice(&999u16.to_be_bytes());
        assert_eq!(max.len(), decimal_size(65, 30).unwrap());
        max[0] |= 0x80;
        assert_eq!(
            dec(&max, 65, 30),
            format!("{}.{}", "9".repeat(35), "9".repeat(30))
        );
    }

    #[test]
    fn decimals_match_the_reference_on_any_bytes() {
        // A small xorshift: every precision/scale pair (valid or corrupt, as JSON opaque
        // values can carry), random bytes, short and empty buffers.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for p in (0..=255u8).step_by(3).chain([65, 64, 9, 10, 18, 255]) {
            for s in [0u8, 1, 2, 8, 9, 10, 30, 31, p, p.saturating_add(1), 255] {
                for len in [0usize, 1, 3, 7, 20, 40, 64] {
                    let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    // Leading zero groups of either sign, where the integer part is trimmed.
                    for zeros in [0, 1, 2, 3, 4, 5, 8, 9, 13, len] {
                        for sign in [0x80u8, 0x7f] {
                            let mut b = bytes.clone();
                            let z = zeros.min(len);
                            b[..z].fill(if sign == 0x80 { 0 } else { 0xff });
                            if let Some(first) = b.first_mut() {
                                *first = (*first & 0x7f) | (sign & 0x80);
                            }
                            assert_eq!(dec(&b, p, s), dec_reference(&b, p, s), "{b:?} {p} {s}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn value_width_agrees_with_decode_value() {
        // Every type code with metas around each boundary, over data of every length up to
        // 12 bytes: the width accepts exactly what decode_value accepts and spans what it reads.
        let metas = [
            0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 256, 257, 0x0102, 0x0800, 0x0801, 0x0a02, 0x4100,
            0x411e, 0x4200, 0xffff,
        ];
        let mut data = [0u8; 12];
        for (k, b) in data.iter_mut().enumerate() {
            *b = [
                0x03, 0x00, 0x05, 0x81, 0x02, 0x7f, 0x01, 0xff, 0x80, 0x04, 0x00, 0x10,
            ][k];
        }
        for type_code in 0..=255u8 {
            for unsigned in [false, true] {
                for &meta in &metas {
                    let c = col(type_code, meta, unsigned);
                    for len in 0..=data.len() {
                        let mut dc = Cursor::new(&data[..len]);
                        let decoded = decode_value(&c, &mut dc, false).map(|_| dc.pos());
                        let mut wc = Cursor::new(&data[..len]);
                        let skipped = match value_width(&c) {
                            ValueWidth::Fixed(n) => wc.try_take(n).map(|_| wc.pos()),
                            ValueWidth::Prefixed(n) => wc
                                .try_take(n)
                                .map(le_uint)
                                .and_then(|l| wc.try_take(usize::try_from(l).ok()?))
                                .map(|_| wc.pos()),
                            ValueWidth::Undecodable => None,
                        };
                        assert_eq!(
                            decoded.ok(),
                            skipped,
                            "type {type_code} meta {meta:#x} len {len}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn integers_signed_and_unsigned() {
        let data = [0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        let mut c = Cursor::new(&data);
        assert_eq!(
            decode_value(&col(ty::TINY, 0, false), &mut c, false).unwrap(),
            Value::Int(-1)
        );
        assert_eq!(
            decode_value(&col(ty::TINY, 0, true), &mut c, false).unwrap(),
            Value::UInt(254)
        );
        assert_eq!(
            decode_value(&col(ty::INT24, 0, false), &mut c, false).unwrap(),
            Value::Int(-1)
        );
        assert!(decode_value(&col(ty::LONG, 0, false), &mut c, false).is_err());
    }

    #[test]
    fn time2_negative_with_fraction() {
        // -00:00:01.5 with fsp 1 is stored as int part -2 and frac byte 0xce (-50 as i8)
        let int = (0x80_0000i64 - 2) as u32;
        let data = [(int >> 16) as u8, (int >> 8) as u8, int as u8, 0xce];
        let t = time2(&mut Cursor::new(&data), 1).unwrap();
        assert!(t.negative);
        assert_eq!(
            (t.hours, t.minutes, t.seconds, t.micros),
            (0, 0, 1, 500_000)
        );
        // 838:59:59 fsp 0
        let v = 0x80_0000u32 + ((838 << 12) | (59 << 6) | 59);
        let t = time2(
            &mut Cursor::new(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]),
            0,
        )
        .unwrap();
        assert_eq!(
            (t.negative, t.hours, t.minutes, t.seconds),
            (false, 838, 59, 59)
        );
    }

    #[test]
    fn datetime2_with_millis() {
        // 2021-03-04 05:06:07.123 fsp 3
        let ym = 2021u64 * 13 + 3;
        let packed = ((ym << 5 | 4) << 17) | (5 << 12) | (6 << 6) | 7;
        let v = packed + 0x80_0000_0000;
        let mut data = v.to_be_bytes()[3..].to_vec();
        data.extend_from_slice(&(1230u16).to_be_bytes());
        let got = datetime2(&mut Cursor::new(&data), 3).unwrap();
        let Value::DateTime(d, t) = got else {
            panic!("not a datetime")
        };
        assert_eq!((d.year, d.month, d.day), (2021, 3, 4));
        assert_eq!(
            (t.hours, t.minutes, t.seconds, t.micros),
            (5, 6, 7, 123_000)
        );
    }
}
