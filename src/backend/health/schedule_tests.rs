use super::*;

fn plan(max_inflight: usize) -> PollPlan {
    PollPlan {
        interval: Duration::from_secs(1),
        max_inflight,
        queue_budget: Duration::from_millis(2500),
        max_backoff: Duration::from_secs(30),
    }
}

#[test]
fn first_polls_are_spread_over_the_interval() {
    let t0 = Instant::now();
    let mut s = Schedule::new(1000, plan(1000), t0);
    // Only the first tenth is due a tenth of the way in: no burst at t0.
    let early = s.start_ready(t0 + Duration::from_millis(99));
    assert_eq!(early.len(), 100, "{early:?}");
    assert_eq!(early, (0..100).collect::<Vec<_>>());
    let rest = s.start_ready(t0 + Duration::from_secs(1));
    assert_eq!(rest.len(), 900);
    assert_eq!(
        spread_offset(500, 1000, Duration::from_secs(1)),
        Duration::from_millis(500)
    );
}

#[test]
fn never_more_than_max_inflight_and_the_queue_drains_as_polls_end() {
    let t0 = Instant::now();
    let mut s = Schedule::new(100, plan(8), t0);
    let late = t0 + Duration::from_secs(2);
    let first = s.start_ready(late);
    assert_eq!(first.len(), 8);
    assert_eq!(s.in_flight(), 8);
    assert!(s.start_ready(late).is_empty(), "all slots busy");
    assert_eq!(
        s.next_wake(),
        None,
        "busy: wait for a poll to end, not for a clock"
    );
    s.finished(first[0], PollOutcome::Answered, late);
    let next = s.start_ready(late);
    assert_eq!(
        next,
        vec![8],
        "the earliest waiting instance takes the freed slot"
    );
    assert_eq!(s.in_flight(), 8);
    // Run the whole fleet through: at no point more than 8.
    let mut seen = std::collections::HashSet::new();
    let mut flying: Vec<usize> = first[1..].iter().copied().chain(next).collect();
    seen.extend(flying.iter().copied());
    seen.insert(first[0]);
    while let Some(i) = flying.pop() {
        s.finished(i, PollOutcome::Answered, late);
        for j in s.start_ready(late) {
            if seen.insert(j) {
                flying.push(j);
            }
        }
        assert!(s.in_flight() <= 8);
    }
    assert_eq!(seen.len(), 100, "every instance got its turn");
}

#[test]
fn an_answer_keeps_its_place_in_the_interval() {
    let t0 = Instant::now();
    let mut s = Schedule::new(4, plan(4), t0);
    let started = s.start_ready(t0 + Duration::from_millis(499));
    assert_eq!(started, vec![0, 1]);
    s.finished(1, PollOutcome::Answered, t0 + Duration::from_millis(510));
    // Instance 1 was due at 250 ms: next at 1250 ms, not 1510.
    assert!(s.start_ready(t0 + Duration::from_millis(1249)).contains(&2));
    assert!(!s.start_ready(t0 + Duration::from_millis(1249)).contains(&1));
    assert_eq!(s.start_ready(t0 + Duration::from_millis(1250)), vec![1]);
}

#[test]
fn dead_instances_back_off_up_to_the_bound_and_recover_at_once() {
    let p = plan(4);
    assert_eq!(backoff(p, 1), Duration::from_secs(1));
    assert_eq!(backoff(p, 2), Duration::from_secs(2));
    assert_eq!(backoff(p, 4), Duration::from_secs(8));
    assert_eq!(backoff(p, 10), Duration::from_secs(30));
    assert_eq!(backoff(p, u32::MAX), Duration::from_secs(30));

    let t0 = Instant::now();
    let mut s = Schedule::new(1, p, t0);
    let mut now = t0;
    for expected_wait in [1, 2, 4, 8, 16, 30, 30] {
        assert_eq!(s.start_ready(now), vec![0]);
        s.finished(0, PollOutcome::Failed, now);
        let wake = s.next_wake().unwrap();
        assert_eq!(wake - now, Duration::from_secs(expected_wait));
        now = wake;
    }
    assert_eq!(s.failures(0), 7);
    assert_eq!(s.start_ready(now), vec![0]);
    s.finished(0, PollOutcome::Answered, now);
    assert_eq!(s.failures(0), 0);
}

#[test]
fn pace_counts_the_due_polls_waiting_for_a_slot_and_the_longest_wait() {
    let t0 = Instant::now();
    // 10 instances over 1 s, one slot: the first poll holds it and the rest queue behind.
    let mut s = Schedule::new(10, plan(1), t0);
    assert_eq!(s.start_ready(t0), vec![0]);
    let early = s.pace(t0 + Duration::from_millis(450));
    assert_eq!((early.waiting, early.overdue), (4, 0), "{early:?}");
    let ms = early.behind.as_millis();
    assert!((349..=350).contains(&ms), "{early:?}");
    assert!(!early.is_behind(), "waiting less than the budget is normal");
    let late = s.pace(t0 + Duration::from_secs(3));
    assert_eq!(late.waiting, 9);
    assert_eq!(late.overdue, 4, "due at 0.1 .. 0.4 s, waited over 2.5 s");
    let ms = late.behind.as_millis();
    assert!((2899..=2900).contains(&ms), "{late:?}");
    assert!(late.is_behind());
    assert_eq!(
        (late.in_flight, late.max_inflight, late.instances),
        (1, 1, 10)
    );
    // The slot frees: the longest waiting starts, the pace improves.
    s.finished(0, PollOutcome::Answered, t0 + Duration::from_secs(3));
    assert_eq!(s.start_ready(t0 + Duration::from_secs(3)), vec![1]);
    let after = s.pace(t0 + Duration::from_secs(3));
    // 2..9 still wait, and 0 is due again at once (behind its schedule, not overdue yet).
    assert_eq!((after.waiting, after.overdue), (9, 3));
}

#[test]
fn a_fleet_that_keeps_up_is_never_behind() {
    let t0 = Instant::now();
    let mut s = Schedule::new(100, plan(8), t0);
    // Every poll answers at once: nobody waits for a slot at any moment of three intervals.
    let mut now = t0;
    while now < t0 + Duration::from_secs(3) {
        for i in s.start_ready(now) {
            s.finished(i, PollOutcome::Answered, now);
        }
        let pace = s.pace(now);
        assert_eq!(pace.overdue, 0, "{pace:?}");
        now += Duration::from_millis(5);
    }
}

#[test]
fn retired_instances_are_not_polled_again() {
    let t0 = Instant::now();
    let mut s = Schedule::new(2, plan(2), t0);
    let now = t0 + Duration::from_secs(1);
    assert_eq!(s.start_ready(now), vec![0, 1]);
    s.retire(0);
    s.finished(0, PollOutcome::Answered, now);
    s.finished(1, PollOutcome::Answered, now);
    assert!(!s.done());
    s.retire(1);
    assert!(s.done());
    assert!(s.start_ready(now + Duration::from_secs(10)).is_empty());
}

#[test]
fn refresh_makes_every_waiting_instance_due_now() {
    let t0 = Instant::now();
    let mut s = Schedule::new(10, plan(3), t0);
    s.refresh(t0);
    assert_eq!(s.start_ready(t0 + Duration::from_millis(1)), vec![0, 1, 2]);
}
