//! Credentials for the tools: a 0600 option file passed as `--defaults-extra-file`, because `ps`
//! shows every process's arguments to every user. The file is removed when the job ends.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::backend::tls::TlsPolicy;
use crate::config::{resolve_password, InstanceConfig, TlsMode};

/// Connection settings in an option file; deleted on drop (and by the supervisor at the end).
#[derive(Debug)]
pub struct DefaultsFile {
    path: PathBuf,
}

impl DefaultsFile {
    /// Write `[client]` settings for `inst` to `path`, readable by the owner only.
    pub fn write(path: &Path, inst: &InstanceConfig) -> anyhow::Result<DefaultsFile> {
        let password = resolve_password(inst)?;
        let text = option_text(inst, password.as_deref());
        let _ = std::fs::remove_file(path);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DefaultsFile {
            path: path.to_path_buf(),
        })
    }

    /// Take over a file written by another process (the CLI writes it, the supervisor removes it).
    pub fn adopt(path: &Path) -> DefaultsFile {
        DefaultsFile {
            path: path.to_path_buf(),
        }
    }

    /// Leave the file in place for another process, which adopts and removes it.
    pub fn hand_over(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The TLS settings the file gives the tools (read back by the supervisor, which has only
    /// the file, to explain a tool's TLS failure).
    pub fn tls_policy(&self) -> TlsPolicy {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let client = text.split("\n[").next().unwrap_or_default();
        let mut policy = TlsPolicy::off();
        for line in client.lines() {
            if line == "ssl" && policy.mode == TlsMode::Off {
                policy.mode = TlsMode::Required;
            } else if let Some(ca) = line.strip_prefix("ssl-ca=") {
                policy.mode = TlsMode::VerifyCa;
                policy.ca = Some(PathBuf::from(unquote(ca)));
            }
        }
        policy
    }

    /// `--defaults-extra-file=PATH`, which must be a tool's first argument.
    pub fn arg(&self) -> String {
        format!("--defaults-extra-file={}", self.path.display())
    }
}

impl Drop for DefaultsFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The option file's text: `[client]` for the mariadb tools (values quoted), `[mydumper]` for
/// mydumper, whose own parser (GKeyFile) takes values verbatim and knows no `protocol` key.
/// TLS goes in `[client]` only: the client library reads it there for mydumper too.
fn option_text(inst: &InstanceConfig, password: Option<&str>) -> String {
    let mut client = vec![format!("user={}", quote(inst.user()))];
    let mut mydumper = vec![format!("user={}", inst.user())];
    if let Some(p) = password {
        client.push(format!("password={}", quote(p)));
        mydumper.push(format!("password={p}"));
    }
    match &inst.socket {
        Some(sock) => {
            client.push(format!("socket={}", quote(&sock.to_string_lossy())));
            mydumper.push(format!("socket={}", sock.display()));
        }
        None => {
            let host = inst.host.as_deref().unwrap_or("127.0.0.1");
            let port = inst.port.unwrap_or(3306);
            client.push(format!("host={}", quote(host)));
            client.push(format!("port={port}"));
            client.push("protocol=TCP".into());
            mydumper.push(format!("host={host}"));
            mydumper.push(format!("port={port}"));
        }
    }
    client.extend(tls_options(inst));
    format!(
        "[client]\n{}\n\n[mydumper]\n{}\n",
        client.join("\n"),
        mydumper.join("\n")
    )
}

/// The client library (Connector/C 3.3) encrypts with `ssl` but, without
/// `ssl-verify-server-cert`, also goes on in plain text when the server offers no TLS, and the
/// tools reject its `ssl-enforce`. So `verify_ca` adds `ssl-verify-server-cert` (which refuses a
/// plain server, and also compares the host name, as the driver does: see `backend::tls`),
/// and for `required` the supervisor checks the session's cipher before any tool runs.
pub fn tls_options(inst: &InstanceConfig) -> Vec<String> {
    match (inst.tls, &inst.ca) {
        (TlsMode::Off, _) => Vec::new(),
        (TlsMode::Required, _) | (TlsMode::VerifyCa, None) => vec!["ssl".into()],
        (TlsMode::VerifyCa, Some(ca)) => vec![
            "ssl".into(),
            format!("ssl-ca={}", quote(&ca.to_string_lossy())),
            "ssl-verify-server-cert".into(),
        ],
    }
}

/// The value [`quote`] wrote.
fn unquote(v: &str) -> String {
    let inner = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    out
}

/// Option-file value quoting: double quotes, with `\` and `"` escaped (a bare value would end at
/// `#` and lose its quotes).
pub(crate) fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut inst = InstanceConfig::tcp("a", "127.0.0.1", 3307);
        inst.password = Some("se\"cr\\et".into());
        let path = dir.path().join("client.cnf");
        let f = DefaultsFile::write(&path, &inst).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("password=\"se\\\"cr\\\\et\""), "{text}");
        assert!(text.contains("port=3307"));
        drop(f);
        assert!(!path.exists());
    }

    #[test]
    fn tls_options_go_to_the_client_group() {
        let mut inst = InstanceConfig::tcp("a", "127.0.0.1", 3307);
        assert!(!option_text(&inst, None).contains("ssl"));
        inst.tls = TlsMode::Required;
        let text = option_text(&inst, None);
        let client = text.split("[mydumper]").next().unwrap();
        assert!(client.lines().any(|l| l == "ssl"), "{text}");
        assert!(!text.contains("ssl-ca"));
        inst.tls = TlsMode::VerifyCa;
        inst.ca = Some("/etc/ca dir/ca.pem".into());
        let text = option_text(&inst, None);
        let client = text.split("[mydumper]").next().unwrap();
        assert!(client.contains("ssl-ca=\"/etc/ca dir/ca.pem\""), "{text}");
        assert!(
            client.lines().any(|l| l == "ssl-verify-server-cert"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = DefaultsFile::write(&dir.path().join("c.cnf"), &inst).unwrap();
        assert_eq!(
            file.tls_policy(),
            TlsPolicy {
                mode: TlsMode::VerifyCa,
                ca: inst.ca.clone()
            }
        );
        inst.tls = TlsMode::Required;
        let file = DefaultsFile::write(&dir.path().join("d.cnf"), &inst).unwrap();
        assert_eq!(file.tls_policy().mode, TlsMode::Required);
    }
}
