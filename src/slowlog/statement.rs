//! What the Slow SQL pane needs to know about a sample statement: the tables it touches and
//! whether the server can `EXPLAIN` it. Parsed with sqlparser's MySQL dialect; when the parser
//! cannot read a statement (vendor syntax, a truncated sample), a keyword scan stands in.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{visit_relations, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

/// The kind of statement, as far as EXPLAIN cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    /// UPDATE, DELETE, INSERT or REPLACE: explainable on MySQL 5.6+ and MariaDB 10.0+.
    Write,
    Other,
}

fn parse(sql: &str) -> Option<Vec<Statement>> {
    Parser::parse_sql(&MySqlDialect {}, sql)
        .ok()
        .filter(|s| !s.is_empty())
}

/// Tables a statement reads or writes, as written (`db.t` or `t`), sorted and without CTE names.
pub fn tables_in(sql: &str) -> Vec<String> {
    let Some(statements) = parse(sql) else {
        return tables_by_keywords(sql);
    };
    let ctes: BTreeSet<String> = statements
        .iter()
        .filter_map(|s| match s {
            Statement::Query(q) => q.with.as_ref(),
            _ => None,
        })
        .flat_map(|w| w.cte_tables.iter())
        .map(|cte| cte.alias.name.value.to_lowercase())
        .collect();
    let mut found = BTreeSet::new();
    let _ = visit_relations(&statements, |name| {
        let text = name.to_string().replace('`', "");
        if !ctes.contains(&text.to_lowercase()) {
            found.insert(text);
        }
        ControlFlow::<()>::Continue(())
    });
    found.into_iter().collect()
}

/// Fallback: the identifier after FROM, JOIN, UPDATE, INTO (good enough for a hint).
fn tables_by_keywords(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = BTreeSet::new();
    for pair in words.windows(2) {
        let keyword = pair[0].to_ascii_lowercase();
        if matches!(keyword.as_str(), "from" | "join" | "update" | "into") {
            let name = pair[1].replace('`', "");
            let plain = name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '$');
            if plain && !name.is_empty() && !is_keyword(&name) {
                found.insert(name);
            }
        }
    }
    found.into_iter().collect()
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "select" | "where" | "set" | "values" | "dual" | "low_priority" | "ignore"
    )
}

/// Classify by the parsed statement, else by its first keyword.
pub fn statement_kind(sql: &str) -> StatementKind {
    if let Some(statements) = parse(sql) {
        return match statements.first() {
            Some(Statement::Query(_)) => StatementKind::Select,
            Some(Statement::Update { .. } | Statement::Delete(_) | Statement::Insert(_)) => {
                StatementKind::Write
            }
            _ => StatementKind::Other,
        };
    }
    let first = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match first.as_str() {
        "select" | "with" => StatementKind::Select,
        "update" | "delete" | "insert" | "replace" => StatementKind::Write,
        _ => StatementKind::Other,
    }
}

/// Whether `version` (as `SELECT VERSION()` prints it) can EXPLAIN writes: MySQL 5.6+ and
/// MariaDB 10.0+ can.
fn explains_writes(version: &str) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if version.to_ascii_lowercase().contains("mariadb") {
        major >= 10
    } else {
        (major, minor) >= (5, 6)
    }
}

/// True when `sql` holds one statement: no `;` outside quotes, comments aside, except at the
/// end. `EXPLAIN` is sent on a connection that may run several statements per call, so a sample
/// like `SELECT 1; DELETE ...` must never reach it.
pub fn is_single_statement(sql: &str) -> bool {
    let body = sql.trim_end().trim_end_matches(';');
    let mut quote: Option<char> = None;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q != '`' => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, ';') => return false,
            (None, _) => {}
        }
    }
    quote.is_none()
}

/// `Ok` when the sample may be sent as `EXPLAIN sample`; otherwise why not.
pub fn explain_allowed(sql: &str, version: Option<&str>) -> Result<(), String> {
    if !is_single_statement(sql) {
        return Err("the sample is not a single complete statement; EXPLAIN it by hand".into());
    }
    match statement_kind(sql) {
        StatementKind::Select => Ok(()),
        StatementKind::Write => match version {
            Some(v) if explains_writes(v) => Ok(()),
            Some(v) => Err(format!(
                "server {v} cannot EXPLAIN this statement (needs MySQL 5.6+ or MariaDB 10.0+)"
            )),
            None => Err(
                "server version not known yet: EXPLAIN of a write waits for the first health poll"
                    .into(),
            ),
        },
        StatementKind::Other => {
            Err("EXPLAIN covers SELECT, UPDATE, DELETE, INSERT and REPLACE only".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_joins_subqueries_and_writes() {
        assert_eq!(
            tables_in("SELECT o.id FROM shop.orders o JOIN customers c ON c.id = o.cid WHERE o.id IN (SELECT order_id FROM refunds)"),
            vec!["customers", "refunds", "shop.orders"]
        );
        assert_eq!(
            tables_in("UPDATE `stock` SET qty = qty - 1 WHERE sku = 'a'"),
            vec!["stock"]
        );
        assert_eq!(
            tables_in("WITH recent AS (SELECT * FROM events) SELECT * FROM recent"),
            vec!["events"]
        );
    }

    #[test]
    fn unparsable_statements_fall_back_to_keywords() {
        // sqlparser rejects the dangling comma; the keyword scan still finds the tables.
        assert_eq!(
            tables_in("SELECT a, FROM t1 JOIN `db2`.`t2` ON"),
            vec!["db2.t2", "t1"]
        );
    }

    #[test]
    fn explain_is_offered_for_selects_and_for_writes_on_capable_servers() {
        assert_eq!(explain_allowed("select * from t where a = 1", None), Ok(()));
        let update = "update t set a = 1 where b = 2";
        assert_eq!(explain_allowed(update, Some("10.11.6-MariaDB-log")), Ok(()));
        assert_eq!(explain_allowed(update, Some("8.0.36")), Ok(()));
        assert!(explain_allowed(update, Some("5.5.62")).is_err());
        assert!(explain_allowed(update, None).is_err());
        assert!(explain_allowed("create table x (a int)", Some("8.0.36")).is_err());
        assert!(explain_allowed("administrator command: Ping", None).is_err());
    }

    #[test]
    fn only_single_statements_are_explained() {
        assert!(is_single_statement(
            "select * from t where a = 'x;y' and b = \"p;q\";"
        ));
        assert!(is_single_statement("select `we;ird` from t"));
        assert!(is_single_statement("select 'it\\'s;' from t"));
        assert!(!is_single_statement("select 1; delete from t"));
        assert!(!is_single_statement("select 'unterminated"));
        assert!(explain_allowed("select 1; delete from t", None).is_err());
    }
}
