//! `arkc health --replay FILE [--at TIME]`: the figures of a recording, as `arkc health` prints
//! live ones.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::health::{render, HealthFormat, EXIT_SOME_DOWN};
use super::health_replay_inspect::{inspection_lines, ReplayRowJson};
use crate::health::{Alert, InstanceHealth, Status};
use crate::recording::{Frame, RecordedInspection, Recording};

/// `asked`: the `--instance` names and `--tag` tags (matched against the tags recorded with the
/// frame, not today's config).
pub fn run(
    file: &Path,
    at: Option<DateTime<Utc>>,
    asked: (&[String], &[String]),
    format: HealthFormat,
) -> anyhow::Result<i32> {
    let recording = Recording::open(file)?;
    let Some(mut frame) = recording.frame_at(at)? else {
        let summary = recording.summary()?;
        anyhow::bail!(
            "{}: no frame at or before {}; the recording holds {} frames{}",
            file.display(),
            at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "now".into()),
            summary.frames,
            match (summary.first, summary.last) {
                (Some(a), Some(b)) => format!(" from {} to {}", a.to_rfc3339(), b.to_rfc3339()),
                _ => String::new(),
            }
        );
    };
    let (names, tags) = asked;
    if let Some(names) = super::health_tags::select_recorded(&frame.tags, names, tags)? {
        frame.instances.retain(|h| names.contains(&h.instance));
        frame.alerts.retain(|a| names.contains(&a.instance));
    }
    let mut inspections = Vec::new();
    for h in &frame.instances {
        inspections.push(recording.inspection_at(&frame, &h.instance)?);
    }
    eprintln!("replay of {} at {}", file.display(), frame.at.to_rfc3339());
    print!("{}", render_frame(&frame, &inspections, format)?);
    let any_down = frame.instances.iter().any(|h| h.status == Status::Down);
    Ok(if any_down { EXIT_SOME_DOWN } else { 0 })
}

/// The frame's rows with their alerts, recorded tags and what was recorded about them
/// (`inspections`, one per row).
fn render_frame(
    frame: &Frame,
    inspections: &[Option<RecordedInspection>],
    format: HealthFormat,
) -> anyhow::Result<String> {
    let figures: &[InstanceHealth] = &frame.instances;
    match format {
        HealthFormat::Json => {
            let per_instance: Vec<Vec<Alert>> = figures
                .iter()
                .map(|h| {
                    frame
                        .alerts
                        .iter()
                        .filter(|a| a.instance == h.instance)
                        .cloned()
                        .collect()
                })
                .collect();
            let rows: Vec<ReplayRowJson> = figures
                .iter()
                .zip(&per_instance)
                .zip(inspections)
                .map(|((h, a), inspection)| {
                    let tags = frame.tags.get(&h.instance).cloned().unwrap_or_default();
                    ReplayRowJson::new(h, a, tags, inspection.as_ref())
                })
                .collect();
            Ok(format!("{}\n", serde_json::to_string_pretty(&rows)?))
        }
        HealthFormat::Table => {
            let mut out = render(figures, format)?;
            for a in &frame.alerts {
                out.push_str(&format!(
                    "alert {} {} {} {}: {}\n",
                    a.instance,
                    a.rule.id(),
                    a.severity.as_str(),
                    a.state.as_str(),
                    a.summary
                ));
            }
            for inspection in inspections.iter().flatten() {
                out.push_str(&inspection_lines(inspection));
            }
            Ok(out)
        }
    }
}

/// RFC 3339 (`2026-12-01T12:00:00Z`), or `YYYY-MM-DD HH:MM:SS` / `YYYY-MM-DDTHH:MM:SS` in UTC.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    for pattern in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, pattern) {
            return Ok(naive.and_utc());
        }
    }
    Err(format!(
        "`{text}` is not a time; use RFC 3339 (2026-12-01T12:00:00Z) or `2026-12-01 12:00:00` (UTC)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_utc() {
        let want = "2026-12-01T12:00:05Z";
        assert_eq!(
            parse_time(want).unwrap().to_rfc3339(),
            "2026-12-01T12:00:05+00:00"
        );
        assert_eq!(
            parse_time("2026-12-01 12:00:05").unwrap(),
            parse_time(want).unwrap()
        );
        assert_eq!(
            parse_time("2026-12-01T13:00:05+01:00").unwrap(),
            parse_time(want).unwrap()
        );
        assert!(parse_time("yesterday").is_err());
    }
}
