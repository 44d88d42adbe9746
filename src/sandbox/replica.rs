//! Turning a fresh sandbox into a GTID replica of another.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::Sandbox;

const REPLICA_TIMEOUT: Duration = Duration::from_secs(30);

/// Point `replica` at `primary` (GTID, `slave_pos`), start it and wait until both threads run.
pub fn attach(replica: &Sandbox, primary: &Sandbox) -> anyhow::Result<()> {
    replica.exec_sql(&format!(
        "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', \
         MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;\n\
         START SLAVE;\nSET GLOBAL read_only = ON;",
        primary.port()
    ))?;
    let started = Instant::now();
    loop {
        let status = slave_status(replica)?;
        let field = |k: &str| status.get(k).map(String::as_str).unwrap_or("");
        if field("Slave_IO_Running") == "Yes" && field("Slave_SQL_Running") == "Yes" {
            return Ok(());
        }
        if started.elapsed() > REPLICA_TIMEOUT {
            bail!(
                "replica on port {} did not start replicating from port {} within {:?}: \
                 IO={} SQL={} last IO error: {} last SQL error: {}",
                replica.port(),
                primary.port(),
                REPLICA_TIMEOUT,
                field("Slave_IO_Running"),
                field("Slave_SQL_Running"),
                field("Last_IO_Error"),
                field("Last_SQL_Error")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `SHOW SLAVE STATUS` as field -> value (empty when the server is no replica).
pub fn slave_status(sb: &Sandbox) -> anyhow::Result<HashMap<String, String>> {
    let out = sb.exec_sql_named("SHOW SLAVE STATUS\\G")?;
    Ok(parse_vertical(&out))
}

/// Parse the client's `\G` output (`   Name: value` lines).
fn parse_vertical(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('*'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_vertical;

    #[test]
    fn vertical_output_is_parsed() {
        let text = "*************************** 1. row ***************************\n\
                    \x20            Slave_IO_State: Waiting for master to send event\n\
                    \x20          Slave_IO_Running: Yes\n\
                    \x20             Last_IO_Error: \n";
        let m = parse_vertical(text);
        assert_eq!(m["Slave_IO_Running"], "Yes");
        assert_eq!(m["Slave_IO_State"], "Waiting for master to send event");
        assert_eq!(m["Last_IO_Error"], "");
    }
}
