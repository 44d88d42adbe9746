//! The Binlog pane drawn into ratatui's TestBackend at 80x24 and 160x48, driven through
//! `update()` with the same actions and backend events the console sees. The transactions are
//! real: corpus binlogs read by the engine's review sink.

use std::path::PathBuf;
use std::time::Duration;

use arkc::app::{update, Action, Effect, State};
use arkc::backend::binlog::flashback::{CheckMode, CheckReport, RowState};
use arkc::backend::binlog::scan::{BinlogCommand, BinlogEvent, LogFile, ScanOutcome, ScanRequest};
use arkc::backend::{BackendCommand, BackendEvent};
use arkc::config::{Config, InstanceConfig};
use arkc_binlog::pipeline::scan_files;
use arkc_binlog::review::{ReviewLimits, ReviewSink, ReviewedTxn};
use arkc_binlog::txn::{Filters, TxnBuilder};
use chrono::{TimeZone, Utc};

use crate::support::render::screen;

const CORPUS: &str = concat!(env!("ARKC_CORPORA"), "/binlogs");

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(CORPUS).join(name)
}

fn review(name: &str) -> Vec<ReviewedTxn> {
    let mut got = Vec::new();
    let mut sink = ReviewSink::new(ReviewLimits::default(), |t| {
        got.push(t);
        Ok(())
    })
    .expect("sink");
    let mut builder = TxnBuilder::new(Filters::default());
    scan_files(&[corpus(name)], &mut builder, &mut sink).expect("scan");
    drop(sink);
    got
}

fn state() -> State {
    let config = Config {
        instances: vec![InstanceConfig::tcp("prod-db", "10.0.3.7", 3306)],
        ..Config::default()
    };
    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("time");
    State::new(&config, false, now)
}

fn event(state: &mut State, e: BinlogEvent) {
    update(state, Action::Backend(Box::new(BackendEvent::Binlog(e))));
}

fn keys(state: &mut State, actions: &[Action]) -> Vec<Effect> {
    actions
        .iter()
        .flat_map(|a| update(state, a.clone()))
        .collect()
}

/// Open the pane, pick `file` in the source list, start at the beginning, and feed the scan's
/// results back as the backend would.
fn scanned(file: &str) -> State {
    let mut s = state();
    let effects = keys(&mut s, &[Action::PaneBinlog]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SendBackend(BackendCommand::Binlog(
            BinlogCommand::ListInstanceLogs { .. }
        ))
    )));
    let path = corpus(file);
    let size = std::fs::metadata(&path).expect("corpus file").len();
    let files = vec![LogFile {
        streamed: false,
        name: file.into(),
        path: Some(path),
        size,
        first_event: Some(1_615_797_724),
    }];
    event(
        &mut s,
        BinlogEvent::Logs {
            origin: "prod-db".into(),
            result: Ok(files),
        },
    );
    let effects = keys(&mut s, &[Action::Confirm, Action::Confirm]);
    let request = scan_request(&effects).expect("a scan request");
    // Listed for the instance: the backend reads its column definitions for the scan.
    assert_eq!(request.instance.as_deref(), Some("prod-db"));
    let id = request.id;
    let txns = review(file);
    let (half, rest) = txns.split_at(txns.len() / 2);
    event(
        &mut s,
        BinlogEvent::Transactions {
            id,
            batch: half.to_vec(),
        },
    );
    event(
        &mut s,
        BinlogEvent::Transactions {
            id,
            batch: rest.to_vec(),
        },
    );
    let elapsed = Duration::from_millis(250);
    event(
        &mut s,
        BinlogEvent::Progress {
            id,
            bytes: size,
            total_bytes: size,
            events: 40,
            elapsed,
        },
    );
    event(
        &mut s,
        BinlogEvent::ScanFinished {
            id,
            outcome: ScanOutcome::Done,
        },
    );
    s
}

fn scan_request(effects: &[Effect]) -> Option<ScanRequest> {
    effects.iter().find_map(|e| match e {
        Effect::SendBackend(BackendCommand::Binlog(BinlogCommand::Scan(r))) => Some(r.clone()),
        _ => None,
    })
}

#[test]
fn a_typed_path_is_scanned_without_an_instance_to_ask() {
    let mut s = state();
    keys(&mut s, &[Action::PaneBinlog, Action::Confirm]);
    let effects = keys(
        &mut s,
        &[typed("/tmp/copy"), vec![Action::Confirm]].concat(),
    );
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SendBackend(BackendCommand::Binlog(BinlogCommand::ListPath { .. }))
    )));
    let path = corpus("mariadb-bin.000001");
    let files = vec![LogFile {
        streamed: false,
        name: "mariadb-bin.000001".into(),
        path: Some(path),
        size: 1,
        first_event: None,
    }];
    event(
        &mut s,
        BinlogEvent::Logs {
            origin: "/tmp/copy".into(),
            result: Ok(files),
        },
    );
    let effects = keys(&mut s, &[Action::Confirm, Action::Confirm]);
    let request = scan_request(&effects).expect("a scan request");
    assert_eq!(request.instance, None);
}

#[test]
fn transaction_list_newest_first_with_selection() {
    let mut s = scanned("json.binlog.000001");
    keys(
        &mut s,
        &[Action::ToggleMark, Action::Down, Action::ToggleMark],
    );
    let small = screen(&s, 80, 24);
    assert!(small.contains("selected 2 txn"), "{small}");
    insta::assert_snapshot!("list_80x24", small);
    insta::assert_snapshot!("list_160x48", screen(&s, 160, 48));
}

#[test]
fn row_diff_view_highlights_changes_and_shortens_long_values() {
    let mut s = scanned("json.binlog.000001");
    // The oldest transaction with updates (full images); the list is newest first.
    let visible = s.binlog.visible();
    let at = visible
        .iter()
        .rposition(|&t| s.binlog.txns[t].txn.updates > 0)
        .expect("an update");
    for _ in 0..at {
        keys(&mut s, &[Action::Down]);
    }
    keys(&mut s, &[Action::Confirm, Action::Down]);
    let small = screen(&s, 80, 24);
    assert!(small.contains("row 2/"), "{small}");
    assert!(small.contains('…'), "long JSON not shortened:\n{small}");
    insta::assert_snapshot!("rows_80x24", small);
    insta::assert_snapshot!("rows_160x48", screen(&s, 160, 48));
    keys(&mut s, &[Action::OpenValue]);
    let full = screen(&s, 80, 24);
    assert!(full.contains("  before: CAST('{"), "{full}");
    insta::assert_snapshot!("rows_full_values_80x24", full);
}

#[test]
fn rollback_preview_with_check_results() {
    let mut s = scanned("mariadb-bin.000001");
    keys(
        &mut s,
        &[
            Action::Top,
            Action::ToggleMark,
            Action::ToggleMark,
            Action::RollbackPreview,
        ],
    );
    let effects = keys(&mut s, &[Action::CheckRollback]);
    let rows = effects
        .iter()
        .find_map(|e| match e {
            Effect::SendBackend(BackendCommand::Binlog(BinlogCommand::Check(r))) => {
                Some(r.rows.clone())
            }
            _ => None,
        })
        .expect("a check request");
    // The server answers: the newest row changed since the incident.
    let report = CheckReport {
        instance: "prod-db".into(),
        mode: CheckMode::BeforeApply,
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r.id,
                    if i == 0 {
                        RowState::ChangedSince
                    } else {
                        RowState::AsLeft
                    },
                )
            })
            .collect(),
        error: None,
        passes: 0,
    };
    event(&mut s, BinlogEvent::Checked(report));
    let small = screen(&s, 80, 24);
    assert!(
        small.contains("DELETE FROM `toddy_test`.`outbox` WHERE `id` = 63 LIMIT 1;"),
        "{small}"
    );
    assert!(
        small.contains("check: 1 of 2 row(s) changed since"),
        "{small}"
    );
    insta::assert_snapshot!("preview_80x24", small);
    insta::assert_snapshot!("preview_160x48", screen(&s, 160, 48));
}

#[test]
fn edited_preview_says_so_and_is_what_apply_sends() {
    let mut s = scanned("mariadb-bin.000001");
    keys(
        &mut s,
        &[
            Action::Top,
            Action::ToggleMark,
            Action::RollbackPreview,
            Action::EditPreview,
        ],
    );
    // Type a comment at the top of the editor, then close it.
    let typed: Vec<Action> = "-- reviewed by on-call\n"
        .chars()
        .map(|c| {
            let code = match c {
                '\n' => crossterm::event::KeyCode::Enter,
                c => crossterm::event::KeyCode::Char(c),
            };
            Action::EditorKey(crossterm::event::KeyEvent::from(code))
        })
        .collect();
    keys(&mut s, &typed);
    keys(&mut s, &[Action::Cancel]);
    let small = screen(&s, 80, 24);
    assert!(small.contains("EDITED"), "{small}");
    assert!(small.contains("-- reviewed by on-call"), "{small}");
    keys(&mut s, &[Action::ApplyRollback]);
    let confirm: Vec<Action> = "prod-db".chars().map(Action::InputChar).collect();
    keys(&mut s, &confirm);
    let effects = keys(&mut s, &[Action::Confirm]);
    let request = effects
        .iter()
        .find_map(|e| match e {
            Effect::SendBackend(BackendCommand::Binlog(BinlogCommand::Apply(r))) => Some(r.clone()),
            _ => None,
        })
        .expect("an apply request");
    assert!(request.edited);
    assert!(request
        .sql
        .starts_with("-- reviewed by on-call\n-- arkc flashback"));
    assert!(request.generated.starts_with("-- arkc flashback"));
}

#[test]
fn apply_needs_the_instance_name_and_is_refused_read_only() {
    let mut s = scanned("mariadb-bin.000001");
    keys(
        &mut s,
        &[Action::Top, Action::ToggleMark, Action::ApplyRollback],
    );
    let wrong: Vec<Action> = "prod".chars().map(Action::InputChar).collect();
    keys(&mut s, &wrong);
    let effects = keys(&mut s, &[Action::Confirm]);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(screen(&s, 80, 24).contains("not the instance name"));

    s.read_only = true;
    let effects = keys(&mut s, &[Action::ApplyRollback]);
    // Nothing is sent; the refusal is logged (audit trail) by the event loop.
    assert!(
        matches!(effects.as_slice(), [arkc::app::Effect::LogRefusal(..)]),
        "{effects:?}"
    );
    let small = screen(&s, 80, 24);
    assert!(
        small.contains("apply refused: arkc is read-only"),
        "{small}"
    );
    assert!(!small.contains("to apply:"), "{small}");
}

#[test]
fn single_rows_can_be_picked_inside_a_transaction() {
    let mut s = scanned("mariadb-bin.000001");
    // Open the older of the two inserts (the list is newest first) and pick its only row.
    keys(&mut s, &[Action::Down, Action::Confirm, Action::ToggleMark]);
    assert!(screen(&s, 80, 24).contains("● in rollback"));
    keys(
        &mut s,
        &[
            Action::Cancel,
            Action::Up,
            Action::Confirm,
            Action::ToggleMark,
        ],
    );
    let summary = s.binlog.summary();
    assert_eq!((summary.transactions, summary.rows), (2, 2));
    // Leaving out the only row of a transaction unmarks the transaction.
    keys(&mut s, &[Action::ToggleMark]);
    let summary = s.binlog.summary();
    assert_eq!((summary.transactions, summary.rows), (1, 1));
    keys(&mut s, &[Action::RollbackPreview]);
    let preview = s.binlog.preview.as_ref().expect("preview");
    assert!(preview.text.contains("`id` = 62 LIMIT 1"));
    assert!(!preview.text.contains("`id` = 63"));
}

#[test]
fn filter_narrows_the_list_and_explains_its_words() {
    let mut s = scanned("json.binlog.000001");
    keys(&mut s, &[Action::Filter]);
    let typing: Vec<Action> = "update".chars().map(Action::InputChar).collect();
    keys(&mut s, &typing);
    let small = screen(&s, 80, 24);
    assert!(small.contains("— 2 transactions"), "{small}");
    assert!(small.contains("from:HH:MM"), "{small}");
}

#[test]
fn mark_all_and_none_act_on_the_listed_transactions_only() {
    let mut s = scanned("json.binlog.000001");
    let all = s.binlog.visible_len();
    keys(&mut s, &[Action::Filter]);
    let typing: Vec<Action> = "update".chars().map(Action::InputChar).collect();
    keys(&mut s, &typing);
    keys(&mut s, &[Action::Confirm]);
    let listed = s.binlog.visible_len();
    assert!(listed > 0 && listed < all, "{listed} of {all}");
    keys(&mut s, &[Action::MarkAll]);
    assert_eq!(s.binlog.summary().transactions, listed);
    assert!(screen(&s, 80, 24).contains(&format!("marked {listed} listed")));
    keys(&mut s, &[Action::MarkNone]);
    assert_eq!(s.binlog.summary().transactions, 0);
}

#[test]
fn a_long_typed_path_keeps_its_end_visible_at_80_columns() {
    let mut s = scanned("mariadb-bin.000001");
    keys(
        &mut s,
        &[Action::Top, Action::ToggleMark, Action::ExportPreview],
    );
    let path =
        "/srv/change-review/2026/11/25/incident-4711/orders-update-without-where-rollback.sql";
    let typing: Vec<Action> = path.chars().map(Action::InputChar).collect();
    keys(&mut s, &typing);
    let small = screen(&s, 80, 24);
    let last = small.lines().last().unwrap_or_default().to_string();
    assert!(last.ends_with("without-where-rollback.sql█"), "{last}");
    assert!(last.contains('…'), "{last}");
    assert!(last.chars().count() <= 80, "{last}");
}

#[test]
fn help_on_the_binlog_pane_lists_its_keys_from_the_keymap() {
    let mut s = scanned("mariadb-bin.000001");
    keys(&mut s, &[Action::Help]);
    let small = screen(&s, 80, 24);
    for (key, what) in [
        ("A", "binlog: apply"),
        ("space", "binlog: mark txn/row"),
        ("p", "binlog: preview"),
    ] {
        let line = small
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{what}:\n{small}"));
        assert!(line.contains(&format!("{key} ")), "{line}");
    }
    assert!(
        !small.contains("slow: "),
        "other panes' keys listed:\n{small}"
    );
    // The palette's commands follow the keys, a page down when they do not fit.
    keys(&mut s, &[Action::PageDown]);
    let next = screen(&s, 80, 24);
    assert!(next.contains(":pane NAME"), "{next}");
}

#[test]
fn a_refused_selection_lists_its_reasons_in_full_where_the_preview_would_be() {
    let mut s = scanned("mariadb-bin.000001");
    // What a scan records when the server's table no longer matches the binlog (drift).
    let reason = "offset 702: `test`.`t`: the table changed since this event (the binlog's \
                  table map has 3 columns, information_schema 2); refusing to write SQL \
                  against the wrong columns";
    for txn in &mut s.binlog.txns {
        txn.refusals.push(reason.to_string());
    }
    keys(
        &mut s,
        &[Action::Top, Action::ToggleMark, Action::RollbackPreview],
    );
    assert!(s.binlog.preview.is_none());
    let text = screen(&s, 80, 24);
    assert!(text.contains("Rollback refused"), "{text}");
    // Wrapped, not cut: the end of the reason is on screen too.
    let unboxed = text.replace('│', " ");
    let joined: String = unboxed.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined.contains("information_schema 2); refusing to write SQL"),
        "{text}"
    );
    assert!(joined.contains("against the wrong columns"), "{text}");
    // Any key leaves the refusals for the list.
    keys(&mut s, &[Action::Down]);
    assert!(!screen(&s, 80, 24).contains("Rollback refused"));
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(Action::InputChar).collect()
}

#[test]
fn range_form_checks_each_field_and_narrows_the_list() {
    let mut s = scanned("json.binlog.000001");
    let all = s.binlog.visible_len();
    assert!(all > 2, "the corpus file has several transactions");
    // A start position that only the later transactions have: the middle one's.
    let mut starts: Vec<u64> = s.binlog.txns.iter().map(|t| t.txn.start_pos).collect();
    starts.sort_unstable();
    let cut = starts[starts.len() / 2];
    let expected = starts.iter().filter(|p| **p >= cut).count();

    keys(&mut s, &[Action::RangeFilter]);
    let small = screen(&s, 80, 24);
    assert!(
        small.contains("range 1/5"),
        "the form asks for the first field: {small}"
    );
    // A bad time is refused and the same field stays open for correction.
    keys(&mut s, &typed("ten past"));
    keys(&mut s, &[Action::Confirm]);
    let small = screen(&s, 80, 24);
    assert!(small.contains("range 1/5"), "{small}");
    assert!(
        s.message
            .as_ref()
            .is_some_and(|m| m.text.contains("not a UTC time")),
        "{:?}",
        s.message
    );
    for _ in 0.."ten past".len() {
        keys(&mut s, &[Action::InputBackspace]);
    }
    keys(&mut s, &[Action::Confirm]); // from: any
    keys(&mut s, &[Action::Confirm]); // to: any
    keys(&mut s, &typed(&format!("{cut}-")));
    keys(&mut s, &[Action::Confirm]);
    // Then the row scope, as `:scope` reads it: left empty, every row.
    assert!(screen(&s, 80, 24).contains("range 4/5"));
    keys(&mut s, &[Action::Confirm]);
    assert!(screen(&s, 80, 24).contains("range 5/5"));
    keys(&mut s, &[Action::Confirm]);
    assert!(s.binlog.scope.is_none());

    assert_eq!(s.filter, format!("pos:{cut}-"));
    assert_eq!(s.binlog.visible_len(), expected);
    assert!(expected < all, "the range must narrow the list");
    // Reopening prefills the answer, and clearing it brings every transaction back.
    keys(
        &mut s,
        &[Action::RangeFilter, Action::Confirm, Action::Confirm],
    );
    for _ in 0..format!("{cut}-").len() {
        keys(&mut s, &[Action::InputBackspace]);
    }
    keys(&mut s, &[Action::Confirm]);
    // A scope typed in the form is the palette's scope; a bad type keeps the field open.
    keys(&mut s, &typed("shop.orders"));
    keys(&mut s, &[Action::Confirm]);
    keys(&mut s, &typed("drop"));
    keys(&mut s, &[Action::Confirm]);
    assert!(screen(&s, 80, 24).contains("range 5/5"));
    for _ in 0.."drop".len() {
        keys(&mut s, &[Action::InputBackspace]);
    }
    keys(&mut s, &typed("delete"));
    keys(&mut s, &[Action::Confirm]);
    assert_eq!(s.filter, "");
    assert_eq!(
        s.binlog.scope,
        arkc_binlog::scope::RowScope::parse("shop.orders delete").ok()
    );
    // Reopened, the scope fields are prefilled; emptied, every row is back in scope.
    keys(&mut s, &[Action::RangeFilter]);
    keys(&mut s, &[Action::Confirm, Action::Confirm, Action::Confirm]);
    for _ in 0.."shop.orders".len() {
        keys(&mut s, &[Action::InputBackspace]);
    }
    keys(&mut s, &[Action::Confirm]);
    for _ in 0.."delete".len() {
        keys(&mut s, &[Action::InputBackspace]);
    }
    keys(&mut s, &[Action::Confirm]);
    assert!(s.binlog.scope.is_none());
    assert_eq!(s.binlog.visible_len(), all);
}

#[test]
fn a_check_of_a_selection_with_rows_not_kept_is_refused_not_partial() {
    let mut s = scanned("mariadb-bin.000001");
    let newest = s.binlog.visible()[0];
    s.binlog.txns[newest].rows_dropped = 3;
    keys(&mut s, &[Action::Top, Action::ToggleMark]);
    let effects = keys(&mut s, &[Action::CheckRollback]);
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::SendBackend(BackendCommand::Binlog(BinlogCommand::Check(_)))
        )),
        "a partial selection was sent to check"
    );
    let shown = screen(&s, 160, 48);
    assert!(
        shown.contains("not checked: 3 row(s) of the selection were not kept in memory"),
        "{shown}"
    );
}
