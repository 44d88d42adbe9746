//! A row scope: which rows of a transaction a rollback takes, by schema, table and change
//! type, with the same meaning as `arkc flashback -d/-t/--sql-type` (`Filters::keeps_table`,
//! `Filters::keeps_kind`). Written `SCHEMA[.TABLE] [insert|update|delete ...]`.

use crate::rows::RowsKind;
use crate::txn::Filters;

#[derive(Debug, Clone, Default)]
pub struct RowScope {
    /// Only `databases`, `tables` and `sql_types` are set.
    filters: Filters,
    text: String,
}

/// Two scopes are the same when they read the same (the text is normalised).
impl PartialEq for RowScope {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for RowScope {}

impl RowScope {
    /// `SCHEMA[.TABLE] [insert|update|delete ...]`; a bare `*` or no name means any schema.
    pub fn parse(text: &str) -> Result<RowScope, String> {
        let mut words = text.split_whitespace();
        let Some(name) = words.next() else {
            return Err("a scope needs SCHEMA[.TABLE] [insert|update|delete ...]".into());
        };
        let mut filters = Filters::default();
        let mut kinds_only = None;
        match kind_of(name) {
            Some(kind) => kinds_only = Some(kind),
            None if name == "*" => {}
            None => match name.split_once('.') {
                Some((db, "*")) | Some((db, "")) => filters.databases.push(db.to_string()),
                Some((db, table)) => filters
                    .tables
                    .push((Some(db.to_string()), table.to_string())),
                None => filters.databases.push(name.to_string()),
            },
        }
        filters.sql_types.extend(kinds_only);
        for word in words {
            let kind = kind_of(word).ok_or_else(|| {
                format!("`{word}` is not a change type: use insert, update or delete")
            })?;
            if !filters.sql_types.contains(&kind) {
                filters.sql_types.push(kind);
            }
        }
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(RowScope { filters, text })
    }

    /// Whether a row of `table_sql` (`` `schema`.`table` ``) of this kind is in scope.
    pub fn keeps(&self, table_sql: &str, kind: RowsKind) -> bool {
        if !self.filters.keeps_kind(kind) {
            return false;
        }
        match split_table_sql(table_sql) {
            Some((schema, table)) => self.filters.keeps_table(&schema, &table),
            None => false,
        }
    }

    /// The scope as typed, normalised (for the status line).
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn kind_of(word: &str) -> Option<RowsKind> {
    match word.to_ascii_lowercase().as_str() {
        "insert" | "inserts" => Some(RowsKind::Insert),
        "update" | "updates" => Some(RowsKind::Update),
        "delete" | "deletes" => Some(RowsKind::Delete),
        _ => None,
    }
}

/// `` `a``b`.`c` `` -> ("a`b", "c"): the quoted names as the planner writes them.
pub fn split_table_sql(table_sql: &str) -> Option<(String, String)> {
    fn ident(s: &str) -> Option<(String, &str)> {
        let mut rest = s.strip_prefix('`')?;
        let mut name = String::new();
        loop {
            let at = rest.find('`')?;
            name.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            match rest.strip_prefix('`') {
                Some(more) => {
                    name.push('`');
                    rest = more;
                }
                None => return Some((name, rest)),
            }
        }
    }
    let (schema, rest) = ident(table_sql)?;
    let (table, rest) = ident(rest.strip_prefix('.')?)?;
    rest.is_empty().then_some((schema, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_words_mean_what_the_cli_filters_mean() {
        let s = RowScope::parse("shop").unwrap();
        assert!(s.keeps("`shop`.`orders`", RowsKind::Delete));
        assert!(!s.keeps("`crm`.`orders`", RowsKind::Delete));
        let s = RowScope::parse("shop.orders delete  update").unwrap();
        assert_eq!(s.text(), "shop.orders delete update");
        assert!(s.keeps("`shop`.`orders`", RowsKind::Update));
        assert!(!s.keeps("`shop`.`orders`", RowsKind::Insert));
        assert!(!s.keeps("`shop`.`items`", RowsKind::Delete));
        let s = RowScope::parse("* insert").unwrap();
        assert!(s.keeps("`any`.`t`", RowsKind::Insert));
        assert!(!s.keeps("`any`.`t`", RowsKind::Delete));
        assert!(RowScope::parse("shop upsert").is_err());
        assert!(RowScope::parse("  ").is_err());
    }

    #[test]
    fn quoted_names_split_exactly() {
        assert_eq!(
            split_table_sql("`a``b.c`.`t`"),
            Some(("a`b.c".to_string(), "t".to_string()))
        );
        assert_eq!(split_table_sql("`a`"), None);
    }
}
