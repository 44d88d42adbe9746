//! `login_path` in `[[instance]]`: how the login path file fills the entry, and errors that name
//! the config file, line and key.

use super::login_path::encode;
use super::*;

const KEY: [u8; 20] = [7; 20];

fn login_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("mylogin.cnf");
    std::fs::write(&path, encode(text, KEY)).unwrap();
    path
}

fn parse_with(text: &str, login: &Path) -> Result<Config, ConfigError> {
    Config::parse_with_login_file(text, Path::new("c.toml"), login)
}

#[test]
fn login_path_fills_what_the_entry_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let login = login_file(
        dir.path(),
        "[client]\nuser = \"base\"\n[db1]\nuser = \"ops\"\npassword = \"s3cret\"\nhost = \"db1.example\"\nport = 3307\n",
    );
    let cfg = parse_with("[[instance]]\nname = \"a\"\nlogin_path = \"db1\"\n", &login).unwrap();
    let inst = &cfg.instances[0];
    assert_eq!(inst.address(), "db1.example:3307");
    assert_eq!(inst.user(), "ops");
    assert_eq!(
        inst.password_source(),
        PasswordSource::LoginPath("db1".into())
    );
    assert_eq!(resolve_password(inst).unwrap().as_deref(), Some("s3cret"));
    // The secret is read when needed, not kept in the parsed config.
    assert!(!format!("{cfg:?}").contains("s3cret"));
}

#[test]
fn config_keys_win_over_the_login_path() {
    let dir = tempfile::tempdir().unwrap();
    let login = login_file(
        dir.path(),
        "[db1]\nuser = \"ops\"\npassword = \"s3cret\"\nhost = \"db1\"\nport = 3307\n",
    );
    let text = "[[instance]]\nname = \"a\"\nhost = \"db2\"\nuser = \"me\"\npassword_env = \"ARKC_TEST_UNSET_VAR\"\nlogin_path = \"db1\"\n";
    let inst = parse_with(text, &login).unwrap().instances.remove(0);
    // Like `mysql --host=db2 --login-path=db1`: the port still comes from the login path.
    assert_eq!(inst.address(), "db2:3307");
    assert_eq!(inst.user(), "me");
    assert_eq!(
        inst.password_source(),
        PasswordSource::Env("ARKC_TEST_UNSET_VAR".into())
    );
}

#[test]
fn localhost_with_a_socket_connects_by_socket() {
    let dir = tempfile::tempdir().unwrap();
    let login = login_file(
        dir.path(),
        "[local]\nhost = \"localhost\"\nsocket = \"/run/mysqld/mysqld.sock\"\nport = 3306\n",
    );
    let inst = parse_with(
        "[[instance]]\nname = \"a\"\nlogin_path = \"local\"\n",
        &login,
    )
    .unwrap()
    .instances
    .remove(0);
    assert_eq!(inst.address(), "/run/mysqld/mysqld.sock");
    assert_eq!(inst.host, None);
}

#[test]
fn a_missing_group_names_config_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let login = login_file(dir.path(), "[db1]\nhost = \"h\"\n");
    let text = "[ui]\nrefresh_ms = 1000\n\n[[instance]]\nname = \"a\"\nlogin_path = \"prod\"\n";
    let err = parse_with(text, &login).unwrap_err().to_string();
    assert!(
        err.starts_with("c.toml:6: instance `a`: key `login_path`:"),
        "{err}"
    );
    assert!(err.contains("no [prod] group"), "{err}");
}

#[test]
fn a_missing_login_file_says_how_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.cnf");
    let err = parse_with("[[instance]]\nname = \"a\"\nlogin_path = \"x\"\n", &missing)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("c.toml:3:"), "{err}");
    assert!(err.contains("mysql_config_editor set"), "{err}");
}

#[test]
fn a_login_path_without_an_address_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let login = login_file(dir.path(), "[u]\nuser = \"ops\"\n");
    let err = parse_with("[[instance]]\nname = \"a\"\nlogin_path = \"u\"\n", &login)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[u] gives no host or socket"), "{err}");
}

#[test]
fn no_login_path_never_reads_the_file() {
    let missing = Path::new("/nonexistent/arkc/mylogin.cnf");
    assert!(parse_with("[[instance]]\nname = \"a\"\nhost = \"h\"\n", missing).is_ok());
}
