//! Decimal integers appended to a String without `core::fmt`: the renderers write millions
//! of them (keys, dates, decimals), and the formatting machinery costs more than the digits.
//! Each function writes exactly what the `format!` spelling in its comment writes.

/// `{v}` for an unsigned integer.
#[inline]
pub fn push_u64(v: u64, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// `{v}` for a signed integer.
#[inline]
pub fn push_i64(v: i64, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// `{v:0width$}` for an unsigned integer: zeros on the left up to `width` digits; a value
/// with more digits is written whole, never cut.
#[inline]
pub fn push_padded(v: u64, width: usize, out: &mut String) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(v);
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(s);
}

/// `{v:02}` for the small fields of dates and times (months, minutes...).
#[inline]
pub fn push_2(v: u64, out: &mut String) {
    if v < 100 {
        out.push(char::from(b'0' + (v / 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    } else {
        push_u64(v, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl Fn(&mut String)) -> String {
        let mut s = String::from(">");
        f(&mut s);
        s
    }

    #[test]
    fn integers_match_display_at_the_edges() {
        for v in [
            0,
            1,
            9,
            10,
            99,
            100,
            12345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(with(|s| push_u64(v, s)), format!(">{v}"));
        }
        for v in [
            0,
            -1,
            1,
            -9,
            -10,
            42,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            -1234567890,
        ] {
            assert_eq!(with(|s| push_i64(v, s)), format!(">{v}"));
        }
    }

    #[test]
    fn padded_matches_zero_padded_display() {
        for width in 0..12 {
            for v in [
                0u64,
                5,
                42,
                999,
                1000,
                123_456,
                999_999_999,
                4_294_967_295,
                u64::MAX,
            ] {
                assert_eq!(
                    with(|s| push_padded(v, width, s)),
                    format!(">{v:0width$}"),
                    "{v} width {width}"
                );
            }
        }
        for v in [0u64, 7, 10, 59, 99, 100, 838, 1023, 65535, u64::MAX] {
            assert_eq!(with(|s| push_2(v, s)), format!(">{v:02}"));
        }
    }
}
