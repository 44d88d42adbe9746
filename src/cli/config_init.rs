//! `arkc config init [--discover]`: write a commented starter config where arkc will look for it,
//! never over an existing file.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::config::discover::{discover, Discovery};
use crate::config::starter::starter_config;
use crate::config::Config;

pub fn run(explicit: Option<&Path>, discover_servers: bool) -> anyhow::Result<i32> {
    let Some(path) = Config::locate(explicit) else {
        anyhow::bail!(
            "no config dir found (is $HOME set?); pass a path: arkc --config PATH config init"
        );
    };
    if path.exists() {
        eprintln!(
            "error: {} already exists; arkc config init never overwrites a config. Move it away, or write elsewhere with --config PATH",
            path.display()
        );
        return Ok(2);
    }
    let discovery = discover_servers.then(|| {
        let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
        discover(home.as_deref())
    });
    if let Some(d) = &discovery {
        print_findings(d);
    }
    let text = starter_config(discovery.as_ref());
    // The written file must be one arkc accepts; refuse to leave a broken one behind.
    Config::parse(&text, &path).context("the generated config does not parse (a bug in arkc)")?;
    write_new(&path, &text)?;
    println!("wrote {}", path.display());
    println!("check it with: arkc config check {}", path.display());
    Ok(0)
}

fn print_findings(d: &Discovery) {
    if d.servers.is_empty() {
        println!("no local MySQL/MariaDB server found (looked at running mariadbd/mysqld processes, the usual socket paths and ~/.my.cnf)");
    } else {
        println!("found {} local server(s):", d.servers.len());
    }
    for s in &d.servers {
        let socket = s.socket.as_ref().map(|p| p.display().to_string());
        let port = s.port.map(|p| format!("port {p}"));
        let address: Vec<String> = [socket, port].into_iter().flatten().collect();
        println!(
            "  {}  (found by: {})",
            address.join(", "),
            s.found_by.join("; ")
        );
    }
    if let Some(c) = &d.my_cnf {
        println!(
            "{} [client]: user={} password={}",
            c.path.display(),
            c.user.as_deref().unwrap_or("(none)"),
            if c.has_password {
                "set (used at connect time, not copied)"
            } else {
                "none"
            }
        );
    }
}

/// Create the file (and its directory) readable only by its owner: it may come to hold secrets.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
