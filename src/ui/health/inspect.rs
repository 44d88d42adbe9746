//! Drawing the inspection views: Replication (channels, replicas, heartbeat), Disk and size,
//! Parameters (baseline differences highlighted, changes seen while running) and Backup status.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::format::{self, cell};
use super::super::theme::{Meaning, Theme};
use super::views::waiting_or_failed;
use crate::app::health::MonitorView;
use crate::app::State;
use crate::backend::health::views::Inspection;
use crate::health::backup::BackupReport;
use crate::health::format_age;
use crate::health::params::ParamsReport;
use crate::health::replication::{ChannelStatus, ReplicationReport};
use crate::health::sizes::{human_bytes, SizeReport};

/// Lines of one view, each fitted to the width and styled by meaning.
struct Lines<'t> {
    width: usize,
    theme: &'t Theme,
    out: Vec<Line<'static>>,
}

impl Lines<'_> {
    fn push(&mut self, text: impl AsRef<str>, meaning: Meaning) {
        self.out.push(Line::styled(
            format::fit(text.as_ref(), self.width),
            self.theme.style(meaning),
        ));
    }

    fn notes(&mut self, notes: &[String]) {
        for n in notes {
            self.push(format!("! {n}"), Meaning::Warning);
        }
    }
}

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    instance: &str,
    view: MonitorView,
    theme: &Theme,
) {
    let latest = state
        .health_pane
        .monitor
        .inspect
        .latest
        .as_ref()
        .filter(|(i, _)| i == instance)
        .map(|(_, r)| r);
    let mut lines = Lines {
        width: area.width as usize,
        theme,
        out: Vec::new(),
    };
    match (view, latest) {
        (MonitorView::Replication, Some(Inspection::Replication(r))) => replication(&mut lines, r),
        (MonitorView::Disk, Some(Inspection::Sizes(r))) => sizes(&mut lines, r, area.height),
        (MonitorView::Parameters, Some(Inspection::Parameters(r))) => {
            parameters(&mut lines, r, state, instance)
        }
        (MonitorView::Backup, Some(Inspection::Backups(r))) => backups(&mut lines, r),
        _ => return waiting_or_failed(frame, area, state, instance, theme),
    }
    frame.render_widget(Paragraph::new(lines.out), area);
}

fn replication(l: &mut Lines, r: &ReplicationReport) {
    if r.channels.is_empty() {
        l.push("Not a replica: no replication channels", Meaning::Header);
    } else {
        l.push(format!("Channels ({})", r.channels.len()), Meaning::Header);
        let head = format!(
            "  {} {} {} {} {} GTID executed",
            cell("NAME", 8, false),
            cell("SOURCE", 21, false),
            cell("IO", 10, false),
            cell("SQL", 4, false),
            cell("LAG", 7, true),
        );
        l.push(head, Meaning::Muted);
    }
    for c in &r.channels {
        channel(l, c);
    }
    if let Some(h) = &r.heartbeat {
        let lag = h
            .lag_s
            .map_or_else(|| "unknown".into(), |s| format!("{s:.1} s"));
        l.push(
            format!(
                "Heartbeat ({}): {lag} behind, ts {} from server {}",
                h.table,
                h.ts,
                h.server_id.map_or_else(|| "?".into(), |s| s.to_string())
            ),
            Meaning::Text,
        );
    }
    l.push(
        format!(
            "This server's GTID position: {}",
            r.gtid_binlog_pos.as_deref().unwrap_or("none")
        ),
        Meaning::Text,
    );
    l.push(
        format!(
            "Replicas: {} registered, {} connected",
            r.replicas.len(),
            r.dump_threads.len()
        ),
        Meaning::Header,
    );
    for h in &r.replicas {
        let host = if h.host.is_empty() {
            "(no report_host)"
        } else {
            &h.host
        };
        let port = h.port.map_or_else(String::new, |p| format!(":{p}"));
        l.push(
            format!("  server_id {} at {host}{port}", h.server_id),
            Meaning::Text,
        );
    }
    for d in &r.dump_threads {
        l.push(
            format!(
                "  session {} {}@{} for {}: {}",
                d.id,
                d.user,
                d.host,
                format_age(d.time_s),
                d.state
            ),
            Meaning::Text,
        );
    }
    l.notes(&r.notes);
}

fn channel(l: &mut Lines, c: &ChannelStatus) {
    let name = if c.name.is_empty() {
        "(default)"
    } else {
        &c.name
    };
    let lag = c.lag_s.map_or_else(|| "NULL".into(), |s| format!("{s}s"));
    let healthy = c.io_ok() && c.sql_ok();
    l.push(
        format!(
            "  {} {} {} {} {} {}",
            cell(name, 8, false),
            cell(&c.source, 21, false),
            cell(&c.io_running, 10, false),
            cell(&c.sql_running, 4, false),
            cell(&lag, 7, true),
            if c.gtid_executed.is_empty() {
                "-"
            } else {
                &c.gtid_executed
            }
        ),
        if healthy {
            Meaning::Text
        } else {
            Meaning::Alert
        },
    );
    l.push(
        format!(
            "    read {} · exec {} · gtid {} · received {}",
            or_dash(&c.read_position),
            or_dash(&c.exec_position),
            or_dash(&c.gtid_mode),
            or_dash(&c.gtid_received)
        ),
        Meaning::Muted,
    );
    if !c.io_state.is_empty() {
        l.push(format!("    IO: {}", c.io_state), Meaning::Muted);
    }
    for (what, e) in [("IO", &c.last_io_error), ("SQL", &c.last_sql_error)] {
        if let Some(e) = e {
            l.push(
                format!("    last {what} error {}: {}", e.errno, e.message),
                Meaning::Alert,
            );
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn sizes(l: &mut Lines, r: &SizeReport, height: u16) {
    let datadir = r.datadir.as_deref().unwrap_or("?");
    match &r.filesystem {
        Some(fs) => {
            let pct = fs.free_pct();
            l.push(
                format!(
                    "Datadir {datadir}: {pct:.1}% free ({} available of {})",
                    human_bytes(fs.avail_bytes),
                    human_bytes(fs.total_bytes)
                ),
                if pct < 10.0 {
                    Meaning::Alert
                } else {
                    Meaning::Ok
                },
            );
        }
        None => l.push(format!("Datadir {datadir}"), Meaning::Text),
    }
    match &r.binlogs {
        Some(b) => l.push(
            format!("Binary logs: {} files, {}", b.count, human_bytes(b.bytes)),
            Meaning::Text,
        ),
        None => l.push("Binary logs: none listed", Meaning::Muted),
    }
    l.notes(&r.notes);
    let total: u64 = r.schemas.iter().map(|s| s.total()).sum();
    l.push(
        format!("Schemas, largest first ({} in all)", human_bytes(total)),
        Meaning::Header,
    );
    l.push(
        format!(
            "  {} {} {} {} {}",
            cell("SCHEMA", 24, false),
            cell("TABLES", 6, true),
            cell("DATA", 10, true),
            cell("INDEX", 10, true),
            cell("TOTAL", 10, true)
        ),
        Meaning::Muted,
    );
    // Half of what is left for schemas, the rest for tables.
    let room = (height as usize).saturating_sub(l.out.len() + 2);
    let schema_rows = r.schemas.len().min(room / 2).max(1);
    for s in r.schemas.iter().take(schema_rows) {
        l.push(
            format!(
                "  {} {} {} {} {}",
                cell(&s.schema, 24, false),
                cell(&s.tables.to_string(), 6, true),
                cell(&human_bytes(s.data_bytes), 10, true),
                cell(&human_bytes(s.index_bytes), 10, true),
                cell(&human_bytes(s.total()), 10, true)
            ),
            Meaning::Text,
        );
    }
    l.push("Tables, largest first", Meaning::Header);
    // Narrow screens drop the engine and reclaimable-space columns.
    let wide = l.width >= 100;
    let row = |name: &str, engine: &str, rows: &str, data: &str, index: &str, free: &str| {
        let mut text = format!("  {} ", cell(name, if wide { 40 } else { 30 }, false));
        if wide {
            text.push_str(&format!("{} ", cell(engine, 8, false)));
        }
        text.push_str(&format!(
            "{} {} {}",
            cell(rows, 9, true),
            cell(data, 10, true),
            cell(index, 10, true)
        ));
        if wide {
            text.push_str(&format!(" {}", cell(free, 10, true)));
        }
        text
    };
    l.push(
        row("TABLE", "ENGINE", "ROWS", "DATA", "INDEX", "FREE"),
        Meaning::Muted,
    );
    for t in &r.tables {
        let text = row(
            &format!("{}.{}", t.schema, t.table),
            &t.engine,
            &t.rows.map_or("-".into(), |n| n.to_string()),
            &human_bytes(t.data_bytes),
            &human_bytes(t.index_bytes),
            &human_bytes(t.free_bytes),
        );
        l.push(text, Meaning::Text);
    }
}

fn parameters(l: &mut Lines, r: &ParamsReport, state: &State, instance: &str) {
    if let Some(e) = &state.health_pane.monitor.inspect.baseline_error {
        l.push(format!("! baseline not loaded: {e}"), Meaning::Alert);
    }
    match &r.baseline_source {
        Some(src) if r.diffs.is_empty() => {
            l.push(format!("Baseline {src}: no difference"), Meaning::Ok)
        }
        Some(src) => l.push(
            format!("Baseline {src}: {} differ", r.diffs.len()),
            Meaning::Alert,
        ),
        None => l.push("No baseline for this instance", Meaning::Header),
    }
    l.notes(&r.notes);
    l.push(
        format!(
            "  {} {} BASELINE",
            cell("VARIABLE", 32, false),
            cell("VALUE", 20, false)
        ),
        Meaning::Muted,
    );
    for d in &r.diffs {
        l.push(
            format!(
                "  {} {} {}",
                cell(&d.name, 32, false),
                cell(d.actual.as_deref().unwrap_or("(absent)"), 20, false),
                d.expected
            ),
            Meaning::Alert,
        );
    }
    for (name, value) in r.variables.iter().filter(|(n, _)| !r.differs(n)) {
        let expected = r.baseline.get(name).map_or("", String::as_str);
        l.push(
            format!(
                "  {} {} {}",
                cell(name, 32, false),
                cell(value, 20, false),
                expected
            ),
            Meaning::Text,
        );
    }
    let changes = state.health_pane.monitor.inspect.changes_of(instance);
    l.push(
        format!("Changes seen while running ({})", changes.len()),
        Meaning::Header,
    );
    for c in changes {
        l.push(
            format!(
                "  {} {}: {} -> {}",
                c.at.format("%Y-%m-%d %H:%M:%S"),
                c.name,
                c.old,
                c.new
            ),
            Meaning::Warning,
        );
    }
}

fn backups(l: &mut Lines, r: &BackupReport) {
    let meaning = match &r.lookup.newest {
        Some(n) if n.age_s <= 26 * 3600 => Meaning::Ok,
        Some(_) => Meaning::Warning,
        None => Meaning::Alert,
    };
    l.push(r.lookup.describe(), meaning);
    if !r.lookup.sources.is_empty() {
        l.push(
            format!("Searched: {}", r.lookup.sources.join(", ")),
            Meaning::Muted,
        );
    }
    if !r.lookup.absent.is_empty() {
        l.push(
            format!("Not present here: {}", r.lookup.absent.join(", ")),
            Meaning::Muted,
        );
    }
    l.notes(&r.notes);
    l.push("Recent backups", Meaning::Header);
    l.push(
        format!(
            "  {} {} {} {} RESULT",
            cell("SOURCE", 32, false),
            cell("TOOL", 12, false),
            cell("STARTED", 16, false),
            cell("ENDED", 16, false)
        ),
        Meaning::Muted,
    );
    if r.recent.is_empty() {
        l.push("  none recorded", Meaning::Muted);
    }
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    for e in &r.recent {
        l.push(
            format!(
                "  {} {} {} {} {}",
                cell(&e.source, 32, false),
                cell(&e.tool, 12, false),
                cell(&at(e.started_at), 16, false),
                cell(&at(e.ended_at), 16, false),
                e.detail
            ),
            Meaning::Text,
        );
    }
}
