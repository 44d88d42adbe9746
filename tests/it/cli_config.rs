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
    assert!(stdout.contains("instance primary (line 15)"), "{stdout}");
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
