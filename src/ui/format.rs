//! Turning figures into short, readable cells. Shared by every pane.

use chrono::{DateTime, Utc};

use crate::health::Replication;

/// `45s`, `12m05s`, `5h12m`, `3d04h`: two units are enough to judge an uptime.
pub fn duration_short(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `3d 04h 12m` for the detail view.
pub fn duration_long(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        (secs % 86_400) / 3600,
        (secs % 3600) / 60,
        secs % 60,
    );
    match (d, h) {
        (0, 0) => format!("{m}m {s:02}s"),
        (0, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h:02}h {m:02}m"),
    }
}

/// Rates keep three significant figures at most, so columns stay narrow.
pub fn rate(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if !v.is_finite() => "-".into(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 1000.0 => format!("{v:.1}"),
        Some(v) if v < 100_000.0 => format!("{v:.0}"),
        Some(v) if v < 100_000_000.0 => format!("{:.0}k", v / 1000.0),
        Some(v) => format!("{:.0}M", v / 1_000_000.0),
    }
}

pub fn count(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// "2s ago", "3m ago"; "just now" under a second; clock skew shows as "just now", not negative.
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 1 => "just now".into(),
        s => format!("{} ago", duration_short(s as u64)),
    }
}

/// The version up to its first dash (`10.11.6-MariaDB-0+deb12u1` -> `10.11.6`) for narrow columns.
pub fn version_short(version: &str) -> &str {
    version.split('-').next().unwrap_or(version)
}

/// `replica lag 3s` / `IO stopped` / `-` for a server that is not a replica. Stopped threads
/// win over the lag, which the server reports as NULL then anyway.
pub fn replication_short(r: Option<&Replication>) -> String {
    let Some(r) = r else { return "-".into() };
    match (r.io_running, r.sql_running, r.lag_s) {
        (true, true, Some(lag)) => format!("{} lag {}", r.role, duration_short(lag)),
        (true, true, None) => format!("{} lag ?", r.role),
        (false, true, _) => "IO stopped".into(),
        (true, false, _) => "SQL stopped".into(),
        (false, false, _) => "IO+SQL stopped".into(),
    }
}

/// The full sentence for the detail view.
pub fn replication_long(r: Option<&Replication>) -> String {
    let Some(r) = r else {
        return "not a replica".into();
    };
    let running = |b: bool| if b { "running" } else { "STOPPED" };
    let lag = r
        .lag_s
        .map(duration_short)
        .unwrap_or_else(|| "unknown (NULL)".into());
    format!(
        "{}, IO thread {}, SQL thread {}, lag {}",
        r.role,
        running(r.io_running),
        running(r.sql_running),
        lag
    )
}

/// Cut `text` to `width` characters, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Pad or cut to exactly `width` characters, left- or right-aligned.
pub fn cell(text: &str, width: usize, right: bool) -> String {
    let fitted = fit(text, width);
    if right {
        format!("{fitted:>width$}")
    } else {
        format!("{fitted:<width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_two_units() {
        assert_eq!(duration_short(45), "45s");
        assert_eq!(duration_short(725), "12m05s");
        assert_eq!(duration_short(5 * 3600 + 12 * 60 + 9), "5h12m");
        assert_eq!(duration_short(3 * 86_400 + 4 * 3600 + 59), "3d04h");
        assert_eq!(duration_long(3 * 86_400 + 4 * 3600 + 12 * 60), "3d 04h 12m");
        assert_eq!(duration_long(61), "1m 01s");
    }

    #[test]
    fn rates_stay_narrow() {
        assert_eq!(rate(None), "-");
        assert_eq!(rate(Some(f64::NAN)), "-");
        assert_eq!(rate(Some(4.256)), "4.26");
        assert_eq!(rate(Some(512.25)), "512.2");
        assert_eq!(rate(Some(12_345.6)), "12346");
        assert_eq!(rate(Some(1_234_567.0)), "1235k");
        assert_eq!(rate(Some(2_500_000_000.0)), "2500M");
    }

    #[test]
    fn fit_marks_cuts() {
        assert_eq!(fit("primary", 10), "primary");
        assert_eq!(fit("primary-eu-west-1", 8), "primary…");
        assert_eq!(cell("7", 4, true), "   7");
        assert_eq!(cell("ab", 4, false), "ab  ");
        assert_eq!(version_short("10.11.6-MariaDB-0+deb12u1"), "10.11.6");
    }

    #[test]
    fn replication_states_read_plainly() {
        let r = |io, sql, lag| Replication {
            role: "replica".into(),
            io_running: io,
            sql_running: sql,
            lag_s: lag,
        };
        assert_eq!(replication_short(None), "-");
        assert_eq!(
            replication_short(Some(&r(true, true, Some(3)))),
            "replica lag 3s"
        );
        assert_eq!(replication_short(Some(&r(false, true, None))), "IO stopped");
        assert_eq!(
            replication_short(Some(&r(false, false, None))),
            "IO+SQL stopped"
        );
        assert!(replication_long(Some(&r(true, false, None))).contains("SQL thread STOPPED"));
    }
}
