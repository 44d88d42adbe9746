//! performance_schema digests as leaderboard rows. The table is cumulative since the server
//! started; rows are grouped by the pt-query-digest ID of their normalised text (so tracking uses
//! one kind of key), QPS is measured from the first poll on, and a class counts as seen when its
//! count moved between polls.

use std::collections::HashMap;

use arkc_slowlog::{fingerprint, query_id};

use super::ps_digest::{deltas, index, DigestRow};
use super::report::SlowClass;

type Key = (Option<String>, String);

/// Digest rows between polls.
#[derive(Debug, Default)]
pub struct DigestSource {
    previous: Option<HashMap<Key, DigestRow>>,
    /// Count per query ID at the first poll, and when that was (Unix seconds, fractional).
    baseline: HashMap<String, u64>,
    baseline_at: f64,
}

/// What one poll changed.
#[derive(Debug)]
pub struct DigestPoll {
    pub classes: Vec<SlowClass>,
    /// Query IDs executed since the previous poll (empty on the first).
    pub moved: Vec<String>,
    pub first: bool,
}

impl DigestSource {
    /// Fold a fresh read of the table taken at `now` (Unix seconds).
    pub fn observe(&mut self, rows: Vec<DigestRow>, now: f64) -> DigestPoll {
        let first = self.previous.is_none();
        let moved: Vec<String> = match &self.previous {
            Some(prev) => deltas(prev, &rows)
                .iter()
                .map(|d| id_of(&d.digest_text))
                .collect(),
            None => Vec::new(),
        };
        let mut classes = group(&rows);
        if first {
            self.baseline = classes
                .iter()
                .map(|c| (c.query_id.clone(), c.count))
                .collect();
            self.baseline_at = now;
        }
        let elapsed = (now - self.baseline_at).max(1.0);
        for class in &mut classes {
            let before = self.baseline.get(&class.query_id).copied().unwrap_or(0);
            class.qps = class.count.saturating_sub(before) as f64 / elapsed;
            if moved.contains(&class.query_id) {
                class.last_seen = Some(now as i64);
            }
        }
        self.previous = Some(index(rows));
        DigestPoll {
            classes,
            moved,
            first,
        }
    }
}

fn id_of(digest_text: &str) -> String {
    query_id(&fingerprint(&as_written(digest_text)))
}

/// The server's normalised text spaced the way people write SQL: no backticks, no spaces
/// inside `a . b`, `f ( x )` or before commas. The fingerprint then often equals the one the
/// slow log gives for the same statement, so the class gets the same query ID (and tracking).
fn as_written(digest_text: &str) -> Vec<u8> {
    let mut out = digest_text.trim().replace('`', "");
    // MariaDB writes a list of values as `(...)`.
    let replacements = [
        ("(...)", "(?)"),
        (" . ", "."),
        (" ( ", " ("),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
    ];
    for (spaced, tight) in replacements {
        out = out.replace(spaced, tight);
    }
    // `f (` after a word is a call (`count(`), but `in (` and `values (` keep their space.
    let mut tight = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find(" (") {
        let word: String = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let keyword = matches!(
            word.to_ascii_lowercase().as_str(),
            "in" | "values"
                | "value"
                | "exists"
                | "on"
                | "using"
                | "and"
                | "or"
                | "not"
                | "as"
                | ""
        );
        tight.push_str(&rest[..at]);
        tight.push_str(if keyword { " (" } else { "(" });
        rest = &rest[at + 2..];
    }
    tight.push_str(rest);
    tight.into_bytes()
}

/// One class per query ID, summing the rows (one per schema and server digest) that share it.
fn group(rows: &[DigestRow]) -> Vec<SlowClass> {
    let mut by_id: HashMap<String, SlowClass> = HashMap::new();
    for row in rows {
        let fp = fingerprint(&as_written(&row.digest_text));
        let id = query_id(&fp);
        let class = by_id.entry(id.clone()).or_insert_with(|| SlowClass {
            query_id: id,
            fingerprint: String::from_utf8_lossy(&fp).into_owned(),
            count: 0,
            qps: 0.0,
            time_sum: 0.0,
            time_avg: 0.0,
            time_max: 0.0,
            time_p95: None,
            lock_sum: 0.0,
            rows_sent: 0.0,
            rows_examined: 0.0,
            no_index: 0,
            first_seen: None,
            last_seen: None,
            databases: Vec::new(),
            sample: None,
            distribution: None,
        });
        class.count += row.count;
        class.time_sum += row.sum_time_s;
        class.time_max = class.time_max.max(row.max_time_s);
        class.time_p95 = match (class.time_p95, row.p95_s) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        class.lock_sum += row.sum_lock_s;
        class.rows_sent += row.rows_sent as f64;
        class.rows_examined += row.rows_examined as f64;
        class.no_index += row.no_index_used + row.no_good_index_used;
        if let Some(schema) = &row.schema {
            match class.databases.iter_mut().find(|(d, _)| d == schema) {
                Some((_, n)) => *n += row.count,
                None => class.databases.push((schema.clone(), row.count)),
            }
        }
    }
    let mut classes: Vec<SlowClass> = by_id.into_values().collect();
    for c in &mut classes {
        c.time_avg = if c.count > 0 {
            c.time_sum / c.count as f64
        } else {
            0.0
        };
        c.databases
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(schema: &str, text: &str, count: u64, sum: f64) -> DigestRow {
        DigestRow {
            schema: Some(schema.into()),
            digest: format!("{schema}-{text}"),
            digest_text: text.into(),
            count,
            sum_time_s: sum,
            max_time_s: sum,
            rows_examined: count * 100,
            no_index_used: count,
            ..Default::default()
        }
    }

    #[test]
    fn server_digest_text_gets_the_slow_log_fingerprint() {
        let pairs = [
            (
                "SELECT `id` , `status` FROM `shop` . `orders` WHERE `customer_id` = ? ",
                "select id, status from shop.orders where customer_id = 5",
            ),
            (
                "SELECT `sleep` (?) , COUNT ( * ) FROM `t` WHERE `a` IN (...)",
                "select sleep(0.3), count(*) from t where a in (1, 2, 3)",
            ),
            (
                "DELETE FROM `t` WHERE `id` IN ( SELECT `id` FROM `u` )",
                "delete from t where id in (select id from u)",
            ),
        ];
        for (digest_text, logged) in pairs {
            assert_eq!(
                String::from_utf8(fingerprint(&as_written(digest_text))).unwrap(),
                String::from_utf8(fingerprint(logged.as_bytes())).unwrap(),
                "{digest_text}"
            );
        }
    }

    #[test]
    fn classes_group_by_query_id_and_count_moves() {
        let text = "SELECT * FROM `orders` WHERE `status` = ?";
        let mut source = DigestSource::default();
        let first = source.observe(
            vec![row("shop", text, 10, 1.0), row("crm", text, 5, 0.5)],
            1000.0,
        );
        assert!(first.first && first.moved.is_empty());
        assert_eq!(
            first.classes.len(),
            1,
            "same text in two schemas is one class"
        );
        let c = &first.classes[0];
        assert_eq!((c.count, c.no_index), (15, 15));
        assert!((c.time_avg - 0.1).abs() < 1e-9);
        assert_eq!(c.databases, vec![("shop".into(), 10), ("crm".into(), 5)]);
        assert_eq!(c.qps, 0.0, "nothing measured yet");

        let second = source.observe(
            vec![row("shop", text, 30, 3.0), row("crm", text, 5, 0.5)],
            1010.0,
        );
        assert_eq!(second.moved, vec![c.query_id.clone()]);
        let c2 = &second.classes[0];
        assert_eq!(c2.count, 35);
        assert!((c2.qps - 2.0).abs() < 1e-9, "20 executions in 10 s");
        assert_eq!(c2.last_seen, Some(1010));
    }
}
