//! Fitting a DBA's machine, against real sandbox servers: `arkc config init --discover` finds a
//! running sandbox and writes a config `arkc config check` accepts and `arkc health` connects
//! with; `login_path` reads credentials from a `~/.mylogin.cnf`; connection errors say the
//! address and the cause once. HOME and XDG_CONFIG_HOME point into a temp dir throughout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arkc::config::Config;
use arkc::sandbox::{Sandbox, SandboxOptions};

use crate::support::cli::text;
use crate::support::wait::answered;

/// The binary with a private home: nothing reads or writes the real `~`.
fn arkc(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arkc"));
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env_remove("ARKC_CONFIG")
        .env_remove("MYSQL_TEST_LOGIN_FILE");
    cmd
}

fn sandbox(name: &str) -> Sandbox {
    Sandbox::start(SandboxOptions {
        name: name.into(),
        ..SandboxOptions::default()
    })
    .expect("sandbox starts")
}

#[test]
fn config_init_discovers_a_running_sandbox_and_check_accepts_it() {
    let sb = sandbox("cinit");
    let home = tempfile::tempdir().unwrap();
    let out = arkc(home.path())
        .args(["config", "init", "--discover"])
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    // The sandbox's mariadbd runs with --port and --socket: both are listed, with its pid.
    let socket = sb.socket().display().to_string();
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains(&socket))
        .map(String::from)
        .unwrap_or_else(|| panic!("sandbox socket {socket} not listed\n{shown}"));
    assert!(line.contains(&format!("port {}", sb.port())), "{line}");
    let pid = sb.pid().expect("sandbox pid");
    assert!(line.contains(&format!("mariadbd pid {pid}")), "{line}");

    let written = home.path().join(".config/arkc/config.toml");
    assert!(
        shown.contains(&format!("wrote {}", written.display())),
        "{shown}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&written).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the config may come to hold secrets");

    let check = arkc(home.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let cfg = Config::load(&written).unwrap();
    let inst = cfg
        .instances
        .iter()
        .find(|i| i.socket.as_deref() == Some(sb.socket()))
        .unwrap_or_else(|| {
            panic!(
                "no instance for {socket} in\n{}",
                std::fs::read_to_string(&written).unwrap()
            )
        });

    // The written instance connects (root over the socket, as the sandbox allows).
    let health = arkc(home.path())
        .args([
            "health",
            "--once",
            "--format",
            "json",
            "--interval",
            "200ms",
            "--instance",
        ])
        .arg(&inst.name)
        .output()
        .unwrap();
    assert_eq!(health.status.code(), Some(0), "{}", text(&health));
    let rows: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    // "slow" answered too (past 1 s, which a loaded machine can make).
    assert!(rows[0]["status"].as_str().is_some_and(answered), "{rows}");

    // A second init refuses and names the file; the file is unchanged.
    let before = std::fs::read(&written).unwrap();
    let again = arkc(home.path()).args(["config", "init"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains(&format!("{} already exists", written.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&written).unwrap(), before);
}

#[test]
fn config_init_without_discover_writes_a_template_that_checks() {
    let home = tempfile::tempdir().unwrap();
    let target = home.path().join("elsewhere/arkc.toml");
    let out = arkc(home.path())
        .arg("--config")
        .arg(&target)
        .args(["config", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.contains("# [[instance]]"), "{written}");
    let check = arkc(home.path())
        .args(["config", "check"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

const LOGIN_USER: &str = "arkc_login";
const LOGIN_PASSWORD: &str = "lp-S3cret \"quoted\"";

/// A login path file as `mysql_config_editor` would write it, for `[sbx]` pointing at `sb`.
fn login_plaintext(sb: &Sandbox, password: &str) -> String {
    let escaped = password.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "[sbx]\nuser = \"{LOGIN_USER}\"\npassword = \"{escaped}\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sb.port()
    )
}

/// The same file built by the `openssl` command, an AES implementation independent of arkc's
/// (each line its own AES-128-ECB record, PKCS#7 padded, under the key folded from 20 bytes).
fn openssl_login_file(plaintext: &str, key_matter: [u8; 20]) -> Vec<u8> {
    use std::io::Write;
    let mut key = [0u8; 16];
    for (i, b) in key_matter.iter().enumerate() {
        key[i % 16] ^= b;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![0u8; 4];
    out.extend_from_slice(&key_matter);
    for line in plaintext.split_inclusive('\n') {
        let mut child = Command::new("openssl")
            .args(["enc", "-aes-128-ecb", "-nosalt", "-K", &hex])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("openssl runs (scripts/lib.sh installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
        let cipher = child.wait_with_output().unwrap();
        assert!(cipher.status.success());
        out.extend_from_slice(&(cipher.stdout.len() as u32).to_le_bytes());
        out.extend_from_slice(&cipher.stdout);
    }
    out
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn health(home: &Path, config: &Path, login_file: &Path) -> Output {
    arkc(home)
        .arg("--config")
        .arg(config)
        .env("MYSQL_TEST_LOGIN_FILE", login_file)
        .args([
            "health",
            "--once",
            "--format",
            "json",
            "--interval",
            "200ms",
        ])
        .output()
        .unwrap()
}

#[test]
fn an_instance_with_login_path_connects_with_its_credentials() {
    let sb = sandbox("lpath");
    let sql_password = LOGIN_PASSWORD.replace('\\', "\\\\").replace('\'', "\\'");
    sb.exec_sql(&format!(
        "CREATE USER '{LOGIN_USER}'@'%' IDENTIFIED BY '{sql_password}';\
         CREATE USER '{LOGIN_USER}'@'localhost' IDENTIFIED BY '{sql_password}';\
         GRANT PROCESS, REPLICATION CLIENT ON *.* TO '{LOGIN_USER}'@'%';\
         GRANT PROCESS, REPLICATION CLIENT ON *.* TO '{LOGIN_USER}'@'localhost';"
    ))
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = write_config(
        home.path(),
        "[[instance]]\nname = \"viaLogin\"\nlogin_path = \"sbx\"\n",
    );

    let key: [u8; 20] = *b"0123456789abcdefghij";
    let plaintext = login_plaintext(&sb, LOGIN_PASSWORD);
    let ours = home.path().join("ours.mylogin.cnf");
    std::fs::write(&ours, arkc::config::encode_login_file(&plaintext, key)).unwrap();
    let theirs = home.path().join("openssl.mylogin.cnf");
    let openssl_bytes = openssl_login_file(&plaintext, key);
    std::fs::write(&theirs, &openssl_bytes).unwrap();
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        openssl_bytes,
        "arkc's encoder and openssl disagree on the file"
    );

    for login_file in [&ours, &theirs] {
        let out = health(home.path(), &config, login_file);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(rows[0]["instance"], "viaLogin");
        assert!(rows[0]["status"].as_str().is_some_and(answered), "{rows}");
    }

    let check = arkc(home.path())
        .args(["config", "check"])
        .arg(&config)
        .env("MYSQL_TEST_LOGIN_FILE", &ours)
        .output()
        .unwrap();
    let shown = text(&check);
    assert_eq!(check.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains(&format!(
            "127.0.0.1:{} user={LOGIN_USER} password=from login path [sbx]",
            sb.port()
        )),
        "{shown}"
    );
    assert!(!shown.contains("S3cret"), "{shown}");

    // A wrong password in the login path is refused by the server; nothing prints the secret.
    let wrong = home.path().join("wrong.mylogin.cnf");
    std::fs::write(
        &wrong,
        arkc::config::encode_login_file(&login_plaintext(&sb, "not-it-S3cret"), key),
    )
    .unwrap();
    let out = health(home.path(), &config, &wrong);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(shown.contains("Access denied"), "{shown}");
    assert!(!shown.contains("S3cret"), "{shown}");
    let logs = home.path().join(".local/state");
    if logs.exists() {
        for entry in walk(&logs) {
            let body = std::fs::read_to_string(&entry).unwrap_or_default();
            assert!(!body.contains("S3cret"), "password in {}", entry.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A loopback port with nothing listening (kept bound, so no other server takes it).
fn dead_port() -> u16 {
    crate::support::ports::refused_port()
}

#[test]
fn a_connection_error_names_the_address_and_the_cause_once() {
    let home = tempfile::tempdir().unwrap();
    let port = dead_port();
    let out = arkc(home.path())
        .args(["binlog", "list", "--url"])
        .arg(format!("mysql://root@127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert_eq!(stderr.matches("Connection refused").count(), 1, "{stderr}");
    assert!(!stderr.contains("Input/output error"), "{stderr}");

    let config = write_config(
        home.path(),
        &format!(
            "[[instance]]\nname = \"dead\"\nhost = \"127.0.0.1\"\nport = {port}\npassword = \"\"\n"
        ),
    );
    let out = arkc(home.path())
        .arg("--config")
        .arg(&config)
        .args([
            "health",
            "--once",
            "--format",
            "json",
            "--interval",
            "200ms",
        ])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = rows[0]["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert_eq!(error.matches("Connection refused").count(), 1, "{error}");
    assert!(!error.contains("Input/output error"), "{error}");
}
