//! Instances from a Prometheus source in the console: they join the Health list, an instance
//! also polled directly keeps its direct figures, and the live views of one known only through
//! Prometheus say so instead of waiting forever.

use arkc::app::{update, Action, State};
use arkc::backend::BackendEvent;
use arkc::config::{Config, InstanceConfig};
use arkc::health::{InstanceHealth, Source, Status};
use chrono::{DateTime, TimeZone, Utc};

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn row(name: &str, source: Source, qps: f64) -> InstanceHealth {
    let mut h = InstanceHealth::down(name, "", clock());
    h.status = Status::Up;
    h.error = None;
    h.source = source;
    h.qps = Some(qps);
    h.uptime_s = Some(86_400);
    h.version = Some("10.11.19-MariaDB".into());
    h
}

fn screen(state: &State) -> String {
    crate::support::render::screen(state, 120, 24)
}

fn send(state: &mut State, h: InstanceHealth) {
    update(state, Action::Backend(Box::new(BackendEvent::Health(h))));
}

#[test]
fn prometheus_instances_join_the_list_and_their_views_say_where_they_come_from() {
    let config = Config {
        instances: vec![InstanceConfig::tcp("primary", "10.0.3.7", 3306)],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock());
    let fleet = Source::Prometheus("fleet".into());
    send(&mut state, row("primary", Source::Direct, 111.0));
    send(&mut state, row("primary", fleet.clone(), 999.0));
    send(&mut state, row("edge-7", fleet.clone(), 42.0));
    update(&mut state, Action::Tick(clock()));

    assert_eq!(state.instances.len(), 2, "{:?}", state.instances);
    assert_eq!(state.health["primary"].source, Source::Direct);
    assert_eq!(state.health["primary"].qps, Some(111.0));
    let list = screen(&state);
    assert!(list.contains("edge-7"), "{list}");

    update(&mut state, Action::NextInstance);
    update(&mut state, Action::Confirm);
    update(&mut state, Action::NextPane);
    let view = screen(&state);
    assert!(view.contains("Processlist"), "{view}");
    assert!(
        view.contains("edge-7 is known only through Prometheus source `fleet`"),
        "{view}"
    );
}

#[test]
fn a_prometheus_row_before_the_first_direct_poll_does_not_stand_for_a_configured_instance() {
    let config = Config {
        instances: vec![InstanceConfig::tcp("primary", "10.0.3.7", 3306)],
        ..Config::default()
    };
    let mut state = State::new(&config, false, clock());
    let fleet = Source::Prometheus("fleet".into());
    send(&mut state, row("primary", fleet.clone(), 999.0));
    assert!(
        !state.health.contains_key("primary"),
        "the direct entry waits for its own poll"
    );
    send(&mut state, row("primary", Source::Direct, 111.0));
    send(&mut state, row("primary", fleet, 999.0));
    assert_eq!(state.health["primary"].source, Source::Direct);
    assert_eq!(state.health["primary"].qps, Some(111.0));
    assert_eq!(state.instances.len(), 1);
}
