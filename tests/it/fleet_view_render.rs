//! The Health list at fleet size: 1,000 instances drawn at 80x24, worst first (down, slow,
//! lagging), with the summary line, and the `/` filter by tag.

use arkc::app::{update, Action, State};
use arkc::backend::BackendEvent;
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Replication, Status};
use chrono::{DateTime, TimeZone, Utc};

fn clock(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, secs)
        .single()
        .expect("valid time")
}

fn up(name: &str, lag: Option<u64>) -> InstanceHealth {
    InstanceHealth {
        instance: name.into(),
        status: Status::Up,
        error: None,
        version: Some("10.11.6-MariaDB".into()),
        uptime_s: Some(86_400),
        qps: Some(120.0),
        tps: Some(8.0),
        threads_connected: Some(10),
        threads_running: Some(1),
        max_connections: Some(151),
        replication: lag.map(|l| Replication {
            role: "replica".into(),
            io_running: true,
            sql_running: true,
            lag_s: Some(l),
        }),
        read_only: Some(lag.is_some()),
        sampled_at: clock(8),
        ..InstanceHealth::down(name, "", clock(8))
    }
}

/// 1,000 instances over 10 hosts: every 97th down, every 131st slow, every 50th a lagging
/// replica, and the last 5 not polled yet.
fn fleet_state() -> State {
    let instances = (0..1000)
        .map(|i| {
            let mut inst =
                InstanceConfig::tcp(&format!("db{i:04}"), &format!("10.1.0.{}", i % 10), 3306);
            inst.tags = vec![if i % 4 == 0 { "pay" } else { "web" }.to_string()];
            inst
        })
        .collect();
    let config = Config {
        instances,
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    for i in 0..995 {
        let name = format!("db{i:04}");
        let h = if i % 97 == 13 {
            InstanceHealth::down(&name, "Connection refused (os error 111)", clock(7))
        } else if i % 131 == 7 {
            up(&name, None).into_slow("answered in 1.3 s (slow above 1000 ms)")
        } else if i % 50 == 3 {
            up(&name, Some(i as u64))
        } else {
            up(&name, None)
        };
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(h))),
        );
    }
    update(&mut state, Action::Tick(clock(10)));
    state
}

fn screen(state: &State) -> String {
    crate::support::render::screen(state, 80, 24)
}

#[test]
fn thousand_instances_worst_first_with_a_summary_80x24() {
    let mut state = fleet_state();
    // The selection starts on the worst row.
    update(&mut state, Action::Top);
    let text = screen(&state);
    assert!(
        text.contains("976 up · 8 slow · 11 down · 5 waiting │ alerts 11 crit · 0 warn"),
        "{text}"
    );
    let first_row = text.lines().find(|l| l.starts_with("│db")).expect("a row");
    assert!(first_row.contains("DOWN"), "{first_row}");
    insta::assert_snapshot!(text);
}

#[test]
fn scrolled_to_the_lagging_replicas_and_filtered_by_tag_80x24() {
    let mut state = fleet_state();
    update(&mut state, Action::Top);
    // Past the 12 down and 8 slow rows: the replicas, largest lag first.
    for _ in 0..20 {
        update(&mut state, Action::Down);
    }
    let text = screen(&state);
    assert!(text.contains("db0953"), "largest lag first:\n{text}");
    update(&mut state, Action::Filter);
    for c in "tag:pay".chars() {
        update(&mut state, Action::InputChar(c));
    }
    update(&mut state, Action::Confirm);
    update(&mut state, Action::Top);
    let text = screen(&state);
    assert!(text.contains("Instances 250/1000"), "{text}");
    insta::assert_snapshot!(text);
}

/// What the summary line of the `pay` group must count: the same rules as `fleet_state`.
fn pay_counts() -> (usize, usize, usize, usize) {
    let (mut up, mut slow, mut down, mut waiting) = (0, 0, 0, 0);
    for i in (0..1000).filter(|i| i % 4 == 0) {
        if i >= 995 {
            waiting += 1;
        } else if i % 97 == 13 {
            down += 1;
        } else if i % 131 == 7 {
            slow += 1;
        } else {
            up += 1;
        }
    }
    (up, slow, down, waiting)
}

#[test]
fn t_shows_one_tag_group_with_its_own_summary_80x24() {
    let mut state = fleet_state();
    update(&mut state, Action::NextTagGroup);
    assert_eq!(state.filter, "tag:pay");
    let text = screen(&state);
    let (up, slow, down, waiting) = pay_counts();
    let summary =
        format!("│{up} up · {slow} slow · {down} down · {waiting} waiting │ alerts {down} crit");
    assert!(text.contains(&summary), "want `{summary}` in\n{text}");
    assert!(
        text.contains("Instances 250/1000 · tag group pay"),
        "{text}"
    );
    assert!(text.contains("tag group pay: 250 instances"), "{text}");
    // Only `pay` rows: every 4th instance.
    for row in text.lines().filter(|l| l.starts_with("│db")) {
        let n: usize = row.trim_start_matches('│')[2..6].parse().unwrap();
        assert_eq!(n % 4, 0, "{row}");
    }
    insta::assert_snapshot!(text);

    update(&mut state, Action::NextTagGroup);
    assert_eq!(state.filter, "tag:web");
    assert!(screen(&state).contains("Instances 750/1000"));
    update(&mut state, Action::NextTagGroup);
    assert_eq!(state.filter, "", "after the last tag: the whole fleet");
    let text = screen(&state);
    assert!(text.contains("976 up · 8 slow · 11 down"), "{text}");
    assert!(text.contains("2 tag groups (pay, web)"), "{text}");
}

#[test]
fn tag_palette_command_picks_a_group_or_names_the_tags() {
    let mut state = fleet_state();
    let palette = |state: &mut State, line: &str| {
        update(state, Action::Palette);
        for c in line.chars() {
            update(state, Action::InputChar(c));
        }
        update(state, Action::Confirm);
    };
    palette(&mut state, "tag WEB");
    assert_eq!(state.filter, "tag:web");
    assert!(screen(&state).contains("tag group web"));
    palette(&mut state, "tag nope");
    assert_eq!(state.filter, "tag:web", "an unknown tag changes nothing");
    let text = screen(&state);
    assert!(
        text.contains("no instance is tagged `nope`; tags: pay, web"),
        "{text}"
    );
    palette(&mut state, "tag");
    assert_eq!(state.filter, "");
}
