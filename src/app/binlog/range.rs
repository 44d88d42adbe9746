//! The Binlog pane's range form (`R` on the transaction list): commit time from/to, a start
//! position range, then the row scope (schema or table, change types), asked one field at a
//! time and checked as typed. The range fields write the same `from:`, `to:` and `pos:` words
//! the `/` filter understands, replacing earlier ones and keeping the rest; the scope fields set
//! the same scope as `:scope SCHEMA[.TABLE] [insert|update|delete ...]`.

use chrono::{NaiveDateTime, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeField {
    From,
    To,
    Positions,
    /// The scope's schema or table.
    Tables,
    /// The scope's change types.
    Kinds,
}

impl RangeField {
    pub fn label(self) -> &'static str {
        match self {
            RangeField::From => {
                "range 1/5 · committed from (UTC HH:MM or YYYY-MM-DD HH:MM, empty = any): "
            }
            RangeField::To => {
                "range 2/5 · committed until (UTC HH:MM or YYYY-MM-DD HH:MM, empty = any): "
            }
            RangeField::Positions => "range 3/5 · start position N-M (N-, -M; empty = any): ",
            RangeField::Tables => "range 4/5 · rows of SCHEMA[.TABLE] (empty = every table): ",
            RangeField::Kinds => "range 5/5 · rows of types insert update delete (empty = all): ",
        }
    }

    pub fn next(self) -> Option<RangeField> {
        match self {
            RangeField::From => Some(RangeField::To),
            RangeField::To => Some(RangeField::Positions),
            RangeField::Positions => Some(RangeField::Tables),
            RangeField::Tables => Some(RangeField::Kinds),
            RangeField::Kinds => None,
        }
    }

    /// Whether the field is part of the row scope rather than a filter word.
    pub fn is_scope(self) -> bool {
        matches!(self, RangeField::Tables | RangeField::Kinds)
    }

    fn prefix(self) -> &'static str {
        match self {
            RangeField::From => "from:",
            RangeField::To => "to:",
            RangeField::Positions => "pos:",
            RangeField::Tables | RangeField::Kinds => "",
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
        RangeField::Tables => {
            let mut words = text.split_whitespace();
            let name = words.next().unwrap_or_default();
            if let Some(extra) = words.next() {
                return Err(format!(
                    "one SCHEMA or SCHEMA.TABLE, not `{name} {extra}` (types come next)"
                ));
            }
            if is_kind(name) {
                return Err(format!(
                    "`{name}` is a change type: give a schema or table here, types come next"
                ));
            }
            Ok(Some(name.to_string()))
        }
        RangeField::Kinds => {
            let mut kinds = Vec::new();
            for word in text.split_whitespace() {
                if !is_kind(word) {
                    return Err(format!(
                        "`{word}` is not a change type: use insert, update or delete"
                    ));
                }
                kinds.push(word.to_ascii_lowercase());
            }
            Ok(Some(kinds.join(" ")))
        }
    }
}

fn is_kind(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "insert" | "inserts" | "update" | "updates" | "delete" | "deletes"
    )
}

/// The row scope the two scope fields' answers make (None: every row), the way `:scope`
/// reads it: a table or schema, then change types.
pub fn scope_of(
    words: &[(RangeField, String)],
) -> Result<Option<arkc_binlog::scope::RowScope>, String> {
    let pick = |f: RangeField| {
        words
            .iter()
            .find(|(field, _)| *field == f)
            .map(|(_, w)| w.as_str())
    };
    let (tables, kinds) = (pick(RangeField::Tables), pick(RangeField::Kinds));
    let text = match (tables, kinds) {
        (None, None) => return Ok(None),
        (Some(t), None) => t.to_string(),
        (None, Some(k)) => format!("* {k}"),
        (Some(t), Some(k)) => format!("{t} {k}"),
    };
    arkc_binlog::scope::RowScope::parse(&text).map(Some)
}

/// What the scope fields held last time, from the current scope's text, to prefill them.
pub fn current_scope(scope: Option<&arkc_binlog::scope::RowScope>, field: RangeField) -> String {
    let Some(scope) = scope else {
        return String::new();
    };
    let words: Vec<&str> = scope.text().split_whitespace().collect();
    let (name, kinds): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| !is_kind(w));
    match field {
        RangeField::Tables => name
            .first()
            .filter(|n| **n != "*")
            .map_or(String::new(), |n| n.to_string()),
        RangeField::Kinds => kinds.join(" "),
        _ => String::new(),
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
    fn scope_fields_make_the_same_scope_as_the_palette() {
        let t = |text: &str| range_word(RangeField::Tables, text);
        let k = |text: &str| range_word(RangeField::Kinds, text);
        assert_eq!(t("shop").unwrap(), Some("shop".into()));
        assert!(t("shop crm").unwrap_err().contains("one SCHEMA"));
        assert!(t("delete").unwrap_err().contains("change type"));
        assert_eq!(k("Update delete").unwrap(), Some("update delete".into()));
        assert!(k("drop").unwrap_err().contains("`drop`"));
        let answers = |a: &[(RangeField, &str)]| -> Vec<(RangeField, String)> {
            a.iter().map(|(f, w)| (*f, w.to_string())).collect()
        };
        assert_eq!(scope_of(&answers(&[])).unwrap(), None);
        let scope = scope_of(&answers(&[
            (RangeField::Tables, "shop.orders"),
            (RangeField::Kinds, "delete"),
        ]))
        .unwrap()
        .expect("a scope");
        assert_eq!(
            Some(&scope),
            arkc_binlog::scope::RowScope::parse("shop.orders delete")
                .ok()
                .as_ref()
        );
        assert!(scope.keeps("`shop`.`orders`", arkc_binlog::RowsKind::Delete));
        assert!(!scope.keeps("`shop`.`orders`", arkc_binlog::RowsKind::Update));
        assert!(!scope.keeps("`crm`.`contacts`", arkc_binlog::RowsKind::Delete));
        let kinds_only = scope_of(&answers(&[(RangeField::Kinds, "insert")]))
            .unwrap()
            .expect("a scope");
        assert!(kinds_only.keeps("`crm`.`contacts`", arkc_binlog::RowsKind::Insert));
        assert_eq!(
            current_scope(Some(&scope), RangeField::Tables),
            "shop.orders"
        );
        assert_eq!(current_scope(Some(&scope), RangeField::Kinds), "delete");
        assert_eq!(current_scope(Some(&kinds_only), RangeField::Tables), "");
        assert_eq!(current_scope(None, RangeField::Kinds), "");
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
