//! SQL review of a change file (pure): statements cut and parsed with sqlparser's MySQL
//! dialect, then checked by rules with stable ids. Live rules (`live`) take facts read from
//! an instance by `backend::deploy`, so this module never touches the network.

pub mod alter;
pub mod live;
pub(crate) mod rules;
pub mod split;

use serde::Serialize;
use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

pub use crate::config::review::{ReviewConfig, Severity};
pub use split::{split_statements, SourceStatement};

/// A rule: its stable id, its default severity, and what it checks.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub default: Severity,
    pub about: &'static str,
}

const fn rule(id: &'static str, default: Severity, about: &'static str) -> Rule {
    Rule { id, default, about }
}

use Severity::{Error as E, Warning as W};

/// Every rule, static then live. `parse-error` is listed so that it can be named, but a file
/// that does not parse is always refused.
pub const RULES: &[Rule] = &[
    rule(
        "parse-error",
        E,
        "the statement does not parse (MySQL dialect)",
    ),
    rule("dml-where-required", E, "UPDATE/DELETE without WHERE"),
    rule(
        "dml-limit",
        W,
        "UPDATE/DELETE with LIMIT (rows chosen by plan, not by key)",
    ),
    rule("dml-orderby", W, "UPDATE/DELETE with ORDER BY"),
    rule("insert-columns-required", W, "INSERT without a column list"),
    rule(
        "select-star",
        W,
        "SELECT * (columns change under the change)",
    ),
    rule(
        "leading-wildcard-like",
        W,
        "LIKE '%...' cannot use an index",
    ),
    rule("order-by-rand", W, "ORDER BY RAND() sorts every row"),
    rule("table-requires-pk", E, "CREATE TABLE without a primary key"),
    rule("innodb-only", E, "a table engine other than InnoDB"),
    rule(
        "no-foreign-key",
        W,
        "foreign keys (locks and cascades across tables)",
    ),
    rule("drop-database", E, "DROP DATABASE / SCHEMA"),
    rule("drop-table", W, "DROP TABLE"),
    rule(
        "truncate-table",
        W,
        "TRUNCATE TABLE (not undoable from the binlog)",
    ),
    rule(
        "merge-alter",
        W,
        "two ALTERs of one table: merge them into one",
    ),
    rule(
        "column-nullable-without-default",
        W,
        "a nullable column without a DEFAULT",
    ),
    rule(
        "charset-allowlist",
        E,
        "a character set outside `[review] charsets`",
    ),
    rule(
        "max-indexes",
        W,
        "more indexes on one table than `[review] max_indexes`",
    ),
    rule(
        "index-name-prefix",
        W,
        "index names without `[review] index_prefix`/`unique_prefix`",
    ),
    rule(
        "multiple-statements-per-line",
        W,
        "a statement starting on the line of the previous one",
    ),
    rule(
        "commit-in-change",
        W,
        "COMMIT/ROLLBACK in the file (transactions are arkc's to manage)",
    ),
    rule(
        "table-exists",
        E,
        "live: the table must exist (or must not, for CREATE TABLE)",
    ),
    rule(
        "column-exists",
        E,
        "live: the column must exist (or must not, for ADD COLUMN)",
    ),
    rule(
        "affected-rows-limit",
        E,
        "live: EXPLAIN row estimate above `[review] affected_rows_max`",
    ),
    rule(
        "large-table-alter",
        W,
        "live: ALTER of a table above `[review] large_table_mib`",
    ),
];

pub fn rule_ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.id).collect()
}

fn default_severity(id: &str) -> Severity {
    RULES
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.default)
        .unwrap_or(Severity::Error)
}

/// One finding: which rule, how bad, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based statement index in the file.
    pub index: usize,
    /// 1-based line where the statement starts.
    pub line: usize,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
}

/// A statement of the file with what sqlparser made of it (None: it did not parse).
#[derive(Debug, Clone)]
pub struct ReviewedStatement {
    pub source: SourceStatement,
    pub parsed: Option<Statement>,
}

impl ReviewedStatement {
    /// Row changes: run each in its own transaction unless the file manages transactions.
    pub fn is_dml(&self) -> bool {
        matches!(
            self.parsed,
            Some(Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
        )
    }

    pub fn is_transaction_control(&self) -> bool {
        matches!(
            self.parsed,
            Some(
                Statement::StartTransaction { .. }
                    | Statement::Commit { .. }
                    | Statement::Rollback { .. }
            )
        )
    }
}

/// The review of one file: its statements and the findings, in statement order.
#[derive(Debug, Clone)]
pub struct Review {
    pub statements: Vec<ReviewedStatement>,
    pub findings: Vec<Finding>,
}

impl Review {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Add findings (live ones) and keep statement order.
    pub fn extend(&mut self, more: Vec<Finding>) {
        self.findings.extend(more);
        self.findings.sort_by_key(|f| f.index);
    }
}

/// Collects findings with their configured severity; "off" drops them.
pub(crate) struct Findings<'a> {
    cfg: &'a ReviewConfig,
    pub(crate) out: Vec<Finding>,
}

impl<'a> Findings<'a> {
    pub(crate) fn new(cfg: &'a ReviewConfig) -> Self {
        Findings {
            cfg,
            out: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, stmt: &SourceStatement, rule: &'static str, message: String) {
        let severity = match rule {
            "parse-error" => Severity::Error,
            _ => self.cfg.severity(rule, default_severity(rule)),
        };
        if severity != Severity::Off {
            self.out.push(Finding {
                index: stmt.index,
                line: stmt.line,
                rule,
                severity,
                message,
            });
        }
    }
}

/// Parse one statement with the MySQL dialect.
pub fn parse_one(text: &str) -> Result<Statement, String> {
    let mut parsed = Parser::parse_sql(&MySqlDialect {}, text).map_err(|e| e.to_string())?;
    match parsed.len() {
        1 => Ok(parsed.remove(0)),
        0 => Err("no statement".into()),
        n => Err(format!("{n} statements where one was expected")),
    }
}

/// sqlparser counts lines within the statement: name the file's line instead.
fn file_position(message: &str, first_line: usize) -> String {
    let Some((head, tail)) = message.rsplit_once(" at Line: ") else {
        return message.to_string();
    };
    let Some((line, column)) = tail.split_once(", Column: ") else {
        return message.to_string();
    };
    match line.trim().parse::<usize>() {
        Ok(l) => format!(
            "{head} at line {}, column {}",
            first_line + l - 1,
            column.trim()
        ),
        Err(_) => message.to_string(),
    }
}

/// Review a change file with the static rules.
pub fn review(sql: &str, cfg: &ReviewConfig) -> Review {
    let mut findings = Findings::new(cfg);
    let sources = match split_statements(sql) {
        Ok(s) => s,
        Err(e) => {
            let at = SourceStatement {
                index: e.index,
                line: e.line,
                end_line: e.line,
                text: String::new(),
            };
            findings.add(&at, "parse-error", e.to_string());
            return Review {
                statements: Vec::new(),
                findings: findings.out,
            };
        }
    };
    let mut statements = Vec::with_capacity(sources.len());
    for source in sources {
        let parsed = match parse_one(&source.text) {
            Ok(s) => Some(s),
            Err(e) => {
                findings.add(
                    &source,
                    "parse-error",
                    format!(
                        "statement {} (line {}) does not parse: {}",
                        source.index,
                        source.line,
                        file_position(&e, source.line)
                    ),
                );
                None
            }
        };
        statements.push(ReviewedStatement { source, parsed });
    }
    rules::check_all(&statements, &mut findings);
    let mut out = findings.out;
    out.sort_by_key(|f| f.index);
    Review {
        statements,
        findings: out,
    }
}

#[cfg(test)]
mod tests;
