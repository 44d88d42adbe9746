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

#[test]
fn tag_groups_keep_their_own_counts() {
    let book = AlertBook::new();
    let mut list = entries(6);
    // A repeated tag counts once; a second tag puts the instance in two groups.
    list[0].tags = vec!["prod".into(), "PROD".into(), "eu".into()];
    let mut f = FleetIndex::new(&list);
    assert_eq!(f.tag_names(), ["eu", "prod", "staging"]);
    f.sync_filter("tag:prod");
    let (tag, s) = f.group_summary().unwrap();
    assert_eq!((tag, s.waiting, s.up), ("prod", 3, 0));
    for i in 0..6 {
        f.observe(&up(&format!("db{i:04}")), &book);
    }
    f.observe(&InstanceHealth::down("db0000", "refused", at()), &book);
    f.observe(&up("db0003").into_slow("late"), &book);
    let (_, prod) = f.group_summary().unwrap();
    assert_eq!((prod.up, prod.slow, prod.down, prod.waiting), (2, 0, 1, 0));
    f.sync_filter("TAG:Staging");
    let (_, staging) = f.group_summary().unwrap();
    assert_eq!((staging.up, staging.slow, staging.down), (2, 1, 0));
    f.sync_filter("tag:eu");
    assert_eq!(f.group_summary().unwrap().1.down, 1);
    f.sync_filter("db");
    assert_eq!(
        f.group_summary(),
        None,
        "not a tag filter: the fleet's counts"
    );
    // The whole fleet still adds up.
    let all = f.summary();
    assert_eq!((all.up, all.slow, all.down), (4, 1, 1));
    // A late instance with a new tag makes a new group.
    f.add(&InstanceEntry {
        name: "late".into(),
        address: "x".into(),
        tags: vec!["dr".into()],
    });
    f.sync_filter("tag:dr");
    assert_eq!(f.group_summary().unwrap().1.waiting, 1);
}

#[test]
fn firing_alerts_count_in_every_group_of_the_instance() {
    let mut book = AlertBook::new();
    let mut f = FleetIndex::new(&entries(4));
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
    f.sync_filter("tag:prod");
    assert!(f.group_summary().unwrap().1.critical >= 1);
    f.sync_filter("tag:staging");
    assert_eq!(f.group_summary().unwrap().1.critical, 0);
    // Back up and judged again: the group's count goes back to zero.
    f.observe(&up("db0002"), &AlertBook::new());
    f.sync_filter("tag:prod");
    assert_eq!(f.group_summary().unwrap().1.critical, 0);
}

#[test]
fn t_cycles_through_the_tags_then_the_whole_fleet() {
    let f = FleetIndex::new(&entries(4));
    assert_eq!(f.next_tag_group("", false).as_deref(), Some("prod"));
    assert_eq!(
        f.next_tag_group("tag:prod", false).as_deref(),
        Some("staging")
    );
    assert_eq!(f.next_tag_group("tag:staging", false), None);
    assert_eq!(f.next_tag_group("db00", false).as_deref(), Some("prod"));
    assert_eq!(f.next_tag_group("", true).as_deref(), Some("staging"));
    assert_eq!(f.next_tag_group("tag:prod", true), None);
    let untagged = FleetIndex::new(&[]);
    assert_eq!(untagged.next_tag_group("", false), None);
}
