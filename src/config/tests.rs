use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn example_config_parses() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let cfg = Config::load(path).expect("config.example.toml must parse");
    assert_eq!(cfg.instances.len(), 2);
    assert_eq!(cfg.instances[0].name, "primary");
    assert_eq!(cfg.instances[0].address(), "127.0.0.1:3306");
    assert_eq!(
        cfg.instances[1].socket.as_deref(),
        Some(Path::new("/run/mysqld/mysqld.sock"))
    );
    assert_eq!(cfg.ui.refresh_ms, 1000);
}

#[test]
fn minimal_instance_gets_defaults() {
    let cfg = parse("[[instance]]\nname = \"a\"\nhost = \"db1\"\n").unwrap();
    let inst = &cfg.instances[0];
    assert_eq!(inst.address(), "db1:3306");
    assert_eq!(inst.user(), "root");
    assert_eq!(inst.tls, TlsMode::Off);
    assert_eq!(inst.line, 1);
    assert_eq!(cfg.ui, UiConfig::default());
}

#[test]
fn empty_password_is_kept_as_empty() {
    let cfg = parse("[[instance]]\nname = \"a\"\nhost = \"h\"\npassword = \"\"\n").unwrap();
    assert_eq!(
        resolve_password(&cfg.instances[0]).unwrap(),
        Some(String::new())
    );
}

#[test]
fn unknown_key_names_line_and_key() {
    let text =
        "[ui]\ntheme = \"default\"\n\n[[instance]]\nname = \"a\"\nhost = \"h\"\nhots = \"typo\"\n";
    let err = parse(text).unwrap_err().to_string();
    assert!(err.starts_with("test.toml:7:"), "{err}");
    assert!(err.contains("hots"), "{err}");
}

#[test]
fn unknown_section_is_an_error() {
    let err = parse("[uii]\ntheme = \"x\"\n").unwrap_err().to_string();
    assert!(err.starts_with("test.toml:1:"), "{err}");
    assert!(err.contains("uii"), "{err}");
}

#[test]
fn bad_value_type_names_line() {
    let err = parse("[[instance]]\nname = \"a\"\nhost = \"h\"\nport = \"3306\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("test.toml:4:"), "{err}");
}

#[test]
fn bad_tls_value_is_rejected() {
    let err = parse("[[instance]]\nname = \"a\"\nhost = \"h\"\ntls = \"maybe\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("test.toml:4:"), "{err}");
}

#[test]
fn verify_ca_requires_ca() {
    let err = parse("\n[[instance]]\nname = \"a\"\nhost = \"h\"\ntls = \"verify_ca\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("test.toml:2:"), "{err}");
    assert!(err.contains("`ca`"), "{err}");
}

#[test]
fn refresh_out_of_range_is_rejected() {
    let err = parse("[ui]\nrefresh_ms = 5\n").unwrap_err().to_string();
    assert!(err.starts_with("test.toml:2:"), "{err}");
    assert!(err.contains("refresh_ms"), "{err}");
}

#[test]
fn duplicate_names_and_two_password_sources_are_rejected() {
    let dup =
        "[[instance]]\nname = \"a\"\nhost = \"h\"\n[[instance]]\nname = \"a\"\nhost = \"h\"\n";
    assert!(parse(dup).unwrap_err().to_string().contains("duplicate"));
    let two = "[[instance]]\nname = \"a\"\nhost = \"h\"\npassword = \"x\"\npassword_env = \"Y\"\n";
    assert!(parse(two).unwrap_err().to_string().contains("at most one"));
}

#[test]
fn socket_and_host_are_exclusive() {
    let err = parse("[[instance]]\nname = \"a\"\nhost = \"h\"\nsocket = \"/s\"\n").unwrap_err();
    assert!(err.to_string().contains("either"));
}

#[test]
fn password_sources_resolve() {
    let cfg = parse(
        "[[instance]]\nname = \"a\"\nhost = \"h\"\npassword_cmd = \"printf 'sekret\\\\nsecond'\"\n",
    )
    .unwrap();
    assert_eq!(
        resolve_password(&cfg.instances[0]).unwrap(),
        Some("sekret".into())
    );
    let cfg = parse(
        "[[instance]]\nname = \"a\"\nhost = \"h\"\npassword_env = \"ARKC_TEST_UNSET_VAR_XYZ\"\n",
    )
    .unwrap();
    let err = resolve_password(&cfg.instances[0]).unwrap_err().to_string();
    assert!(err.contains("ARKC_TEST_UNSET_VAR_XYZ"), "{err}");
}

#[test]
fn my_cnf_client_password_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my.cnf");
    std::fs::write(
        &path,
        "[mysqld]\npassword=no\n[client]\nuser=x\npassword = \"s3\"\n",
    )
    .unwrap();
    assert_eq!(password::my_cnf_password(&path), Some("s3".into()));
    std::fs::write(&path, "[mysql]\npassword=no\n").unwrap();
    assert_eq!(password::my_cnf_password(&path), None);
}

#[test]
fn review_section_sets_thresholds_and_rule_severities() {
    use review::Severity;
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let cfg = Config::load(path).expect("config.example.toml must parse");
    assert_eq!(cfg.review.max_indexes, 5);
    assert_eq!(
        cfg.review.severity("drop-table", Severity::Warning),
        Severity::Error
    );
    let cfg =
        parse("[review]\nmax_indexes = 2\n[review.select-star]\nseverity = \"off\"\n").unwrap();
    assert_eq!(cfg.review.max_indexes, 2);
    assert_eq!(
        cfg.review.severity("select-star", Severity::Warning),
        Severity::Off
    );
    let err = parse("[review]\n\n[review.no-such-rule]\nseverity = \"error\"\n").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("test.toml:3") && msg.contains("unknown rule"),
        "{msg}"
    );
    let err = parse("[review.select-star]\nseverity = \"fatal\"\n").unwrap_err();
    assert!(err.to_string().contains("fatal"), "{err}");
}
