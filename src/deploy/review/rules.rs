//! The static rules: each looks at one parsed statement (or, for `merge-alter` and
//! `multiple-statements-per-line`, at its neighbours).

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, CreateIndex, CreateTable, CreateTableOptions,
    Delete, Expr, FromTable, ObjectName, ObjectType, Query, Select, SelectItem, SetExpr, Statement,
    TableConstraint, TableFactor, TableObject, Update, Visit, Visitor,
};

use super::{Findings, ReviewedStatement};

pub(super) fn check_all(statements: &[ReviewedStatement], f: &mut Findings<'_>) {
    let mut alters: HashMap<String, usize> = HashMap::new();
    let mut prev_end: Option<usize> = None;
    for st in statements {
        let src = &st.source;
        if prev_end == Some(src.line) {
            f.add(
                src,
                "multiple-statements-per-line",
                format!("statement {} starts on line {} where the previous one ends: one statement per line keeps reviews and errors readable", src.index, src.line),
            );
        }
        prev_end = Some(src.end_line);
        let Some(stmt) = &st.parsed else { continue };
        expressions(st, stmt, f);
        match stmt {
            Statement::Update(u) => update(st, u, f),
            Statement::Delete(d) => delete(st, d, f),
            Statement::Insert(i) if i.columns.is_empty() && i.source.is_some() => {
                f.add(src, "insert-columns-required", format!("INSERT INTO {} without a column list: name the columns, so the change survives a column added or reordered", insert_table(&i.table)));
            }
            Statement::CreateTable(c) => create_table(st, c, f),
            Statement::CreateIndex(c) => create_index(st, c, f),
            Statement::AlterTable(a) => {
                let key = table_key(&a.name);
                if let Some(first) = alters.get(&key) {
                    f.add(src, "merge-alter", format!("table {} is already altered by statement {first}: merge both into one ALTER TABLE, so the table is rebuilt and locked once", a.name));
                } else {
                    alters.insert(key, src.index);
                }
                for op in &a.operations {
                    alter_operation(st, &a.name, op, f);
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                let list = names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
                match object_type {
                    ObjectType::Database | ObjectType::Schema => f.add(src, "drop-database", format!("DROP DATABASE {list}: drops every table in it, and the binlog cannot undo it")),
                    ObjectType::Table => f.add(src, "drop-table", format!("DROP TABLE {list}: its rows are gone and the binlog cannot undo it; rename it and drop it later")),
                    _ => {}
                }
            }
            Statement::Truncate(t) => {
                let list = t.table_names.iter().map(|n| n.name.to_string()).collect::<Vec<_>>().join(", ");
                f.add(src, "truncate-table", format!("TRUNCATE TABLE {list}: its rows are gone and the binlog cannot undo it (DELETE can be undone)"));
            }
            Statement::Commit { .. } | Statement::Rollback { .. } => f.add(
                src,
                "commit-in-change",
                "COMMIT/ROLLBACK in the change: arkc runs each row change in its own transaction; with its own BEGIN/COMMIT the file's transactions are kept as written".into(),
            ),
            _ => {}
        }
    }
}

/// `db.table` lower-cased, or `table` when unqualified.
pub(crate) fn table_key(name: &ObjectName) -> String {
    name_parts(name).join(".").to_ascii_lowercase()
}

/// The identifiers of a name, unquoted.
pub(crate) fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| p.as_ident())
        .map(|i| i.value.clone())
        .collect()
}

pub(crate) fn insert_table(t: &TableObject) -> String {
    match t {
        TableObject::TableName(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The table an UPDATE or DELETE changes (the first one of a multi-table form).
pub(crate) fn factor_name(f: &TableFactor) -> Option<&ObjectName> {
    match f {
        TableFactor::Table { name, .. } => Some(name),
        _ => None,
    }
}

pub(crate) fn delete_table(d: &Delete) -> Option<&ObjectName> {
    if let Some(first) = d.tables.first() {
        return Some(first);
    }
    let from = match &d.from {
        FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v) => v,
    };
    from.first().and_then(|t| factor_name(&t.relation))
}

fn update(st: &ReviewedStatement, u: &Update, f: &mut Findings<'_>) {
    let src = &st.source;
    let table = u.table.to_string();
    if u.selection.is_none() {
        f.add(
            src,
            "dml-where-required",
            format!("UPDATE {table} without WHERE changes every row"),
        );
    }
    if u.limit.is_some() {
        f.add(src, "dml-limit", format!("UPDATE {table} with LIMIT: which rows change depends on the plan, and the statement is unsafe for replication"));
    }
    if !u.order_by.is_empty() {
        f.add(src, "dml-orderby", format!("UPDATE {table} with ORDER BY: sorts before changing; select the rows by key instead"));
    }
    for o in &u.order_by {
        rand_order(src, &o.expr, f);
    }
}

fn delete(st: &ReviewedStatement, d: &Delete, f: &mut Findings<'_>) {
    let src = &st.source;
    let table = delete_table(d).map(|n| n.to_string()).unwrap_or_default();
    if d.selection.is_none() && d.using.is_none() {
        f.add(
            src,
            "dml-where-required",
            format!("DELETE FROM {table} without WHERE deletes every row"),
        );
    }
    if d.limit.is_some() {
        f.add(src, "dml-limit", format!("DELETE FROM {table} with LIMIT: which rows go depends on the plan, and the statement is unsafe for replication"));
    }
    if !d.order_by.is_empty() {
        f.add(src, "dml-orderby", format!("DELETE FROM {table} with ORDER BY: sorts before deleting; select the rows by key instead"));
    }
    for o in &d.order_by {
        rand_order(src, &o.expr, f);
    }
}

fn rand_order(src: &super::SourceStatement, e: &Expr, f: &mut Findings<'_>) {
    if let Expr::Function(func) = e {
        if func.name.to_string().eq_ignore_ascii_case("rand") {
            f.add(src, "order-by-rand", "ORDER BY RAND() reads and sorts every row; pick random keys in the application instead".into());
        }
    }
}

/// Rules found anywhere in the statement's expressions and queries.
fn expressions(st: &ReviewedStatement, stmt: &Statement, f: &mut Findings<'_>) {
    struct Walk<'a, 'b> {
        st: &'a ReviewedStatement,
        f: &'a mut Findings<'b>,
    }
    impl Visitor for Walk<'_, '_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(sqlparser::ast::OrderBy {
                kind: sqlparser::ast::OrderByKind::Expressions(list),
                ..
            }) = &q.order_by
            {
                for o in list {
                    rand_order(&self.st.source, &o.expr, self.f);
                }
            }
            if let SetExpr::Select(s) = q.body.as_ref() {
                star(self.st, s, self.f);
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Like {
                pattern,
                negated: false,
                ..
            } = e
            {
                let p = pattern.to_string();
                if p.starts_with("'%") || p.starts_with("'_") {
                    self.f.add(&self.st.source, "leading-wildcard-like", format!("LIKE {p} starts with a wildcard: no index can be used, every row is read"));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Walk { st, f });
}

fn star(st: &ReviewedStatement, s: &Select, f: &mut Findings<'_>) {
    let wildcard = s.projection.iter().any(|p| {
        matches!(
            p,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    // `SELECT *` inside EXISTS (...) reads no columns; only a query's own projection counts.
    if wildcard {
        f.add(
            &st.source,
            "select-star",
            "SELECT *: name the columns, so the result does not change when the table does".into(),
        );
    }
}

fn create_table(st: &ReviewedStatement, c: &CreateTable, f: &mut Findings<'_>) {
    let src = &st.source;
    let name = &c.name;
    if c.query.is_none() && c.like.is_none() {
        let pk_column = c.columns.iter().any(|col| {
            col.options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::PrimaryKey(_)))
        });
        let pk_constraint = c
            .constraints
            .iter()
            .any(|k| matches!(k, TableConstraint::PrimaryKey(_)));
        if !pk_column && !pk_constraint {
            f.add(src, "table-requires-pk", format!("CREATE TABLE {name} without a PRIMARY KEY: row-based replication and flashback need one to find each row"));
        }
    }
    let options = table_options(&c.table_options);
    if let Some(engine) = option_value(&options, &["ENGINE"]) {
        if !engine.eq_ignore_ascii_case("innodb") {
            f.add(src, "innodb-only", format!("CREATE TABLE {name} with ENGINE={engine}: only InnoDB is transactional and crash-safe"));
        }
    }
    if let Some(cs) = option_value(
        &options,
        &[
            "DEFAULT CHARSET",
            "CHARSET",
            "DEFAULT CHARACTER SET",
            "CHARACTER SET",
        ],
    ) {
        charset(st, &format!("table {name}"), &cs, f);
    }
    let mut indexes = 0;
    for col in &c.columns {
        column(st, name, col, f);
        for o in &col.options {
            match &o.option {
                ColumnOption::ForeignKey(_) => f.add(src, "no-foreign-key", format!("column {} of {name} references another table: foreign keys lock across tables and cascade silently", col.name)),
                ColumnOption::Unique(_) => indexes += 1,
                _ => {}
            }
        }
    }
    for k in &c.constraints {
        constraint(st, name, k, f);
        if !matches!(
            k,
            TableConstraint::PrimaryKey(_)
                | TableConstraint::ForeignKey(_)
                | TableConstraint::Check(_)
        ) {
            indexes += 1;
        }
    }
    let max = f.cfg().max_indexes;
    if indexes > max {
        f.add(src, "max-indexes", format!("CREATE TABLE {name} with {indexes} secondary indexes (max_indexes = {max}): each one slows every write"));
    }
}

/// Table options as (UPPER KEY, value) pairs, from their SQL text.
fn table_options(opts: &CreateTableOptions) -> Vec<(String, String)> {
    let list = match opts {
        CreateTableOptions::None => return Vec::new(),
        CreateTableOptions::With(v)
        | CreateTableOptions::Options(v)
        | CreateTableOptions::Plain(v)
        | CreateTableOptions::TableProperties(v) => v,
    };
    list.iter()
        .filter_map(|o| {
            let text = o.to_string();
            let (k, v) = text.split_once('=').or_else(|| text.rsplit_once(' '))?;
            Some((
                k.trim().to_ascii_uppercase(),
                v.trim().trim_matches(['\'', '"', '`']).to_string(),
            ))
        })
        .collect()
}

fn option_value(options: &[(String, String)], keys: &[&str]) -> Option<String> {
    options
        .iter()
        .find(|(k, _)| keys.contains(&k.as_str()))
        .map(|(_, v)| v.clone())
}

fn charset(st: &ReviewedStatement, what: &str, cs: &str, f: &mut Findings<'_>) {
    let allowed = &f.cfg().charsets;
    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(cs)) {
        let list = allowed.join(", ");
        f.add(
            &st.source,
            "charset-allowlist",
            format!("{what} uses character set {cs}; allowed: {list}"),
        );
    }
}

fn column(st: &ReviewedStatement, table: &ObjectName, col: &ColumnDef, f: &mut Findings<'_>) {
    let src = &st.source;
    let has = |p: fn(&ColumnOption) -> bool| col.options.iter().any(|o| p(&o.option));
    let not_null = has(|o| matches!(o, ColumnOption::NotNull | ColumnOption::PrimaryKey(_)));
    let default = has(|o| matches!(o, ColumnOption::Default(_) | ColumnOption::Generated { .. }));
    let lob = {
        let t = col.data_type.to_string().to_ascii_uppercase();
        t.contains("TEXT") || t.contains("BLOB") || t.contains("JSON") || t.contains("GEOMETRY")
    };
    if !not_null && !default && !lob {
        f.add(src, "column-nullable-without-default", format!("column {} of {table} is nullable without a DEFAULT: say NOT NULL with a DEFAULT, or DEFAULT NULL on purpose", col.name));
    }
    for o in &col.options {
        if let ColumnOption::CharacterSet(cs) = &o.option {
            charset(
                st,
                &format!("column {} of {table}", col.name),
                &cs.to_string(),
                f,
            );
        }
    }
}

fn constraint(
    st: &ReviewedStatement,
    table: &ObjectName,
    k: &TableConstraint,
    f: &mut Findings<'_>,
) {
    let src = &st.source;
    let (name, unique) = match k {
        TableConstraint::ForeignKey(_) => {
            f.add(src, "no-foreign-key", format!("{table}: FOREIGN KEY locks across tables and cascades silently; keep the relation in the application"));
            return;
        }
        TableConstraint::Unique(u) => (u.index_name.as_ref().or(u.name.as_ref()), true),
        TableConstraint::Index(i) => (i.name.as_ref(), false),
        TableConstraint::FulltextOrSpatial(i) => (i.opt_index_name.as_ref(), false),
        _ => return,
    };
    index_name(st, table, name.map(|n| n.value.as_str()), unique, f);
}

fn index_name(
    st: &ReviewedStatement,
    table: &ObjectName,
    name: Option<&str>,
    unique: bool,
    f: &mut Findings<'_>,
) {
    let prefix = if unique {
        &f.cfg().unique_prefix
    } else {
        &f.cfg().index_prefix
    };
    let prefix = prefix.clone();
    let kind = if unique { "unique index" } else { "index" };
    match name {
        None => f.add(
            &st.source,
            "index-name-prefix",
            format!("an unnamed {kind} on {table}: name it `{prefix}...`"),
        ),
        Some(n) if !n.starts_with(&prefix) => f.add(
            &st.source,
            "index-name-prefix",
            format!("{kind} `{n}` on {table} does not start with `{prefix}`"),
        ),
        Some(_) => {}
    }
}

fn create_index(st: &ReviewedStatement, c: &CreateIndex, f: &mut Findings<'_>) {
    let name = c.name.as_ref().map(|n| name_parts(n).join("."));
    index_name(st, &c.table_name, name.as_deref(), c.unique, f);
}

fn alter_operation(
    st: &ReviewedStatement,
    table: &ObjectName,
    op: &AlterTableOperation,
    f: &mut Findings<'_>,
) {
    match op {
        AlterTableOperation::AddConstraint { constraint: k, .. } => constraint(st, table, k, f),
        AlterTableOperation::AddColumn { column_def, .. } => column(st, table, column_def, f),
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        }
        | AlterTableOperation::ChangeColumn {
            new_name: col_name,
            data_type,
            options,
            ..
        } => {
            let def = ColumnDef {
                name: col_name.clone(),
                data_type: data_type.clone(),
                options: options
                    .iter()
                    .map(|o| sqlparser::ast::ColumnOptionDef {
                        name: None,
                        option: o.clone(),
                    })
                    .collect(),
            };
            column(st, table, &def, f);
        }
        _ => {}
    }
}

impl Findings<'_> {
    fn cfg(&self) -> &super::ReviewConfig {
        self.cfg
    }
}
