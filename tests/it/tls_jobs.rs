//! Backups over TLS: each tool kind (mariadb-dump, mydumper, mariadb-backup) gets the instance's
//! TLS settings through its 0600 defaults file and succeeds against a sandbox serving a test
//! CA's certificate; given a CA that did not sign that certificate, each fails, and the job's
//! error names the instance and the CA file.

use arkc::sandbox::Sandbox;

use crate::backup_jobs::{text, Env};
use crate::tls::{assert_names_the_wrong_ca, tls_instances, tls_sandbox};

fn schema(sb: &Sandbox) -> String {
    let db = sb.create_schema("tlsbk").unwrap();
    sb.exec_sql(&format!(
        "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO {db}.t VALUES (1, 'over tls'), (2, 'two')"
    ))
    .unwrap();
    db
}

#[test]
fn every_tool_kind_backs_up_over_tls_and_refuses_the_wrong_ca() {
    let (certs, sb) = tls_sandbox("tlsjobs");
    let db = schema(&sb);
    let env = Env::new(&sb, &tls_instances(&sb, certs.path(), ""));
    for kind in ["dump", "mydumper", "mariabackup"] {
        for instance in ["good", "req"] {
            let (id, out) = env.backup_schema(instance, kind, &db, &[]);
            assert!(
                out.status.success(),
                "{kind} on `{instance}` failed: {}\n{}",
                text(&out),
                env.events(id)
            );
            let rec = env.record(id);
            assert_eq!(rec["state"], "succeeded", "{kind} {instance}: {rec:#}");
        }
        let (id, out) = env.backup_schema("wrong", kind, &db, &[]);
        assert!(
            !out.status.success(),
            "{kind} with the wrong CA: {}",
            text(&out)
        );
        let rec = env.record(id);
        assert_eq!(rec["state"], "failed", "{kind} with the wrong CA: {rec:#}");
        assert_names_the_wrong_ca(rec["error"].as_str().unwrap_or_default(), certs.path());
    }
}

/// The tools' client library goes on in plain text when `ssl` meets a server without TLS; the
/// job must refuse that for tls = "required" (and verify_ca) before any tool runs.
#[test]
fn a_backup_with_tls_required_refuses_a_server_without_tls() {
    let sb = Sandbox::shared();
    let db = schema(sb);
    let entry = |name: &str, tls: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             password = \"\"\ntls = \"{tls}\"\n",
            sb.port()
        )
    };
    let certs = tempfile::tempdir().unwrap();
    crate::tls::make_certs(certs.path());
    let verify = format!(
        "{}ca = \"{}\"\n",
        entry("plainverify", "verify_ca"),
        certs.path().join("ca.pem").display()
    );
    let env = Env::new(sb, &format!("{}\n{verify}", entry("plainreq", "required")));
    for instance in ["plainreq", "plainverify"] {
        let (id, out) = env.backup_schema(instance, "dump", &db, &[]);
        assert!(!out.status.success(), "{instance}: {}", text(&out));
        let rec = env.record(id);
        assert_eq!(rec["state"], "failed", "{rec:#}");
        let error = rec["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&format!("instance `{instance}`"))
                && error.contains("does not offer TLS"),
            "{error}"
        );
    }
}
