//! The Replication view's figures: every replication channel of a replica (MariaDB's
//! `SHOW ALL SLAVES STATUS`, MySQL's `SHOW SLAVE STATUS` and 8.4's `SHOW REPLICA STATUS`, whose
//! columns are renamed `Source`/`Replica`), the replicas a primary knows (`SHOW SLAVE HOSTS` /
//! `SHOW REPLICAS`), and pt-heartbeat lag. Pure: rows in, figures out.

use std::collections::HashMap;

use serde::Serialize;

/// One replication channel (a MariaDB connection name or a MySQL channel; `""` is the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChannelStatus {
    pub name: String,
    /// `host:port` of the source.
    pub source: String,
    pub source_server_id: Option<u64>,
    /// `Yes`, `No` or `Connecting`, as the server says.
    pub io_running: String,
    pub sql_running: String,
    /// `Seconds_Behind_Master` / `Seconds_Behind_Source`; `None` when NULL.
    pub lag_s: Option<u64>,
    /// The IO thread's state text (`Waiting for master to send event`...).
    pub io_state: String,
    /// Binlog coordinates: read by the IO thread, executed by the SQL thread.
    pub read_position: String,
    pub exec_position: String,
    /// `Using_Gtid` (MariaDB) or `Auto_Position` (MySQL).
    pub gtid_mode: String,
    /// GTIDs received (MariaDB `Gtid_IO_Pos`, MySQL `Retrieved_Gtid_Set`).
    pub gtid_received: String,
    /// GTIDs applied (MariaDB `Gtid_Slave_Pos`, MySQL `Executed_Gtid_Set`).
    pub gtid_executed: String,
    pub last_io_error: Option<ChannelError>,
    pub last_sql_error: Option<ChannelError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChannelError {
    pub errno: u64,
    pub message: String,
}

impl ChannelStatus {
    pub fn io_ok(&self) -> bool {
        self.io_running.eq_ignore_ascii_case("yes")
    }

    pub fn sql_ok(&self) -> bool {
        self.sql_running.eq_ignore_ascii_case("yes")
    }
}

/// A replica registered with this server as its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReplicaHost {
    pub server_id: u64,
    /// `report_host` of the replica; empty when it sets none.
    pub host: String,
    pub port: Option<u16>,
}

/// A replica connection seen on the primary's processlist (a binlog dump thread): every connected
/// replica shows here, with or without `report_host`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DumpThread {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub time_s: u64,
    pub state: String,
}

/// The newest pt-heartbeat row and how far behind it is.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HeartbeatLag {
    pub table: String,
    /// `server_id` column: which server wrote the row.
    pub server_id: Option<u64>,
    pub ts: String,
    /// Server clock now minus `ts`, in seconds.
    pub lag_s: Option<f64>,
}

/// Everything the Replication view shows for one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct ReplicationReport {
    pub channels: Vec<ChannelStatus>,
    pub replicas: Vec<ReplicaHost>,
    pub dump_threads: Vec<DumpThread>,
    pub heartbeat: Option<HeartbeatLag>,
    /// This server's own binlog GTID position (`gtid_binlog_pos` / `gtid_executed`).
    pub gtid_binlog_pos: Option<String>,
    /// What could not be read and why (privilege, missing table), for the view.
    pub notes: Vec<String>,
}

/// Columns under their MySQL 8.4 names (from the `SHOW REPLICA STATUS` reference) and under the
/// classic names MariaDB and MySQL before 8.4 use: the first present wins.
fn pick<'a>(row: &'a HashMap<String, String>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| row.get(*n))
        .map(|v| v.as_str())
        .filter(|v| !v.is_empty())
}

fn number(row: &HashMap<String, String>, names: &[&str]) -> Option<u64> {
    pick(row, names)?.trim().parse().ok()
}

fn error(row: &HashMap<String, String>, errno: &str, message: &str) -> Option<ChannelError> {
    let code = number(row, &[errno]).unwrap_or(0);
    let text = pick(row, &[message]).unwrap_or("").to_string();
    (code != 0 || !text.is_empty()).then_some(ChannelError {
        errno: code,
        message: text,
    })
}

/// One channel per replica status row, in the server's order.
pub fn channels_from_rows(rows: &[HashMap<String, String>]) -> Vec<ChannelStatus> {
    rows.iter().map(channel_from_row).collect()
}

fn channel_from_row(r: &HashMap<String, String>) -> ChannelStatus {
    let text = |names: &[&str]| pick(r, names).unwrap_or("").to_string();
    let position = |file: &[&str], pos: &[&str]| match (pick(r, file), pick(r, pos)) {
        (Some(f), Some(p)) => format!("{f}:{p}"),
        _ => String::new(),
    };
    let host = text(&["Source_Host", "Master_Host"]);
    let port = text(&["Source_Port", "Master_Port"]);
    ChannelStatus {
        name: text(&["Connection_name", "Channel_Name", "Channel_name"]),
        source: if port.is_empty() {
            host
        } else {
            format!("{host}:{port}")
        },
        source_server_id: number(r, &["Source_Server_Id", "Master_Server_Id"]),
        io_running: text(&["Replica_IO_Running", "Slave_IO_Running"]),
        sql_running: text(&["Replica_SQL_Running", "Slave_SQL_Running"]),
        lag_s: number(r, &["Seconds_Behind_Source", "Seconds_Behind_Master"]),
        io_state: text(&["Replica_IO_State", "Slave_IO_State"]),
        read_position: position(
            &["Source_Log_File", "Master_Log_File"],
            &["Read_Source_Log_Pos", "Read_Master_Log_Pos"],
        ),
        exec_position: position(
            &["Relay_Source_Log_File", "Relay_Master_Log_File"],
            &["Exec_Source_Log_Pos", "Exec_Master_Log_Pos"],
        ),
        gtid_mode: text(&["Using_Gtid", "Auto_Position"]),
        gtid_received: text(&["Gtid_IO_Pos", "Retrieved_Gtid_Set"]),
        gtid_executed: text(&["Gtid_Slave_Pos", "Executed_Gtid_Set"]),
        last_io_error: error(r, "Last_IO_Errno", "Last_IO_Error"),
        last_sql_error: error(r, "Last_SQL_Errno", "Last_SQL_Error"),
    }
}

/// `SHOW SLAVE HOSTS` (MariaDB, MySQL before 8.0.22: `Server_id`) or `SHOW REPLICAS`
/// (`Server_Id`, `Host`, `Port`, `Source_Id`, `Replica_UUID`).
pub fn replica_hosts_from_rows(rows: &[HashMap<String, String>]) -> Vec<ReplicaHost> {
    rows.iter()
        .filter_map(|r| {
            Some(ReplicaHost {
                server_id: number(r, &["Server_Id", "Server_id"])?,
                host: pick(r, &["Host"]).unwrap_or("").to_string(),
                port: number(r, &["Port"]).and_then(|p| u16::try_from(p).ok()),
            })
        })
        .collect()
}

/// Whether a processlist command is a replica's binlog dump thread.
pub fn is_dump_command(command: &str) -> bool {
    command.starts_with("Binlog Dump")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn mariadb_multi_source_rows_give_one_channel_each() {
        let a = row(&[
            ("Connection_name", ""),
            ("Master_Host", "127.0.0.1"),
            ("Master_Port", "3306"),
            ("Slave_IO_Running", "Yes"),
            ("Slave_SQL_Running", "No"),
            ("Seconds_Behind_Master", ""),
            ("Master_Log_File", "bin.000002"),
            ("Read_Master_Log_Pos", "1234"),
            ("Relay_Master_Log_File", "bin.000002"),
            ("Exec_Master_Log_Pos", "1000"),
            ("Using_Gtid", "Slave_Pos"),
            ("Gtid_IO_Pos", "0-1-42"),
            ("Gtid_Slave_Pos", "0-1-40"),
            ("Last_SQL_Errno", "1062"),
            ("Last_SQL_Error", "Duplicate entry '1' for key 'PRIMARY'"),
            ("Last_IO_Errno", "0"),
            ("Last_IO_Error", ""),
            ("Master_Server_Id", "1"),
        ]);
        let b = row(&[
            ("Connection_name", "east"),
            ("Master_Host", "10.0.0.9"),
            ("Master_Port", "3307"),
            ("Slave_IO_Running", "Connecting"),
            ("Slave_SQL_Running", "Yes"),
            ("Seconds_Behind_Master", "12"),
        ]);
        let ch = channels_from_rows(&[a, b]);
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0].source, "127.0.0.1:3306");
        assert!(ch[0].io_ok() && !ch[0].sql_ok());
        assert_eq!(ch[0].lag_s, None, "NULL lag stays unknown");
        assert_eq!(ch[0].read_position, "bin.000002:1234");
        assert_eq!(ch[0].exec_position, "bin.000002:1000");
        assert_eq!(
            (ch[0].gtid_received.as_str(), ch[0].gtid_executed.as_str()),
            ("0-1-42", "0-1-40")
        );
        assert_eq!(ch[0].last_sql_error.as_ref().unwrap().errno, 1062);
        assert_eq!(ch[0].last_io_error, None);
        assert_eq!(ch[0].source_server_id, Some(1));
        assert_eq!(ch[1].name, "east");
        assert_eq!(ch[1].lag_s, Some(12));
        assert!(!ch[1].io_ok());
    }

    /// Column names of MySQL 8.4's `SHOW REPLICA STATUS` (MySQL reference manual, 15.7.7.35).
    #[test]
    fn mysql_8_4_replica_status_names() {
        let r = row(&[
            ("Replica_IO_State", "Waiting for source to send event"),
            ("Source_Host", "source1"),
            ("Source_Port", "3306"),
            ("Source_Log_File", "source-bin.000002"),
            ("Read_Source_Log_Pos", "1307"),
            ("Relay_Source_Log_File", "source-bin.000002"),
            ("Exec_Source_Log_Pos", "1307"),
            ("Replica_IO_Running", "Yes"),
            ("Replica_SQL_Running", "Yes"),
            ("Seconds_Behind_Source", "0"),
            ("Source_Server_Id", "1"),
            ("Last_IO_Errno", "0"),
            ("Last_SQL_Errno", "0"),
            (
                "Retrieved_Gtid_Set",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
            ),
            (
                "Executed_Gtid_Set",
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
            ),
            ("Auto_Position", "1"),
            ("Channel_Name", ""),
        ]);
        let ch = &channels_from_rows(&[r])[0];
        assert!(ch.io_ok() && ch.sql_ok());
        assert_eq!(ch.lag_s, Some(0));
        assert_eq!(ch.source, "source1:3306");
        assert_eq!(ch.io_state, "Waiting for source to send event");
        assert_eq!(ch.exec_position, "source-bin.000002:1307");
        assert_eq!(ch.gtid_mode, "1");
        assert!(ch.gtid_executed.ends_with(":1-5"));
        assert_eq!(
            (ch.last_io_error.clone(), ch.last_sql_error.clone()),
            (None, None)
        );
    }

    #[test]
    fn replica_hosts_from_both_statements() {
        let maria = row(&[
            ("Server_id", "2"),
            ("Host", "replica-a"),
            ("Port", "3306"),
            ("Master_id", "1"),
        ]);
        let mysql = row(&[
            ("Server_Id", "3"),
            ("Host", ""),
            ("Port", "3307"),
            ("Source_Id", "1"),
            ("Replica_UUID", "uuid"),
        ]);
        let hosts = replica_hosts_from_rows(&[maria, mysql, row(&[("Host", "x")])]);
        assert_eq!(hosts.len(), 2, "a row without a server id is skipped");
        assert_eq!(hosts[0].server_id, 2);
        assert_eq!(hosts[0].host, "replica-a");
        assert_eq!(hosts[1].port, Some(3307));
        assert!(is_dump_command("Binlog Dump GTID") && !is_dump_command("Sleep"));
    }
}
