use super::*;
use crate::health::alert_state::default_rules;
use crate::health::Replication;

fn entries(n: usize) -> Vec<InstanceEntry> {
    (0..n)
        .map(|i| InstanceEntry {
            name: format!("db{i:04}"),
            address: format!("10.0.{}.{}:3306", i / 250, i % 250),
            tags: vec![if i % 2 == 0 { "prod" } else { "staging" }.to_string()],
        })
        .collect()
}

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn up(name: &str) -> InstanceHealth {
    let mut h = InstanceHealth::down(name, "x", at());
    h.status = Status::Up;
    h.error = None;
    h
}

fn lagging(name: &str, lag: u64) -> InstanceHealth {
    let mut h = up(name);
    h.replication = Some(Replication {
        role: "replica".into(),
        io_running: true,
        sql_running: true,
        lag_s: Some(lag),
    });
    h
}

#[test]
fn worst_first_and_counts_follow_each_result() {
    let book = AlertBook::new();
    let mut f = FleetIndex::new(&entries(6));
    assert_eq!(f.summary().waiting, 6);
    for i in 0..6 {
        f.observe(&up(&format!("db{i:04}")), &book);
    }
    assert_eq!(f.visible(), [0, 1, 2, 3, 4, 5], "all equal: config order");
    f.observe(&InstanceHealth::down("db0004", "refused", at()), &book);
    f.observe(&up("db0002").into_slow("answered in 1.4 s"), &book);
    f.observe(&lagging("db0001", 30), &book);
    f.observe(&lagging("db0003", 300), &book);
    assert_eq!(f.visible(), [4, 2, 3, 1, 0, 5]);
    assert_eq!(f.position(3), Some(2));
    let s = f.summary();
    assert_eq!((s.up, s.slow, s.down, s.waiting), (4, 1, 1, 0));
    // Back up: back in place.
    f.observe(&up("db0004"), &book);
    assert_eq!(f.visible(), [2, 3, 1, 0, 4, 5]);
    assert_eq!(f.summary().down, 0);
}

#[test]
fn firing_alerts_rank_by_severity_and_are_counted() {
    let mut book = AlertBook::new();
    let mut f = FleetIndex::new(&entries(3));
    // Down for longer than the rule's `for`: instance_down fires (critical).
    let rules = default_rules();
    let down = InstanceHealth::down("db0002", "refused", at());
    for s in [0, 120, 240] {
        book.observe(
            "db0002",
            &down.alert_facts(None),
            &rules,
            at() + chrono::Duration::seconds(s),
        );
    }
    f.observe(&down, &book);
    f.observe(&up("db0000"), &book);
    let s = f.summary();
    assert!(s.critical >= 1, "{s:?}");
    assert_eq!(f.visible()[0], 2);
    assert_eq!(f.standing(2), Some(Standing::Down));
}

#[test]
fn filter_by_words_tags_and_status() {
    let book = AlertBook::new();
    let mut f = FleetIndex::new(&entries(10));
    f.observe(&InstanceHealth::down("db0007", "refused", at()), &book);
    assert_eq!(f.matching("down"), [7]);
    assert_eq!(f.matching("DB000"), [7, 0, 1, 2, 3, 4, 5, 6, 8, 9]);
    assert_eq!(f.matching("tag:staging"), [7, 1, 3, 5, 9]);
    assert_eq!(f.matching("tag:stag"), Vec::<usize>::new(), "tag: is exact");
    assert_eq!(
        f.matching("stag").len(),
        5,
        "plain words match tags as substrings"
    );
    assert_eq!(f.matching("10.0.0.3:"), [3]);
    f.sync_filter("tag:prod");
    assert_eq!(f.visible(), [0, 2, 4, 6, 8]);
    assert_eq!(f.position(4), Some(2));
    assert_eq!(f.position(7), None);
    f.observe(&InstanceHealth::down("db0008", "refused", at()), &book);
    assert_eq!(
        f.visible(),
        [8, 0, 2, 4, 6],
        "the cached rows follow new results"
    );
}
