//! arkc's own queueing at fleet size (polls waiting for a free slot past the budget) is said once,
//! in the Health list's summary line and in the status bar; no instance is marked slow for it.

use std::time::Duration;

use arkc::app::{update, Action, State};
use arkc::backend::health::schedule::FleetPace;
use arkc::backend::BackendEvent;
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Status};
use chrono::{DateTime, TimeZone, Utc};

fn clock(secs: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, secs)
        .single()
        .expect("valid time")
}

fn fleet_of(n: usize) -> State {
    let instances = (0..n)
        .map(|i| InstanceConfig::tcp(&format!("db{i:04}"), "10.1.0.1", 3306))
        .collect();
    let config = Config {
        instances,
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock(0));
    for i in 0..n {
        let mut h = InstanceHealth::down(&format!("db{i:04}"), "", clock(5));
        h.status = Status::Up;
        h.error = None;
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(h))),
        );
    }
    state
}

fn pace(overdue: usize) -> FleetPace {
    FleetPace {
        waiting: 30,
        overdue,
        behind: Duration::from_millis(3240),
        in_flight: 4,
        max_inflight: 4,
        instances: 40,
        interval: Duration::from_secs(1),
    }
}

fn screen(state: &State) -> String {
    crate::support::render::screen(state, 120, 24)
}

#[test]
fn polls_queued_past_the_budget_are_said_once_and_no_row_turns_slow() {
    let mut state = fleet_of(40);
    let send = |state: &mut State, p: FleetPace| {
        update(state, Action::Backend(Box::new(BackendEvent::FleetPace(p))));
    };
    send(&mut state, pace(12));
    let text = screen(&state);
    let summary = text
        .lines()
        .find(|l| l.contains(" up · "))
        .expect("summary line");
    assert!(summary.contains("40 up · 0 slow · 0 down"), "{summary}");
    assert!(
        summary.contains("arkc behind 3.2 s: 30/40 polls queued, max_inflight 4"),
        "{summary}"
    );
    let status_bar = text.lines().nth(22).expect("status bar");
    assert!(status_bar.contains("arkc behind 3.2 s"), "{status_bar}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("│db")).collect();
    assert!(!rows.is_empty(), "{text}");
    assert!(
        rows.iter().all(|r| !r.contains("slow")),
        "no row is slow:\n{text}"
    );

    // Waiting, but none past the budget: arkc keeps up, nothing is said.
    send(&mut state, pace(0));
    let text = screen(&state);
    assert!(!text.contains("arkc behind"), "{text}");
}
