//! Where the Binlog pane and the flashback service read an instance's binary logs from.

use serde::Deserialize;

/// `binlog_source` of an `[[instance]]`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum BinlogSource {
    /// Local files when every log to read is readable here (`binlog_dir`, or the server's
    /// own folder on this machine), else the replication stream.
    #[default]
    Auto,
    /// Local files only: a log not readable here is an error naming `binlog_dir`.
    Files,
    /// Always the replication stream (needs REPLICATION SLAVE on the server).
    Stream,
}

impl BinlogSource {
    /// Whether logs with these readabilities are read through the stream.
    pub fn streams(self, all_readable: bool) -> bool {
        match self {
            BinlogSource::Auto => !all_readable,
            BinlogSource::Files => false,
            BinlogSource::Stream => true,
        }
    }
}

impl std::fmt::Display for BinlogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BinlogSource::Auto => "auto",
            BinlogSource::Files => "files",
            BinlogSource::Stream => "stream",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn source_of(line: &str) -> Result<BinlogSource, String> {
        let text = format!("[[instance]]\nname = \"a\"\nhost = \"h\"\n{line}\n");
        Config::parse(&text, Path::new("t.toml"))
            .map(|c| c.instances[0].binlog_source)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn binlog_source_parses_and_decides_files_or_stream() {
        assert_eq!(source_of(""), Ok(BinlogSource::Auto));
        assert_eq!(
            source_of("binlog_source = \"stream\""),
            Ok(BinlogSource::Stream)
        );
        assert_eq!(
            source_of("binlog_source = \"files\""),
            Ok(BinlogSource::Files)
        );
        let bad = source_of("binlog_source = \"network\"").unwrap_err();
        assert!(bad.contains("t.toml") && bad.contains("network"), "{bad}");
        assert!(!BinlogSource::Auto.streams(true));
        assert!(BinlogSource::Auto.streams(false));
        assert!(!BinlogSource::Files.streams(false));
        assert!(BinlogSource::Stream.streams(true));
    }
}
