//! Fewer statements for the same rows: consecutive single-row statements of a generated plan
//! that touch the same table the same way become one multi-row statement, inside the same
//! transaction and in the same order. Only the planner's own shapes are merged (an edited plan
//! is run as written): `DELETE FROM t WHERE `pk` = v LIMIT 1` (the planner writes `=` only for
//! a primary key, so each value matches at most one row) into `WHERE `pk` IN (...)`, and
//! `INSERT INTO t (cols) VALUES (...)` with the same column list into one VALUES list.
//! Anything else is passed through as it is.

/// A statement to send and how many of the plan's statements it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batched {
    pub sql: String,
    pub rows: usize,
}

/// Merge runs of mergeable statements, each merged statement at most about `max_bytes`.
pub fn batch_statements(statements: &[String], max_bytes: usize) -> Vec<Batched> {
    let mut out: Vec<Batched> = Vec::new();
    let mut open: Option<(Shape<'_>, String)> = None;
    for stmt in statements {
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
            if let Some(last) = out.last_mut() {
                last.sql = finish(&head, sql);
            }
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
        if let Some(last) = out.last_mut() {
            last.sql = finish(&head, sql);
        }
    }
    out
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
fn ident(s: &str) -> Option<&str> {
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
fn table(s: &str) -> Option<&str> {
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
