//! The real binary's `config check`: exit codes and messages a user sees.

use std::process::Command;

fn arkc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
}

#[test]
fn example_config_checks_ok() {
    let out = arkc()
        .args([
            "config",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("instance primary (line 18)"), "{stdout}");
    assert!(
        stdout.contains("password=from $ARKC_PRIMARY_PASSWORD"),
        "{stdout}"
    );
}

#[test]
fn unknown_key_fails_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[ui]\nrefresh_ms = 500\n\n[[instance]]\nname = \"a\"\nhost = \"h\"\nprot = 1\n",
    )
    .unwrap();
    // `--config` after the subcommand is accepted too.
    let out = arkc()
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains(&format!("{}:7:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("prot"), "{stderr}");
}

#[test]
fn inline_secret_is_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[[instance]]\nname = \"a\"\nhost = \"h\"\npassword = \"hunter2\"\n",
    )
    .unwrap();
    let out = arkc()
        .arg("--config")
        .arg(&path)
        .args(["config", "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("password=inline (****)"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
}

#[test]
fn unknown_theme_fails_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[ui]\nkeymap = \"vim\"\ntheme = \"solarised\"\n").unwrap();
    let out = arkc()
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["config", "check"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3: key `theme`", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("solarised"), "{stderr}");
}

/// `read_only = true` in the config refuses every write command before anything is sent, the same
/// way `--read-only` does (nothing listens on the instance's port: a refusal that tried to connect
/// would say so instead).
#[test]
fn read_only_in_the_config_refuses_writes_like_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ro.toml");
    std::fs::write(
        &config,
        "read_only = true\n\n[[instance]]\nname = \"db\"\nhost = \"127.0.0.1\"\nport = 9\n",
    )
    .unwrap();
    let change = dir.path().join("change.sql");
    std::fs::write(&change, "INSERT INTO t (a) VALUES (1);\n").unwrap();
    let change = change.to_str().unwrap();
    for args in [
        vec!["deploy", "apply", change, "--instance", "db", "--yes"],
        vec!["deploy", "undo", "1", "--yes"],
        vec!["kill", "--instance", "db", "42"],
    ] {
        let out = arkc()
            .env("XDG_DATA_HOME", dir.path())
            .arg("--config")
            .arg(&config)
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?} ran: {stderr}");
        assert!(stderr.contains("read-only"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("127.0.0.1:9"),
            "{args:?} tried to connect: {stderr}"
        );
    }
}
