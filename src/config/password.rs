//! Where an instance's password comes from. Resolved at connect time, never logged.

use std::path::Path;

use super::InstanceConfig;

/// Which source supplied a password; shown (never the secret) by `arkc config check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Inline,
    Env(String),
    Command,
    /// The `password` of this login path in the login path file.
    LoginPath(String),
    MyCnf,
    None,
}

impl InstanceConfig {
    pub fn password_source(&self) -> PasswordSource {
        if self.password.is_some() {
            PasswordSource::Inline
        } else if let Some(var) = &self.password_env {
            PasswordSource::Env(var.clone())
        } else if self.password_cmd.is_some() {
            PasswordSource::Command
        } else if let Some(name) = self
            .login_path
            .as_ref()
            .filter(|_| login_path_password(self).is_ok_and(|p| p.is_some()))
        {
            PasswordSource::LoginPath(name.clone())
        } else if my_cnf_password(&home_my_cnf()).is_some() {
            PasswordSource::MyCnf
        } else {
            PasswordSource::None
        }
    }
}

/// The password for `inst`: inline (`""` is an empty password), `password_env`, `password_cmd`
/// (first line of its stdout), else the `login_path`'s password, else `~/.my.cnf` `[client]
/// password`, else none.
pub fn resolve_password(inst: &InstanceConfig) -> anyhow::Result<Option<String>> {
    if let Some(p) = &inst.password {
        return Ok(Some(p.clone()));
    }
    if let Some(var) = &inst.password_env {
        return match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => anyhow::bail!(
                "instance `{}`: password_env names ${var}, which is not set; export it or change the config",
                inst.name
            ),
        };
    }
    if let Some(cmd) = &inst.password_cmd {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .output()?;
        if !out.status.success() {
            anyhow::bail!(
                "instance `{}`: password_cmd exited with {}: {}",
                inst.name,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        return Ok(Some(text.lines().next().unwrap_or("").to_string()));
    }
    if let Some(p) = login_path_password(inst)? {
        return Ok(Some(p));
    }
    Ok(my_cnf_password(&home_my_cnf()))
}

/// The login path's password, read again from the file the config was resolved with.
fn login_path_password(inst: &InstanceConfig) -> anyhow::Result<Option<String>> {
    let (Some(name), Some(file)) = (&inst.login_path, &inst.login_file) else {
        return Ok(None);
    };
    let login = super::login_path::read_login_path(file, name)
        .map_err(|e| anyhow::anyhow!("instance `{}`: key `login_path`: {e}", inst.name))?;
    Ok(login.password)
}

fn home_my_cnf() -> std::path::PathBuf {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().join(".my.cnf"))
        .unwrap_or_else(|| ".my.cnf".into())
}

/// `password` from the `[client]` group of a my.cnf file, if any.
pub(crate) fn my_cnf_password(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_client = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_client = line.eq_ignore_ascii_case("[client]");
            continue;
        }
        if !in_client || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "password" {
                let v = v.trim();
                let unquoted = v
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                    .unwrap_or(v);
                return Some(unquoted.to_string());
            }
        }
    }
    None
}
