//! TLS modes of the backend's connections against a sandbox serving a test CA's certificate.

use std::path::Path;
use std::process::Command;

use arkc::backend::connect::connect;
use arkc::config::{InstanceConfig, TlsMode};
use arkc::sandbox::{Sandbox, SandboxOptions};
use mysql_async::prelude::Queryable;

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

/// A CA and a server certificate it signed (v3, for 127.0.0.1), plus an unrelated CA.
fn make_certs(dir: &Path) {
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
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
    let no_tls_server = cipher_of(&with_tls(&plain_sb, TlsMode::Required, None)).await;
    assert!(
        no_tls_server.is_err(),
        "tls = required against a server without TLS must fail"
    );
}
