use super::*;

fn rules_of(sql: &str) -> Vec<&'static str> {
    review(sql, &ReviewConfig::default())
        .findings
        .iter()
        .map(|f| f.rule)
        .collect()
}

/// Each rule with a statement that fires it and one that does not.
const CASES: &[(&str, &str, &str)] = &[
    ("dml-where-required", "UPDATE t SET a = 1", "UPDATE t SET a = 1 WHERE id = 2"),
    ("dml-where-required", "DELETE FROM t", "DELETE FROM t WHERE id = 2"),
    ("dml-limit", "DELETE FROM t WHERE a > 1 LIMIT 10", "DELETE FROM t WHERE a > 1"),
    ("dml-limit", "UPDATE t SET a = 1 WHERE b = 2 LIMIT 5", "UPDATE t SET a = 1 WHERE b = 2"),
    ("dml-orderby", "UPDATE t SET a = 1 WHERE b = 2 ORDER BY id", "UPDATE t SET a = 1 WHERE b = 2"),
    ("dml-orderby", "DELETE FROM t WHERE b = 2 ORDER BY id", "DELETE FROM t WHERE b = 2"),
    ("insert-columns-required", "INSERT INTO t VALUES (1, 2)", "INSERT INTO t (a, b) VALUES (1, 2)"),
    ("select-star", "SELECT * FROM t WHERE id = 1", "SELECT a, b FROM t WHERE id = 1"),
    ("select-star", "INSERT INTO t2 (a) SELECT * FROM t", "INSERT INTO t2 (a) SELECT a FROM t"),
    ("leading-wildcard-like", "SELECT a FROM t WHERE b LIKE '%x'", "SELECT a FROM t WHERE b LIKE 'x%'"),
    ("leading-wildcard-like", "DELETE FROM t WHERE b LIKE '_x'", "DELETE FROM t WHERE b = '_x'"),
    ("order-by-rand", "SELECT a FROM t ORDER BY RAND() LIMIT 1", "SELECT a FROM t ORDER BY a LIMIT 1"),
    ("table-requires-pk", "CREATE TABLE t (a INT NOT NULL DEFAULT 0)", "CREATE TABLE t (a INT NOT NULL PRIMARY KEY)"),
    ("table-requires-pk", "CREATE TABLE t (a INT NOT NULL DEFAULT 0, KEY idx_a (a))", "CREATE TABLE t (a INT NOT NULL, PRIMARY KEY (a))"),
    ("innodb-only", "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=MyISAM", "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB"),
    ("no-foreign-key", "CREATE TABLE c (id INT PRIMARY KEY, p INT NOT NULL DEFAULT 0, FOREIGN KEY (p) REFERENCES p(id))", "CREATE TABLE c (id INT PRIMARY KEY, p INT NOT NULL DEFAULT 0)"),
    ("no-foreign-key", "ALTER TABLE c ADD CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES p(id)", "ALTER TABLE c ADD INDEX idx_p (p)"),
    ("drop-database", "DROP DATABASE shop", "DROP TABLE IF EXISTS old"),
    ("drop-database", "DROP SCHEMA shop", "CREATE DATABASE shop"),
    ("drop-table", "DROP TABLE old", "DROP VIEW v"),
    ("truncate-table", "TRUNCATE TABLE t", "DELETE FROM t WHERE id < 10"),
    ("merge-alter", "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0;\nALTER TABLE t ADD INDEX idx_c (c)", "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0, ADD INDEX idx_c (c);\nALTER TABLE u ADD INDEX idx_c (c)"),
    ("column-nullable-without-default", "ALTER TABLE t ADD COLUMN c INT", "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0"),
    ("column-nullable-without-default", "CREATE TABLE t (id INT PRIMARY KEY, c VARCHAR(10))", "CREATE TABLE t (id INT PRIMARY KEY, c VARCHAR(10) DEFAULT NULL)"),
    ("charset-allowlist", "CREATE TABLE t (id INT PRIMARY KEY) DEFAULT CHARSET=latin1", "CREATE TABLE t (id INT PRIMARY KEY) DEFAULT CHARSET=utf8mb4"),
    ("charset-allowlist", "CREATE TABLE t (id INT PRIMARY KEY, c VARCHAR(5) CHARACTER SET latin1 NOT NULL DEFAULT '')", "CREATE TABLE t (id INT PRIMARY KEY, c VARCHAR(5) CHARACTER SET utf8mb4 NOT NULL DEFAULT '')"),
    ("max-indexes", "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, KEY idx_1 (a), KEY idx_2 (a), KEY idx_3 (a), KEY idx_4 (a), KEY idx_5 (a), KEY idx_6 (a))", "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, KEY idx_1 (a), KEY idx_2 (a))"),
    ("index-name-prefix", "CREATE INDEX a_b ON t (a, b)", "CREATE INDEX idx_a_b ON t (a, b)"),
    ("index-name-prefix", "CREATE UNIQUE INDEX idx_a ON t (a)", "CREATE UNIQUE INDEX uniq_a ON t (a)"),
    ("index-name-prefix", "ALTER TABLE t ADD INDEX (a)", "ALTER TABLE t ADD INDEX idx_a (a)"),
    ("multiple-statements-per-line", "UPDATE t SET a = 1 WHERE id = 1; UPDATE t SET a = 2 WHERE id = 2", "UPDATE t SET a = 1 WHERE id = 1;\nUPDATE t SET a = 2 WHERE id = 2"),
    ("commit-in-change", "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nCOMMIT", "UPDATE t SET a = 1 WHERE id = 1"),
    ("parse-error", "UPDATE t SET = 1 WHERE", "UPDATE t SET a = 1 WHERE id = 1"),
];

#[test]
fn every_rule_fires_and_does_not_fire() {
    for (rule, fires, quiet) in CASES {
        assert!(
            rules_of(fires).contains(rule),
            "{rule} should fire on `{fires}`: got {:?}",
            rules_of(fires)
        );
        assert!(
            !rules_of(quiet).contains(rule),
            "{rule} should not fire on `{quiet}`: got {:?}",
            rules_of(quiet)
        );
    }
    let covered: std::collections::HashSet<&str> = CASES.iter().map(|c| c.0).collect();
    let live = [
        "table-exists",
        "column-exists",
        "affected-rows-limit",
        "large-table-alter",
    ];
    for r in RULES {
        assert!(
            covered.contains(r.id) || live.contains(&r.id),
            "no case for rule {}",
            r.id
        );
    }
}

#[test]
fn the_readme_example_lists_the_three_rules_with_index_and_line() {
    let sql = "-- change 42\nUPDATE shop.orders SET status = 'x';\nSELECT * FROM shop.orders;\nCREATE TABLE shop.audit (\n  note VARCHAR(20) NOT NULL DEFAULT ''\n);\n";
    let r = review(sql, &ReviewConfig::default());
    let got: Vec<(usize, usize, &str, Severity)> = r
        .findings
        .iter()
        .map(|f| (f.index, f.line, f.rule, f.severity))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, 2, "dml-where-required", Severity::Error),
            (2, 3, "select-star", Severity::Warning),
            (3, 4, "table-requires-pk", Severity::Error),
        ]
    );
    assert_eq!(r.errors(), 2);
}

#[test]
fn severities_follow_the_config_and_off_drops_the_rule() {
    let mut cfg = ReviewConfig::default();
    cfg.rules.insert(
        "select-star".into(),
        crate::config::review::RuleSetting {
            severity: Severity::Error,
        },
    );
    cfg.rules.insert(
        "dml-where-required".into(),
        crate::config::review::RuleSetting {
            severity: Severity::Off,
        },
    );
    let r = review("UPDATE t SET a = 1;\nSELECT * FROM t", &cfg);
    let got: Vec<(&str, Severity)> = r.findings.iter().map(|f| (f.rule, f.severity)).collect();
    assert_eq!(got, vec![("select-star", Severity::Error)]);
}

#[test]
fn a_parse_error_names_the_statement_and_its_line() {
    let r = review(
        "SELECT 1;\n\nUPDAT t SET a = 1 WHERE id = 1;\n",
        &ReviewConfig::default(),
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(
        (f.index, f.line, f.rule, f.severity),
        (2, 3, "parse-error", Severity::Error)
    );
    assert!(f.message.contains("statement 2 (line 3)"), "{}", f.message);
    let r = review(
        "SELECT 1;\n\nUPDATE t\n  SET = 1;\n",
        &ReviewConfig::default(),
    );
    assert!(
        r.findings[0].message.contains("at line 4, column"),
        "{}",
        r.findings[0].message
    );
}

#[test]
fn thresholds_come_from_the_config() {
    let cfg = ReviewConfig {
        max_indexes: 1,
        index_prefix: "ix_".into(),
        ..ReviewConfig::default()
    };
    let r = review(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, KEY ix_a (a), KEY ix_b (a))",
        &cfg,
    );
    let rules: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, vec!["max-indexes"]);
}

fn facts(tables: &[(&str, &[&str], u64)], explain: &[(usize, u64)]) -> live::LiveFacts {
    live::LiveFacts {
        tables: tables
            .iter()
            .map(|(k, cols, bytes)| {
                (
                    k.to_string(),
                    live::TableFacts {
                        columns: cols.iter().map(|c| c.to_string()).collect(),
                        bytes: *bytes,
                    },
                )
            })
            .collect(),
        explain_rows: explain.iter().copied().collect(),
    }
}

#[test]
fn live_rules_fire_on_facts_and_follow_the_file() {
    let cfg = ReviewConfig {
        affected_rows_max: 100,
        large_table_mib: 1,
        ..ReviewConfig::default()
    };
    let sql = "USE shop;\nUPDATE orders SET nope = 1 WHERE id = 1;\nDELETE FROM ghosts WHERE id = 1;\nCREATE TABLE audit (id INT PRIMARY KEY);\nINSERT INTO audit (id) VALUES (1);\nALTER TABLE orders ADD COLUMN note INT NOT NULL DEFAULT 0;\nALTER TABLE orders DROP COLUMN missing;\nUPDATE orders SET status = 2 WHERE status = 1;\n";
    let r = review(sql, &cfg);
    let t = live::targets(&r, None);
    assert_eq!(
        t.tables,
        vec![
            ("shop".into(), "orders".into()),
            ("shop".into(), "ghosts".into()),
            ("shop".into(), "audit".into())
        ]
    );
    assert_eq!(
        t.explain.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![2, 3, 8]
    );
    let f = facts(
        &[("shop.orders", &["id", "status"], 5 << 20)],
        &[(2, 1), (8, 5000)],
    );
    let got: Vec<(usize, &str)> = live::findings(&r, &f, None, &cfg)
        .iter()
        .map(|f| (f.index, f.rule))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "column-exists"),
            (3, "table-exists"),
            (6, "large-table-alter"),
            (7, "column-exists"),
            (7, "large-table-alter"),
            (8, "affected-rows-limit"),
        ]
    );
}

#[test]
fn large_table_alter_names_the_algorithm_mariadb_would_use() {
    let cfg = ReviewConfig {
        large_table_mib: 1,
        ..ReviewConfig::default()
    };
    let f = facts(&[("d.t", &["id", "a"], 10 << 20)], &[]);
    let msg = |sql: &str| {
        let r = review(sql, &cfg);
        live::findings(&r, &f, Some("d"), &cfg)
            .into_iter()
            .find(|f| f.rule == "large-table-alter")
            .map(|f| f.message)
            .unwrap_or_default()
    };
    assert!(msg("ALTER TABLE t ADD COLUMN b INT NOT NULL DEFAULT 0")
        .contains("ALGORITHM=INSTANT, LOCK=NONE"));
    assert!(msg("ALTER TABLE t ADD INDEX idx_a (a)").contains("ALGORITHM=NOCOPY, LOCK=NONE"));
    assert!(msg("ALTER TABLE t MODIFY a BIGINT NOT NULL DEFAULT 0").contains("ALGORITHM=COPY"));
    assert!(msg("ALTER TABLE t ADD PRIMARY KEY (id)").contains("ALGORITHM=INPLACE, LOCK=NONE"));
    assert!(msg(
        "ALTER TABLE t ADD COLUMN b INT NOT NULL DEFAULT 0, MODIFY a BIGINT NOT NULL DEFAULT 0"
    )
    .contains("ALGORITHM=COPY"));
}
