//! Opening a mysql_async connection to a configured instance, with deadlines.

use std::time::Duration;

use anyhow::Context;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};

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
/// `verify_ca` checks it against `ca`. The driver also checks the host name despite
/// `skip_domain_validation` (it looks for an error text rustls 0.23.46 no longer gives), so
/// verify_ca checks the name on every path (see `backend::tls`).
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
    let conn = connect_to(Opts::from(opts_for(inst, password)?), &inst.address())
        .await
        .map_err(|e| explain_tls_failure(inst, e))?;
    remember_own_session(&inst.address(), conn.id());
    Ok(conn)
}

/// A connection refused over TLS says which instance and what to fix (the CA, the server's TLS).
pub fn explain_tls_failure(inst: &InstanceConfig, e: anyhow::Error) -> anyhow::Error {
    let policy = crate::backend::tls::TlsPolicy {
        mode: inst.tls,
        ca: inst.ca.clone(),
    };
    match crate::backend::tls::failure_hint(&policy, &format!("{e:#}")) {
        Some(hint) => e.context(format!("instance `{}`: {hint}", inst.name)),
        None => e,
    }
}

/// How many of arkc's own session ids are remembered per server (old ones are long gone).
const OWN_SESSIONS_KEPT: usize = 1024;

/// Connection ids of the sessions arkc itself opened, per server address: a kill (one, or a bulk
/// kill by filter) never ends arkc's own polls and reads.
static OWN_SESSIONS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<u64>>>,
> = std::sync::LazyLock::new(Default::default);

fn remember_own_session(address: &str, id: u32) {
    let Ok(mut own) = OWN_SESSIONS.lock() else {
        return;
    };
    let ids = own.entry(address.to_string()).or_default();
    ids.push_back(u64::from(id));
    if ids.len() > OWN_SESSIONS_KEPT {
        ids.pop_front();
    }
}

/// Whether session `id` on `address` is one arkc opened.
pub fn is_own_session(address: &str, id: u64) -> bool {
    OWN_SESSIONS
        .lock()
        .map(|own| own.get(address).is_some_and(|ids| ids.contains(&id)))
        .unwrap_or(false)
}

/// Connect with `opts`, giving up after [`CONNECT_TIMEOUT`]; errors name `address` and the cause
/// once.
pub async fn connect_to(opts: Opts, address: &str) -> anyhow::Result<Conn> {
    connect_within(opts, address, CONNECT_TIMEOUT).await
}

/// [`connect_to`] with another deadline.
pub async fn connect_within(opts: Opts, address: &str, deadline: Duration) -> anyhow::Result<Conn> {
    match tokio::time::timeout(deadline, Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "cannot connect to {address}: {}",
            driver_error_text(&e)
        )),
        Err(_) => Err(anyhow::anyhow!(
            "no answer from {address} within {deadline:?}"
        )),
    }
}

/// `host:port` or the socket path of driver options, for messages.
pub fn opts_address(opts: &Opts) -> String {
    match opts.socket() {
        Some(sock) => sock.to_string(),
        None => format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port()),
    }
}

/// A driver error in one line. mysql_async wraps an I/O error twice and each layer prefixes
/// "Input/output error", and its `source()` chain repeats the text again under anyhow's `{:#}`;
/// this says the innermost cause once and returns plain text (no chain).
pub fn driver_error_text(e: &mysql_async::Error) -> String {
    use mysql_async::{Error, IoError};
    match e {
        Error::Io(IoError::Io(io)) => io.to_string(),
        Error::Io(IoError::Tls(tls)) => format!("TLS: {tls}"),
        Error::Server(server) => format!(
            "server said ERROR {} ({}): {}",
            server.code, server.state, server.message
        ),
        Error::Driver(driver) => driver.to_string(),
        Error::Url(url) => url.to_string(),
        Error::Other(other) => other.to_string(),
    }
}

/// An error and its causes in one line, each said once: many error types (mysql_async's,
/// thiserror's `{source}` messages) already include their source's text, which anyhow's `{:#}`
/// would print again. Driver errors are cut down by [`driver_error_text`].
pub fn error_chain_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let driver = cause.downcast_ref::<mysql_async::Error>();
        let part = driver.map_or_else(|| cause.to_string(), driver_error_text);
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        if driver.is_some() {
            break; // its own sources are what driver_error_text already said
        }
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_io_error_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let driver = mysql_async::Error::Io(mysql_async::IoError::Io(io));
        assert!(driver.to_string().matches("Input/output error").count() == 2);
        let e = anyhow::Error::new(driver).context("cannot connect to --url");
        assert_eq!(
            error_chain_text(&e),
            "cannot connect to --url: Connection refused"
        );
    }

    #[test]
    fn a_cause_repeated_in_its_parent_is_dropped() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        #[derive(Debug, thiserror::Error)]
        #[error("f.bin: cannot read: {0}")]
        struct ReadError(#[source] std::io::Error);
        let e = anyhow::Error::new(ReadError(io)).context("digesting f.bin");
        assert_eq!(
            error_chain_text(&e),
            "digesting f.bin: f.bin: cannot read: No such file"
        );
    }
}
