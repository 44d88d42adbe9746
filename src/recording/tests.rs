use super::*;
use crate::health::Status;

fn frame(second: i64, instances: usize) -> Frame {
    let at =
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(second);
    Frame {
        at,
        instances: (0..instances)
            .map(|i| {
                let mut h = InstanceHealth::down(&format!("db{i}"), "", at);
                h.status = Status::Up;
                h.error = None;
                // Different every frame so that compression cannot make frames free.
                h.qps = Some((second as f64 * 7919.0 + i as f64 * 104_729.0).sin() * 1e6);
                h.uptime_s = Some(second as u64 * 1_000_003 + i as u64);
                h.version = Some(format!(
                    "10.11.{second}-{i}-{:x}",
                    (second as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64
                ));
                h
            })
            .collect(),
        alerts: Vec::new(),
        details: Vec::new(),
        tags: Default::default(),
    }
}

#[test]
fn frames_come_back_at_or_before_the_time_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let mut rec = Recording::create(&path).unwrap();
    for s in [0, 10, 20] {
        rec.append(&frame(s, 2), Retention::default()).unwrap();
    }
    drop(rec);
    let rec = Recording::open(&path).unwrap();
    let at = |s: i64| Some(frame(s, 0).at);
    // Compared without qps: JSON floats come back within an ulp, not always bit for bit.
    let found = |t| {
        let f = rec.frame_at(t).unwrap().unwrap();
        let names: Vec<String> = f.instances.iter().map(|h| h.instance.clone()).collect();
        (f.at, names, f.instances[1].uptime_s)
    };
    let want = |s| {
        let f = frame(s, 2);
        (
            f.at,
            vec!["db0".to_string(), "db1".to_string()],
            f.instances[1].uptime_s,
        )
    };
    assert_eq!(found(at(15)), want(10));
    assert_eq!(found(at(10)), want(10));
    assert_eq!(found(at(25)), want(20));
    assert_eq!(found(None), want(20));
    assert_eq!(
        rec.frame_at(at(-1)).unwrap(),
        None,
        "nothing before the first frame"
    );
    assert_eq!(rec.times().unwrap().len(), 3);
}

#[test]
fn the_file_never_grows_past_the_size_bound_and_drops_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let bound = MIN_BYTES * 2;
    let retention = Retention {
        max_bytes: bound,
        ..Retention::default()
    };
    let mut rec = Recording::create(&path).unwrap();
    for s in 0..400 {
        rec.append(&frame(s, 20), retention).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= bound, "after frame {s}: {size} bytes > {bound}");
    }
    let times = rec.times().unwrap();
    assert!(times.len() > 5 && times.len() < 400, "kept {}", times.len());
    // What is left is the newest run of frames, without gaps.
    let secs: Vec<i64> = times
        .iter()
        .map(|t| (*t - frame(0, 0).at).num_seconds())
        .collect();
    let expected: Vec<i64> = (400 - secs.len() as i64..400).collect();
    assert_eq!(secs, expected);
}

#[test]
fn frames_older_than_the_age_bound_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let retention = Retention {
        max_age: Duration::from_secs(30),
        ..Retention::default()
    };
    let mut rec = Recording::create(&path).unwrap();
    for s in (0..100).step_by(10) {
        rec.append(&frame(s, 1), retention).unwrap();
    }
    let first = rec.times().unwrap()[0];
    assert_eq!((first - frame(0, 0).at).num_seconds(), 60);
}

#[test]
fn other_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a recording at all, just some text that is long enough",
    )
    .unwrap();
    let err = Recording::open(&text).err().unwrap().to_string();
    assert!(
        err.contains("notes.txt") && err.contains("not an arkc recording"),
        "{err}"
    );
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let err = Recording::open(&other).err().unwrap().to_string();
    assert!(
        err.contains("other.db") && err.contains("not an arkc recording"),
        "{err}"
    );
    let err = Recording::open(&dir.path().join("missing"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("missing") && err.contains("no such recording"),
        "{err}"
    );
}

fn sizes_read(instance: &str, marker: u64) -> RecordedRead {
    RecordedRead {
        instance: instance.into(),
        body: ReadBody::Sizes(crate::health::sizes::SizeReport {
            // Different every read so that compression cannot make reads free.
            datadir: Some(format!(
                "/var/lib/mysql-{:x}",
                marker.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            )),
            notes: (0..20)
                .map(|i| {
                    format!(
                        "{:x}",
                        (marker * 31 + i).wrapping_mul(0x2545_f491_4f6c_dd1d)
                    )
                })
                .collect(),
            ..Default::default()
        }),
    }
}

#[test]
fn reads_come_back_newest_at_or_before_per_instance_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let mut rec = Recording::create(&path).unwrap();
    rec.append_with_reads(&frame(0, 1), &[sizes_read("db0", 1)], Retention::default())
        .unwrap();
    rec.append(&frame(10, 1), Retention::default()).unwrap();
    rec.append_with_reads(&frame(20, 1), &[sizes_read("db0", 2)], Retention::default())
        .unwrap();
    drop(rec);
    let rec = Recording::open(&path).unwrap();
    let at = |s| frame(s, 0).at;
    let (when, body) = rec
        .read_at("db0", ReadKind::Sizes, at(15))
        .unwrap()
        .unwrap();
    assert_eq!(when, at(0));
    assert_eq!(body, sizes_read("db0", 1).body);
    let (when, _) = rec
        .read_at("db0", ReadKind::Sizes, at(25))
        .unwrap()
        .unwrap();
    assert_eq!(when, at(20));
    assert_eq!(
        rec.read_at("db0", ReadKind::Parameters, at(25)).unwrap(),
        None
    );
    assert_eq!(rec.read_at("db1", ReadKind::Sizes, at(25)).unwrap(), None);
    assert_eq!(rec.read_at("db0", ReadKind::Sizes, at(-1)).unwrap(), None);
    assert_eq!(rec.read_count().unwrap(), 2);
}

#[test]
fn reads_count_in_the_size_bound_and_go_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let bound = MIN_BYTES * 2;
    let retention = Retention {
        max_bytes: bound,
        ..Retention::default()
    };
    let mut rec = Recording::create(&path).unwrap();
    for s in 0..300 {
        let reads: Vec<RecordedRead> = (0..3)
            .map(|i| sizes_read(&format!("db{i}"), s as u64 * 3 + i))
            .collect();
        rec.append_with_reads(&frame(s, 5), &reads, retention)
            .unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= bound, "after frame {s}: {size} bytes > {bound}");
    }
    let first_frame = rec.times().unwrap()[0];
    let kept = rec.read_count().unwrap();
    assert!(kept > 0 && kept < 900, "kept {kept} reads");
    // Oldest first: at most the reads of the moment whose frame went last are older than the
    // oldest frame (a frame goes before the reads of its moment, later frames may show them).
    let oldest_read: i64 = rec
        .conn
        .query_row("SELECT MIN(at_ms) FROM reads", [], |r| r.get(0))
        .unwrap();
    assert!(
        oldest_read >= first_frame.timestamp_millis() - 1000,
        "read at {oldest_read}, oldest frame {first_frame}"
    );
}

#[test]
fn reads_older_than_the_age_bound_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.arkc");
    let retention = Retention {
        max_age: Duration::from_secs(30),
        ..Retention::default()
    };
    let mut rec = Recording::create(&path).unwrap();
    for s in (0..100).step_by(10) {
        rec.append_with_reads(&frame(s, 1), &[sizes_read("db0", s as u64)], retention)
            .unwrap();
    }
    assert_eq!(rec.read_count().unwrap(), 4);
    assert_eq!(
        rec.read_at("db0", ReadKind::Sizes, frame(55, 0).at)
            .unwrap(),
        None,
        "the read of second 50 went with its age"
    );
}

#[test]
fn a_frame_recorded_before_tags_were_stored_reads_as_untagged() {
    let mut value = serde_json::to_value(frame(0, 1)).unwrap();
    value.as_object_mut().unwrap().remove("tags");
    assert!(value.get("tags").is_none());
    let old: Frame = serde_json::from_value(value).unwrap();
    assert!(old.tags.is_empty());
    let mut tagged = frame(0, 1);
    tagged.tags.insert("db0".into(), vec!["prod".into()]);
    let back: Frame = serde_json::from_value(serde_json::to_value(&tagged).unwrap()).unwrap();
    assert_eq!(back.tags, tagged.tags);
}
