//! Opening a mysql_async connection to a configured instance, with deadlines.

use std::time::Duration;

use anyhow::Context;
use mysql_async::{Conn, OptsBuilder, SslOpts};

use crate::config::{resolve_password, InstanceConfig, TlsMode};

/// How long a TCP/socket connect plus handshake may take before the instance counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a `password_cmd` may run (vault CLIs can be slow, but never forever).
pub const PASSWORD_TIMEOUT: Duration = Duration::from_secs(10);

/// The driver options for `inst`, with the password already resolved.
pub fn opts_for(inst: &InstanceConfig, password: Option<String>) -> anyhow::Result<OptsBuilder> {
    let mut opts = OptsBuilder::default()
        .user(Some(inst.user()))
        .pass(password)
        // Without these the driver sends its own hidden queries after connecting; we want every
        // statement on the wire to be one we recorded.
        .prefer_socket(false)
        .max_allowed_packet(Some(64 * 1024 * 1024))
        .wait_timeout(Some(28_800))
        .tcp_nodelay(true);
    opts = match &inst.socket {
        Some(sock) => opts.socket(Some(sock.to_string_lossy().into_owned())),
        None => opts
            .ip_or_hostname(inst.host.clone().unwrap_or_else(|| "127.0.0.1".into()))
            .tcp_port(inst.port.unwrap_or(3306)),
    };
    Ok(opts.ssl_opts(ssl_opts(inst)?))
}

/// TLS per the instance's `tls` mode: `required` encrypts without checking the certificate,
/// `verify_ca` checks it against `ca` (not the host name, like the MySQL client's VERIFY_CA).
fn ssl_opts(inst: &InstanceConfig) -> anyhow::Result<Option<SslOpts>> {
    Ok(match inst.tls {
        TlsMode::Off => None,
        TlsMode::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        TlsMode::VerifyCa => {
            let ca = inst.ca.clone().with_context(|| {
                format!("instance `{}`: tls = \"verify_ca\" needs `ca`", inst.name)
            })?;
            Some(
                SslOpts::default()
                    .with_root_certs(vec![ca.into()])
                    .with_disable_built_in_roots(true)
                    .with_danger_skip_domain_validation(true),
            )
        }
    })
}

/// Resolve the password off the async threads (it may run `password_cmd`) and connect,
/// giving up after the deadlines above.
pub async fn connect(inst: &InstanceConfig) -> anyhow::Result<Conn> {
    let for_password = inst.clone();
    let password = tokio::time::timeout(
        PASSWORD_TIMEOUT,
        tokio::task::spawn_blocking(move || resolve_password(&for_password)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("resolving the password took over {PASSWORD_TIMEOUT:?}"))?
    .context("password task failed")??;
    let opts = opts_for(inst, password)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(anyhow::anyhow!("cannot connect to {}: {e}", inst.address())),
        Err(_) => Err(anyhow::anyhow!(
            "no answer from {} within {CONNECT_TIMEOUT:?}",
            inst.address()
        )),
    }
}

/// Keep arkc's own monitoring statements out of the slow log and the performance_schema digests it
/// is showing: the instrumentation opt-out, then session-scope settings
/// only (no privilege needed), each allowed to fail on servers that lack it. `min_examined_row_limit`
/// also silences `log_queries_not_using_indexes`, which MySQL cannot turn off per session.
pub async fn quiet_for_slow_log(conn: &mut Conn) {
    use mysql_async::prelude::Queryable;
    for sql in [
        // First, so that even the settings below stay out of performance_schema's digests (needs
        // UPDATE on performance_schema.threads; `guard_session` reports when it is missing).
        crate::backend::health::session::UNINSTRUMENT_SQL,
        "SET SESSION long_query_time = 31536000, min_examined_row_limit = 4294967295",
        // MariaDB only: no slow logging at all for this session.
        "SET SESSION slow_query_log = 0",
    ] {
        if let Err(e) = conn.query_drop(sql).await {
            tracing::debug!(%sql, error = %e, "session setting not accepted");
        }
    }
}
