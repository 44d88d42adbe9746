//! Aggregates, filters and ordering on small hand-written logs.

use std::path::Path;

use arkc_slowlog::{Digest, DigestFilter, OrderBy, QueryClass, SortAttribute, SortFunction};

/// Three classes over 100 seconds: the SELECTs on orders run in db shop (the second
/// inherits it), the rest in crm; two entries without a time of their own.
const LOG: &str = "\
# Time: 2023-11-25T10:00:00Z
# User@Host: app[app] @ web1 [10.0.0.1]  Id: 1
# Query_time: 2.0  Lock_time: 0.5  Rows_sent: 10  Rows_examined: 1000
# No_index_used: Yes
use shop;
SET timestamp=1700906400;
SELECT * FROM orders WHERE id = 1;
# User@Host: app[app] @ web2 [10.0.0.2]  Id: 2
# Query_time: 4.0  Lock_time: 0.25  Rows_sent: 20  Rows_examined: 2000
SET timestamp=1700906450;
SELECT * FROM orders WHERE id = 2;
# User@Host: batch[batch] @ web1 [10.0.0.1]  Id: 3
# Query_time: 0.5  Lock_time: 0  Rows_sent: 1  Rows_examined: 1
use crm;
SET timestamp=1700906500;
SELECT name FROM users WHERE id = 7;
# User@Host: batch[batch] @ web1 [10.0.0.1]  Id: 3
# Query_time: 0.1  Lock_time: 0  Rows_sent: 1  Rows_examined: 1
SELECT name FROM users WHERE id = 8;
# User@Host: batch[batch] @ web1 [10.0.0.1]  Id: 3
# Query_time: 0.1  Lock_time: 0  Rows_sent: 1  Rows_examined: 1
SELECT name FROM users WHERE id = 9;
# User@Host: app[app] @ web1 [10.0.0.1]  Id: 1
# Query_time: 9.0  Lock_time: 0  Rows_sent: 0  Rows_examined: 5
SET timestamp=1700906410;
UPDATE orders SET state = 'x' WHERE id = 3;
";

fn digest(filter: DigestFilter) -> Digest {
    let mut d = Digest::new(filter);
    d.add_reader(LOG.as_bytes(), Path::new("test.log"))
        .expect("in-memory log");
    d
}

fn class<'a>(d: &'a Digest, fingerprint: &str) -> &'a QueryClass {
    d.classes()
        .find(|c| c.fingerprint == fingerprint)
        .unwrap_or_else(|| panic!("no class {fingerprint}"))
}

#[test]
fn aggregates_per_class() {
    let d = digest(DigestFilter::default());
    assert_eq!(d.class_count(), 3);
    let orders = class(&d, "select * from orders where id = ?");
    assert_eq!(orders.count, 2);
    let qt = orders.query_time_stats();
    assert_eq!(
        (qt.sum, qt.avg, qt.min, qt.max, qt.p95, qt.median),
        (6.0, 3.0, 2.0, 4.0, 4.0, 3.0)
    );
    assert_eq!(
        (
            orders.lock_time_sum,
            orders.rows_sent_sum,
            orders.rows_examined_sum
        ),
        (0.75, 30.0, 3000.0)
    );
    assert_eq!(orders.no_index_count, 1);
    let buckets: Vec<(f64, u32)> = orders.query_time_buckets().collect();
    assert_eq!(buckets.len(), 2);
    for ((lower, n), value) in buckets.iter().zip([2.0, 4.0]) {
        assert!(
            *n == 1 && *lower <= value && *lower > value / 1.06,
            "{value} in bucket from {lower}"
        );
    }
    assert_eq!(
        (orders.first_seen, orders.last_seen),
        (Some(1_700_906_400), Some(1_700_906_450))
    );
    assert_eq!(
        orders.databases.sorted(),
        [("shop", 2)],
        "the database is inherited"
    );
    assert_eq!(orders.hosts.sorted(), [("web1", 1), ("web2", 1)]);
    let sample = orders.sample.as_ref().expect("a sample");
    assert_eq!(
        (sample.query.as_str(), sample.query_time, sample.line),
        ("SELECT * FROM orders WHERE id = 2", Some(4.0), 8)
    );
    assert_eq!(d.window(), Some((1_700_906_400, 1_700_906_500)));
    assert!((d.qps(orders) - 0.02).abs() < 1e-12);
    let users = class(&d, "select name from users where id = ?");
    assert_eq!(users.databases.sorted(), [("crm", 3)]);
    assert_eq!(users.users.sorted(), [("batch", 3)]);
    assert_eq!(
        users.last_seen,
        Some(1_700_906_500),
        "the time is inherited too"
    );
}

#[test]
fn filters_by_time_database_and_latency() {
    let since = digest(DigestFilter {
        since: Some(1_700_906_450),
        ..Default::default()
    });
    assert_eq!(since.classes().map(|c| c.count).sum::<u64>(), 4);
    let until = digest(DigestFilter {
        until: Some(1_700_906_450),
        ..Default::default()
    });
    assert_eq!(until.classes().map(|c| c.count).sum::<u64>(), 2);
    let crm = digest(DigestFilter {
        database: Some("crm".into()),
        ..Default::default()
    });
    let mut in_crm: Vec<_> = crm.classes().map(|c| c.fingerprint.as_str()).collect();
    in_crm.sort();
    // The UPDATE has no `use` line: it ran in the last database named, crm.
    assert_eq!(
        in_crm,
        [
            "select name from users where id = ?",
            "update orders set state = ? where id = ?"
        ]
    );
    let slow = digest(DigestFilter {
        min_time: Some(1.0),
        ..Default::default()
    });
    assert_eq!(slow.classes().map(|c| c.count).sum::<u64>(), 3);
}

#[test]
fn ordering_and_limit() {
    let d = digest(DigestFilter::default());
    let names = |order: &str, limit| {
        let order: OrderBy = order.parse().expect("valid order");
        order
            .rank(d.classes(), limit)
            .iter()
            .map(|c| c.fingerprint.split(' ').nth(1).unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("Query_time:sum", None), ["orders", "*", "name"]);
    assert_eq!(names("Query_time:count", None), ["name", "*", "orders"]);
    assert_eq!(names("Query_time:avg", Some(2)), ["orders", "*"]);
    assert_eq!(names("Rows_examined:max", Some(1)), ["*"]);
    assert_eq!(
        "lock_time:avg".parse::<OrderBy>(),
        Ok(OrderBy {
            attribute: SortAttribute::LockTime,
            function: SortFunction::Avg
        })
    );
    assert!("Query_time:median".parse::<OrderBy>().is_err());
    assert!("Bogus:sum".parse::<OrderBy>().is_err());
}
