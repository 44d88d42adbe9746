//! `arkc digest FILE...`: group slow-log entries into query classes with pt-query-digest's
//! fingerprints and IDs, and print the top classes as a table, JSON or a Markdown report.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use arkc_slowlog::{Digest, DigestFilter, OrderBy, QueryClass};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::tracking::{TrackStatus, Tracking, TrackingStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DigestFormat {
    Table,
    Json,
    Md,
}

#[derive(Debug, clap::Args)]
pub struct DigestArgs {
    /// Slow query logs, plain or gzip-compressed (detected by content).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format; `md` is the slow-SQL report with each class's tracking status.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DigestFormat,
    /// Rank classes by ATTR:sum|avg|max|count; ATTR is Query_time, Lock_time, Rows_sent,
    /// Rows_examined or No_index.
    #[arg(long, default_value = "Query_time:sum", value_name = "ATTR:FUNC")]
    pub order_by: OrderBy,
    /// How many classes to print; 0 prints all.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Only entries at or after T: Unix seconds, `2024-01-31`, `2024-01-31 12:00:00`
    /// (UTC), or an age such as `90m`, `12h`, `7d`.
    #[arg(long, value_parser = parse_time, value_name = "T")]
    pub since: Option<i64>,
    /// Only entries before T (same forms as --since).
    #[arg(long, value_parser = parse_time, value_name = "T")]
    pub until: Option<i64>,
    /// Only entries whose default database is D.
    #[arg(long, value_name = "D")]
    pub database: Option<String>,
    /// Only entries that ran at least this long.
    #[arg(long, value_name = "SECONDS")]
    pub min_time: Option<f64>,
}

pub fn run(args: DigestArgs) -> anyhow::Result<i32> {
    let filter = DigestFilter {
        since: args.since,
        until: args.until,
        database: args.database.clone(),
        min_time: args.min_time,
    };
    let mut digest = Digest::new(filter);
    let mut empty_logs = Vec::new();
    for file in &args.files {
        // An entry skipped for having no statement still had header lines (a truncated log).
        let seen = |d: &Digest| d.headed_entries() + d.stats().skipped;
        let seen_before = seen(&digest);
        digest
            .add_file(file)
            .with_context(|| format!("digesting {}", file.display()))?;
        if seen(&digest) == seen_before {
            match sniff(file)? {
                Sniffed::NotSlowLog => {
                    eprintln!(
                        "error: {}: found no slow-log entries (no `# Time:`, `# User@Host:` or `# Query_time:` lines); is it a slow query log?",
                        file.display()
                    );
                    return Ok(2);
                }
                Sniffed::EmptyLog => empty_logs.push(file),
            }
        }
    }
    for file in empty_logs {
        eprintln!(
            "note: {}: a slow log with no entries yet (empty, or only the server's start-up lines)",
            file.display()
        );
    }
    let limit = (args.limit > 0).then_some(args.limit);
    let ranked = args.order_by.rank(digest.classes(), limit);
    let text = match args.format {
        DigestFormat::Json => serde_json::to_string_pretty(&to_json(&digest, &ranked))? + "\n",
        DigestFormat::Table => render_table(&digest, &ranked),
        DigestFormat::Md => render_markdown(&digest, &ranked, &load_tracking(), &args),
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing the digest")?;
    report_problems(&digest);
    Ok(0)
}

enum Sniffed {
    /// Empty, or nothing but the server's start-up banner: a slow log that has no entries yet.
    EmptyLog,
    NotSlowLog,
}

/// What a file without any slow-log entry is: an empty log is fine, anything else is the wrong
/// file. Only its start is read (it is decompressed if gzip).
fn sniff(file: &std::path::Path) -> anyhow::Result<Sniffed> {
    use std::io::Read;
    let mut head = Vec::new();
    arkc_slowlog::open_log(file)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", file.display()))?;
    let only_banner = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .all(|l| l.iter().all(u8::is_ascii_whitespace) || arkc_slowlog::is_server_header(l));
    Ok(if only_banner {
        Sniffed::EmptyLog
    } else {
        Sniffed::NotSlowLog
    })
}

/// `--since`/`--until` values; times without a zone are UTC.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(age) = parse_age(s) {
        return Ok(Utc::now().timestamp() - age);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc().timestamp());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp()));
    }
    Err(format!(
        "cannot read time {s:?}: use Unix seconds, 2024-01-31, \"2024-01-31 12:00:00\" (UTC), RFC 3339, or an age like 90m, 12h, 7d"
    ))
}

fn parse_age(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    Some(n * seconds)
}

fn iso(t: Option<i64>) -> Value {
    t.and_then(|t| DateTime::from_timestamp(t, 0))
        .map_or(Value::Null, |t| {
            Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        })
}

/// Whole numbers print without a fraction (rows are counts).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

pub fn to_json(digest: &Digest, classes: &[&QueryClass]) -> Value {
    let rows = classes.iter().map(|c| {
        let qt = c.query_time_stats();
        let databases: Map<String, Value> = c.databases.sorted().into_iter().map(|(db, n)| (db.to_string(), json!(n))).collect();
        json!({
            "query_id": c.query_id,
            "fingerprint": c.fingerprint,
            "count": c.count,
            "qps": digest.qps(c),
            "query_time": {"sum": qt.sum, "avg": qt.avg, "min": qt.min, "max": qt.max, "p95": qt.p95, "median": qt.median},
            "lock_time_sum": c.lock_time_sum,
            "rows_sent_sum": number(c.rows_sent_sum),
            "rows_examined_sum": number(c.rows_examined_sum),
            "no_index_count": c.no_index_count,
            "first_seen": iso(c.first_seen),
            "last_seen": iso(c.last_seen),
            "databases": databases,
            "sample": c.sample.as_ref().map(|s| s.query.clone()),
        })
    });
    Value::Array(rows.collect())
}

/// Fingerprints are cut to fit one line; the ID is what identifies the class.
fn one_line(text: &str, width: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= width {
        return flat;
    }
    let mut cut: String = flat.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn render_table(digest: &Digest, classes: &[&QueryClass]) -> String {
    let mut out = summary_line(digest);
    out.push_str(&format!(
        "{:>4}  {:<18}  {:>8}  {:>8}  {:>10}  {:>9}  {:>9}  {:>9}  {:>8}  {}\n",
        "rank",
        "query id",
        "count",
        "qps",
        "time sum",
        "avg",
        "p95",
        "max",
        "no index",
        "fingerprint"
    ));
    for (i, c) in classes.iter().enumerate() {
        let qt = c.query_time_stats();
        out.push_str(&format!(
            "{:>4}  0x{:<16}  {:>8}  {:>8.3}  {:>9.3}s  {:>8.4}s  {:>8.4}s  {:>8.4}s  {:>8}  {}\n",
            i + 1,
            &c.query_id[..16.min(c.query_id.len())],
            c.count,
            digest.qps(c),
            qt.sum,
            qt.avg,
            qt.p95,
            qt.max,
            c.no_index_count,
            one_line(&c.fingerprint, 70)
        ));
    }
    out
}

fn summary_line(digest: &Digest) -> String {
    let stats = digest.stats();
    let window = match digest.window() {
        Some((lo, hi)) => format!(
            ", {} to {}",
            iso(Some(lo)).as_str().unwrap_or("?"),
            iso(Some(hi)).as_str().unwrap_or("?")
        ),
        None => String::new(),
    };
    format!(
        "# {} entries in {} classes, {:.1} MB read{window}\n",
        stats.entries,
        digest.class_count(),
        stats.bytes as f64 / 1e6
    )
}

/// Tracking statuses, when the store exists (the report never creates it).
fn load_tracking() -> Vec<Tracking> {
    let Some(path) = TrackingStore::default_path().filter(|p| p.exists()) else {
        return Vec::new();
    };
    match TrackingStore::open(&path).and_then(|store| store.all()) {
        Ok(all) => all,
        Err(e) => {
            eprintln!("warning: tracking statuses unavailable: {e}");
            Vec::new()
        }
    }
}

fn status_of(tracking: &[Tracking], class: &QueryClass) -> (String, String) {
    let Some(t) = tracking.iter().find(|t| t.query_id == class.query_id) else {
        return (TrackStatus::New.as_str().to_string(), String::new());
    };
    let seen_after_fix = matches!((t.fixed_at, class.last_seen), (Some(fixed), Some(seen)) if seen > fixed.timestamp());
    let status = if t.status == TrackStatus::Fixed && (seen_after_fix || t.reappeared_at.is_some())
    {
        "fixed, **reappeared**".to_string()
    } else {
        t.status.as_str().to_string()
    };
    (status, t.note.clone())
}

fn render_markdown(
    digest: &Digest,
    classes: &[&QueryClass],
    tracking: &[Tracking],
    args: &DigestArgs,
) -> String {
    let files: Vec<String> = args
        .files
        .iter()
        .map(|f| format!("`{}`", f.display()))
        .collect();
    let mut out = format!(
        "# Slow SQL report\n\n{}Sources: {}\n\n",
        summary_line(digest).trim_start_matches("# "),
        files.join(", ")
    );
    out.push_str("| # | Query ID | Count | QPS | Total s | Avg s | P95 s | No index | Status | Note | Fingerprint |\n");
    out.push_str("|--:|---|--:|--:|--:|--:|--:|--:|---|---|---|\n");
    let cell = |s: &str| s.replace('|', "\\|");
    for (i, c) in classes.iter().enumerate() {
        let qt = c.query_time_stats();
        let (status, note) = status_of(tracking, c);
        out.push_str(&format!(
            "| {} | `0x{}` | {} | {:.3} | {:.3} | {:.4} | {:.4} | {} | {} | {} | `{}` |\n",
            i + 1,
            c.query_id,
            c.count,
            digest.qps(c),
            qt.sum,
            qt.avg,
            qt.p95,
            c.no_index_count,
            status,
            cell(&note),
            cell(&one_line(&c.fingerprint, 120)).replace('`', "'")
        ));
    }
    for (i, c) in classes.iter().enumerate() {
        if let Some(sample) = &c.sample {
            out.push_str(&format!(
                "\n## {}. 0x{}\n\n```sql\n{}\n```\n",
                i + 1,
                c.query_id,
                sample.query
            ));
        }
    }
    out
}

fn report_problems(digest: &Digest) {
    let stats = digest.stats();
    if stats.skipped + stats.bad_values == 0 {
        return;
    }
    eprintln!(
        "warning: {} entries without a statement were skipped and {} non-numeric values ignored",
        stats.skipped, stats.bad_values
    );
    for p in stats.problems.iter().take(5) {
        eprintln!("  line {}: {}", p.line, p.kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_documented_form() {
        assert_eq!(parse_time("1700906400"), Ok(1_700_906_400));
        assert_eq!(parse_time("2023-11-25"), Ok(1_700_870_400));
        assert_eq!(parse_time("2023-11-25 10:00:00"), Ok(1_700_906_400));
        assert_eq!(parse_time("2023-11-25T10:00:00+01:00"), Ok(1_700_902_800));
        let age = parse_time("2h").expect("an age");
        assert!((Utc::now().timestamp() - 7200 - age).abs() <= 2);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn long_fingerprints_are_cut_to_one_line() {
        assert_eq!(one_line("select\n?", 20), "select ?");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
