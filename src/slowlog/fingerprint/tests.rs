//! One or more cases per pt-query-digest rule. Expected values were checked against
//! `QueryRewriter::fingerprint` from /usr/bin/pt-query-digest 3.2.1.

use super::{fingerprint, query_id};

fn fp(q: &str) -> String {
    String::from_utf8(fingerprint(q.as_bytes())).expect("ASCII test input")
}

#[test]
fn mysqldump_and_toolkit_queries_have_fixed_names() {
    assert_eq!(
        fp("SELECT /*!40001 SQL_NO_CACHE */ * FROM `film`"),
        "mysqldump"
    );
    assert_eq!(fp("SELECT 1 /*db.tbl:1/2*/ FROM t"), "percona-toolkit");
    assert_eq!(fp("SELECT 1 /*db.tbl:x/2*/ FROM t"), "select ? from t");
}

#[test]
fn administrator_commands_are_kept_verbatim() {
    assert_eq!(
        fp("administrator command: Quit"),
        "administrator command: Quit"
    );
    assert_eq!(
        fp("administrator command: Init DB"),
        "administrator command: Init DB"
    );
}

#[test]
fn call_keeps_only_the_procedure_name() {
    assert_eq!(fp("CALL foo(1, 2, 3)"), "call foo");
    assert_eq!(fp("  call\nDb.Proc(a(b))"), "call\ndb.proc(a");
    assert_eq!(fp("call foo (1)"), "call foo (?)");
}

#[test]
fn multi_row_insert_keeps_the_first_row() {
    assert_eq!(
        fp("INSERT INTO t (a,b) VALUES (1,'x'),(2,'y'),(3,'z')"),
        "insert into t (a,b) values(?+)"
    );
    assert_eq!(
        fp("insert ignore into t values (now(), 1), (now(), 2)"),
        "insert ignore into t values (now(), ?)"
    );
    assert_eq!(
        fp("REPLACE INTO t VALUES (1),(2)"),
        "replace into t values(?+)"
    );
}

#[test]
fn comments_are_removed_but_version_hints_stay() {
    assert_eq!(fp("SELECT /* hello */ a FROM t"), "select a from t");
    assert_eq!(
        fp("SELECT /*!40001 SQL_CACHE */ a FROM t"),
        "select /*!? sql_cache */ a from t"
    );
    assert_eq!(
        fp("SELECT a -- trailing\nFROM t # other\n"),
        "select a from t "
    );
    assert_eq!(
        fp("SELECT a FROM t -- it's quoted"),
        "select a from t ? it's quoted"
    );
}

#[test]
fn use_statements_abstract_the_database() {
    assert_eq!(fp("use sakila"), "use ?");
    assert_eq!(fp("USE `my_db`"), "use ?");
    assert_eq!(fp("use sakila\n"), "use ?\n");
    assert_eq!(fp("use a b"), "use a b");
}

#[test]
fn quoted_strings_become_placeholders() {
    assert_eq!(fp(r#"SELECT "a", 'b' FROM t"#), "select ?, ? from t");
    assert_eq!(fp(r"SELECT 'it\'s' FROM t"), "select ? from t");
    assert_eq!(fp(r#"SELECT 'a"b' , "c'd""#), r#"select ?d""#);
}

#[test]
fn booleans_and_nulls_become_placeholders() {
    assert_eq!(
        fp("SELECT * FROM t WHERE a = TRUE AND b = false"),
        "select * from t where a = ? and b = ?"
    );
    assert_eq!(
        fp("SELECT truex, nulled FROM t WHERE c IS NULL"),
        "select truex, nulled from t where c is ?"
    );
}

#[test]
fn numbers_including_those_in_identifiers_become_placeholders() {
    assert_eq!(
        fp("SELECT * FROM db2.t1 WHERE x = 0x1F and y=-1.5e3"),
        "select * from d?t? where x = ?f and y=?"
    );
    assert_eq!(
        fp("UPDATE db1.tbl_2009 SET a = a + 1"),
        "update d?tbl_? set a = a ? ?"
    );
    assert_eq!(fp("SELECT 1.false"), "select ??");
}

#[test]
fn whitespace_is_trimmed_squeezed_and_lower_cased() {
    assert_eq!(fp("  SELECT\n\ta,\r\n   b  FROM T\n"), "select a, b from t");
    assert_eq!(fp("SELECT a FROM t \n"), "select a from t ");
}

#[test]
fn in_and_values_lists_collapse() {
    assert_eq!(
        fp("SELECT * FROM t WHERE id IN (1, 2, 3)"),
        "select * from t where id in(?+)"
    );
    assert_eq!(
        fp("INSERT INTO t VALUES (1, 'a')"),
        "insert into t values(?+)"
    );
    assert_eq!(fp("INSERT INTO t VALUE (1)"), "insert into t value(?+)");
    assert_eq!(
        fp("SELECT * FROM t WHERE a IN (SELECT b FROM u)"),
        "select * from t where a in (select b from u)"
    );
    assert_eq!(
        fp("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a=VALUES(a)"),
        "insert into t values(?+) on duplicate key update a=values(a)"
    );
}

#[test]
fn repeated_union_selects_collapse() {
    assert_eq!(
        fp("SELECT a FROM t WHERE b=1 UNION SELECT a FROM t WHERE b=2 UNION ALL SELECT a FROM t WHERE b=3"),
        "select a from t where b=? /*repeat union all*/"
    );
    assert_eq!(
        fp("SELECT a FROM t UNION SELECT b FROM t"),
        "select a from t union select b from t"
    );
}

#[test]
fn limit_offsets_collapse() {
    assert_eq!(
        fp("SELECT * FROM t LIMIT 10, 20"),
        "select * from t limit ?"
    );
    assert_eq!(
        fp("SELECT * FROM t LIMIT 10 OFFSET 20"),
        "select * from t limit ?"
    );
    assert_eq!(fp("SELECT * FROM t LIMIT 5"), "select * from t limit ?");
}

#[test]
fn ascending_order_is_implicit() {
    assert_eq!(
        fp("SELECT * FROM t ORDER BY a ASC, b DESC, c ASC"),
        "select * from t order by a, b desc, c"
    );
    assert_eq!(
        fp("SELECT * FROM t ORDER BY a DESC, b ASC"),
        "select * from t order by a desc, b"
    );
    assert_eq!(
        fp("SELECT * FROM t ORDER BY a, ascii_col"),
        "select * from t order by a,ii_col"
    );
}

#[test]
fn query_id_is_upper_case_md5_of_the_fingerprint() {
    assert_eq!(query_id(b"begin"), "8D589AFA4DFAEEED85FFF5AA78E5FF6A");
    assert_eq!(
        query_id(b"update foo.bar set biz = ?"),
        "32F63B9B2CE5A9B1B211BA2B8D6D065C"
    );
}
