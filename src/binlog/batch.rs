//! Fewer statements for the same rows: consecutive single-row statements of a generated plan
//! that touch the same table the same way become one multi-row statement, inside the same
//! transaction and in the same order. Only the planner's own shapes are merged (an edited plan
//! is run as written): `DELETE FROM t WHERE `pk` = v LIMIT 1` (the planner writes `=` only for
//! a primary key, so each value matches at most one row) into `WHERE `pk` IN (...)`,
//! `INSERT INTO t (cols) VALUES (...)` with the same column list into one VALUES list, and
//! a run of `UPDATE t SET c = literal, ... WHERE (integer primary key) = v LIMIT 1` of
//! distinct keys into one `SET c = CASE key WHEN v THEN literal ... END WHERE key IN (...)`
//! per list of columns set (the run's rows that set the same columns).
//! Each merged row is set to its own literals whatever the others hold, so the rows end as
//! the single statements leave them; only the order in which the server visits them differs,
//! which matters for a transient duplicate of a unique key: the caller re-runs a failed merged
//! transaction as written (`apply_units`). Anything else is passed through as it is.

/// A statement to send and how many of the plan's statements it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batched {
    pub sql: String,
    pub rows: usize,
}

/// Rows of one merged UPDATE at most: the server finds each row's CASE arm by a linear scan.
const UPDATE_ROWS: usize = 100;

/// Merge runs of mergeable statements, each merged statement at most about `max_bytes`.
pub fn batch_statements(statements: &[String], max_bytes: usize) -> Vec<Batched> {
    let mut out: Vec<Batched> = Vec::new();
    let mut open: Option<(Shape<'_>, String)> = None;
    let mut updates: Option<UpdateRun<'_>> = None;
    for stmt in statements {
        if let Some(update) = update_of(stmt) {
            if let Some((head, sql)) = open.take() {
                close_simple(&mut out, &head, sql);
            }
            match updates.as_mut() {
                Some(run) if run.takes(&update, max_bytes) => run.push(update),
                _ => {
                    if let Some(run) = updates.take() {
                        out.extend(run.finish());
                    }
                    updates = Some(UpdateRun::new(update));
                }
            }
            continue;
        }
        if let Some(run) = updates.take() {
            out.extend(run.finish());
        }
        let shape = shape_of(stmt);
        if let (Some((head, sql)), Some(next)) = (open.as_mut(), shape.as_ref()) {
            if head.head == next.head && head.kind == next.kind && sql.len() < max_bytes {
                sql.push_str(", ");
                sql.push_str(next.part);
                if let Some(last) = out.last_mut() {
                    last.rows += 1;
                }
                continue;
            }
        }
        if let Some((head, sql)) = open.take() {
            close_simple(&mut out, &head, sql);
        }
        match shape {
            Some(shape) => {
                let mut sql = String::with_capacity(stmt.len() * 4);
                sql.push_str(shape.head);
                sql.push_str(match shape.kind {
                    Kind::Delete => " IN (",
                    Kind::Insert => "",
                });
                sql.push_str(shape.part);
                out.push(Batched {
                    sql: String::new(),
                    rows: 1,
                });
                open = Some((shape, sql));
            }
            None => out.push(Batched {
                sql: stmt.clone(),
                rows: 1,
            }),
        }
    }
    if let Some((head, sql)) = open.take() {
        close_simple(&mut out, &head, sql);
    }
    if let Some(run) = updates.take() {
        out.extend(run.finish());
    }
    out
}

fn close_simple(out: &mut [Batched], head: &Shape<'_>, sql: String) {
    if let Some(last) = out.last_mut() {
        last.sql = finish(head, sql);
    }
}

/// A planner UPDATE of one row by an integer primary key to literal values.
#[derive(Debug)]
struct Update<'a> {
    stmt: &'a str,
    /// `` `schema`.`table` ``.
    table: &'a str,
    set_columns: Vec<&'a str>,
    values: Vec<&'a str>,
    key_columns: Vec<&'a str>,
    key: Vec<&'a str>,
}

fn update_of(stmt: &str) -> Option<Update<'_>> {
    let stmt = stmt.trim();
    let rest = stmt.strip_prefix("UPDATE ")?;
    let after_table = table(rest)?;
    let mut update = Update {
        stmt,
        table: &rest[..rest.len() - after_table.len()],
        set_columns: Vec::new(),
        values: Vec::new(),
        key_columns: Vec::new(),
        key: Vec::new(),
    };
    let mut rest = after_table.strip_prefix(" SET ")?;
    loop {
        let (column, value, after) = assignment(rest)?;
        update.set_columns.push(column);
        update.values.push(value);
        match after.strip_prefix(", ") {
            Some(more) => rest = more,
            None => {
                rest = after.strip_prefix(" WHERE ")?;
                break;
            }
        }
    }
    loop {
        let (column, value, after) = assignment(rest)?;
        if !is_integer(value) || update.set_columns.contains(&column) {
            return None;
        }
        update.key_columns.push(column);
        update.key.push(value);
        match after.strip_prefix(" AND ") {
            Some(more) => rest = more,
            None if after == " LIMIT 1" => return Some(update),
            None => return None,
        }
    }
}

/// `` `column` = literal `` at the start of `s`: (column, literal, the text after).
pub(crate) fn assignment(s: &str) -> Option<(&str, &str, &str)> {
    let after = ident(s)?;
    let column = &s[..s.len() - after.len()];
    let v = after.strip_prefix(" = ")?;
    let n = literal_len(v)?;
    Some((column, &v[..n], &v[n..]))
}

/// The length of the simple literal (see `simple_literal`) or NULL at the start of `s`.
pub(crate) fn literal_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let quoted_end = |from: usize| -> Option<usize> {
        let mut i = from + 1;
        loop {
            let at = i + s.get(i..)?.find('\'')?;
            if b.get(at + 1) == Some(&b'\'') {
                i = at + 2;
            } else {
                return Some(at + 1);
            }
        }
    };
    let n = if s.starts_with("NULL") {
        4
    } else if b.first() == Some(&b'\'') {
        quoted_end(0)?
    } else if s.starts_with("X'") {
        quoted_end(1)?
    } else if b.first() == Some(&b'_') {
        let space = s.find(' ')?;
        quoted_end(s[space..].find('\'')? + space)?
    } else {
        s.bytes()
            .take_while(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
            .count()
    };
    let literal = &s[..n];
    (literal == "NULL" || simple_literal(literal)).then_some(n)
}

fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A run of UPDATEs of one table by the same key columns, each of a different key.
struct UpdateRun<'a> {
    rows: Vec<Update<'a>>,
    keys: std::collections::HashSet<Vec<&'a str>>,
    bytes: usize,
}

impl<'a> UpdateRun<'a> {
    fn new(first: Update<'a>) -> Self {
        let mut run = UpdateRun {
            rows: Vec::new(),
            keys: Default::default(),
            bytes: 0,
        };
        run.push(first);
        run
    }

    fn takes(&self, next: &Update<'a>, max_bytes: usize) -> bool {
        let first = &self.rows[0];
        first.table == next.table
            && first.key_columns == next.key_columns
            && !self.keys.contains(&next.key)
            && self.rows.len() < UPDATE_ROWS
            && self.bytes < max_bytes
    }

    fn push(&mut self, update: Update<'a>) {
        self.keys.insert(update.key.clone());
        self.bytes += update.stmt.len() + 16 * update.values.len();
        self.rows.push(update);
    }

    /// One statement per list of columns set, in the order the lists first appear.
    fn finish(self) -> Vec<Batched> {
        let mut groups: Vec<Vec<&Update<'a>>> = Vec::new();
        for row in &self.rows {
            match groups
                .iter_mut()
                .find(|g| g[0].set_columns == row.set_columns)
            {
                Some(group) => group.push(row),
                None => groups.push(vec![row]),
            }
        }
        groups.iter().map(|g| merged_update(g)).collect()
    }
}

fn merged_update(rows: &[&Update<'_>]) -> Batched {
    let first = rows[0];
    if rows.len() == 1 {
        return Batched {
            sql: first.stmt.to_string(),
            rows: 1,
        };
    }
    let bytes: usize = rows
        .iter()
        .map(|r| r.stmt.len() + 16 * r.values.len())
        .sum();
    let single_key = first.key_columns.len() == 1;
    let mut sql = String::with_capacity(bytes + 64);
    sql.push_str("UPDATE ");
    sql.push_str(first.table);
    sql.push_str(" SET ");
    for (c, column) in first.set_columns.iter().enumerate() {
        if c > 0 {
            sql.push_str(", ");
        }
        sql.push_str(column);
        sql.push_str(" = CASE");
        if single_key {
            sql.push(' ');
            sql.push_str(first.key_columns[0]);
        }
        for row in rows {
            sql.push_str(" WHEN ");
            if single_key {
                sql.push_str(row.key[0]);
            } else {
                for (k, (kc, kv)) in first.key_columns.iter().zip(&row.key).enumerate() {
                    if k > 0 {
                        sql.push_str(" AND ");
                    }
                    sql.push_str(kc);
                    sql.push_str(" = ");
                    sql.push_str(kv);
                }
            }
            sql.push_str(" THEN ");
            sql.push_str(row.values[c]);
        }
        sql.push_str(" END");
    }
    sql.push_str(" WHERE ");
    let tuple = |key: &[&str], sql: &mut String| {
        if !single_key {
            sql.push('(');
        }
        sql.push_str(&key.join(", "));
        if !single_key {
            sql.push(')');
        }
    };
    tuple(&first.key_columns, &mut sql);
    sql.push_str(" IN (");
    for (r, row) in rows.iter().enumerate() {
        if r > 0 {
            sql.push_str(", ");
        }
        tuple(&row.key, &mut sql);
    }
    sql.push(')');
    Batched {
        sql,
        rows: rows.len(),
    }
}

fn finish(shape: &Shape<'_>, mut sql: String) -> String {
    if shape.kind == Kind::Delete {
        sql.push(')');
    }
    sql
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Delete,
    Insert,
}

#[derive(Debug)]
struct Shape<'a> {
    kind: Kind,
    /// What two statements must share: `DELETE FROM t WHERE `pk`` or `INSERT ... VALUES `.
    head: &'a str,
    /// The key literal, or the VALUES tuple.
    part: &'a str,
}

fn shape_of(stmt: &str) -> Option<Shape<'_>> {
    let stmt = stmt.trim();
    if let Some(rest) = stmt.strip_prefix("DELETE FROM ") {
        let rest = table(rest)?.strip_prefix(" WHERE ")?;
        let after_key = ident(rest)?;
        let literal = after_key.strip_prefix(" = ")?.strip_suffix(" LIMIT 1")?;
        if !simple_literal(literal) {
            return None;
        }
        let head = &stmt[..stmt.len() - after_key.len()];
        return Some(Shape {
            kind: Kind::Delete,
            head,
            part: literal,
        });
    }
    let rest = stmt.strip_prefix("INSERT INTO ")?;
    let mut rest = table(rest)?.strip_prefix(" (")?;
    loop {
        rest = ident(rest)?;
        match rest.strip_prefix(", ") {
            Some(more) => rest = more,
            None => break,
        }
    }
    let tuple = rest.strip_prefix(") VALUES ")?;
    if !(tuple.starts_with('(') && tuple.ends_with(')')) {
        return None;
    }
    Some(Shape {
        kind: Kind::Insert,
        head: &stmt[..stmt.len() - tuple.len()],
        part: tuple,
    })
}

/// The text after a backquoted identifier at the start of `s`.
pub(crate) fn ident(s: &str) -> Option<&str> {
    let mut rest = s.strip_prefix('`')?;
    loop {
        let at = rest.find('`')?;
        rest = &rest[at + 1..];
        match rest.strip_prefix('`') {
            Some(more) => rest = more,
            None => return Some(rest),
        }
    }
}

/// The text after `` `schema`.`table` `` at the start of `s`.
pub(crate) fn table(s: &str) -> Option<&str> {
    ident(ident(s)?.strip_prefix('.')?)
}

/// One literal as the planner writes a key value: a number, a quoted string without
/// backslashes (quotes doubled), or hex with an optional `_charset` introducer.
fn simple_literal(s: &str) -> bool {
    let number = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit());
    let quoted = |q: &str| {
        q.len() >= 2
            && q.starts_with('\'')
            && q.ends_with('\'')
            && !q.contains('\\')
            && !q[1..q.len() - 1].replace("''", "").contains('\'')
    };
    let hex = |h: &str| {
        h.strip_prefix("X'")
            .and_then(|h| h.strip_suffix('\''))
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let introduced = s
        .strip_prefix('_')
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(charset, h)| charset.bytes().all(|b| b.is_ascii_alphanumeric()) && hex(h));
    number || quoted(s) || hex(s) || introduced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn key_deletes_and_inserts_merge_in_order() {
        let plan = strings(&[
            "DELETE FROM `d`.`t` WHERE `id` = 3 LIMIT 1",
            "DELETE FROM `d`.`t` WHERE `id` = 2 LIMIT 1",
            "UPDATE `d`.`t` SET `v` = 1 WHERE `id` = 1 LIMIT 1",
            "INSERT INTO `d`.`t` (`id`, `v`) VALUES (5, 'it''s')",
            "INSERT INTO `d`.`t` (`id`, `v`) VALUES (4, _utf8mb4 X'5C')",
            "INSERT INTO `d`.`u` (`id`, `v`) VALUES (4, 'x')",
            "DELETE FROM `d`.`t` WHERE `k` = 'a' LIMIT 1",
            "DELETE FROM `d`.`t` WHERE `id` = 9 LIMIT 1",
        ]);
        let got = batch_statements(&plan, 1 << 20);
        let sql: Vec<(&str, usize)> = got.iter().map(|b| (b.sql.as_str(), b.rows)).collect();
        assert_eq!(
            sql,
            [
                ("DELETE FROM `d`.`t` WHERE `id` IN (3, 2)", 2),
                ("UPDATE `d`.`t` SET `v` = 1 WHERE `id` = 1 LIMIT 1", 1),
                (
                    "INSERT INTO `d`.`t` (`id`, `v`) VALUES (5, 'it''s'), (4, _utf8mb4 X'5C')",
                    2
                ),
                ("INSERT INTO `d`.`u` (`id`, `v`) VALUES (4, 'x')", 1),
                ("DELETE FROM `d`.`t` WHERE `k` IN ('a')", 1),
                ("DELETE FROM `d`.`t` WHERE `id` IN (9)", 1),
            ]
        );
    }

    #[test]
    fn anything_else_passes_through() {
        let plan = strings(&[
            // All-column WHERE (no key): `<=>` and AND, never merged.
            "DELETE FROM `d`.`t` WHERE `a` <=> 1 AND `b` <=> 2 LIMIT 1",
            "DELETE FROM `d`.`t` WHERE `a` = 1 AND `b` = 2 LIMIT 1",
            "DELETE FROM `d`.`t` WHERE `a` = 'x' AND `b` = 'y' LIMIT 1",
            "DELETE FROM `d`.`t` WHERE `a` = f(1) LIMIT 1",
            "INSERT INTO `d`.`t` SELECT * FROM `d`.`u`",
            "SET NAMES utf8mb4",
        ]);
        let got = batch_statements(&plan, 1 << 20);
        assert_eq!(got.len(), plan.len());
        for (b, s) in got.iter().zip(&plan) {
            assert_eq!((&b.sql, b.rows), (s, 1));
        }
    }

    #[test]
    fn a_quote_inside_a_value_is_still_one_value() {
        // The whole `'x'' AND ...'` is one string: x' AND `b` = 'y.
        let plan = strings(&["DELETE FROM `d`.`t` WHERE `a` = 'x'' AND `b` = ''y' LIMIT 1"]);
        let got = batch_statements(&plan, 1 << 20);
        assert_eq!(
            got[0].sql,
            "DELETE FROM `d`.`t` WHERE `a` IN ('x'' AND `b` = ''y')"
        );
    }

    #[test]
    fn key_updates_of_the_same_columns_become_one_case_update() {
        let plan = strings(&[
            "UPDATE `d`.`t` SET `a` = 'x, `b` = 1', `b` = NULL WHERE `id` = 3 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = _utf8mb4 X'5C', `b` = -1.5e0 WHERE `id` = 2 LIMIT 1",
            // Another column list: a statement of its own; the same key again: a new run.
            "UPDATE `d`.`t` SET `a` = 'y' WHERE `id` = 4 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 'z' WHERE `id` = 5 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 'w' WHERE `id` = 4 LIMIT 1",
            "UPDATE `d`.`i` SET `q` = 1 WHERE `o` = 1 AND `l` = 2 LIMIT 1",
            "UPDATE `d`.`i` SET `q` = 2 WHERE `o` = 1 AND `l` = 3 LIMIT 1",
        ]);
        let got = batch_statements(&plan, 1 << 20);
        let sql: Vec<(&str, usize)> = got.iter().map(|b| (b.sql.as_str(), b.rows)).collect();
        assert_eq!(
            sql,
            [
                (
                    "UPDATE `d`.`t` SET `a` = CASE `id` WHEN 3 THEN 'x, `b` = 1' WHEN 2 THEN \
                     _utf8mb4 X'5C' END, `b` = CASE `id` WHEN 3 THEN NULL WHEN 2 THEN -1.5e0 END \
                     WHERE `id` IN (3, 2)",
                    2
                ),
                (
                    "UPDATE `d`.`t` SET `a` = CASE `id` WHEN 4 THEN 'y' WHEN 5 THEN 'z' END \
                     WHERE `id` IN (4, 5)",
                    2
                ),
                ("UPDATE `d`.`t` SET `a` = 'w' WHERE `id` = 4 LIMIT 1", 1),
                (
                    "UPDATE `d`.`i` SET `q` = CASE WHEN `o` = 1 AND `l` = 2 THEN 1 WHEN `o` = 1 \
                     AND `l` = 3 THEN 2 END WHERE (`o`, `l`) IN ((1, 2), (1, 3))",
                    2
                ),
            ]
        );
    }

    #[test]
    fn interleaved_column_lists_merge_per_list() {
        let plan = strings(&[
            "UPDATE `d`.`t` SET `a` = 1 WHERE `id` = 1 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 2, `b` = 2 WHERE `id` = 2 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 3 WHERE `id` = 3 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 4, `b` = 4 WHERE `id` = 4 LIMIT 1",
        ]);
        let got = batch_statements(&plan, 1 << 20);
        let sql: Vec<(&str, usize)> = got.iter().map(|b| (b.sql.as_str(), b.rows)).collect();
        assert_eq!(
            sql,
            [
                (
                    "UPDATE `d`.`t` SET `a` = CASE `id` WHEN 1 THEN 1 WHEN 3 THEN 3 END \
                     WHERE `id` IN (1, 3)",
                    2
                ),
                (
                    "UPDATE `d`.`t` SET `a` = CASE `id` WHEN 2 THEN 2 WHEN 4 THEN 4 END, `b` = \
                     CASE `id` WHEN 2 THEN 2 WHEN 4 THEN 4 END WHERE `id` IN (2, 4)",
                    2
                ),
            ]
        );
    }

    #[test]
    fn updates_that_are_not_plain_key_updates_pass_through() {
        let plan = strings(&[
            // A string key (collations may make two literals one key), a key change, an
            // expression, a keyless WHERE, an edited statement without LIMIT 1.
            "UPDATE `d`.`t` SET `a` = 1 WHERE `k` = 'a' LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `k` = 'b' LIMIT 1",
            "UPDATE `d`.`t` SET `id` = 1 WHERE `id` = 2 LIMIT 1",
            "UPDATE `d`.`t` SET `id` = 3 WHERE `id` = 4 LIMIT 1",
            "UPDATE `d`.`t` SET `j` = JSON_SET(`j`, '$.a', 1) WHERE `id` = 5 LIMIT 1",
            "UPDATE `d`.`t` SET `j` = JSON_SET(`j`, '$.a', 1) WHERE `id` = 6 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `a` <=> 2 AND `b` <=> 3 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `a` <=> 2 AND `b` <=> 4 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 'a\\' WHERE `id` = 7 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 'b\\' WHERE `id` = 8 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `id` = 9",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `id` = 10",
        ]);
        let got = batch_statements(&plan, 1 << 20);
        assert_eq!(got.len(), plan.len());
        for (b, s) in got.iter().zip(&plan) {
            assert_eq!((&b.sql, b.rows), (s, 1));
        }
    }

    #[test]
    fn merged_updates_stop_at_the_row_limit() {
        let plan: Vec<String> = (0..250)
            .map(|i| format!("UPDATE `d`.`t` SET `v` = {i} WHERE `id` = {i} LIMIT 1"))
            .collect();
        let got = batch_statements(&plan, 1 << 20);
        let rows: Vec<usize> = got.iter().map(|b| b.rows).collect();
        assert_eq!(rows, [UPDATE_ROWS, UPDATE_ROWS, 50]);
    }

    #[test]
    fn merged_statements_stay_under_the_size() {
        let plan: Vec<String> = (0..100)
            .map(|i| format!("DELETE FROM `d`.`t` WHERE `id` = {i} LIMIT 1"))
            .collect();
        let got = batch_statements(&plan, 100);
        assert!(got.len() > 5);
        assert_eq!(got.iter().map(|b| b.rows).sum::<usize>(), 100);
        assert!(got.iter().all(|b| b.sql.len() < 160));
    }
}
