//! `arkc audit`: the write actions recorded in the audit trail (`crate::audit`).

use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::monitor_views::ViewFormat;
use crate::audit::{read_since, AuditRecord};

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only actions at or after this time: RFC 3339, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (UTC),
    /// or an age such as 30m, 12h, 7d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ViewFormat,
}

pub fn run(args: AuditArgs) -> anyhow::Result<i32> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    let path = crate::audit::default_path()?;
    let records = read_since(&path, since)?;
    match args.format {
        ViewFormat::Json => println!("{}", serde_json::to_string_pretty(&records)?),
        ViewFormat::Table => print!("{}", table(&records)),
    }
    Ok(0)
}

/// `--since` as an instant; `now` anchors ages.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Ok(d.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).context("midnight")?.and_utc());
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => 0,
    };
    match n.parse::<i64>() {
        Ok(n) if seconds > 0 => Ok(now - chrono::Duration::seconds(n.saturating_mul(seconds))),
        _ => bail!(
            "--since `{text}`: expected RFC 3339 (2026-01-31T12:00:00Z), YYYY-MM-DD, \
             `YYYY-MM-DD HH:MM:SS` (UTC) or an age like 30m, 12h, 7d"
        ),
    }
}

fn table(records: &[AuditRecord]) -> String {
    let mut out = format!(
        "{:<24} {:<10} {:<20} {:<18} {:<8} {:>8}  {:<12} {}\n",
        "TIME", "USER", "INSTANCE", "ACTION", "RESULT", "ROWS", "SHA256", "SQL"
    );
    for r in records {
        let sql = match r.sql_files.first() {
            Some(f) => f.clone(),
            None => r.sql.clone().unwrap_or_default().replace('\n', " "),
        };
        out.push_str(&format!(
            "{:<24} {:<10} {:<20} {:<18} {:<8} {:>8}  {:<12} {}\n",
            r.time,
            r.user,
            r.instance,
            r.action,
            r.result,
            r.rows_affected,
            r.sha256.get(..12).unwrap_or(&r.sha256),
            sql
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |s: &str| parse_since(s, now).unwrap().to_rfc3339();
        assert_eq!(at("2h"), "2026-12-01T10:00:00+00:00");
        assert_eq!(at("2026-11-30"), "2026-11-30T00:00:00+00:00");
        assert_eq!(at("2026-11-30 08:00:01"), "2026-11-30T08:00:01+00:00");
        assert_eq!(at("2026-11-30T08:00:01+01:00"), "2026-11-30T07:00:01+00:00");
        assert!(parse_since("yesterday", now).is_err());
    }
}
