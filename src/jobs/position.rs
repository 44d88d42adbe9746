//! Reading the snapshot position a tool recorded: the commented `CHANGE MASTER TO` / GTID lines at
//! the head of a mariadb-dump (or mysqldump) stream, and mydumper's `metadata` file in the 0.10
//! format and the INI format of 0.14.1 and later (`[master]`, later `[source]`).

use super::SnapshotPosition;

/// The position from the first lines of a dump (`--master-data=2` / `--source-data=2`, `--gtid`).
pub fn from_dump_header(head: &str) -> Option<SnapshotPosition> {
    let mut pos = SnapshotPosition::default();
    for line in head.lines() {
        let line = line.trim();
        if let Some(rest) = line
            .strip_prefix("-- CHANGE MASTER TO")
            .or_else(|| line.strip_prefix("-- CHANGE REPLICATION SOURCE TO"))
        {
            for part in rest.trim_end_matches(';').split(',') {
                let Some((key, value)) = part.split_once('=') else {
                    continue;
                };
                let value = unquote(value.trim());
                match key.trim() {
                    "MASTER_LOG_FILE" | "SOURCE_LOG_FILE" => pos.file = Some(value.to_string()),
                    "MASTER_LOG_POS" | "SOURCE_LOG_POS" => pos.pos = value.parse().ok(),
                    _ => {}
                }
            }
        } else if let Some(rest) = line.strip_prefix("-- SET GLOBAL gtid_slave_pos=") {
            pos.gtid = Some(unquote(rest.trim_end_matches(';').trim()).to_string());
        } else if line.contains("GTID_PURGED=") {
            // mysqldump: SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'uuid:1-5';
            if let Some(set) = line.rsplit('\'').nth(1).filter(|s| s.contains(':')) {
                pos.gtid = Some(set.to_string());
            }
        }
    }
    (pos.file.is_some() || pos.gtid.is_some()).then_some(pos)
}

/// What a mydumper `metadata` file says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MydumperMetadata {
    pub position: Option<SnapshotPosition>,
    /// The "Finished dump at" line is present: mydumper completed.
    pub finished: bool,
}

pub fn parse_mydumper_metadata(text: &str) -> MydumperMetadata {
    let mut meta = MydumperMetadata::default();
    let mut pos = SnapshotPosition::default();
    // 0.10: an indented block after "SHOW MASTER STATUS:"; INI: a [master] or [source] section.
    let mut in_source = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line
            .trim_start_matches('#')
            .trim()
            .starts_with("Finished dump at:")
        {
            meta.finished = true;
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_source = matches!(line, "[master]" | "[source]");
            continue;
        }
        if line.ends_with(':') && !line.contains(": ") {
            in_source = line == "SHOW MASTER STATUS:" || line == "SHOW BINARY LOG STATUS:";
            continue;
        }
        if !in_source {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim().to_ascii_lowercase().as_str() {
            "log" | "file" | "source_log_file" | "master_log_file" => {
                pos.file = Some(value.to_string())
            }
            "pos" | "position" | "source_log_pos" | "master_log_pos" => {
                pos.pos = value.parse().ok()
            }
            "gtid" | "executed_gtid_set" if !value.is_empty() => pos.gtid = Some(value.to_string()),
            _ => {}
        }
    }
    if pos.file.is_some() || pos.gtid.is_some() {
        meta.position = Some(pos);
    }
    meta
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| v.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, pos: u64, gtid: Option<&str>) -> Option<SnapshotPosition> {
        Some(SnapshotPosition {
            file: Some(file.into()),
            pos: Some(pos),
            gtid: gtid.map(String::from),
        })
    }

    #[test]
    fn mariadb_dump_header() {
        let head = "-- MariaDB dump 10.19\n--\n-- Position to start replication or point-in-time recovery from\n--\n\n\
            -- CHANGE MASTER TO MASTER_LOG_FILE='mariadb-bin.000002', MASTER_LOG_POS=3456;\n\n\
            --\n-- GTID to start replication from\n--\n\n-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n\
            -- SET GLOBAL gtid_slave_pos='0-1-17';\n";
        assert_eq!(
            from_dump_header(head),
            at("mariadb-bin.000002", 3456, Some("0-1-17"))
        );
        assert_eq!(from_dump_header("-- MySQL dump\n"), None);
    }

    #[test]
    fn mysqldump_source_data_header() {
        let head =
            "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';\n\
            -- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000002', SOURCE_LOG_POS=157;\n";
        assert_eq!(
            from_dump_header(head),
            at(
                "binlog.000002",
                157,
                Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5")
            )
        );
    }

    #[test]
    fn mydumper_0_10_metadata() {
        let text = "Started dump at: 2026-12-01 14:00:00\nSHOW MASTER STATUS:\n\tLog: mariadb-bin.000001\n\
            \tPos: 1234\n\tGTID:0-1-5\n\nFinished dump at: 2026-12-01 14:00:01\n";
        let meta = parse_mydumper_metadata(text);
        assert!(meta.finished);
        assert_eq!(meta.position, at("mariadb-bin.000001", 1234, Some("0-1-5")));
        let partial = parse_mydumper_metadata("Started dump at: 2026-12-01 14:00:00\n");
        assert!(!partial.finished);
    }

    #[test]
    fn mydumper_ini_metadata() {
        let v014 =
            "# Started dump at: 2023-06-09 11:47:18\n[master]\n# Channel_Name = '' # comment\n\
            File = bin.000017\nPosition = 241149225\nExecuted_Gtid_Set = 7b16:1-147\n\n\
            [`sakila`.`store`]\nRows = 2\n# Finished dump at: 2023-06-09 11:47:18\n";
        let meta = parse_mydumper_metadata(v014);
        assert!(meta.finished);
        assert_eq!(
            meta.position,
            at("bin.000017", 241149225, Some("7b16:1-147"))
        );
        let v016 = "# Started dump at: 2024-01-01 00:00:00\n[source]\n#SOURCE_HOST = \"h\"\n\
            executed_gtid_set = \"0-1-9\"\nSOURCE_LOG_FILE = \"mariadb-bin.000003\"\nSOURCE_LOG_POS = 42\n\
            #SOURCE_AUTO_POSITION = {0|1}\n\n# Finished dump at: 2024-01-01 00:00:01\n";
        let meta = parse_mydumper_metadata(v016);
        assert!(meta.finished);
        assert_eq!(meta.position, at("mariadb-bin.000003", 42, Some("0-1-9")));
    }
}
