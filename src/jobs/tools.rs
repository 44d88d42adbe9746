//! The backup tools: found on PATH, their version probed once per process, and the command lines
//! arkc gives them. Credentials always come from a defaults file, never the command line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{bail, Context};

use crate::config::{BackupKind, InstanceConfig};

/// A tool found on PATH and what it said about its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub path: PathBuf,
    /// The first line of `--version`.
    pub version: String,
    /// Built by/for MariaDB (decides `--master-data` + `--gtid` over `--source-data`).
    pub mariadb: bool,
    /// `major.minor.patch` from the version text.
    pub numbers: Option<(u32, u32, u32)>,
}

impl Tool {
    /// The installed program for `name`, probing `--version` once per process.
    pub fn probe(name: &str) -> anyhow::Result<Tool> {
        static CACHE: Mutex<Option<HashMap<String, Tool>>> = Mutex::new(None);
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache.as_ref().and_then(|c| c.get(name)) {
            return Ok(t.clone());
        }
        let path = crate::sandbox::find_program(name)
            .map_err(|_| anyhow::anyhow!("`{name}` is not installed (not found in PATH)"))?;
        let out = Command::new(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} --version", path.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let version = version_line(&text).to_string();
        let tool = Tool {
            numbers: version_numbers(name, &version),
            mariadb: version.contains("MariaDB") || name.starts_with("mariadb"),
            path,
            version,
        };
        cache
            .get_or_insert_with(HashMap::new)
            .insert(name.to_string(), tool.clone());
        Ok(tool)
    }

    /// The first of `names` that is installed.
    pub fn first_of(names: &[&str]) -> anyhow::Result<Tool> {
        let mut errors = Vec::new();
        for n in names {
            match Tool::probe(n) {
                Ok(t) => return Ok(t),
                Err(e) => errors.push(e.to_string()),
            }
        }
        bail!("{}", errors.join("; "))
    }
}

/// The line that carries the version: xtrabackup may first print the server arguments it read.
fn version_line(text: &str) -> &str {
    text.lines()
        .find(|l| l.contains(" version ") || l.contains(" Ver "))
        .or_else(|| text.lines().next())
        .unwrap_or("")
        .trim()
}

/// The tool's own version: for mariadb-dump "Distrib 10.11.19-MariaDB", for mydumper "mydumper 0.10.0".
fn version_numbers(name: &str, version: &str) -> Option<(u32, u32, u32)> {
    let words: Vec<&str> = version.split_whitespace().collect();
    // "Ver 10.19 Distrib 10.11.19-MariaDB": the Distrib number is the server's; prefer it.
    let after = |label: &str| {
        words
            .iter()
            .position(|w| *w == label)
            .and_then(|i| words.get(i + 1))
            .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .copied()
    };
    let word = after("Distrib")
        .or_else(|| after(name))
        .or_else(|| after("Ver"))
        .or_else(|| after("version"))?;
    let mut parts = word
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The dump tool: `mariadb-dump`, else `mysqldump`.
pub fn dump_tool() -> anyhow::Result<Tool> {
    Tool::first_of(&["mariadb-dump", "mysqldump"])
}

/// Arguments for a single-stream logical dump to stdout (after `--defaults-extra-file`).
pub fn dump_args(tool: &Tool, database: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        "--default-character-set=utf8mb4",
        // Its stderr then says when its snapshot is taken, long before its header is flushed.
        "--verbose",
    ]
    .map(String::from)
    .to_vec();
    if tool.mariadb {
        args.push("--master-data=2".into());
        args.push("--gtid".into());
    } else if tool.numbers.is_some_and(|v| v >= (8, 0, 26)) {
        args.push("--source-data=2".into());
    } else {
        args.push("--master-data=2".into());
    }
    match database {
        Some(db) => {
            args.push("--databases".into());
            args.push(db.to_string());
        }
        None => args.push("--all-databases".into()),
    }
    args
}

/// Arguments for mydumper into `outdir` (after `--defaults-file`).
pub fn mydumper_args(
    outdir: &Path,
    database: Option<&str>,
    threads: u32,
    compress: bool,
) -> Vec<String> {
    let mut args = vec![
        format!("--outputdir={}", outdir.display()),
        format!("--threads={threads}"),
        "--triggers".into(),
        "--events".into(),
        "--routines".into(),
        "--verbose=3".into(),
    ];
    if compress {
        args.push("--compress".into());
    }
    match database {
        // mydumper 0.10 never sets a locale, so glib rejects non-ASCII arguments: select the
        // schema by a regex that spells every other byte as \xHH (PCRE without UTF mode).
        Some(db) => args.push(format!("--regex=^{}\\.", regex_bytes(db))),
        // The server's own schemas differ on the restore side; whole-instance means user schemas.
        None => args
            .push(r"--regex=^(?!(mysql\.|sys\.|performance_schema\.|information_schema\.))".into()),
    }
    args
}

/// `name` as an ASCII regex matching exactly its bytes.
fn regex_bytes(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// Whether `inst` runs on this host (physical backups read its datadir directly).
pub fn is_local(inst: &InstanceConfig) -> bool {
    inst.socket.is_some()
        || matches!(
            inst.host.as_deref(),
            None | Some("127.0.0.1" | "localhost" | "::1")
        )
}

/// Refuse kinds that cannot work for `inst`, with the reason.
pub fn check_kind(kind: BackupKind, inst: &InstanceConfig) -> anyhow::Result<()> {
    if kind.is_physical() && !is_local(inst) {
        bail!(
            "instance `{}` is at {}, not on this host: a {kind} backup copies the server's datadir \
             and only works on the server's own machine; use kind dump or mydumper, or run arkc there",
            inst.name,
            inst.address()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            version_numbers(
                "mariadb-dump",
                "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu"
            ),
            Some((10, 11, 19))
        );
        assert_eq!(
            version_numbers("mydumper", "mydumper 0.10.0, built against MySQL 10.11.14"),
            Some((0, 10, 0))
        );
        assert_eq!(
            version_numbers("mysqldump", "mysqldump  Ver 8.0.36 for Linux on x86_64"),
            Some((8, 0, 36))
        );
        // Percona XtraBackup 8.0, after the server arguments it read from my.cnf.
        let pxb = "xtrabackup: recognized server arguments: --datadir=/var/lib/mysql
            xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64) (revision id: 6beb4b49)
";
        let line = version_line(pxb);
        assert!(line.starts_with("xtrabackup version 8.0.35-30"), "{line}");
        assert_eq!(version_numbers("xtrabackup", line), Some((8, 0, 35)));
        assert_eq!(
            version_line(
                "mydumper 0.10.0, built against MySQL 10.11.14
"
            ),
            "mydumper 0.10.0, built against MySQL 10.11.14"
        );
    }

    #[test]
    fn source_data_by_flavour() {
        let mut t = Tool {
            path: "mysqldump".into(),
            version: String::new(),
            mariadb: false,
            numbers: Some((8, 0, 36)),
        };
        assert!(dump_args(&t, None).contains(&"--source-data=2".to_string()));
        t.numbers = Some((5, 7, 44));
        assert!(dump_args(&t, None).contains(&"--master-data=2".to_string()));
        t.mariadb = true;
        let args = dump_args(&t, Some("shop"));
        assert!(
            args.contains(&"--gtid".to_string())
                && args.ends_with(&["--databases".into(), "shop".into()])
        );
    }

    #[test]
    fn mydumper_schema_regex_is_ascii() {
        let args = mydumper_args(Path::new("/o"), Some("a b`ü"), 2, false);
        assert!(
            args.contains(&r"--regex=^a\x20b\x60\xc3\xbc\.".to_string()),
            "{args:?}"
        );
    }

    #[test]
    fn remote_refused_for_physical() {
        let remote = InstanceConfig::tcp("far", "10.0.0.5", 3306);
        let err = check_kind(BackupKind::Mariabackup, &remote)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not on this host"), "{err}");
        assert!(check_kind(BackupKind::Dump, &remote).is_ok());
    }
}
