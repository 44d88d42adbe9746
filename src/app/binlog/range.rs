//! The Binlog pane's range form (`R` on the transaction list): commit time from/to and a start
//! position range, asked one field at a time and checked as typed. It writes the same `from:`,
//! `to:` and `pos:` words the `/` filter understands, replacing earlier ones and keeping the rest.

use chrono::{NaiveDateTime, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeField {
    From,
    To,
    Positions,
}

impl RangeField {
    pub fn label(self) -> &'static str {
        match self {
            RangeField::From => {
                "range 1/3 · committed from (UTC HH:MM or YYYY-MM-DD HH:MM, empty = any): "
            }
            RangeField::To => {
                "range 2/3 · committed until (UTC HH:MM or YYYY-MM-DD HH:MM, empty = any): "
            }
            RangeField::Positions => "range 3/3 · start position N-M (N-, -M; empty = any): ",
        }
    }

    pub fn next(self) -> Option<RangeField> {
        match self {
            RangeField::From => Some(RangeField::To),
            RangeField::To => Some(RangeField::Positions),
            RangeField::Positions => None,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            RangeField::From => "from:",
            RangeField::To => "to:",
            RangeField::Positions => "pos:",
        }
    }
}

/// The filter word one field's answer stands for (`None`: no bound), or what is wrong with it.
pub fn range_word(field: RangeField, text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match field {
        RangeField::From | RangeField::To => {
            let joined = text.replace(['T', 't'], " ");
            let full = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
                .iter()
                .any(|f| NaiveDateTime::parse_from_str(&joined, f).is_ok());
            let bare = ["%H:%M:%S", "%H:%M"]
                .iter()
                .any(|f| NaiveTime::parse_from_str(&joined, f).is_ok());
            if !(full || bare) {
                return Err(format!(
                    "`{text}` is not a UTC time: use HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS]"
                ));
            }
            Ok(Some(format!(
                "{}{}",
                field.prefix(),
                joined.replace(' ', "T")
            )))
        }
        RangeField::Positions => {
            let (lo, hi) = text.split_once('-').unwrap_or((text, text));
            let number = |s: &str, default: u64| -> Result<u64, String> {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(default);
                }
                s.parse()
                    .map_err(|_| format!("`{s}` is not a byte position"))
            };
            let (lo, hi) = (number(lo, 0)?, number(hi, u64::MAX)?);
            if lo > hi {
                return Err(format!(
                    "the range {lo}-{hi} is empty: the first position must come first"
                ));
            }
            let hi_text = if hi == u64::MAX {
                String::new()
            } else {
                hi.to_string()
            };
            Ok(Some(format!("pos:{lo}-{hi_text}")))
        }
    }
}

/// The answer a field had last time, read back from the filter, to prefill the form.
pub fn current(filter: &str, field: RangeField) -> String {
    let word = filter
        .split_whitespace()
        .find_map(|w| w.strip_prefix(field.prefix()));
    match (field, word) {
        (_, None) => String::new(),
        (RangeField::Positions, Some(w)) => w.to_string(),
        (_, Some(w)) => w.replace(['T', 't'], " "),
    }
}

/// `filter` with its range words replaced by `words`; other words keep their order.
pub fn with_range(filter: &str, words: &[String]) -> String {
    let is_range = |w: &&str| ["from:", "to:", "pos:"].iter().any(|p| w.starts_with(p));
    let mut out: Vec<&str> = filter.split_whitespace().filter(|w| !is_range(w)).collect();
    out.extend(words.iter().map(String::as_str));
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_filter_words() {
        assert_eq!(
            range_word(RangeField::From, "10:05").unwrap(),
            Some("from:10:05".into())
        );
        assert_eq!(
            range_word(RangeField::To, "2026-11-25 10:15:30").unwrap(),
            Some("to:2026-11-25T10:15:30".into())
        );
        assert_eq!(range_word(RangeField::From, "  ").unwrap(), None);
        let err = range_word(RangeField::From, "ten past").unwrap_err();
        assert!(err.contains("ten past"), "{err}");
        assert!(range_word(RangeField::To, "25:00").is_err());
    }

    #[test]
    fn positions_are_checked() {
        assert_eq!(
            range_word(RangeField::Positions, "4-900").unwrap(),
            Some("pos:4-900".into())
        );
        assert_eq!(
            range_word(RangeField::Positions, "1200-").unwrap(),
            Some("pos:1200-".into())
        );
        assert_eq!(
            range_word(RangeField::Positions, "-77").unwrap(),
            Some("pos:0-77".into())
        );
        assert!(range_word(RangeField::Positions, "9-3")
            .unwrap_err()
            .contains("empty"));
        assert!(range_word(RangeField::Positions, "x-3")
            .unwrap_err()
            .contains("`x`"));
    }

    #[test]
    fn range_words_replace_earlier_ones_and_keep_the_rest() {
        let words = vec!["from:10:00".to_string(), "pos:4-".to_string()];
        assert_eq!(
            with_range("orders from:09:00 delete to:11:00", &words),
            "orders delete from:10:00 pos:4-"
        );
        assert_eq!(with_range("", &[]), "");
        assert_eq!(
            current("orders from:2026-11-25t10:00 pos:4-9", RangeField::From),
            "2026-11-25 10:00"
        );
        assert_eq!(
            current("orders from:10:00 pos:4-9", RangeField::Positions),
            "4-9"
        );
        assert_eq!(current("orders", RangeField::To), "");
    }
}
