//! Reads of the Replication, Disk and size, Parameters and Backup views: each on a guarded
//! monitoring connection (statement and lock-wait limits, uninstrumented), each part allowed to
//! fail alone with a note naming the missing privilege or table.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::processlist::{is_access_error, server_code, MonitorConn};
use crate::backend::recorder::{named_rows, STATEMENT_TIMEOUT};
use crate::config::{Config, InstanceConfig};
use crate::health::backup::{BackupEntry, BackupReport};
use crate::health::params::ParamsReport;
use crate::health::replication::{
    channels_from_rows, is_dump_command, replica_hosts_from_rows, DumpThread, HeartbeatLag,
    ReplicationReport,
};
use crate::health::sizes::{binlog_totals, schema_sizes, table_sizes, FsSpace, SizeReport};

/// How many of the largest tables the Disk view lists.
pub const LARGEST_TABLES: usize = 50;

type Rows = Vec<HashMap<String, String>>;

impl MonitorConn {
    /// A SHOW statement (no hint possible) as named rows.
    pub async fn show(&mut self, sql: &str) -> anyhow::Result<Rows> {
        let rows = self
            .recorder
            .query(&mut self.conn, sql, STATEMENT_TIMEOUT)
            .await?;
        Ok(named_rows(&rows))
    }

    /// The first of `variants` this server understands (a syntax error tries the next one).
    async fn show_first(&mut self, variants: &[&str]) -> anyhow::Result<Rows> {
        let mut last = None;
        for sql in variants {
            match self.show(sql).await {
                Ok(rows) => return Ok(rows),
                Err(e) if server_code(&e) == Some(1064) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no statement to try")))
    }

    async fn scalar(&mut self, sql: &str) -> anyhow::Result<Option<String>> {
        let rows = self
            .recorder
            .query(&mut self.conn, sql, STATEMENT_TIMEOUT)
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.as_ref(0))
            .and_then(crate::backend::recorder::cell_text))
    }
}

/// What a failed read means, in words for the view.
fn why(e: &anyhow::Error, privilege: &str) -> String {
    if server_code(e) == Some(1146) {
        format!("{e:#} (the table does not exist)")
    } else if is_access_error(e) {
        format!("{e:#} (needs {privilege})")
    } else {
        format!("{e:#}")
    }
}

/// Channels, the replicas of this server, dump threads, GTID position and heartbeat lag.
pub async fn read_replication(
    mc: &mut MonitorConn,
    heartbeat_table: Option<&str>,
) -> ReplicationReport {
    let mut report = ReplicationReport::default();
    let flavor = mc.guards.flavor.clone();
    let status: &[&str] = if flavor.mariadb {
        &["SHOW ALL SLAVES STATUS"]
    } else if flavor.version >= (8, 0, 22) {
        &["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"]
    } else {
        &["SHOW SLAVE STATUS"]
    };
    match mc.show_first(status).await {
        Ok(rows) => report.channels = channels_from_rows(&rows),
        Err(e) => report.notes.push(format!(
            "replica status not read: {}",
            why(&e, "REPLICATION CLIENT, or SLAVE MONITOR on MariaDB 10.5+")
        )),
    }
    let hosts: &[&str] = if !flavor.mariadb && flavor.version >= (8, 0, 22) {
        &["SHOW REPLICAS", "SHOW SLAVE HOSTS"]
    } else {
        &["SHOW SLAVE HOSTS"]
    };
    match mc.show_first(hosts).await {
        Ok(rows) => report.replicas = replica_hosts_from_rows(&rows),
        Err(e) => report.notes.push(format!(
            "registered replicas not read: {}",
            why(
                &e,
                "REPLICATION SLAVE, or REPLICATION MASTER ADMIN on MariaDB 10.5+"
            )
        )),
    }
    let dumps = "SELECT ID AS id, USER AS user, HOST AS host, TIME AS time_s, STATE AS state, \
                 COMMAND AS command FROM information_schema.PROCESSLIST \
                 WHERE COMMAND LIKE 'Binlog Dump%' ORDER BY ID";
    match mc.select(dumps).await {
        Ok(rows) => report.dump_threads = dump_threads(&rows),
        Err(e) => report.notes.push(format!(
            "replica connections not read: {}",
            why(&e, "PROCESS")
        )),
    }
    let gtid = if flavor.mariadb {
        "SELECT @@GLOBAL.gtid_binlog_pos"
    } else {
        "SELECT @@GLOBAL.gtid_executed"
    };
    report.gtid_binlog_pos = mc
        .scalar(gtid)
        .await
        .ok()
        .flatten()
        .filter(|g| !g.is_empty());
    if let Some(table) = heartbeat_table {
        match read_heartbeat(mc, table).await {
            Ok(h) => report.heartbeat = h,
            Err(e) => report.notes.push(format!(
                "heartbeat table `{table}` not read: {}",
                why(&e, "SELECT on it")
            )),
        }
    }
    report
}

fn dump_threads(rows: &[HashMap<String, String>]) -> Vec<DumpThread> {
    rows.iter()
        .filter(|r| r.get("command").is_some_and(|c| is_dump_command(c)))
        .filter_map(|r| {
            Some(DumpThread {
                id: r.get("id")?.parse().ok()?,
                user: r.get("user").cloned().unwrap_or_default(),
                host: r.get("host").cloned().unwrap_or_default(),
                time_s: r.get("time_s").and_then(|t| t.parse().ok()).unwrap_or(0),
                state: r.get("state").cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// `schema.table` with plain identifiers only, quoted: nothing else from the config reaches SQL.
pub fn quoted_table(name: &str) -> Option<String> {
    let (schema, table) = name.split_once('.')?;
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    (ok(schema) && ok(table)).then(|| format!("`{schema}`.`{table}`"))
}

async fn read_heartbeat(mc: &mut MonitorConn, table: &str) -> anyhow::Result<Option<HeartbeatLag>> {
    let Some(quoted) = quoted_table(table) else {
        anyhow::bail!("heartbeat_table must be `schema.table` (letters, digits, _)");
    };
    let sql = format!(
        "SELECT server_id, ts, TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) / 1000000 AS lag_s \
         FROM {quoted} ORDER BY ts DESC LIMIT 1"
    );
    let rows = mc.select(&sql).await?;
    Ok(rows.first().map(|r| HeartbeatLag {
        table: table.to_string(),
        server_id: r.get("server_id").and_then(|v| v.parse().ok()),
        ts: r.get("ts").cloned().unwrap_or_default(),
        // pt-heartbeat stamps `ts` from its own host's clock: a few microseconds ahead of the
        // server's NOW(6) reads as a negative lag, which is none.
        lag_s: r
            .get("lag_s")
            .and_then(|v| v.parse::<f64>().ok())
            .map(|lag| lag.max(0.0)),
    }))
}

/// Datadir filesystem (for an instance on this host), schema and table sizes, binlog totals.
pub async fn read_sizes(mc: &mut MonitorConn, local: bool) -> SizeReport {
    let mut report = SizeReport::default();
    match mc.scalar("SELECT @@datadir").await {
        Ok(datadir) => {
            if let (true, Some(d)) = (local, &datadir) {
                report.filesystem = fs_space(Path::new(d));
                if report.filesystem.is_none() {
                    report
                        .notes
                        .push(format!("the datadir {d} is not readable from here"));
                }
            } else if !local {
                report
                    .notes
                    .push("free space is measured only for instances on this host".into());
            }
            report.datadir = datadir;
        }
        Err(e) => report.notes.push(format!("datadir not read: {e:#}")),
    }
    let schemas = "SELECT TABLE_SCHEMA AS schema_name, COUNT(*) AS tables, \
                   SUM(DATA_LENGTH) AS data_bytes, SUM(INDEX_LENGTH) AS index_bytes \
                   FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema') \
                   AND TABLE_TYPE = 'BASE TABLE' GROUP BY TABLE_SCHEMA";
    match mc.select(schemas).await {
        Ok(rows) => report.schemas = schema_sizes(&rows),
        Err(e) => report.notes.push(format!("schema sizes not read: {e:#}")),
    }
    let tables = format!(
        "SELECT TABLE_SCHEMA AS schema_name, TABLE_NAME AS table_name, ENGINE AS engine, \
         TABLE_ROWS AS table_rows, DATA_LENGTH AS data_bytes, INDEX_LENGTH AS index_bytes, \
         DATA_FREE AS free_bytes FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema') \
         AND TABLE_TYPE = 'BASE TABLE' \
         ORDER BY DATA_LENGTH + INDEX_LENGTH DESC LIMIT {LARGEST_TABLES}"
    );
    match mc.select(&tables).await {
        Ok(rows) => report.tables = table_sizes(&rows),
        Err(e) => report.notes.push(format!("table sizes not read: {e:#}")),
    }
    match mc.show("SHOW BINARY LOGS").await {
        Ok(rows) => report.binlogs = Some(binlog_totals(&rows)),
        // ER_NO_BINARY_LOGGING
        Err(e) if server_code(&e) == Some(1381) => {
            report.notes.push("binary logging is off".into())
        }
        Err(e) => report.notes.push(format!(
            "binary logs not listed: {}",
            why(&e, "REPLICATION CLIENT, or BINLOG MONITOR on MariaDB 10.5+")
        )),
    }
    report
}

/// Size and space available to unprivileged users of the filesystem holding `path`.
pub fn fs_space(path: &Path) -> Option<FsSpace> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a zeroed struct of the right type.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) };
    if rc != 0 || stat.f_blocks == 0 {
        return None;
    }
    let frag = stat.f_frsize as u64;
    Some(FsSpace {
        total_bytes: stat.f_blocks as u64 * frag,
        avail_bytes: stat.f_bavail as u64 * frag,
    })
}

/// The variables the Parameters view reads for `inst`: the watch list and the baseline's names.
fn watched_names(config: &Config, baseline: Option<&BTreeMap<String, String>>) -> Vec<String> {
    let mut names = config.parameters.watch.clone();
    for k in baseline.into_iter().flat_map(|b| b.keys()) {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
            names.push(k.clone());
        }
    }
    names
}

/// `SHOW GLOBAL VARIABLES` of `names` (identifiers only reach the SQL).
async fn read_variables(
    mc: &mut MonitorConn,
    names: &[String],
) -> anyhow::Result<BTreeMap<String, String>> {
    let list: Vec<String> = names
        .iter()
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|n| format!("'{}'", n.to_ascii_lowercase()))
        .collect();
    if list.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ({})",
        list.join(", ")
    );
    let rows = mc
        .recorder
        .query(&mut mc.conn, &sql, STATEMENT_TIMEOUT)
        .await?;
    Ok(crate::backend::recorder::name_value_map(&rows)
        .into_iter()
        .collect())
}

/// The watched variables against the baseline file, or the tag group's first instance (read on
/// its own monitoring connection while the view is open).
pub async fn read_parameters(
    mc: &mut MonitorConn,
    config: &Config,
    inst: &InstanceConfig,
) -> ParamsReport {
    let mut notes = Vec::new();
    let mut baseline: Option<(String, BTreeMap<String, String>)> = None;
    let mut reference: Option<InstanceConfig> = None;
    if let Some(path) = config.baseline_path() {
        match crate::config::alerts::load_baseline(&path) {
            Ok(b) => baseline = Some((path.display().to_string(), b)),
            Err(e) => notes.push(e),
        }
    } else if let Some(tag) = &config.parameters.baseline_tag {
        let first = config.instances.iter().find(|i| i.tags.contains(tag));
        match first {
            Some(r) if !inst.tags.contains(tag) => notes.push(format!(
                "not in the tag group `{tag}`: no baseline ({} leads it)",
                r.name
            )),
            Some(r) if r.name == inst.name => notes.push(format!(
                "this instance is the reference of tag `{tag}`: the others are compared with it"
            )),
            Some(r) => reference = Some(r.clone()),
            None => notes.push(format!("no instance has the tag `{tag}`")),
        }
    } else {
        notes.push(
            "no baseline configured ([parameters] baseline = \"file.toml\" or baseline_tag)".into(),
        );
    }
    let names = watched_names(config, baseline.as_ref().map(|b| &b.1));
    let variables = match read_variables(mc, &names).await {
        Ok(v) => v,
        Err(e) => {
            notes.push(format!("variables not read: {e:#}"));
            BTreeMap::new()
        }
    };
    if let Some(r) = reference {
        let recorder = mc.recorder.clone();
        match MonitorConn::open(&r, recorder).await {
            Ok(mut rc) => {
                match read_variables(&mut rc, &names).await {
                    Ok(v) => {
                        let v = super::alerting::watched_only(&v);
                        baseline = Some((format!("instance {} (first of its tag)", r.name), v));
                    }
                    Err(e) => notes.push(format!("reference {} not read: {e:#}", r.name)),
                }
                rc.close().await;
            }
            Err(e) => notes.push(format!("reference {} not reachable: {e:#}", r.name)),
        }
    }
    let mut report = ParamsReport::new(variables, baseline);
    report.notes = notes;
    report
}

/// The backup lookup the `backup_stale` rule uses, and the newest entries of each source.
pub async fn read_backups(mc: &mut MonitorConn, instance: &str) -> BackupReport {
    let flavor = mc.guards.flavor.clone();
    let mut lookup = super::collect::backup_lookup(&mut mc.conn, &mc.recorder, &flavor).await;
    super::collect::add_job_history(&mut lookup, instance).await;
    let mut report = BackupReport::default();
    for place in lookup.sources.clone() {
        if quoted_table(&place).is_none() {
            continue; // arkc's own history, listed below
        }
        let sql = format!(
            "SELECT *, UNIX_TIMESTAMP(start_time) AS arkc_start_s, \
             UNIX_TIMESTAMP(end_time) AS arkc_end_s FROM {place} ORDER BY end_time DESC LIMIT 5"
        );
        match mc.select(&sql).await {
            Ok(rows) => report
                .recent
                .extend(rows.iter().map(|r| history_entry(&place, r))),
            Err(e) => report
                .notes
                .push(format!("{place} not listed: {}", why(&e, "SELECT on it"))),
        }
    }
    let name = instance.to_string();
    match tokio::task::spawn_blocking(move || recent_jobs(&name)).await {
        Ok(Ok(entries)) => report.recent.extend(entries),
        Ok(Err(e)) => report
            .notes
            .push(format!("arkc's backup history not read: {e}")),
        Err(e) => report.notes.push(format!("arkc's backup history: {e}")),
    }
    report.lookup = lookup;
    report
}

fn history_entry(place: &str, r: &HashMap<String, String>) -> BackupEntry {
    let at = |k: &str| {
        r.get(k)
            .and_then(|t| t.split('.').next()?.parse::<i64>().ok())
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    };
    let yes = |k: &str| r.get(k).is_some_and(|v| v == "Y");
    let detail = match (yes("incremental"), yes("partial")) {
        (true, _) => "incremental",
        (false, true) => "partial",
        _ => "full",
    };
    BackupEntry {
        source: place.to_string(),
        tool: r.get("tool_name").cloned().unwrap_or_default(),
        started_at: at("arkc_start_s"),
        ended_at: at("arkc_end_s"),
        detail: detail.to_string(),
    }
}

/// The five newest backups of `instance` in arkc's own history.
fn recent_jobs(instance: &str) -> Result<Vec<BackupEntry>, crate::jobs::HistoryError> {
    let path = crate::jobs::History::default_path()?;
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut records: Vec<_> = crate::jobs::History::open(&path)?
        .list()?
        .into_iter()
        .filter(|r| r.instance == instance)
        .collect();
    records.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    Ok(records
        .into_iter()
        .take(5)
        .map(|r| BackupEntry {
            source: crate::jobs::HISTORY_SOURCE.to_string(),
            tool: r.kind.as_str().to_string(),
            started_at: Some(r.started_at),
            ended_at: r.finished_at,
            detail: r.state.as_str().to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_table_names_are_plain_identifiers() {
        assert_eq!(
            quoted_table("percona.heartbeat").as_deref(),
            Some("`percona`.`heartbeat`")
        );
        assert_eq!(quoted_table("heartbeat"), None);
        assert_eq!(quoted_table("a.b`; DROP"), None);
        let fs = fs_space(Path::new("/")).unwrap();
        assert!(fs.total_bytes > 0 && fs.avail_bytes <= fs.total_bytes);
    }
}
