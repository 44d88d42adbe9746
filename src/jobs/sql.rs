//! SQL through the `mariadb` command-line client (blocking), as the supervisor and the verifier
//! need it: the same credentials file as the tools, and one session per call.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::sandbox::{find_program, Sandbox};

/// How to reach a server with the client.
#[derive(Debug, Clone)]
pub struct SqlClient {
    args: Vec<OsString>,
    label: String,
}

impl SqlClient {
    /// Credentials from an option file (written by `credentials::DefaultsFile`).
    pub fn with_defaults_file(file: &Path, label: &str) -> SqlClient {
        SqlClient {
            args: vec![format!("--defaults-extra-file={}", file.display()).into()],
            label: label.to_string(),
        }
    }

    /// A sandbox's socket as root.
    pub fn sandbox(sb: &Sandbox) -> SqlClient {
        SqlClient {
            args: vec![
                "--no-defaults".into(),
                format!("--socket={}", sb.socket().display()).into(),
                "-uroot".into(),
            ],
            label: format!("sandbox port {}", sb.port()),
        }
    }

    /// The client command, connected, not yet given any SQL.
    pub fn command(&self) -> anyhow::Result<Command> {
        let mut cmd = Command::new(find_program("mariadb")?);
        cmd.args(&self.args);
        Ok(cmd)
    }

    /// Run `sql` (one or more statements) in one session; rows of tab-separated fields, with the
    /// client's batch escapes (`\t`, `\n`, `\\`, `\0`) undone.
    pub fn query(&self, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
        let mut child = self
            .command()?
            .args([
                "--batch",
                "--skip-column-names",
                "--default-character-set=utf8mb4",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run the `mariadb` client")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .context("writing SQL to the `mariadb` client")?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "SQL failed on {}: {}",
                self.label,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split('\t').map(unescape).collect())
            .collect())
    }

    /// The first field of the first row.
    pub fn scalar(&self, sql: &str) -> anyhow::Result<String> {
        self.query(sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .with_context(|| format!("no result from {}: {sql}", self.label))
    }
}

fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Bytes from the hex text of `HEX(x)`; names are fetched as hex so no escaping can bend them.
pub fn from_hex(hex: &str) -> anyhow::Result<String> {
    let bytes: Result<Vec<u8>, _> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect();
    let bytes = bytes.with_context(|| format!("`{hex}` is not hex"))?;
    String::from_utf8(bytes).context("a name is not UTF-8")
}

/// A string literal for SQL: single quotes, with `\` and `'` escaped.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_hex() {
        assert_eq!(unescape(r"a\tb\\c\nd"), "a\tb\\c\nd");
        assert_eq!(from_hex("E282AC20").unwrap(), "€ ");
        assert!(from_hex("0G").is_err());
        assert_eq!(literal("it's \\"), r"'it\'s \\'");
    }
}
