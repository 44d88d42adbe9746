//! The Health pane's tag groups hold rows the config does not list by name: an instance read
//! through a tagged `[[prometheus]]` source carries the source's tags, and a replayed instance
//! the tags recorded with it.

use std::collections::BTreeMap;

use arkc::app::{update, Action, State};
use arkc::backend::replay::{ReplayFrame, ReplayPosition};
use arkc::backend::BackendEvent;
use arkc::config::Config;
use arkc::health::{InstanceHealth, Source, Status};
use arkc::recording::Frame;
use chrono::{DateTime, TimeZone, Utc};

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn row(name: &str, source: Source) -> InstanceHealth {
    let mut h = InstanceHealth::down(name, "", clock());
    h.status = Status::Up;
    h.error = None;
    h.source = source;
    h.qps = Some(1.0);
    h
}

/// The names in tag group `tag` (the `/` filter `tag:NAME` the `t` key sets).
fn group(state: &State, tag: &str) -> Vec<String> {
    state
        .fleet
        .matching(&format!("tag:{tag}"))
        .into_iter()
        .map(|i| state.instances[i].name.clone())
        .collect()
}

fn tags_of(state: &State, name: &str) -> Vec<String> {
    let entry = state.instances.iter().find(|i| i.name == name);
    entry
        .unwrap_or_else(|| panic!("{name} not listed"))
        .tags
        .clone()
}

#[test]
fn a_prometheus_sources_tags_group_its_instances() {
    let config = Config::parse(
        "[[instance]]\nname = \"primary\"\nhost = \"10.0.3.7\"\ntags = [\"prod\"]\n\n\
         [[prometheus]]\nname = \"fleet\"\nurl = \"http://p:9090\"\ntags = [\"Scraped\", \"prod\"]\n\n\
         [[prometheus]]\nname = \"plain\"\nurl = \"http://q:9090\"\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let mut state = State::new(&config, false, clock());
    for h in [
        row("primary", Source::Direct),
        row("edge-7", Source::Prometheus("fleet".into())),
        row("edge-9", Source::Prometheus("plain".into())),
    ] {
        update(
            &mut state,
            Action::Backend(Box::new(BackendEvent::Health(h))),
        );
    }
    assert_eq!(tags_of(&state, "edge-7"), ["Scraped", "prod"]);
    assert!(tags_of(&state, "edge-9").is_empty());
    assert_eq!(state.fleet.tag_names(), ["prod", "scraped"]);
    assert_eq!(group(&state, "scraped"), ["edge-7"]);
    let mut prod = group(&state, "prod");
    prod.sort();
    assert_eq!(prod, ["edge-7", "primary"]);
}

#[test]
fn a_replayed_instance_carries_its_recorded_tags_whatever_the_config_says() {
    let mut state = State::new(&Config::default(), false, clock());
    let tags: BTreeMap<String, Vec<String>> =
        [("db1".to_string(), vec!["Pay".to_string(), "eu".to_string()])].into();
    let frame = Frame {
        at: clock(),
        instances: vec![row("db1", Source::Direct), row("db2", Source::Direct)],
        alerts: Vec::new(),
        details: Vec::new(),
        tags,
    };
    let shown = ReplayFrame {
        position: ReplayPosition {
            file: "r.arkc".into(),
            at: clock(),
            index: 0,
            total: 1,
            playing: false,
        },
        frame,
        continues: false,
    };
    update(
        &mut state,
        Action::Backend(Box::new(BackendEvent::Replay(Box::new(shown)))),
    );
    assert_eq!(tags_of(&state, "db1"), ["Pay", "eu"]);
    assert!(tags_of(&state, "db2").is_empty());
    assert_eq!(group(&state, "pay"), ["db1"]);
    assert_eq!(group(&state, "eu"), ["db1"]);
}
