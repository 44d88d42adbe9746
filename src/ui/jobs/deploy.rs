//! Drawing the Jobs pane's deploy flow (reads only): the file prompt, the review's findings,
//! the typed confirmation, each statement as it finishes, the outcome with the deploy id.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::jobs::deploy::{DeployFlow, DeployStage};
use crate::deploy::review::Severity;
use crate::ui::theme::{Meaning, Theme};

pub fn draw_deploy(frame: &mut Frame, area: Rect, flow: &DeployFlow, theme: &Theme) {
    let block = Block::bordered()
        .title(format!(" Deploy to {} ", flow.instance))
        .border_style(theme.style(Meaning::Border));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
    let muted = theme.style(Meaning::Muted);
    match &flow.stage {
        DeployStage::PickFile { input } => {
            lines.push(Line::styled(
                "SQL change file:",
                theme.style(Meaning::Header),
            ));
            lines.push(Line::raw(format!("> {input}_")));
            lines.push(Line::styled("enter: review   esc: close", muted));
        }
        DeployStage::Reviewing { file } => {
            lines.push(Line::raw(format!("reviewing {} ...", file.display())));
        }
        DeployStage::Reviewed {
            file,
            statements,
            findings,
        } => {
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            lines.push(Line::styled(
                format!(
                    "{}: {statements} statement(s), {errors} error(s), {} warning(s)",
                    file.display(),
                    findings.len() - errors
                ),
                theme.style(Meaning::Header),
            ));
            for f in findings {
                let style = match f.severity {
                    Severity::Error => theme.style(Meaning::Alert),
                    _ => theme.style(Meaning::Warning),
                };
                lines.push(Line::styled(
                    format!(
                        "#{} l{} {} [{}] {}",
                        f.index, f.line, f.severity, f.rule, f.message
                    ),
                    style,
                ));
            }
            let next = match (errors, flow.read_only.any()) {
                (_, true) => "read-only: applying is refused",
                (0, false) => "enter: apply (you will type the instance name)   esc: close",
                _ => "errors refuse the apply: fix the file   esc: close",
            };
            lines.push(Line::styled(next, muted));
        }
        DeployStage::Confirm { file, typed } => {
            lines.push(Line::styled(
                format!(
                    "Apply {} to {}? Type the instance name:",
                    file.display(),
                    flow.instance
                ),
                theme.style(Meaning::Warning),
            ));
            lines.push(Line::raw(format!("> {typed}_")));
        }
        DeployStage::Running {
            file,
            done,
            total,
            lines: done_lines,
        } => {
            lines.push(Line::raw(format!("applying {}", file.display())));
            let gauge_area = Rect { height: 1, ..inner };
            let ratio = if *total == 0 {
                0.0
            } else {
                *done as f64 / *total as f64
            };
            frame.render_widget(
                Gauge::default()
                    .ratio(ratio.clamp(0.0, 1.0))
                    .label(format!("{done}/{total} statements"))
                    .gauge_style(theme.style(Meaning::Bar)),
                Rect {
                    y: inner.y + 1,
                    ..gauge_area
                },
            );
            lines.push(Line::raw(""));
            lines.extend(done_lines.iter().map(|l| Line::raw(l.clone())));
        }
        DeployStage::Finished {
            deploy_id,
            ok,
            message,
            lines: done_lines,
        } => {
            let head = match deploy_id {
                Some(id) => format!("deploy {id}: {message}"),
                None => message.clone(),
            };
            let style = if *ok {
                theme.style(Meaning::Ok)
            } else {
                theme.style(Meaning::Alert)
            };
            lines.push(Line::styled(head, style));
            lines.extend(done_lines.iter().map(|l| Line::raw(l.clone())));
            if let (Some(id), true) = (deploy_id, ok) {
                lines.push(Line::styled(
                    format!(
                        "undo: D (deploy history), then u on deploy {id}; or arkc deploy undo {id}"
                    ),
                    muted,
                ));
            }
        }
    }
    let body = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .style(theme.style(Meaning::Text));
    frame.render_widget(body, inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::jobs::deploy::DeployFlow;
    use crate::backend::deploy::task::DeployEvent;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(flow: &DeployFlow) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw_deploy(f, f.area(), flow, &Theme::fallback()))
            .unwrap();
        let buf = t.backend().buffer();
        (0..24)
            .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn review_and_run_at_80x24() {
        let sql = "UPDATE shop.orders SET status = 'x';\nSELECT * FROM shop.orders;\n";
        let r = crate::deploy::review::review(sql, &Default::default());
        let mut flow = DeployFlow::new("primary", Default::default());
        flow.stage = DeployStage::Reviewing {
            file: "change.sql".into(),
        };
        flow.on_event(DeployEvent::Reviewed {
            file: "change.sql".into(),
            statements: 2,
            findings: r.findings,
        });
        let s = screen(&flow);
        assert!(s.contains("Deploy to primary"), "{s}");
        assert!(
            s.contains("2 statement(s), 1 error(s), 1 warning(s)"),
            "{s}"
        );
        assert!(
            s.contains("[dml-where-required]") && s.contains("errors refuse the apply"),
            "{s}"
        );
        flow.stage = DeployStage::Running {
            file: "change.sql".into(),
            done: 0,
            total: 0,
            lines: Vec::new(),
        };
        flow.on_event(DeployEvent::Progress {
            done: 1,
            total: 3,
            index: 1,
            line: 1,
            affected_rows: 50,
            error: None,
        });
        let s = screen(&flow);
        assert!(
            s.contains("1/3 statements") && s.contains("statement 1 (line 1): 50 row(s)"),
            "{s}"
        );
        flow.on_event(DeployEvent::Finished {
            deploy_id: 12,
            ok: false,
            message: "stopped at statement 2 (line 2)".into(),
        });
        let s = screen(&flow);
        assert!(
            s.contains("deploy 12: stopped at statement 2 (line 2)"),
            "{s}"
        );
    }
}
