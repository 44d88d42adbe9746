//! Parser tests on hand-written logs in each server's format.

use super::*;
use crate::event::EventKind;

struct Parsed {
    query: String,
    kind: EventKind,
    line: u64,
    user: Option<String>,
    host: Option<String>,
    db: Option<String>,
    unix_time: Option<i64>,
    no_index: bool,
    attributes: Vec<(String, String)>,
}

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn parse(log: &str) -> (Vec<Parsed>, ParseStats) {
    let mut parser = SlowLogParser::new(log.as_bytes(), "test.log");
    let mut out = Vec::new();
    while let Some(e) = parser.next_event().expect("in-memory input cannot fail") {
        out.push(Parsed {
            query: String::from_utf8_lossy(e.query()).into_owned(),
            kind: e.kind(),
            line: e.position().line,
            user: text(e.user()),
            host: text(e.host()),
            db: text(e.database()),
            unix_time: e.unix_time(),
            no_index: e.no_index_used(),
            attributes: e
                .attributes()
                .map(|(k, v)| {
                    (
                        text(Some(k)).unwrap_or_default(),
                        text(Some(v)).unwrap_or_default(),
                    )
                })
                .collect(),
        });
    }
    (out, parser.stats().clone())
}

fn attr<'a>(p: &'a Parsed, name: &str) -> Option<&'a str> {
    p.attributes
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn mysql8_with_log_slow_extra() {
    let log = "/usr/sbin/mysqld, Version: 8.0.35 (MySQL Community Server - GPL). started with:\nTcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\nTime                 Id Command    Argument\n\
# Time: 2023-11-25T10:00:00.123456Z\n# User@Host: app[app] @ web1 [10.0.0.1]  Id:    12\n\
# Query_time: 1.500000  Lock_time: 0.000100 Rows_sent: 1  Rows_examined: 1000 Thread_id: 12 Errno: 0 Killed: 0 Bytes_received: 50 Bytes_sent: 100 Read_rnd_next: 1001 Start: 2023-11-25T09:59:58.623456Z End: 2023-11-25T10:00:00.123456Z\n\
use shop;\nSET timestamp=1700906398;\nSELECT *\nFROM orders\nWHERE id = 42;\n";
    let (events, stats) = parse(log);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.query, "SELECT *\nFROM orders\nWHERE id = 42");
    assert_eq!(
        (e.user.as_deref(), e.host.as_deref(), e.db.as_deref()),
        (Some("app"), Some("web1"), Some("shop"))
    );
    assert_eq!(e.unix_time, Some(1_700_906_398));
    assert_eq!(
        attr(e, "Read_rnd_next"),
        Some("1001"),
        "unknown attributes are kept"
    );
    assert_eq!(attr(e, "Query_time"), Some("1.500000"));
    assert_eq!(e.line, 4);
    assert_eq!(stats.entries, 1);
}

#[test]
fn percona_extended_attributes() {
    let log = "# Time: 090311 18:11:50\n# User@Host: root[root] @ localhost []\n# Thread_id: 47  Schema: db1  Last_errno: 0  Killed: 0\n\
# Query_time: 0.017850  Lock_time: 0.000000  Rows_sent: 0  Rows_examined: 0  Rows_affected: 0  Rows_read: 0\n\
# Bytes_sent: 0  Tmp_tables: 0  Tmp_disk_tables: 0  Tmp_table_sizes: 0\n# InnoDB_trx_id: 1A2B\n\
# QC_Hit: No  Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No\n# Filesort: No  Filesort_on_disk: No  Merge_passes: 0\n\
#   InnoDB_IO_r_ops: 0  InnoDB_IO_r_bytes: 0  InnoDB_IO_r_wait: 0.000000\n# No InnoDB statistics available for this query\nselect count(*) from t;\n";
    let (events, _) = parse(log);
    let e = &events[0];
    assert_eq!(e.db.as_deref(), Some("db1"), "Schema: gives the database");
    assert!(e.no_index, "Full_scan: Yes counts as no index");
    assert_eq!(attr(e, "InnoDB_trx_id"), Some("1A2B"));
    assert_eq!(attr(e, "InnoDB_IO_r_wait"), Some("0.000000"));
    assert_eq!(e.unix_time, Some(1_236_795_110));
}

#[test]
fn mariadb_verbosity_fields_and_explain_blocks() {
    let log = "mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:\nTcp port: 0  Unix socket: /tmp/s/sock\nTime\t\t    Id Command\tArgument\n\
# Time: 261125 11:33:11\n# User@Host: root[root] @ localhost []\n# Thread_id: 3  Schema:   QC_hit: No\n\
# Query_time: 0.000147  Lock_time: 0.000043  Rows_sent: 1  Rows_examined: 3\n# Rows_affected: 0  Bytes_sent: 102\n\
# Pages_accessed: 1  Pages_read: 0  Pages_prefetched: 0  Pages_updated: 0  Old_rows_read: 0\n# Full_scan: Yes  Full_join: No  Tmp_table: No  Tmp_table_on_disk: No\n#\n\
# explain: id\tselect_type\ttable\ttype\tpossible_keys\tkey\tkey_len\tref\trows\tr_rows\tfiltered\tr_filtered\tExtra\n\
# explain: 1\tSIMPLE\tt\tALL\tNULL\tNULL\tNULL\tNULL\t3\t3.00\t100.00\t33.33\tUsing where\n#\n\
SET timestamp=1795606391;\nselect * from shop.t where b=2;\n\
# User@Host: root[root] @ localhost []\n# Thread_id: 3  Schema: shop  QC_hit: No\n# Query_time: 0.000064  Lock_time: 0.000015  Rows_sent: 2  Rows_examined: 3\n\
SET timestamp=1795606392;\nselect a from t where a in (1,2);\n";
    let (events, _) = parse(log);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].query, "select * from shop.t where b=2");
    assert_eq!(events[0].db, None, "an empty Schema: is no database");
    assert!(attr(&events[0], "Schema").is_none());
    assert_eq!(attr(&events[0], "QC_hit"), Some("No"));
    assert!(events[0].no_index);
    assert_eq!(attr(&events[0], "Pages_accessed"), Some("1"));
    assert_eq!(events[1].db.as_deref(), Some("shop"));
    assert_eq!(events[1].unix_time, Some(1_795_606_392));
}

#[test]
fn administrator_commands_and_restarts_mid_file() {
    let log = "# Time: 071015 21:43:52\n# User@Host: root[root] @ localhost []\n# Query_time: 0.1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\n\
# administrator command: Quit;\n\
/usr/sbin/mysqld, Version: 5.0.77-log (MySQL). started with:\nTcp port: 3306  Unix socket: /tmp/mysql.sock\nTime                 Id Command    Argument\n\
# Time: 071015 21:45:00\n# Query_time: 2  Lock_time: 0  Rows_sent: 1  Rows_examined: 0\nselect 1;\n\
mariadbd, Version: 10.11.19-MariaDB-log (Debian 12). started with:\nTcp port: 0  Unix socket: /tmp/s/sock\nTime\t\t    Id Command\tArgument\n\
# Time: 071015 21:46:00\n# Query_time: 3  Lock_time: 0  Rows_sent: 1  Rows_examined: 0\nselect 2;\n";
    let (events, _) = parse(log);
    let queries: Vec<_> = events.iter().map(|e| (e.query.as_str(), e.kind)).collect();
    assert_eq!(
        queries,
        [
            ("administrator command: Quit", EventKind::Admin),
            ("select 1", EventKind::Query),
            ("select 2", EventKind::Query)
        ]
    );
    assert_eq!(events[2].unix_time, Some(1_192_484_760));
}

#[test]
fn truncated_entries_are_skipped_with_their_line() {
    let log =
        "# Query_time: 1  Lock_time: 0\nselect 1;\n# Time: 081114 13:04:02\n# User@Host: truncated";
    let (events, stats) = parse(log);
    assert_eq!(events.len(), 1);
    assert_eq!(stats.skipped, 1);
    assert_eq!(
        stats.problems,
        [EntryProblem {
            line: 3,
            kind: ProblemKind::NoStatement
        }]
    );
}

#[test]
fn a_statement_without_its_semicolon_runs_into_the_next_entry_as_in_pt() {
    // pt-query-digest cuts entries at ";\n#", so this yields one entry, like the original.
    let (events, _) = parse("# Query_time: 1\nselect 1\n# Query_time: 2\nselect 2;\n");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].query, "select 1\n# Query_time: 2\nselect 2");
}

#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "#",
        " ",
        "\n",
        ";\n#",
        ";\n",
        "# Time: ",
        "071015 21:43:52",
        "# User@Host: ",
        "[",
        "]",
        "@ ",
        "Id: ",
        "use ",
        "SET timestamp=",
        "# Query_time: ",
        "x",
        "1",
        "Schema: ",
        "# administrator command: ",
        "Tcp port: 1",
        "/usr/sbin/mysqld, Version: 5 started with:",
        "Time Id Command",
        "\0",
        "\u{00e9}",
        "select",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..3000 {
        let log: String = (0..next(40)).map(|_| PIECES[next(PIECES.len())]).collect();
        let (events, stats) = parse(&log);
        assert!(events.len() as u64 == stats.entries);
    }
}
