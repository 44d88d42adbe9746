//! Drawing the Jobs pane's deploy history view (reads only): the deploys newest first, the
//! typed confirmations, the instance form, a running job's output and its result.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::app::jobs::deploys::{DeploysStage, DeploysView, FORM_LABELS};
use crate::deploy::history::DeployRecord;
use crate::ui::theme::{Meaning, Theme};

pub fn draw(frame: &mut Frame, area: Rect, view: &DeploysView, theme: &Theme) {
    let block = Block::bordered()
        .title(" Deploys ")
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match (&view.stage, view.selected()) {
        (DeploysStage::Browse, _) | (DeploysStage::Detail, None) => {
            draw_history(frame, inner, view, theme)
        }
        (DeploysStage::Detail, Some(d)) => {
            let body = Paragraph::new(detail_lines(d, theme))
                .wrap(Wrap { trim: false })
                .style(theme.style(Meaning::Text));
            frame.render_widget(body, inner);
        }
        (stage, _) => {
            let body = Paragraph::new(stage_lines(stage, theme, inner.height as usize))
                .wrap(Wrap { trim: false })
                .style(theme.style(Meaning::Text));
            frame.render_widget(body, inner);
        }
    }
}

fn statements_cell(d: &DeployRecord) -> String {
    let applied = d
        .statements
        .iter()
        .filter(|s| s.status == "applied")
        .count();
    format!("{applied}/{}", d.statements.len())
}

fn draw_history(frame: &mut Frame, area: Rect, view: &DeploysView, theme: &Theme) {
    let [table_area, detail] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let muted = theme.style(Meaning::Muted);
    let header = Row::new(["ID", "STARTED", "INSTANCE", "STATUS", "STMTS", "FILE"])
        .style(theme.style(Meaning::Header));
    let rows = view.records.iter().map(|d| {
        let status_style = match d.status.as_str() {
            "applied" => theme.style(Meaning::Ok),
            "failed" => theme.style(Meaning::Alert),
            "undone" => muted,
            _ => theme.style(Meaning::Warning),
        };
        let file = std::path::Path::new(&d.file)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| d.file.clone());
        Row::new([
            Cell::from(d.id.to_string()),
            Cell::from(
                d.started_at
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
            ),
            Cell::from(d.instance.clone()),
            Cell::from(d.status.clone()).style(status_style),
            Cell::from(statements_cell(d)),
            Cell::from(file),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Length(19),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Min(8),
        ],
    )
    .header(header)
    .row_highlight_style(theme.style(Meaning::Selection));
    let mut state = TableState::default().with_selected(Some(view.selected));
    frame.render_stateful_widget(table, table_area, &mut state);
    let text = match (&view.error, view.loading, view.selected()) {
        (Some(e), _, _) => Line::styled(e.clone(), theme.style(Meaning::Alert)),
        (None, true, _) => Line::styled("reading the deploy history...", muted),
        (None, false, None) => Line::styled(
            "No deploys yet: `d` on the Jobs pane deploys a SQL file, `i` an instance.",
            muted,
        ),
        (None, false, Some(d)) => Line::raw(format!("deploy {}: {}", d.id, d.message)),
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), detail);
}

fn stage_lines(stage: &DeploysStage, theme: &Theme, height: usize) -> Vec<Line<'static>> {
    let warning = theme.style(Meaning::Warning);
    let muted = theme.style(Meaning::Muted);
    let mut lines = Vec::new();
    match stage {
        DeploysStage::Browse | DeploysStage::Detail => {}
        DeploysStage::ConfirmUndo {
            id,
            instance,
            typed,
        } => {
            lines.push(Line::styled(
                format!("Undo deploy {id} on {instance}?"),
                warning,
            ));
            lines.push(Line::raw(
                "The flashback of exactly its binlog range: checked first (rows changed since refuse the undo), DDL refused.",
            ));
            lines.push(Line::styled("Type the instance name:", warning));
            lines.push(Line::raw(format!("> {typed}_")));
        }
        DeploysStage::Form(form) => {
            lines.push(Line::styled(
                "Deploy a new MariaDB instance (arkc deploy instance):",
                theme.style(Meaning::Header),
            ));
            for (i, label) in FORM_LABELS.iter().enumerate() {
                let (mark, cursor) = match i == form.focus {
                    true => ("> ", "_"),
                    false => ("  ", ""),
                };
                let style = match i == form.focus {
                    true => theme.style(Meaning::Selection),
                    false => theme.style(Meaning::Text),
                };
                lines.push(Line::styled(
                    format!("{mark}{label:<22} {}{cursor}", form.fields[i]),
                    style,
                ));
            }
            lines.push(Line::styled(
                "replica of: a configured instance to seed from and replicate",
                muted,
            ));
            lines.push(Line::styled(
                "seed: logical (mariadb-dump, default) or physical (mariadb-backup, local source)",
                muted,
            ));
        }
        DeploysStage::ConfirmInstance { form, typed } => {
            let replica = form
                .replica_of
                .as_deref()
                .map(|s| match form.physical_seed {
                    true => format!(", a replica of {s} (physical seed)"),
                    false => format!(", a replica of {s}"),
                })
                .unwrap_or_default();
            lines.push(Line::styled(
                format!(
                    "Deploy `{}` on 127.0.0.1:{} in {}{replica}?",
                    form.name,
                    form.port,
                    form.datadir.display()
                ),
                warning,
            ));
            lines.push(Line::styled("Type the new instance's name:", warning));
            lines.push(Line::raw(format!("> {typed}_")));
        }
        DeploysStage::Running { title, lines: out } => {
            lines.push(Line::styled(
                format!("{title}: running..."),
                theme.style(Meaning::Header),
            ));
            push_tail(&mut lines, out, height.saturating_sub(1));
        }
        DeploysStage::Finished {
            title,
            ok,
            message,
            lines: out,
        } => {
            let (word, style) = match ok {
                true => ("done", theme.style(Meaning::Ok)),
                false => ("FAILED", theme.style(Meaning::Alert)),
            };
            lines.push(Line::styled(format!("{title}: {word}"), style));
            lines.push(Line::styled(message.clone(), style));
            // The message is usually the job's last line: not twice.
            let out = match out.split_last() {
                Some((last, rest)) if last == message => rest,
                _ => out,
            };
            push_tail(&mut lines, out, height.saturating_sub(2));
        }
    }
    lines
}

/// One deploy in full: where it ran, its binlog range, each statement's result.
fn detail_lines(d: &DeployRecord, theme: &Theme) -> Vec<Line<'static>> {
    let point = |p: &Option<crate::deploy::history::BinlogPoint>| match p {
        Some(p) => format!("{}:{} (GTID {})", p.file, p.position, p.gtid),
        None => "not recorded".into(),
    };
    let mut lines = vec![
        Line::styled(
            format!("deploy {} on {}: {}", d.id, d.instance, d.status),
            theme.style(Meaning::Header),
        ),
        Line::raw(format!("file     {}", d.file)),
        Line::raw(format!("sha256   {}", d.file_sha256)),
        Line::raw(format!(
            "by       {} at {}, ended {}",
            d.os_user,
            d.started_at,
            d.finished_at.as_deref().unwrap_or("-")
        )),
        Line::raw(format!("before   {}", point(&d.before))),
        Line::raw(format!("after    {}", point(&d.after))),
        Line::raw(d.message.clone()),
    ];
    for st in &d.statements {
        let first: String = st
            .sql
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        let (text, style) = match (&st.settled, &st.error) {
            (Some(settled), _) => (
                format!(
                    "#{} l{} {}: {settled}  {first}",
                    st.index, st.line, st.status
                ),
                match st.status.as_str() {
                    "in doubt" => theme.style(Meaning::Warning),
                    _ => theme.style(Meaning::Text),
                },
            ),
            (None, None) => (
                format!(
                    "#{} l{} {} {} row(s) {} ms  {first}",
                    st.index, st.line, st.status, st.affected_rows, st.elapsed_ms
                ),
                theme.style(Meaning::Text),
            ),
            (None, Some(e)) => (
                format!("#{} l{} FAILED: {e}  {first}", st.index, st.line),
                theme.style(Meaning::Alert),
            ),
        };
        lines.push(Line::styled(text, style));
    }
    lines
}

/// The newest output lines that fit below the heading.
fn push_tail(lines: &mut Vec<Line<'static>>, out: &[String], room: usize) {
    let skip = out.len().saturating_sub(room);
    lines.extend(out[skip..].iter().map(|l| Line::raw(l.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::deploy::task::DeployEvent;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(view: &DeploysView) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw(f, f.area(), view, &Theme::fallback()))
            .unwrap();
        let buf = t.backend().buffer();
        (0..24)
            .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A statement that was in doubt shows its settled status and sentence, not "FAILED".
    #[test]
    fn a_settled_statement_shows_how_it_was_settled() {
        let statement = |index: usize, status: &str, settled: Option<&str>| {
            crate::deploy::history::StatementResult {
                index,
                line: index,
                sql: format!("ALTER TABLE t{index} ADD COLUMN w INT"),
                status: status.into(),
                affected_rows: 0,
                error: Some("connection closed".into()),
                elapsed_ms: 1,
                gtid: None,
                settled: settled.map(str::to_string),
            }
        };
        let d = DeployRecord {
            id: 5,
            started_at: "2026-12-01T10:00:00Z".into(),
            finished_at: None,
            instance: "primary".into(),
            os_user: "me".into(),
            file: "/tmp/change.sql".into(),
            file_sha256: String::new(),
            status: "in doubt".into(),
            connection_id: 1,
            before: None,
            after: None,
            message: String::new(),
            statements: vec![
                statement(
                    1,
                    "not applied",
                    Some("settled: statement 1 was NOT applied"),
                ),
                statement(2, "in doubt", Some("statement 2 stays IN DOUBT")),
                statement(3, "failed", None),
            ],
        };
        let text: Vec<String> = detail_lines(&d, &Theme::fallback())
            .iter()
            .map(|l| l.to_string())
            .collect();
        let text = text.join("\n");
        assert!(
            text.contains("#1 l1 not applied: settled: statement 1 was NOT applied"),
            "{text}"
        );
        assert!(
            text.contains("#2 l2 in doubt: statement 2 stays IN DOUBT"),
            "{text}"
        );
        assert!(text.contains("#3 l3 FAILED: connection closed"), "{text}");
    }

    #[test]
    fn the_history_and_a_running_instance_deploy_at_80x24() {
        let mut view = DeploysView::default();
        assert!(screen(&view).contains("reading the deploy history"));
        view.on_event(DeployEvent::History {
            records: vec![DeployRecord {
                id: 4,
                started_at: "2026-12-01T10:00:00Z".into(),
                finished_at: None,
                instance: "primary".into(),
                os_user: "me".into(),
                file: "/tmp/change.sql".into(),
                file_sha256: String::new(),
                status: "applied".into(),
                connection_id: 1,
                before: None,
                after: None,
                message: "applied 3 statement(s)".into(),
                statements: Vec::new(),
            }],
            error: None,
        });
        let s = screen(&view);
        assert!(
            s.contains("2026-12-01 10:00:00") && s.contains("change.sql"),
            "{s}"
        );
        assert!(s.contains("deploy 4: applied 3 statement(s)"), "{s}");
        view.on_key(&crate::app::Action::Confirm, Default::default())
            .unwrap();
        let s = screen(&view);
        assert!(
            s.contains("deploy 4 on primary: applied") && s.contains("before   not recorded"),
            "{s}"
        );
        view.on_key(&crate::app::Action::Cancel, Default::default())
            .unwrap();
        assert_eq!(view.stage, DeploysStage::Browse);
        view.stage = DeploysStage::Running {
            title: "deploy instance rep on port 3407".into(),
            lines: (1..=40).map(|n| format!("[{n}] step {n}")).collect(),
        };
        let s = screen(&view);
        assert!(
            s.contains("deploy instance rep on port 3407: running"),
            "{s}"
        );
        assert!(
            s.contains("[40] step 40") && !s.contains("[1] step 1 "),
            "{s}"
        );
    }
}
