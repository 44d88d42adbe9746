//! `arkc health --replay FILE [--at TIME]`: the figures of a recording, as `arkc health` prints
//! live ones.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::health::{render, HealthFormat, HealthJson, EXIT_SOME_DOWN};
use crate::health::{Alert, Status};
use crate::recording::Recording;

pub fn run(
    file: &Path,
    at: Option<DateTime<Utc>>,
    names: &[String],
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
    if !names.is_empty() {
        frame.instances.retain(|h| names.contains(&h.instance));
        frame.alerts.retain(|a| names.contains(&a.instance));
    }
    eprintln!("replay of {} at {}", file.display(), frame.at.to_rfc3339());
    print!("{}", render_frame(&frame.instances, &frame.alerts, format)?);
    let any_down = frame.instances.iter().any(|h| h.status == Status::Down);
    Ok(if any_down { EXIT_SOME_DOWN } else { 0 })
}

fn render_frame(
    figures: &[crate::health::InstanceHealth],
    alerts: &[Alert],
    format: HealthFormat,
) -> anyhow::Result<String> {
    match format {
        HealthFormat::Json => {
            let per_instance: Vec<Vec<Alert>> = figures
                .iter()
                .map(|h| {
                    alerts
                        .iter()
                        .filter(|a| a.instance == h.instance)
                        .cloned()
                        .collect()
                })
                .collect();
            let rows: Vec<HealthJson> = figures
                .iter()
                .zip(&per_instance)
                .map(|(h, a)| HealthJson::new(h, a))
                .collect();
            Ok(format!("{}\n", serde_json::to_string_pretty(&rows)?))
        }
        HealthFormat::Table => {
            let mut out = render(figures, format)?;
            for a in alerts {
                out.push_str(&format!(
                    "alert {} {} {} {}: {}\n",
                    a.instance,
                    a.rule.id(),
                    a.severity.as_str(),
                    a.state.as_str(),
                    a.summary
                ));
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
