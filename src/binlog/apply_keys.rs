//! The rows a planner statement writes, read back from its text, so an apply can tell which
//! transactions may run at the same time: two transactions that write no common row (and no
//! common keyless table) do not depend on each other. A key is `table` plus the primary key's
//! `column = literal` pairs as the planner writes them (`DELETE`/`UPDATE ... WHERE pk = v
//! LIMIT 1`, and for `INSERT` the primary key columns the caller names). Whatever is not one
//! of those shapes stands for its whole table, or for everything when the table cannot be read:
//! a key that is too wide only costs parallelism, never exactness. Two literals that differ in
//! text but not for the server (collations) are not matched here; the server's own locks and
//! duplicate key errors catch those (see `backend::binlog::apply_parallel`).

use std::collections::HashSet;

use crate::batch::{assignment, ident, literal_len, table};
use crate::value::Value;

/// What a statement writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WriteKey {
    /// One row: `` `schema`.`table` `` and its key pairs, sorted by column.
    Row(String, String),
    /// Any row of this table (no key, or a shape not read here).
    Table(String),
    /// Anything (the statement names no table this reader understands).
    All,
}

/// What a statement writes, borrowed from its text (no allocation per row).
enum KeyRef<'a> {
    /// The table and its key pairs, in any order.
    Row(&'a str, Vec<(&'a str, &'a str)>),
    Table(&'a str),
    All,
}

/// A row or table key as a 64-bit fingerprint: the same key always gives the same number;
/// two different keys that happen to give the same one only cost parallelism (the two
/// transactions run one after the other), never exactness.
pub type KeyPrint = u64;

/// A `HashSet` hasher for fingerprints, which are already well mixed.
#[derive(Default, Clone, Copy)]
pub struct PrintHasher(u64);

impl std::hash::Hasher for PrintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type PrintSet = HashSet<KeyPrint, std::hash::BuildHasherDefault<PrintHasher>>;

/// The fingerprint of a table's name.
pub fn table_print(table: &str) -> KeyPrint {
    let mut h = Fingerprint::new();
    h.part(table.as_bytes());
    h.finish()
}

/// The fingerprint of one row of `table` by its key: `pairs` are (column, value) as the
/// planner writes them (backquoted column, SQL literal), in any order.
pub fn row_print(table: &str, pairs: &mut [(&str, &str)]) -> KeyPrint {
    pairs.sort_unstable();
    let mut h = Fingerprint::new();
    h.part(table.as_bytes());
    for (c, v) in pairs.iter() {
        h.part(c.as_bytes());
        h.part(v.as_bytes());
    }
    h.finish()
}

/// The fingerprint of one row of the table `table` (a `table_print`) by the values of its
/// key columns `key` in a decoded row image, for keys read from row events instead of SQL
/// text (`invert::RowEventSink`). The same row state always gives the same print; it does not
/// match the print of the same row read from SQL, so one apply uses one kind only.
pub fn image_row_print(table: KeyPrint, key: &[usize], image: &[Option<Value<'_>>]) -> KeyPrint {
    let mut h = Fingerprint::new();
    h.part(&table.to_le_bytes());
    for &i in key {
        match image.get(i).copied().flatten() {
            None => h.part(b"absent"),
            Some(Value::Null) => h.part(b"null"),
            Some(Value::Int(n)) => h.part(&n.to_le_bytes()),
            Some(Value::UInt(n)) => h.part(&n.to_le_bytes()),
            Some(Value::Bytes(b) | Value::Json(b) | Value::Decimal(b, _, _)) => h.part(b),
            // Dates, times and the rest: rare in keys; their debug text is exact.
            Some(other) => h.part(format!("{other:?}").as_bytes()),
        }
    }
    h.finish()
}

/// A 64-bit hash of length-prefixed parts (SipHash with fixed keys: the same parts give the
/// same value in every process).
pub struct Fingerprint(std::hash::DefaultHasher);

impl Fingerprint {
    pub fn new() -> Self {
        Fingerprint(Default::default())
    }
    pub fn part(&mut self, bytes: &[u8]) {
        use std::hash::Hasher;
        self.0.write_usize(bytes.len());
        self.0.write(bytes);
    }
    pub fn finish(&self) -> KeyPrint {
        use std::hash::Hasher;
        self.0.finish()
    }
}

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

/// The keys of a whole transaction, for overlap tests.
#[derive(Debug, Default, Clone)]
pub struct TxnKeys {
    rows: PrintSet,
    tables: PrintSet,
    whole_tables: PrintSet,
    all: bool,
}

impl TxnKeys {
    /// The keys of `statements`; `primary_key` names a table's primary key columns
    /// (backquoted, as the planner writes them), None when it has none or is unknown.
    pub fn of<'a, 'k>(
        statements: impl IntoIterator<Item = &'a str>,
        primary_key: &dyn Fn(&str) -> Option<&'k [String]>,
    ) -> Self {
        let mut keys = TxnKeys::default();
        for stmt in statements {
            each_key(stmt, primary_key, &mut |key| match key {
                KeyRef::Row(t, mut pairs) => keys.add_row(t, &mut pairs),
                KeyRef::Table(t) => keys.add_table(table_print(t)),
                KeyRef::All => keys.all = true,
            });
        }
        keys
    }

    /// A transaction that overlaps everything (run alone).
    pub fn everything() -> Self {
        TxnKeys {
            all: true,
            ..Default::default()
        }
    }

    fn add_row(&mut self, table: &str, pairs: &mut [(&str, &str)]) {
        self.add_row_print(table_print(table), row_print(table, pairs));
    }

    /// One row of the table `table` (a `table_print`) by its key's fingerprint (`row_print`).
    pub fn add_row_print(&mut self, table: KeyPrint, row: KeyPrint) {
        self.tables.insert(table);
        self.rows.insert(row);
    }

    /// Any row of the table `table` (a `table_print`).
    pub fn add_table(&mut self, table: KeyPrint) {
        self.tables.insert(table);
        self.whole_tables.insert(table);
    }

    /// This transaction overlaps everything.
    pub fn add_all(&mut self) {
        self.all = true;
    }

    /// Do the two write a common row, or a table one of them writes as a whole?
    pub fn overlaps(&self, other: &TxnKeys) -> bool {
        if self.all || other.all {
            return true;
        }
        if self.whole_tables.iter().any(|t| other.tables.contains(t))
            || other.whole_tables.iter().any(|t| self.tables.contains(t))
        {
            return true;
        }
        let (small, large) = match self.rows.len() <= other.rows.len() {
            true => (&self.rows, &other.rows),
            false => (&other.rows, &self.rows),
        };
        small.iter().any(|k| large.contains(k))
    }
}

/// The keys one statement writes.
pub fn statement_keys<'k>(
    stmt: &str,
    primary_key: &dyn Fn(&str) -> Option<&'k [String]>,
) -> Vec<WriteKey> {
    let mut keys = Vec::new();
    each_key(stmt, primary_key, &mut |key| {
        keys.push(match key {
            KeyRef::Row(t, pairs) => row_key(t, pairs),
            KeyRef::Table(t) => WriteKey::Table(t.to_string()),
            KeyRef::All => WriteKey::All,
        })
    });
    keys
}

/// Calls `f` with each key `stmt` writes (an UPDATE of a key column writes two rows).
fn each_key<'a, 'k>(
    stmt: &'a str,
    primary_key: &dyn Fn(&str) -> Option<&'k [String]>,
    f: &mut dyn FnMut(KeyRef<'a>),
) {
    let stmt = stmt.trim();
    if let Some(rest) = stmt.strip_prefix("DELETE FROM ") {
        return f(match table_of(rest) {
            None => KeyRef::All,
            Some((t, after)) => where_key(t, after.strip_prefix(" WHERE ")),
        });
    }
    if let Some(rest) = stmt.strip_prefix("UPDATE ") {
        let Some((t, after)) = table_of(rest) else {
            return f(KeyRef::All);
        };
        let Some((pairs, where_text)) = set_pairs(after) else {
            return f(KeyRef::Table(t));
        };
        let Some(old) = key_pairs(where_text) else {
            return f(KeyRef::Table(t));
        };
        let mut new = old.clone();
        let moved = new
            .iter_mut()
            .filter_map(|(c, v)| {
                let set = pairs.iter().find(|(sc, _)| sc == c)?;
                *v = set.1;
                Some(())
            })
            .count();
        f(KeyRef::Row(t, old));
        if moved > 0 {
            f(KeyRef::Row(t, new));
        }
        return;
    }
    if let Some(rest) = stmt.strip_prefix("INSERT INTO ") {
        let Some((t, after)) = table_of(rest) else {
            return f(KeyRef::All);
        };
        return f(insert_key(t, after, primary_key).unwrap_or(KeyRef::Table(t)));
    }
    f(KeyRef::All)
}

/// The table an `INSERT INTO` statement names (backquoted), whose primary key `TxnKeys::of`
/// needs.
pub fn insert_table(stmt: &str) -> Option<&str> {
    let rest = stmt.trim_start().strip_prefix("INSERT INTO ")?;
    table_of(rest).map(|(t, _)| t)
}

/// `` `schema`.`table` `` back to its two names.
pub fn unquote_table(t: &str) -> Option<(String, String)> {
    let after = ident(t)?;
    let schema = &t[..t.len() - after.len()];
    let name = after.strip_prefix('.')?;
    ident(name)?
        .is_empty()
        .then(|| (unquote(schema), unquote(name)))
}

fn unquote(ident: &str) -> String {
    ident[1..ident.len() - 1].replace("``", "`")
}

fn table_of(s: &str) -> Option<(&str, &str)> {
    let after = table(s)?;
    Some((&s[..s.len() - after.len()], after))
}

/// `SET a = lit, ... WHERE ` : the pairs set and the text after WHERE.
fn set_pairs(s: &str) -> Option<(Vec<(&str, &str)>, &str)> {
    let mut rest = s.strip_prefix(" SET ")?;
    let mut pairs = Vec::new();
    loop {
        let (c, v, after) = assignment(rest)?;
        pairs.push((c, v));
        match after.strip_prefix(", ") {
            Some(more) => rest = more,
            None => return Some((pairs, after.strip_prefix(" WHERE ")?)),
        }
    }
}

/// `a = lit AND b = lit LIMIT 1`: the key pairs (`=` only: the planner's primary key form).
fn key_pairs(mut s: &str) -> Option<Vec<(&str, &str)>> {
    let mut pairs = Vec::new();
    loop {
        let (c, v, after) = assignment(s)?;
        pairs.push((c, v));
        match after.strip_prefix(" AND ") {
            Some(more) => s = more,
            None if after == " LIMIT 1" => return Some(pairs),
            None => return None,
        }
    }
}

fn where_key<'a>(t: &'a str, cond: Option<&'a str>) -> KeyRef<'a> {
    match cond.and_then(key_pairs) {
        Some(pairs) => KeyRef::Row(t, pairs),
        None => KeyRef::Table(t),
    }
}

fn row_key(t: &str, mut pairs: Vec<(&str, &str)>) -> WriteKey {
    pairs.sort();
    let key = pairs
        .iter()
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    WriteKey::Row(t.to_string(), key)
}

/// ` (cols) VALUES (tuple)` with the primary key's literals picked out.
fn insert_key<'a, 'k>(
    t: &'a str,
    s: &'a str,
    primary_key: &dyn Fn(&str) -> Option<&'k [String]>,
) -> Option<KeyRef<'a>> {
    let pk = primary_key(t)?;
    let mut rest = s.strip_prefix(" (")?;
    let mut columns = Vec::new();
    loop {
        let after = ident(rest)?;
        columns.push(&rest[..rest.len() - after.len()]);
        match after.strip_prefix(", ") {
            Some(more) => rest = more,
            None => {
                rest = after.strip_prefix(") VALUES (")?;
                break;
            }
        }
    }
    let values = tuple_values(rest.strip_suffix(')')?)?;
    if values.len() != columns.len() {
        return None;
    }
    let mut pairs = Vec::new();
    for column in pk {
        let at = columns.iter().position(|c| c == column)?;
        let v = values[at];
        (literal_len(v) == Some(v.len())).then_some(())?;
        pairs.push((columns[at], v));
    }
    (!pairs.is_empty()).then_some(KeyRef::Row(t, pairs))
}

/// The top-level comma separated values of a tuple's inside (quotes and parentheses kept).
fn tuple_values(s: &str) -> Option<Vec<&str>> {
    let b = s.as_bytes();
    let (mut out, mut start, mut depth, mut i) = (Vec::new(), 0, 0i32, 0);
    while i < b.len() {
        match b[i] {
            b'\'' => {
                i += 1;
                loop {
                    match b.get(i)? {
                        b'\\' => i += 2,
                        b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                        b'\'' => break,
                        _ => i += 1,
                    }
                }
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            b',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s[start..].trim());
    (depth == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(t: &str) -> Option<&'static [String]> {
        static KEYS: std::sync::LazyLock<[Vec<String>; 2]> =
            std::sync::LazyLock::new(|| [vec!["`id`".into()], vec!["`o`".into(), "`l`".into()]]);
        match t {
            "`d`.`t`" => Some(&KEYS[0]),
            "`d`.`i`" => Some(&KEYS[1]),
            _ => None,
        }
    }

    fn keys(stmt: &str) -> Vec<WriteKey> {
        statement_keys(stmt, &pk)
    }

    fn row(t: &str, k: &str) -> WriteKey {
        WriteKey::Row(t.into(), k.into())
    }

    #[test]
    fn the_planner_shapes_name_their_rows() {
        assert_eq!(
            keys("DELETE FROM `d`.`t` WHERE `id` = 5 LIMIT 1"),
            [row("`d`.`t`", "`id`=5")]
        );
        assert_eq!(
            keys("UPDATE `d`.`i` SET `q` = 'a, `l` = 9' WHERE `o` = 1 AND `l` = 2 LIMIT 1"),
            [row("`d`.`i`", "`l`=2,`o`=1")]
        );
        assert_eq!(
            keys("INSERT INTO `d`.`i` (`q`, `l`, `o`) VALUES ('x,)', 2, 1)"),
            [row("`d`.`i`", "`l`=2,`o`=1")]
        );
        // A key update writes the old key and the new one.
        assert_eq!(
            keys("UPDATE `d`.`t` SET `v` = 1, `id` = 7 WHERE `id` = 5 LIMIT 1"),
            [row("`d`.`t`", "`id`=5"), row("`d`.`t`", "`id`=7")]
        );
    }

    #[test]
    fn anything_else_is_its_table_or_everything() {
        let table = WriteKey::Table("`d`.`t`".into());
        for stmt in [
            "DELETE FROM `d`.`t` WHERE `a` <=> 1 AND `b` <=> NULL LIMIT 1",
            "UPDATE `d`.`t` SET `j` = JSON_SET(`j`, '$.a', 1) WHERE `id` = 5 LIMIT 1",
            "UPDATE `d`.`t` SET `a` = 1 WHERE `id` = 5",
            "INSERT INTO `d`.`t` (`v`) VALUES (1)",
        ] {
            assert_eq!(keys(stmt), std::slice::from_ref(&table), "{stmt}");
        }
        assert_eq!(
            keys("INSERT INTO `d`.`u` (`id`) VALUES (1)"),
            [WriteKey::Table("`d`.`u`".into())]
        );
        assert_eq!(keys("SET @x = 1"), [WriteKey::All]);
        assert_eq!(keys("DELETE FROM t WHERE id = 1"), [WriteKey::All]);
    }

    #[test]
    fn insert_tables_and_their_names() {
        let stmt = "INSERT INTO `d``x`.`t.1` (`id`) VALUES (1)";
        assert_eq!(insert_table(stmt), Some("`d``x`.`t.1`"));
        assert_eq!(
            unquote_table("`d``x`.`t.1`"),
            Some(("d`x".to_string(), "t.1".to_string()))
        );
        assert_eq!(
            insert_table("DELETE FROM `d`.`t` WHERE `id` = 1 LIMIT 1"),
            None
        );
    }

    #[test]
    fn overlaps_by_row_table_and_everything() {
        let of = |s: &[&str]| TxnKeys::of(s.iter().copied(), &pk);
        let a = of(&["DELETE FROM `d`.`t` WHERE `id` = 5 LIMIT 1"]);
        let b = of(&["INSERT INTO `d`.`t` (`id`, `v`) VALUES (5, 'x')"]);
        let c = of(&["UPDATE `d`.`t` SET `v` = 2 WHERE `id` = 6 LIMIT 1"]);
        let whole = of(&["DELETE FROM `d`.`t` WHERE `v` <=> 2 LIMIT 1"]);
        let other = of(&["DELETE FROM `d`.`i` WHERE `o` = 5 AND `l` = 1 LIMIT 1"]);
        let all = of(&["CALL p()"]);
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!(whole.overlaps(&c) && c.overlaps(&whole));
        assert!(!whole.overlaps(&other));
        assert!(all.overlaps(&other) && other.overlaps(&all));
        assert!(TxnKeys::everything().overlaps(&a));
    }
}
