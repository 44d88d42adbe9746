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
    if let Some(message) = check_presets(&cfg, &path) {
        eprintln!("error: {message}");
        return Ok(2);
    }
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
            PasswordSource::LoginPath(name) => format!("from login path [{name}]"),
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
    for job in &cfg.backups.jobs {
        println!(
            "backup {} (line {}): {} of {} to {} compress={} keep={} schedule={}",
            job.name,
            job.line,
            job.kind,
            job.instance
                .clone()
                .or_else(|| job.tag.as_ref().map(|t| format!("tag {t}")))
                .unwrap_or_default(),
            job.to.display(),
            job.compress.as_str(),
            job.keep
                .map(|k| k.to_string())
                .unwrap_or_else(|| "-".into()),
            job.schedule.as_deref().unwrap_or("-")
        );
    }
    Ok(0)
}

/// The theme and keymap named in `[ui]` must exist (built in, or a file in the config dir) and
/// parse; otherwise the console would refuse to start, so say so here with the line.
fn check_presets(cfg: &Config, path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map_or(1, |i| i + 1)
    };
    let user_dir = crate::tui::presets::user_dir();
    if let Err(e) = crate::tui::presets::load_theme(&cfg.ui.theme, user_dir.as_deref()) {
        return Some(format!(
            "{}:{}: key `theme`: {e:#}",
            path.display(),
            line_of("theme")
        ));
    }
    if let Err(e) = crate::tui::presets::load_keymap(&cfg.ui.keymap, user_dir.as_deref()) {
        return Some(format!(
            "{}:{}: key `keymap`: {e:#}",
            path.display(),
            line_of("keymap")
        ));
    }
    None
}
