//! The few pieces of the MySQL client/server protocol a binlog dump needs: packet framing,
//! the handshake (TLS upgrade, `mysql_native_password`, `caching_sha2_password`), text
//! commands and COM_BINLOG_DUMP.
//! mysql_async cannot send COM_BINLOG_DUMP with MariaDB's annotate flag nor hand out the
//! raw event bytes, so the dump connection speaks the protocol itself.

use std::io;
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const MAX_PAYLOAD: usize = 0xff_ffff;
const COM_QUERY: u8 = 0x03;
const COM_BINLOG_DUMP: u8 = 0x12;
const COM_REGISTER_SLAVE: u8 = 0x15;
/// utf8mb4_general_ci
const CHARSET: u8 = 45;

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_LONG_FLAG: u32 = 4;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_TRANSACTIONS: u32 = 0x2000;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x8_0000;

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection after the handshake, reading and writing whole packets.
pub struct Wire {
    io: Box<dyn Io>,
    seq: u8,
    pub server_version: String,
    /// TLS or a Unix socket: the password may travel in clear (caching_sha2's full exchange).
    secure: bool,
}

/// What the server said first.
struct Greeting {
    version: String,
    scramble: Vec<u8>,
    plugin: String,
    capabilities: u32,
}

/// How to encrypt the connection: the rustls configuration and the name given for SNI.
pub struct TlsUpgrade {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// A TLS handshake that failed, kept whole so that the caller can explain it.
#[derive(Debug, thiserror::Error)]
#[error("TLS handshake failed: {0}")]
pub struct TlsFailure(pub io::Error);

impl Wire {
    /// Handshake on an open socket; `user`/`password` as in the URL or config.
    /// `secure` says the socket itself is private (a Unix socket); `tls` upgrades a TCP one.
    pub async fn handshake(
        io: Box<dyn Io>,
        secure: bool,
        tls: Option<TlsUpgrade>,
        user: &str,
        password: Option<&str>,
    ) -> anyhow::Result<Wire> {
        let mut wire = Wire {
            io,
            seq: 0,
            server_version: String::new(),
            secure,
        };
        let first = wire.read_packet().await?;
        let greeting = parse_greeting(&first)?;
        wire.server_version = greeting.version.clone();
        let mut caps = CLIENT_LONG_PASSWORD
            | CLIENT_LONG_FLAG
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH;
        let mut head = Vec::with_capacity(32);
        if tls.is_some() {
            caps |= CLIENT_SSL;
        }
        head.extend_from_slice(&caps.to_le_bytes());
        head.extend_from_slice(&(1u32 << 30).to_le_bytes());
        head.push(CHARSET);
        head.extend_from_slice(&[0; 23]);
        if let Some(tls) = tls {
            wire.start_tls(&greeting, &head, tls).await?;
        }
        let auth = auth_response(&greeting.plugin, &greeting.scramble, password)?;
        let mut resp = head;
        resp.extend_from_slice(user.as_bytes());
        resp.push(0);
        resp.push(auth.len() as u8);
        resp.extend_from_slice(&auth);
        resp.extend_from_slice(greeting.plugin.as_bytes());
        resp.push(0);
        wire.write_packet(&resp).await?;
        wire.finish_auth(&greeting, password).await?;
        Ok(wire)
    }

    /// SSLRequest (the login's fixed head alone), then the TLS handshake on the same socket;
    /// the login continues inside TLS with the next sequence number.
    async fn start_tls(
        &mut self,
        greeting: &Greeting,
        head: &[u8],
        tls: TlsUpgrade,
    ) -> anyhow::Result<()> {
        if greeting.capabilities & CLIENT_SSL == 0 {
            bail!("the server offers no TLS (its greeting lacks CLIENT_SSL: have_ssl is not YES)");
        }
        self.write_packet(head).await?;
        // The socket moves into the TLS stream; an unconnected pipe holds its place meanwhile.
        let plain = std::mem::replace(&mut self.io, Box::new(tokio::io::duplex(1).0));
        let connector = tokio_rustls::TlsConnector::from(tls.config);
        let stream = connector
            .connect(tls.name, plain)
            .await
            .map_err(TlsFailure)?;
        self.io = Box::new(stream);
        self.secure = true;
        Ok(())
    }

    /// OK, ERR, an auth switch to another plugin (answered once), or caching_sha2's
    /// "fast auth done" before the OK, or its "full authentication" request, answered with
    /// the password itself only over TLS or a Unix socket (as the stock client does).
    async fn finish_auth(
        &mut self,
        greeting: &Greeting,
        password: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut plugin = greeting.plugin.clone();
        let mut switched = false;
        loop {
            let reply = self.read_packet().await?;
            match (reply.first(), reply.get(1)) {
                (Some(0x00), _) => return Ok(()),
                (Some(0xff), _) => bail!("login refused: {}", err_text(&reply)),
                (Some(0x01), Some(0x03)) => continue,
                (Some(0x01), Some(0x04)) if self.secure => {
                    let mut clear = password.unwrap_or_default().as_bytes().to_vec();
                    clear.push(0);
                    self.write_packet(&clear).await?;
                }
                (Some(0x01), Some(0x04)) => bail!(
                    "the server wants a full caching_sha2_password exchange, which sends the \
                     password and so needs TLS (set tls = \"required\" or \"verify_ca\"; arkc \
                     does not do the RSA key exchange); a login by another client caches the \
                     password and the fast path then works without TLS"
                ),
                (Some(0xfe), _) if !switched => {
                    switched = true;
                    let rest = &reply[1..];
                    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                    plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
                    let mut scramble = rest.get(end + 1..).unwrap_or_default().to_vec();
                    if scramble.last() == Some(&0) {
                        scramble.pop();
                    }
                    let auth = auth_response(&plugin, &scramble, password)?;
                    self.write_packet(&auth).await?;
                }
                _ => bail!(
                    "unexpected answer to the login of {} (plugin `{plugin}`)",
                    greeting.version
                ),
            }
        }
    }

    /// Runs a statement that returns no rows (SET ...).
    pub async fn exec(&mut self, sql: &str) -> anyhow::Result<()> {
        let mut cmd = Vec::with_capacity(1 + sql.len());
        cmd.push(COM_QUERY);
        cmd.extend_from_slice(sql.as_bytes());
        self.seq = 0;
        self.write_packet(&cmd).await?;
        let reply = self.read_packet().await?;
        match reply.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => bail!("`{sql}` failed: {}", err_text(&reply)),
            _ => bail!("`{sql}` returned rows; expected none"),
        }
    }

    /// COM_REGISTER_SLAVE: the connection is listed in SHOW SLAVE HOSTS under `server_id`.
    pub async fn register_replica(&mut self, server_id: u32, host: &str) -> anyhow::Result<()> {
        let mut cmd = Vec::with_capacity(18 + host.len());
        cmd.push(COM_REGISTER_SLAVE);
        cmd.extend_from_slice(&server_id.to_le_bytes());
        cmd.push(host.len() as u8);
        cmd.extend_from_slice(host.as_bytes());
        // user, password (both empty), port, replication rank, master id
        cmd.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        self.seq = 0;
        self.write_packet(&cmd).await?;
        let reply = self.read_packet().await?;
        match reply.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => bail!("registering as a replica failed: {}", err_text(&reply)),
            _ => bail!("unexpected answer to COM_REGISTER_SLAVE"),
        }
    }

    /// Sends COM_BINLOG_DUMP; events follow as packets.
    pub async fn request_dump(
        &mut self,
        file: &str,
        pos: u32,
        flags: u16,
        server_id: u32,
    ) -> anyhow::Result<()> {
        let mut cmd = Vec::with_capacity(11 + file.len());
        cmd.push(COM_BINLOG_DUMP);
        cmd.extend_from_slice(&pos.to_le_bytes());
        cmd.extend_from_slice(&flags.to_le_bytes());
        cmd.extend_from_slice(&server_id.to_le_bytes());
        cmd.extend_from_slice(file.as_bytes());
        self.seq = 0;
        self.write_packet(&cmd).await
    }

    /// One logical packet (joining the 16 MiB pieces of a large one).
    pub async fn read_packet(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut payload = Vec::new();
        loop {
            let mut head = [0u8; 4];
            self.io.read_exact(&mut head).await.map_err(closed)?;
            let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
            self.seq = head[3].wrapping_add(1);
            let start = payload.len();
            payload.resize(start + len, 0);
            self.io
                .read_exact(&mut payload[start..])
                .await
                .map_err(closed)?;
            if len < MAX_PAYLOAD {
                return Ok(payload);
            }
        }
    }

    async fn write_packet(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        if payload.len() >= MAX_PAYLOAD {
            bail!("command too large for one packet");
        }
        let len = (payload.len() as u32).to_le_bytes();
        let mut buf = Vec::with_capacity(4 + payload.len());
        buf.extend_from_slice(&[len[0], len[1], len[2], self.seq]);
        buf.extend_from_slice(payload);
        self.io
            .write_all(&buf)
            .await
            .context("cannot send to the server")?;
        self.io.flush().await?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }
}

fn closed(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        anyhow::anyhow!("the server closed the connection")
    } else {
        anyhow::anyhow!("connection error: {e}")
    }
}

/// `#HY000 message` of an ERR packet.
pub fn err_text(p: &[u8]) -> String {
    let code = p
        .get(1..3)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .unwrap_or(0);
    let msg = match p.get(3) {
        Some(b'#') => p.get(9..).unwrap_or_default(),
        _ => p.get(3..).unwrap_or_default(),
    };
    format!("error {code}: {}", String::from_utf8_lossy(msg))
}

fn parse_greeting(p: &[u8]) -> anyhow::Result<Greeting> {
    match p.first() {
        Some(10) => {}
        Some(0xff) => bail!("the server refused the connection: {}", err_text(p)),
        _ => bail!("not a MySQL/MariaDB server (unknown greeting)"),
    }
    let short = || anyhow::anyhow!("the server's greeting is cut short");
    let rest = &p[1..];
    let vend = rest.iter().position(|&b| b == 0).ok_or_else(short)?;
    let version = String::from_utf8_lossy(&rest[..vend]).into_owned();
    // thread id (4), scramble part 1 (8), filler, caps, charset, status, caps, auth len, reserved (10)
    let fixed = rest.get(vend + 1..vend + 1 + 31).ok_or_else(short)?;
    let mut scramble = fixed[4..12].to_vec();
    let capabilities = u32::from(u16::from_le_bytes([fixed[13], fixed[14]]))
        | u32::from(u16::from_le_bytes([fixed[18], fixed[19]])) << 16;
    let auth_len = fixed[20] as usize;
    let tail = &rest[vend + 1 + 31..];
    let part2 = auth_len.saturating_sub(8).max(13).min(tail.len());
    let mut second = tail[..part2].to_vec();
    if second.last() == Some(&0) {
        second.pop();
    }
    scramble.extend_from_slice(&second);
    let name = &tail[part2..];
    let nend = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    let plugin = match &name[..nend] {
        [] => "mysql_native_password".to_string(),
        n => String::from_utf8_lossy(n).into_owned(),
    };
    Ok(Greeting {
        version,
        scramble,
        plugin,
        capabilities,
    })
}

/// The login token for `plugin`; an empty password is empty for every plugin.
fn auth_response(plugin: &str, scramble: &[u8], password: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let pass = password.unwrap_or_default();
    if pass.is_empty() {
        return Ok(Vec::new());
    }
    match plugin {
        "mysql_native_password" => Ok(native_password(scramble, pass.as_bytes())),
        "caching_sha2_password" => Ok(caching_sha2_fast(scramble, pass.as_bytes())),
        _ => bail!(
            "the account logs in with `{plugin}`; arkc's replication client speaks \
             mysql_native_password and caching_sha2_password (fast path) only"
        ),
    }
}

/// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce).
fn caching_sha2_fast(nonce: &[u8], pass: &[u8]) -> Vec<u8> {
    let stage1 = Sha256::digest(pass);
    let stage2 = Sha256::digest(stage1);
    let mut h = Sha256::new();
    h.update(stage2);
    h.update(&nonce[..nonce.len().min(20)]);
    let key = h.finalize();
    stage1.iter().zip(key.iter()).map(|(a, b)| a ^ b).collect()
}

/// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
fn native_password(scramble: &[u8], pass: &[u8]) -> Vec<u8> {
    let stage1 = Sha1::digest(pass);
    let stage2 = Sha1::digest(stage1);
    let mut h = Sha1::new();
    h.update(&scramble[..scramble.len().min(20)]);
    h.update(stage2);
    let key = h.finalize();
    stage1.iter().zip(key.iter()).map(|(a, b)| a ^ b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_matches_the_documented_formula() {
        // Recomputed by hand from the formula: the token XOR SHA1(scramble+SHA1(SHA1(pw)))
        // must give back SHA1(pw), which is what the server checks.
        let scramble = b"abcdefghijklmnopqrst";
        let token = native_password(scramble, b"secret");
        let stage1 = Sha1::digest(b"secret");
        let mut h = Sha1::new();
        h.update(scramble);
        h.update(Sha1::digest(stage1));
        let key = h.finalize();
        let back: Vec<u8> = token.iter().zip(key.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(back, stage1.to_vec());
        assert_ne!(token, stage1.to_vec());
    }

    #[test]
    fn caching_sha2_token_unmasks_to_the_password_hash() {
        let nonce = b"0123456789abcdefghij";
        let token = caching_sha2_fast(nonce, b"secret");
        let stage1 = Sha256::digest(b"secret");
        let mut h = Sha256::new();
        h.update(Sha256::digest(stage1));
        h.update(nonce);
        let key = h.finalize();
        let back: Vec<u8> = token.iter().zip(key.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(back, stage1.to_vec());
        assert_eq!(token.len(), 32);
        assert!(auth_response("ed25519", nonce, Some("pw")).is_err());
        assert!(auth_response("ed25519", nonce, Some(""))
            .unwrap()
            .is_empty());
    }

    /// A greeting of a server that logs in with caching_sha2_password.
    fn sha2_greeting(caps: u32) -> Vec<u8> {
        let mut p = vec![10u8];
        p.extend_from_slice(b"8.4.0\0");
        p.extend_from_slice(&[1, 0, 0, 0]);
        p.extend_from_slice(b"abcdefgh");
        p.push(0);
        p.extend_from_slice(&(caps as u16).to_le_bytes());
        p.push(CHARSET);
        p.extend_from_slice(&[2, 0]);
        p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(b"ijklmnopqrst\0");
        p.extend_from_slice(b"caching_sha2_password\0");
        p
    }

    /// Plays a server that asks for the full exchange; returns what the client sent after it.
    async fn full_exchange(secure: bool) -> (anyhow::Result<Wire>, Vec<u8>) {
        let (client, server) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut wire = Wire {
                io: Box::new(server),
                seq: 0,
                server_version: String::new(),
                secure: false,
            };
            wire.write_packet(&sha2_greeting(CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH))
                .await
                .unwrap();
            let login = wire.read_packet().await.unwrap();
            assert!(login.windows(4).any(|w| w == b"repl"));
            wire.write_packet(&[0x01, 0x04]).await.unwrap();
            let Ok(clear) = wire.read_packet().await else {
                return Vec::new();
            };
            wire.write_packet(&[0, 0, 0, 2, 0, 0, 0]).await.unwrap();
            clear
        });
        let wire = Wire::handshake(Box::new(client), secure, None, "repl", Some("s3cret")).await;
        (wire, server.await.unwrap())
    }

    #[tokio::test]
    async fn full_caching_sha2_exchange_sends_the_password_only_when_secure() {
        let (wire, sent) = full_exchange(true).await;
        assert!(wire.is_ok(), "{:#}", wire.err().unwrap());
        assert_eq!(sent, b"s3cret\0");
        let (wire, sent) = full_exchange(false).await;
        let e = format!("{:#}", wire.err().expect("refused without TLS"));
        assert!(e.contains("tls = \"required\""), "{e}");
        assert!(sent.is_empty());
    }

    #[tokio::test]
    async fn tls_against_a_server_without_it_is_refused() {
        let (client, server) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let mut wire = Wire {
                io: Box::new(server),
                seq: 0,
                server_version: String::new(),
                secure: false,
            };
            let _ = wire
                .write_packet(&sha2_greeting(CLIENT_PROTOCOL_41 | CLIENT_PLUGIN_AUTH))
                .await;
            let _ = wire.read_packet().await;
        });
        let policy = crate::backend::tls::TlsPolicy {
            mode: crate::config::TlsMode::Required,
            ca: None,
        };
        let tls = TlsUpgrade {
            config: policy.client_config().unwrap().unwrap(),
            name: crate::backend::tls::server_name("127.0.0.1").unwrap(),
        };
        let e = Wire::handshake(Box::new(client), false, Some(tls), "repl", None).await;
        let e = format!("{:#}", e.err().expect("no TLS offered"));
        assert!(e.contains("offers no TLS"), "{e}");
    }

    #[test]
    fn greeting_cut_short_is_an_error_not_a_panic() {
        for cut in 0..40 {
            let mut p = vec![10u8];
            p.extend_from_slice(b"10.11.6-MariaDB\0");
            p.extend_from_slice(&[7u8; 60]);
            p.truncate(cut);
            let _ = parse_greeting(&p);
        }
        assert!(parse_greeting(b"\x0a10.11\0").is_err());
    }
}
