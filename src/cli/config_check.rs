//! `arkc config check`: validate a config and print what it resolved, secrets masked.

use std::path::Path;

use crate::config::{Config, PasswordSource};

pub fn run(path: Option<&Path>) -> anyhow::Result<i32> {
    let Some(path) = Config::locate(path) else {
        anyhow::bail!("no config dir found; pass a path: arkc config check PATH");
    };
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    println!("{}: ok", path.display());
    println!(
        "ui: theme={} keymap={} refresh_ms={}",
        cfg.ui.theme, cfg.ui.keymap, cfg.ui.refresh_ms
    );
    for inst in &cfg.instances {
        let password = match inst.password_source() {
            PasswordSource::Inline => "inline (****)".to_string(),
            PasswordSource::Env(var) => format!("from ${var}"),
            PasswordSource::Command => "from password_cmd".to_string(),
            PasswordSource::MyCnf => "from ~/.my.cnf".to_string(),
            PasswordSource::None => "none".to_string(),
        };
        println!(
            "instance {} (line {}): {} user={} password={} tls={} tags=[{}]",
            inst.name,
            inst.line,
            inst.address(),
            inst.user(),
            password,
            inst.tls,
            inst.tags.join(",")
        );
    }
    Ok(0)
}
