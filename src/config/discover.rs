//! Local servers for `arkc config init --discover`: sockets in the usual places, `~/.my.cnf`
//! `[client]`, and running `mariadbd`/`mysqld` processes with their `--port`/`--socket`.

use std::path::{Path, PathBuf};

/// Where distributions and the defaults put the server socket.
pub const USUAL_SOCKETS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/tmp/mysql.sock",
    "/var/lib/mysql/mysql.sock",
    "/tmp/mysqld.sock",
];

/// One server found locally, and how it was found (shown to the user and written as a comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundServer {
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    /// e.g. "mariadbd pid 1234", "socket /run/mysqld/mysqld.sock", "~/.my.cnf [client]".
    pub found_by: Vec<String>,
}

/// What `~/.my.cnf` `[client]` says (the password is only noted, never copied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MyCnfClient {
    pub path: PathBuf,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub socket: Option<PathBuf>,
    pub has_password: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub servers: Vec<FoundServer>,
    pub my_cnf: Option<MyCnfClient>,
}

/// Look in `/proc`, the usual socket paths and `home/.my.cnf`.
pub fn discover(home: Option<&Path>) -> Discovery {
    let mut servers = Vec::new();
    for (pid, name, args) in server_processes(Path::new("/proc")) {
        let (port, socket) = address_args(&args);
        // Without --port a server listens on 3306 unless networking is off.
        let no_network = args.iter().any(|a| a == "--skip-networking");
        let port = port.or((!no_network).then_some(3306));
        merge(&mut servers, port, socket, format!("{name} pid {pid}"));
    }
    for sock in USUAL_SOCKETS {
        let path = Path::new(sock);
        if is_socket(path) {
            merge(
                &mut servers,
                None,
                Some(path.to_path_buf()),
                format!("socket {sock}"),
            );
        }
    }
    let my_cnf = home.and_then(|h| read_my_cnf_client(&h.join(".my.cnf")));
    if let Some(c) = &my_cnf {
        if c.port.is_some() || c.socket.is_some() {
            merge(
                &mut servers,
                c.port,
                c.socket.clone(),
                format!("{} [client]", c.path.display()),
            );
        }
    }
    Discovery { servers, my_cnf }
}

/// Add a finding, folding it into a server already found with the same socket (compared after
/// resolving symlinks: /var/run is usually /run) or, lacking sockets, the same port.
fn merge(servers: &mut Vec<FoundServer>, port: Option<u16>, socket: Option<PathBuf>, by: String) {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let same = |s: &FoundServer| match (&s.socket, &socket) {
        (Some(a), Some(b)) => canonical(a) == canonical(b),
        _ => port.is_some() && s.port == port,
    };
    if let Some(s) = servers.iter_mut().find(|s| same(s)) {
        s.port = s.port.or(port);
        s.socket = s.socket.take().or(socket);
        s.found_by.push(by);
    } else {
        servers.push(FoundServer {
            port,
            socket,
            found_by: vec![by],
        });
    }
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// `(pid, program name, arguments)` of every `mariadbd`/`mysqld` under `proc`.
pub fn server_processes(proc: &Path) -> Vec<(u32, String, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let mut argv = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let Some(program) = argv.next() else { continue };
        let name = Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "mariadbd" || name == "mysqld" {
            found.push((pid, name, argv.collect()));
        }
    }
    found.sort_by_key(|(pid, ..)| *pid);
    found
}

/// `--port`/`-P` and `--socket`/`-S` from a server's arguments, in `--x=v` or `--x v` form.
pub fn address_args(args: &[String]) -> (Option<u16>, Option<PathBuf>) {
    let mut port = None;
    let mut socket = None;
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let is_port = matches!(name, "--port" | "-P");
        let is_socket = matches!(name, "--socket" | "-S");
        if !is_port && !is_socket {
            continue;
        }
        let value = inline.or_else(|| it.next().cloned());
        match (is_port, value) {
            (true, Some(v)) => port = v.parse().ok().or(port),
            (false, Some(v)) => socket = Some(PathBuf::from(v)),
            _ => {}
        }
    }
    (port, socket)
}

/// `[client]` of a my.cnf file: user, host, port, socket, and whether it holds a password.
pub fn read_my_cnf_client(path: &Path) -> Option<MyCnfClient> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut client = MyCnfClient {
        path: path.to_path_buf(),
        ..MyCnfClient::default()
    };
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
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        match key.trim() {
            "user" => client.user = Some(value),
            "host" => client.host = Some(value),
            "port" => client.port = value.parse().ok(),
            "socket" => client.socket = Some(PathBuf::from(value)),
            "password" => client.has_password = true,
            _ => {}
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn port_and_socket_in_both_argument_forms() {
        let (p, s) = address_args(&args(&[
            "--no-defaults",
            "--port=3307",
            "--socket=/tmp/a.sock",
        ]));
        assert_eq!(
            (p, s.as_deref()),
            (Some(3307), Some(Path::new("/tmp/a.sock")))
        );
        let (p, s) = address_args(&args(&["--port", "3310", "-S", "/x.sock", "--datadir=/d"]));
        assert_eq!((p, s.as_deref()), (Some(3310), Some(Path::new("/x.sock"))));
        assert_eq!(address_args(&args(&["--datadir=/d"])), (None, None));
    }

    #[test]
    fn processes_are_read_from_proc_cmdline() {
        let proc = tempfile::tempdir().unwrap();
        let add = |pid: &str, cmdline: &[u8]| {
            let dir = proc.path().join(pid);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("cmdline"), cmdline).unwrap();
        };
        add("42", b"/usr/sbin/mariadbd\0--port=3399\0--socket=/s.sock\0");
        add("7", b"/usr/sbin/mysqld\0");
        add("8", b"/usr/bin/mariadb\0--port=1\0");
        add("self", b"/usr/sbin/mariadbd\0");
        let found = server_processes(proc.path());
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, 7);
        assert_eq!(found[1].1, "mariadbd");
        assert_eq!(found[1].2, args(&["--port=3399", "--socket=/s.sock"]));
    }

    #[test]
    fn findings_of_one_server_are_merged() {
        let mut servers = Vec::new();
        merge(
            &mut servers,
            Some(3306),
            Some("/tmp/x.sock".into()),
            "mariadbd pid 1".into(),
        );
        merge(
            &mut servers,
            None,
            Some("/tmp/x.sock".into()),
            "socket /tmp/x.sock".into(),
        );
        merge(&mut servers, Some(3306), None, "~/.my.cnf".into());
        merge(&mut servers, Some(3307), None, "mysqld pid 2".into());
        assert_eq!(servers.len(), 2, "{servers:?}");
        assert_eq!(servers[0].found_by.len(), 3);
    }

    #[test]
    fn my_cnf_client_notes_a_password_without_copying_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".my.cnf");
        std::fs::write(
            &path,
            "[mysqld]\nport=1\n[client]\nuser = dba\npassword = \"hunter2\"\nport = 3308\n",
        )
        .unwrap();
        let c = read_my_cnf_client(&path).unwrap();
        assert_eq!(c.user.as_deref(), Some("dba"));
        assert_eq!(c.port, Some(3308));
        assert!(c.has_password);
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
