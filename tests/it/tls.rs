//! TLS modes against a sandbox serving a test CA's certificate: the backend's connections, the
//! polling behind `arkc health --once` and the slow-SQL sources, each also with a CA that did not
//! sign the server's certificate, which must fail and say so. The stream and the backup tools
//! are in `tls_stream` and `tls_jobs`, with the helpers here.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arkc::backend::connect::connect;
use arkc::backend::slow::report::{SlowSourceKind, SlowUpdate, SourceStatus};
use arkc::backend::{self, BackendEvent};
use arkc::config::{Config, InstanceConfig, TlsMode};
use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;
use serde_json::Value;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the TLS tests need the `openssl` command: apt-get install openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate it signed (v3, for 127.0.0.1 only: not `localhost`), plus an
/// unrelated CA.
pub(crate) fn make_certs(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    for ca in ["ca", "other-ca"] {
        let (key, cert, subj) = (
            format!("{ca}-key.pem"),
            format!("{ca}.pem"),
            format!("/CN=arkc test {ca}"),
        );
        openssl(
            dir,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", &key,
                "-out", &cert, "-subj", &subj,
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ],
    );
}

/// A sandbox serving the certificate of `make_certs` (every statement slow-logged, to the
/// mysql.slow_log table, so that the slow-SQL log source also reads over the connection),
/// and the certificates' directory.
pub(crate) fn tls_sandbox(name: &str) -> (tempfile::TempDir, Sandbox) {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let arg = |k: &str, f: &str| format!("--{k}={}", certs.path().join(f).display());
    let sb = Sandbox::start(SandboxOptions {
        name: name.into(),
        slow_log_threshold_s: 0.0,
        extra_args: vec![
            arg("ssl-ca", "ca.pem"),
            arg("ssl-cert", "server.pem"),
            arg("ssl-key", "server-key.pem"),
            "--log-output=TABLE".into(),
        ],
        ..SandboxOptions::default()
    })
    .unwrap();
    (certs, sb)
}

/// `[[instance]]` entries reaching `sb` over TCP as root: `good` verifies the right CA, `req`
/// only encrypts, `wrong` verifies a CA that did not sign the server's certificate.
pub(crate) fn tls_instances(sb: &Sandbox, certs: &Path, extra: &str) -> String {
    let entry = |name: &str, tls: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\n{tls}\n{extra}\n",
            sb.port()
        )
    };
    let ca = |file: &str| {
        format!(
            "tls = \"verify_ca\"\nca = \"{}\"",
            certs.join(file).display()
        )
    };
    [
        entry("good", &ca("ca.pem")),
        entry("req", "tls = \"required\""),
        entry("wrong", &ca("other-ca.pem")),
    ]
    .concat()
}

/// What a refusal for the wrong CA must say: the instance and the CA file to fix.
pub(crate) fn assert_names_the_wrong_ca(message: &str, certs: &Path) {
    let other = certs.join("other-ca.pem").display().to_string();
    assert!(message.contains("wrong"), "names the instance: {message}");
    assert!(
        message.contains(&format!("not signed by ca = {other}"))
            || message.contains(&format!("check that ca = {other} signed")),
        "says which CA to fix: {message}"
    );
}

/// `arkc --config CONFIG ARGS` with its data and state in `home`.
pub(crate) fn arkc_with(config: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arkc"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("ARKC_DATA_DIR", home.join("arkc-data"))
        .output()
        .unwrap()
}

pub(crate) fn output_text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn with_tls(sb: &Sandbox, tls: TlsMode, ca: Option<&Path>) -> InstanceConfig {
    let mut inst = InstanceConfig::tcp("tls", "127.0.0.1", sb.port());
    inst.tls = tls;
    inst.ca = ca.map(Path::to_path_buf);
    inst
}

async fn cipher_of(inst: &InstanceConfig) -> anyhow::Result<String> {
    let mut conn = connect(inst).await?;
    let row: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await?;
    let _ = conn.disconnect().await;
    Ok(row.map(|r| r.1).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_encrypt_and_verify_the_ca() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let dir = certs.path().to_path_buf();
    let (tls_sb, plain_sb) = tokio::task::spawn_blocking(move || {
        let arg = |k: &str, f: &str| format!("--{k}={}", dir.join(f).display());
        let tls = Sandbox::start(SandboxOptions {
            name: "tls".into(),
            extra_args: vec![
                arg("ssl-ca", "ca.pem"),
                arg("ssl-cert", "server.pem"),
                arg("ssl-key", "server-key.pem"),
            ],
            ..SandboxOptions::default()
        })
        .unwrap();
        (
            tls,
            Sandbox::start(SandboxOptions {
                name: "plain".into(),
                ..SandboxOptions::default()
            })
            .unwrap(),
        )
    })
    .await
    .unwrap();
    let ca = certs.path().join("ca.pem");
    let other_ca = certs.path().join("other-ca.pem");

    let off = cipher_of(&with_tls(&tls_sb, TlsMode::Off, None))
        .await
        .unwrap();
    assert_eq!(off, "", "tls = off must not encrypt");
    let required = cipher_of(&with_tls(&tls_sb, TlsMode::Required, None))
        .await
        .unwrap();
    assert!(!required.is_empty(), "tls = required must encrypt");
    let verified = cipher_of(&with_tls(&tls_sb, TlsMode::VerifyCa, Some(&ca)))
        .await
        .unwrap();
    assert!(!verified.is_empty());

    let wrong_ca = cipher_of(&with_tls(&tls_sb, TlsMode::VerifyCa, Some(&other_ca))).await;
    let message = format!(
        "{:#}",
        wrong_ca.expect_err("a certificate from another CA must be refused")
    );
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(
        message.contains(&format!("not signed by ca = {}", other_ca.display())),
        "{message}"
    );
    // Signed by the CA but not for the name connected to: verify_ca checks the name too.
    let mut by_name = with_tls(&tls_sb, TlsMode::VerifyCa, Some(&ca));
    by_name.host = Some("localhost".into());
    let message = format!(
        "{:#}",
        cipher_of(&by_name)
            .await
            .expect_err("a certificate for 127.0.0.1 reached as localhost must be refused")
    );
    assert!(
        message.contains("instance `tls`") && message.contains("does not name the host"),
        "{message}"
    );
    by_name.tls = TlsMode::Required;
    by_name.ca = None;
    assert!(!cipher_of(&by_name).await.unwrap().is_empty());
    let no_tls_server = cipher_of(&with_tls(&plain_sb, TlsMode::Required, None)).await;
    assert!(
        no_tls_server.is_err(),
        "tls = required against a server without TLS must fail"
    );
}

/// `arkc health --once`: the instances that verify the right CA or only encrypt are up; the
/// one given the wrong CA is down, and its error names it and the CA file.
#[test]
fn health_once_polls_over_tls_and_refuses_the_wrong_ca() {
    let (certs, sb) = tls_sandbox("tlspoll");
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, tls_instances(&sb, certs.path(), "")).unwrap();
    let out = arkc_with(
        &config,
        home.path(),
        &["health", "--once", "--format", "json"],
    );
    let all: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", output_text(&out)));
    let of = |name: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance"] == name)
            .unwrap_or_else(|| panic!("no {name}: {all:#}"))
            .clone()
    };
    for name in ["good", "req"] {
        let inst = of(name);
        assert_eq!(inst["status"], "up", "{inst:#}");
        assert!(inst["version"].as_str().unwrap().contains("MariaDB"));
    }
    let wrong = of("wrong");
    assert_eq!(wrong["status"], "down", "{wrong:#}");
    assert_names_the_wrong_ca(wrong["error"].as_str().unwrap(), certs.path());
}

/// The slow-SQL sources (the mysql.slow_log table and the performance_schema digests) read over
/// TLS; with the wrong CA both report a failure naming the instance and the CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sql_sources_read_over_tls_and_refuse_the_wrong_ca() {
    let (certs, sb) = tokio::task::spawn_blocking(|| tls_sandbox("tlsslow"))
        .await
        .unwrap();
    let schema = sb.create_schema("tlsslow").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE {schema}.over_tls (id INT PRIMARY KEY, v INT)"
    ))
    .unwrap();
    let instance = |name: &str, ca: &str| {
        let mut inst = InstanceConfig::tcp(name, "127.0.0.1", sb.port());
        inst.tls = TlsMode::VerifyCa;
        inst.ca = Some(certs.path().join(ca));
        inst
    };
    let mut config = Config {
        instances: vec![
            instance("good", "ca.pem"),
            instance("wrong", "other-ca.pem"),
        ],
        ..Config::default()
    };
    config.ui.refresh_ms = 200;
    let data = tempfile::tempdir().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let slow = backend::SlowSqlOptions {
        tracking_path: Some(data.path().join("tracking.sqlite")),
    };
    let handle = backend::spawn_with(Arc::new(config), tx, Some(slow));
    let mut seen: Vec<(String, SlowSourceKind, SourceStatus, bool)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = |seen: &[(String, SlowSourceKind, SourceStatus, bool)]| {
        let good = |kind: SlowSourceKind| {
            seen.iter().any(|(i, k, s, found)| {
                i == "good" && *k == kind && *found && matches!(s, SourceStatus::Live { .. })
            })
        };
        let wrong = |kind: SlowSourceKind| {
            seen.iter().any(|(i, k, s, _)| {
                i == "wrong" && *k == kind && matches!(s, SourceStatus::Failed(_))
            })
        };
        good(SlowSourceKind::Log)
            && good(SlowSourceKind::Digest)
            && wrong(SlowSourceKind::Log)
            && wrong(SlowSourceKind::Digest)
    };
    while !done(&seen) {
        assert!(
            Instant::now() < deadline,
            "slow-SQL reports over TLS within 30 s; seen: {seen:#?}"
        );
        let event = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        let Ok(Some(BackendEvent::Slow(SlowUpdate::Report(r)))) = event else {
            continue;
        };
        let found = r.classes.iter().any(|c| {
            c.fingerprint
                .replace('`', "")
                .contains("from over_tls where")
        });
        if let SourceStatus::Failed(why) = &r.status {
            assert_names_the_wrong_ca(why, certs.path());
        }
        // Again until both sources saw it: the digests' first poll is only their baseline.
        if r.instance == "good" && !found {
            sb.exec_sql(&format!("USE {schema}; SELECT v FROM over_tls WHERE v = 3"))
                .unwrap();
        }
        seen.push((r.instance.clone(), r.source, r.status.clone(), found));
    }
    handle.shutdown().await;
}
