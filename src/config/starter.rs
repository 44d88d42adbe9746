//! The commented config `arkc config init` writes: the `[ui]` defaults, one `[[instance]]` per
//! discovered server (with how it was found), or a commented example when none was.

use std::fmt::Write;

use super::discover::{Discovery, FoundServer};

/// The starter config text for what was discovered (`None`: discovery was not asked for).
pub fn starter_config(discovery: Option<&Discovery>) -> String {
    let mut out = String::from(
        "# arkc configuration, written by `arkc config init`.\n\
         # Every key is described in config.example.toml (installed under /usr/share/doc/arkc/).\n\
         # Unknown keys are errors naming the file and line. Check this file with: arkc config check\n\
         \n\
         [ui]\n\
         # default, light, terminal16 (the terminal's 16 colours) or high-contrast.\n\
         theme = \"default\"\n\
         # default (arrows and vim keys) or vim.\n\
         keymap = \"default\"\n\
         # How often every instance is polled, in milliseconds.\n\
         refresh_ms = 1000\n",
    );
    let servers = discovery.map_or(&[][..], |d| d.servers.as_slice());
    let user = discovery
        .and_then(|d| d.my_cnf.as_ref())
        .and_then(|c| c.user.clone());
    if servers.is_empty() {
        out.push_str(if discovery.is_some() {
            "\n# No local server was found. Add one [[instance]] per server, for example:\n"
        } else {
            "\n# Add one [[instance]] per server (`arkc config init --discover` finds local ones):\n"
        });
        out.push_str(EXAMPLE_INSTANCE);
        return out;
    }
    out.push_str(
        "\n# Passwords: none is written here. Without `password`, `password_env`, `password_cmd` or\n\
         # `login_path`, arkc uses ~/.my.cnf [client] password (or none).\n",
    );
    for (name, server) in instance_names(servers).into_iter().zip(servers) {
        write_instance(&mut out, &name, server, user.as_deref());
    }
    out
}

fn write_instance(out: &mut String, name: &str, server: &FoundServer, user: Option<&str>) {
    let _ = writeln!(out, "\n# Found by: {}", server.found_by.join("; "));
    let _ = writeln!(out, "[[instance]]\nname = \"{name}\"");
    match (&server.socket, server.port) {
        (Some(socket), port) => {
            let _ = writeln!(out, "socket = {}", toml_string(&socket.to_string_lossy()));
            if let Some(port) = port {
                let _ = writeln!(
                    out,
                    "# or over TCP instead of the socket:\n# host = \"127.0.0.1\"\n# port = {port}"
                );
            }
        }
        (None, port) => {
            let _ = writeln!(out, "host = \"127.0.0.1\"\nport = {}", port.unwrap_or(3306));
        }
    }
    let _ = writeln!(out, "user = {}", toml_string(user.unwrap_or("root")));
    out.push_str("tags = [\"local\"]\n");
}

/// `local` for a single server; otherwise `local-PORT`, or `local-N` for socket-only ones.
fn instance_names(servers: &[FoundServer]) -> Vec<String> {
    if servers.len() == 1 {
        return vec!["local".into()];
    }
    let mut names: Vec<String> = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let mut name = match s.port {
            Some(p) => format!("local-{p}"),
            None => format!("local-{}", i + 1),
        };
        if names.contains(&name) {
            name = format!("{name}-{}", i + 1);
        }
        names.push(name);
    }
    names
}

/// A TOML basic string (paths may hold quotes or backslashes).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

const EXAMPLE_INSTANCE: &str = "\
# [[instance]]
# name = \"primary\"
# host = \"127.0.0.1\"          # or: socket = \"/run/mysqld/mysqld.sock\"
# port = 3306
# user = \"arkc\"
# password_env = \"ARKC_PRIMARY_PASSWORD\"   # or password_cmd, or login_path = \"NAME\"
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::discover::MyCnfClient;
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Config {
        Config::parse(text, Path::new("starter.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn without_discovery_the_file_parses_with_no_instances() {
        let cfg = parse(&starter_config(None));
        assert!(cfg.instances.is_empty());
        let cfg = parse(&starter_config(Some(&Discovery::default())));
        assert!(cfg.instances.is_empty());
    }

    #[test]
    fn discovered_servers_become_instances_that_parse() {
        let discovery = Discovery {
            servers: vec![
                FoundServer {
                    port: Some(3306),
                    socket: Some("/run/mysqld/mysqld.sock".into()),
                    found_by: vec![
                        "mariadbd pid 10".into(),
                        "socket /run/mysqld/mysqld.sock".into(),
                    ],
                },
                FoundServer {
                    port: Some(3399),
                    socket: None,
                    found_by: vec!["mysqld pid 11".into()],
                },
            ],
            my_cnf: Some(MyCnfClient {
                user: Some("dba".into()),
                ..MyCnfClient::default()
            }),
        };
        let text = starter_config(Some(&discovery));
        assert!(
            text.contains("# Found by: mariadbd pid 10; socket /run/mysqld/mysqld.sock"),
            "{text}"
        );
        let cfg = parse(&text);
        assert_eq!(cfg.instances.len(), 2);
        assert_eq!(cfg.instances[0].name, "local-3306");
        assert_eq!(cfg.instances[0].address(), "/run/mysqld/mysqld.sock");
        assert_eq!(cfg.instances[1].address(), "127.0.0.1:3399");
        assert_eq!(cfg.instances[1].user(), "dba");
    }
}
