//! Collation ids to character set names: decides how text bytes become SQL literals.

/// How a column's bytes should be written in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// utf8mb4 / utf8mb3 / ascii: a quoted literal when the bytes are valid UTF-8.
    Utf8(&'static str),
    /// The binary pseudo charset: always a hex literal.
    Binary,
    /// Another character set: a hex literal with its introducer, e.g. `_latin1 X'E9'`.
    Other(&'static str),
    /// Unknown collation: plain ASCII is quoted, anything else is a bare hex literal.
    Unknown,
}

/// Character set of a MySQL/MariaDB collation id.
pub fn charset_of(collation: u16) -> Option<&'static str> {
    // MariaDB's NOPAD variants are the base id + 1024.
    let id = if (1024..2048).contains(&collation) {
        collation - 1024
    } else {
        collation
    };
    Some(match id {
        45 | 46 | 224..=247 | 255..=323 => "utf8mb4",
        33 | 76 | 83 | 192..=215 | 223 => "utf8mb3",
        63 => "binary",
        5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 => "latin1",
        11 | 65 => "ascii",
        2 | 9 | 21 | 27 | 77 => "latin2",
        7 | 74 => "koi8r",
        22 | 75 => "koi8u",
        14 | 23 | 50 | 51 | 52 => "cp1251",
        26 | 34 | 44 | 66 | 99 => "cp1250",
        57 | 67 => "cp1256",
        29 | 58 | 59 => "cp1257",
        25 | 70 => "greek",
        16 | 71 => "hebrew",
        30 | 78 => "latin5",
        20 | 41 | 42 | 79 => "latin7",
        1 | 84 => "big5",
        28 | 87 => "gbk",
        24 | 86 => "gb2312",
        248..=250 => "gb18030",
        13 | 88 => "sjis",
        12 | 91 => "ujis",
        95 | 96 => "cp932",
        97 | 98 => "eucjpms",
        19 | 85 => "euckr",
        18 | 89 => "tis620",
        35 | 90 | 128..=151 | 159 => "ucs2",
        54 | 55 | 101..=124 => "utf16",
        56 | 62 => "utf16le",
        60 | 61 | 160..=183 => "utf32",
        4 | 80 => "cp850",
        40 | 81 => "cp852",
        36 | 68 => "cp866",
        3 | 69 => "dec8",
        6 | 72 => "hp8",
        10 | 82 => "swe7",
        32 | 64 => "armscii8",
        37 | 73 => "keybcs2",
        38 | 43 => "macce",
        39 | 53 => "macroman",
        92 | 93 => "geostd8",
        _ => return None,
    })
}

pub fn text_kind(collation: Option<u16>) -> TextKind {
    match collation.and_then(charset_of) {
        Some(cs @ ("utf8mb4" | "utf8mb3" | "ascii")) => TextKind::Utf8(cs),
        Some("binary") => TextKind::Binary,
        Some(cs) => TextKind::Other(cs),
        None => TextKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_collations() {
        assert_eq!(text_kind(Some(255)), TextKind::Utf8("utf8mb4"));
        assert_eq!(text_kind(Some(45)), TextKind::Utf8("utf8mb4"));
        assert_eq!(text_kind(Some(1069)), TextKind::Utf8("utf8mb4"));
        assert_eq!(text_kind(Some(63)), TextKind::Binary);
        assert_eq!(text_kind(Some(8)), TextKind::Other("latin1"));
        assert_eq!(text_kind(None), TextKind::Unknown);
        assert_eq!(text_kind(Some(4000)), TextKind::Unknown);
    }
}
