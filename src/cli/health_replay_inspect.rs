//! What `arkc health --replay` prints beside the figures: the sessions, locks, latest deadlock
//! and inspection reads recorded for an instance with a firing alert, in full in the JSON
//! (`inspection`) and as a few lines in the table.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::health_json::HealthJson;
use crate::health::deadlock::Deadlock;
use crate::health::locks::{LockWait, MetadataWait, RootBlocker};
use crate::health::processlist::ProcessRow;
use crate::health::{Alert, InstanceHealth};
use crate::recording::{ReadBody, RecordedInspection, TimedRead};

/// Sessions listed in the table, longest running first.
const TABLE_SESSIONS: usize = 5;
/// Statements are cut to this many characters in the table.
const TABLE_SQL_CHARS: usize = 60;

/// A replayed row: the live row's keys, then `inspection` (`null`: nothing was recorded about
/// the instance at that moment).
#[derive(Debug, Serialize)]
pub struct ReplayRowJson<'a> {
    #[serde(flatten)]
    row: HealthJson<'a>,
    inspection: Option<InspectionJson<'a>>,
}

impl<'a> ReplayRowJson<'a> {
    pub fn new(
        h: &'a InstanceHealth,
        alerts: &'a [Alert],
        tags: Vec<String>,
        inspection: Option<&'a RecordedInspection>,
    ) -> Self {
        ReplayRowJson {
            row: HealthJson::new(h, alerts).with_tags(tags),
            inspection: inspection.map(InspectionJson::new),
        }
    }
}

#[derive(Debug, Serialize)]
struct InspectionJson<'a> {
    /// Read with the frame, only while an alert fired.
    sessions: Option<SessionsJson<'a>>,
    deadlock: Option<ReadJson<&'a Option<Deadlock>>>,
    replication: Option<ReadJson<&'a crate::health::replication::ReplicationReport>>,
    sizes: Option<ReadJson<&'a crate::health::sizes::SizeReport>>,
    parameters: Option<ReadJson<&'a crate::health::params::ParamsReport>>,
    backups: Option<ReadJson<&'a crate::health::backup::BackupReport>>,
}

#[derive(Debug, Serialize)]
struct SessionsJson<'a> {
    read_at: DateTime<Utc>,
    processlist: &'a [ProcessRow],
    lock_waits: &'a [LockWait],
    root_blockers: &'a [RootBlocker],
    metadata_waits: &'a [MetadataWait],
    notes: &'a [String],
}

/// One read and when it was taken (at or before the frame).
#[derive(Debug, Serialize)]
struct ReadJson<T> {
    read_at: DateTime<Utc>,
    report: T,
}

impl<'a> InspectionJson<'a> {
    fn new(i: &'a RecordedInspection) -> Self {
        let mut json = InspectionJson {
            sessions: i.sessions.as_ref().map(|d| SessionsJson {
                read_at: i.at,
                processlist: &d.processlist,
                lock_waits: &d.lock_waits,
                root_blockers: &d.root_blockers,
                metadata_waits: &d.metadata_waits,
                notes: &d.notes,
            }),
            deadlock: i.deadlock.as_ref().map(|(read_at, d)| ReadJson {
                read_at: *read_at,
                report: d,
            }),
            replication: None,
            sizes: None,
            parameters: None,
            backups: None,
        };
        for TimedRead { read_at, body } in &i.reads {
            let read_at = *read_at;
            match body {
                ReadBody::Replication(report) => {
                    json.replication = Some(ReadJson { read_at, report })
                }
                ReadBody::Sizes(report) => json.sizes = Some(ReadJson { read_at, report }),
                ReadBody::Parameters(report) => {
                    json.parameters = Some(ReadJson { read_at, report })
                }
                ReadBody::Backups(report) => json.backups = Some(ReadJson { read_at, report }),
                // Only with the sessions, above.
                ReadBody::Deadlock(_) => {}
            }
        }
        json
    }
}

/// The table's short form: one summary line, then the longest-running sessions and the root
/// blockers, each indented.
pub fn inspection_lines(i: &RecordedInspection) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = &i.sessions {
        let active = d
            .processlist
            .iter()
            .filter(|p| !p.command.eq_ignore_ascii_case("sleep"))
            .count();
        parts.push(format!(
            "{} sessions ({active} active), {} lock waits, {} metadata lock waits",
            d.processlist.len(),
            d.lock_waits.len(),
            d.metadata_waits.len()
        ));
    }
    if let Some((_, deadlock)) = &i.deadlock {
        parts.push(match deadlock {
            Some(d) => format!("latest deadlock {}", d.at),
            None => "no deadlock since start".into(),
        });
    }
    // Reads taken together (the first firing frame reads every kind) are named once.
    let mut reads: Vec<(DateTime<Utc>, Vec<&str>)> = Vec::new();
    for read in &i.reads {
        match reads.iter_mut().find(|(at, _)| *at == read.read_at) {
            Some((_, kinds)) => kinds.push(read.body.kind().as_str()),
            None => reads.push((read.read_at, vec![read.body.kind().as_str()])),
        }
    }
    for (at, kinds) in reads {
        parts.push(format!(
            "{} read {}",
            kinds.join(", "),
            at.format("%H:%M:%S")
        ));
    }
    let mut out = format!(
        "recorded {} at {}: {}\n",
        i.instance,
        i.at.format("%H:%M:%S"),
        parts.join("; ")
    );
    let Some(d) = &i.sessions else {
        return out;
    };
    let mut sessions: Vec<&ProcessRow> = d.processlist.iter().collect();
    sessions.sort_by_key(|p| std::cmp::Reverse(p.time_s));
    for p in sessions.iter().take(TABLE_SESSIONS) {
        let line = format!(
            "  session {} {}@{} {} {}s {}",
            p.id,
            p.user,
            p.host,
            p.command,
            p.time_s,
            cut(p.info.as_deref().or(p.state.as_deref()).unwrap_or(""))
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for r in &d.root_blockers {
        out.push_str(&format!(
            "  root blocker {} holds {} waiting: {}\n",
            r.id,
            r.blocked_sessions,
            cut(r.query.as_deref().unwrap_or("(idle in transaction)"))
        ));
    }
    for note in &d.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// One line of at most [`TABLE_SQL_CHARS`] characters.
fn cut(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(TABLE_SQL_CHARS) {
        Some((end, _)) => format!("{}…", &flat[..end]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::InstanceDetail;

    fn inspection() -> RecordedInspection {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let session = |id: u64, command: &str, time_s: u64, info: Option<&str>| ProcessRow {
            id,
            user: "app".into(),
            host: "10.0.0.1:5000".into(),
            db: None,
            command: command.into(),
            time_s,
            state: None,
            info: info.map(String::from),
            trx_age_s: None,
            rows_locked: None,
        };
        RecordedInspection {
            instance: "db1".into(),
            at,
            sessions: Some(InstanceDetail {
                instance: "db1".into(),
                processlist: vec![
                    session(7, "Sleep", 900, None),
                    session(9, "Query", 40, Some("UPDATE t\n  SET a = 1")),
                ],
                lock_waits: Vec::new(),
                root_blockers: Vec::new(),
                metadata_waits: Vec::new(),
                notes: Vec::new(),
            }),
            deadlock: Some((at, None)),
            reads: vec![
                TimedRead {
                    read_at: at,
                    body: ReadBody::Sizes(Default::default()),
                },
                TimedRead {
                    read_at: at - chrono::Duration::seconds(5),
                    body: ReadBody::Replication(Default::default()),
                },
                TimedRead {
                    read_at: at,
                    body: ReadBody::Parameters(Default::default()),
                },
            ],
        }
    }

    #[test]
    fn the_table_form_sums_up_then_lists_the_longest_sessions() {
        let text = inspection_lines(&inspection());
        let want = "recorded db1 at 08:00:00: 2 sessions (1 active), 0 lock waits, 0 metadata \
                    lock waits; no deadlock since start; sizes, parameters read 08:00:00; \
                    replication read 07:59:55\n  \
                    session 7 app@10.0.0.1:5000 Sleep 900s\n  \
                    session 9 app@10.0.0.1:5000 Query 40s UPDATE t SET a = 1\n";
        assert_eq!(text, want);
        assert_eq!(cut(&"x".repeat(70)).chars().count(), TABLE_SQL_CHARS + 1);
    }

    #[test]
    fn the_json_form_has_each_read_with_its_time() {
        let i = inspection();
        let h = InstanceHealth::down("db1", "x", i.at);
        let row = ReplayRowJson::new(&h, &[], vec!["prod".into()], Some(&i));
        let value = serde_json::to_value(&row).unwrap();
        assert_eq!(value["tags"], serde_json::json!(["prod"]));
        let inspection = &value["inspection"];
        assert_eq!(inspection["sessions"]["processlist"][1]["id"], 9);
        assert!(inspection["deadlock"]["report"].is_null());
        assert!(inspection["deadlock"]["read_at"].is_string());
        assert!(inspection["sizes"]["report"].is_object(), "{inspection:#}");
        assert!(inspection["replication"]["read_at"].is_string());
        assert!(inspection["backups"].is_null());
        let none = ReplayRowJson::new(&h, &[], Vec::new(), None);
        assert!(serde_json::to_value(&none).unwrap()["inspection"].is_null());
    }
}
