//! Live rules, pure: `targets` says what to read from the instance, `findings` judges the
//! facts `backend::deploy` read. Tables created by an earlier statement of the file count as
//! existing, with the columns it gave them.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use sqlparser::ast::{AlterTableOperation, Statement, Use};

use super::rules::{delete_table, factor_name, name_parts};
use super::{Findings, Review, ReviewConfig};

/// What the instance holds for one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableFacts {
    /// Column names, lower-cased.
    pub columns: BTreeSet<String>,
    /// DATA_LENGTH + INDEX_LENGTH.
    pub bytes: u64,
}

/// Facts read from the instance: tables by `db.table` (lower-cased; absent = no such table)
/// and the EXPLAIN row estimate of UPDATE/DELETE statements by statement index.
#[derive(Debug, Clone, Default)]
pub struct LiveFacts {
    pub tables: HashMap<String, TableFacts>,
    pub explain_rows: HashMap<usize, u64>,
}

/// One statement's table, resolved against the USE statements before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub db: Option<String>,
    pub table: String,
}

impl TableRef {
    pub fn key(&self) -> Option<String> {
        self.db
            .as_ref()
            .map(|d| format!("{d}.{}", self.table).to_ascii_lowercase())
    }
}

/// What the backend must read: each table's facts, and EXPLAIN of these statements (with the
/// database to run them in).
#[derive(Debug, Clone, Default)]
pub struct LiveTargets {
    pub tables: Vec<(String, String)>,
    pub explain: Vec<(usize, Option<String>, String)>,
}

fn resolve(parts: Vec<String>, db: &Option<String>) -> TableRef {
    match parts.as_slice() {
        [d, t] => TableRef {
            db: Some(d.clone()),
            table: t.clone(),
        },
        [.., t] => TableRef {
            db: db.clone(),
            table: t.clone(),
        },
        [] => TableRef {
            db: db.clone(),
            table: String::new(),
        },
    }
}

/// The table each statement touches, with the database in effect (None for statements that
/// touch none), in statement order.
fn statement_tables(review: &Review, default_db: Option<&str>) -> Vec<Option<TableRef>> {
    let mut db = default_db.map(str::to_string);
    review
        .statements
        .iter()
        .map(|st| {
            let stmt = st.parsed.as_ref()?;
            let name = match stmt {
                Statement::Use(Use::Object(n) | Use::Database(n) | Use::Schema(n)) => {
                    db = name_parts(n).last().cloned();
                    return None;
                }
                Statement::Update(u) => factor_name(&u.table.relation),
                Statement::Delete(d) => delete_table(d),
                Statement::Insert(i) => match &i.table {
                    sqlparser::ast::TableObject::TableName(n) => Some(n),
                    _ => None,
                },
                Statement::AlterTable(a) => Some(&a.name),
                Statement::CreateTable(c) => Some(&c.name),
                _ => None,
            }?;
            Some(resolve(name_parts(name), &db))
        })
        .collect()
}

pub fn targets(review: &Review, default_db: Option<&str>) -> LiveTargets {
    let refs = statement_tables(review, default_db);
    let mut out = LiveTargets::default();
    for (st, r) in review.statements.iter().zip(&refs) {
        let Some(r) = r else { continue };
        if let Some(db) = &r.db {
            let pair = (db.clone(), r.table.clone());
            if !out.tables.contains(&pair) {
                out.tables.push(pair);
            }
        }
        if matches!(st.parsed, Some(Statement::Update(_) | Statement::Delete(_))) {
            out.explain
                .push((st.source.index, r.db.clone(), st.source.text.clone()));
        }
    }
    out
}

/// Judge the facts: table-exists, column-exists, affected-rows-limit, large-table-alter.
pub fn findings(
    review: &Review,
    facts: &LiveFacts,
    default_db: Option<&str>,
    cfg: &ReviewConfig,
) -> Vec<super::Finding> {
    let refs = statement_tables(review, default_db);
    let mut f = Findings::new(cfg);
    let mut tables = facts.tables.clone();
    for (st, r) in review.statements.iter().zip(&refs) {
        let (Some(stmt), Some(r)) = (&st.parsed, r) else {
            continue;
        };
        let src = &st.source;
        let Some(key) = r.key() else {
            f.add(src, "table-exists", format!("table `{}` is not qualified and no USE precedes it: cannot tell which database it is in", r.table));
            continue;
        };
        let shown = format!("{}.{}", r.db.as_deref().unwrap_or_default(), r.table);
        if let Statement::CreateTable(c) = stmt {
            if tables.contains_key(&key) && !c.if_not_exists && !c.or_replace {
                f.add(src, "table-exists", format!("table {shown} already exists"));
            }
            let columns = c
                .columns
                .iter()
                .map(|col| col.name.value.to_ascii_lowercase())
                .collect();
            tables.insert(key, TableFacts { columns, bytes: 0 });
            continue;
        }
        let Some(table) = tables.get_mut(&key) else {
            f.add(src, "table-exists", format!("table {shown} does not exist"));
            continue;
        };
        let missing = |col: &str, t: &TableFacts| !t.columns.contains(&col.to_ascii_lowercase());
        match stmt {
            Statement::Update(u) => {
                for a in &u.assignments {
                    let col = a.target.to_string();
                    let col = col.rsplit('.').next().unwrap_or(&col).trim_matches('`');
                    if missing(col, table) {
                        f.add(
                            src,
                            "column-exists",
                            format!("column {col} does not exist in {shown}"),
                        );
                    }
                }
            }
            Statement::Insert(i) => {
                for c in &i.columns {
                    let col = name_parts(c).last().cloned().unwrap_or_default();
                    if missing(&col, table) {
                        f.add(
                            src,
                            "column-exists",
                            format!("column {col} does not exist in {shown}"),
                        );
                    }
                }
            }
            Statement::AlterTable(a) => {
                alter_columns(src, &shown, &a.operations, table, &mut f);
                let mib = table.bytes / (1024 * 1024);
                if mib >= cfg.large_table_mib {
                    f.add(
                        src,
                        "large-table-alter",
                        super::alter::recommend(&a.operations, &shown, mib),
                    );
                }
            }
            _ => {}
        }
        if let Some(rows) = facts.explain_rows.get(&src.index) {
            if *rows > cfg.affected_rows_max {
                f.add(src, "affected-rows-limit", format!("EXPLAIN estimates {rows} rows examined in {shown} (affected_rows_max = {}): split the change into batches by key", cfg.affected_rows_max));
            }
        }
    }
    f.out
}

/// Columns an ALTER drops, changes or adds must (or must not) exist; the table's column set
/// follows the ALTER, so later statements see it.
fn alter_columns(
    src: &super::SourceStatement,
    shown: &str,
    ops: &[AlterTableOperation],
    table: &mut TableFacts,
    f: &mut Findings<'_>,
) {
    for op in ops {
        let (needs, adds): (Vec<String>, Vec<String>) = match op {
            AlterTableOperation::AddColumn {
                column_def,
                if_not_exists,
                ..
            } => {
                let name = column_def.name.value.to_ascii_lowercase();
                if table.columns.contains(&name) && !if_not_exists {
                    f.add(
                        src,
                        "column-exists",
                        format!("column {} already exists in {shown}", column_def.name.value),
                    );
                }
                (Vec::new(), vec![name])
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists: false,
                ..
            } => (
                column_names
                    .iter()
                    .map(|c| c.value.to_ascii_lowercase())
                    .collect(),
                Vec::new(),
            ),
            AlterTableOperation::ModifyColumn { col_name, .. } => {
                (vec![col_name.value.to_ascii_lowercase()], Vec::new())
            }
            AlterTableOperation::ChangeColumn {
                old_name, new_name, ..
            } => (
                vec![old_name.value.to_ascii_lowercase()],
                vec![new_name.value.to_ascii_lowercase()],
            ),
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => (
                vec![old_column_name.value.to_ascii_lowercase()],
                vec![new_column_name.value.to_ascii_lowercase()],
            ),
            _ => continue,
        };
        for col in &needs {
            if !table.columns.contains(col) {
                f.add(
                    src,
                    "column-exists",
                    format!("column {col} does not exist in {shown}"),
                );
            }
            if matches!(
                op,
                AlterTableOperation::DropColumn { .. }
                    | AlterTableOperation::ChangeColumn { .. }
                    | AlterTableOperation::RenameColumn { .. }
            ) {
                table.columns.remove(col);
            }
        }
        table.columns.extend(adds);
    }
}
