//! arkc's own replication client: lists a server's binlogs and streams their events as a
//! replica would, handing the raw bytes (checksums included) to the binlog engine, which
//! frames and decodes them exactly as it does files.

mod wire;

use std::time::Duration;

use anyhow::{bail, Context};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use tokio::net::{TcpStream, UnixStream};

use crate::backend::tls::{failure_hint, server_name, TlsPolicy};
use crate::config::{resolve_password, InstanceConfig, TlsMode};
pub use arkc_binlog::pipeline::Arrival;
use wire::{TlsFailure, TlsUpgrade, Wire};

/// The replica id arkc announces unless `--server-id` says otherwise: high, so it does not
/// meet real servers, whose ids are usually small. Two dump connections with one id clash
/// (MariaDB 10.11 refuses the newer, older servers drop the older), so the default moves
/// to a free id when this one is taken.
pub const DEFAULT_SERVER_ID: u32 = 4_026_531_840;
/// COM_BINLOG_DUMP flag: send EOF at the end of the last binlog instead of waiting.
const DUMP_NON_BLOCK: u16 = 1;
/// MariaDB COM_BINLOG_DUMP flag: send ANNOTATE_ROWS events (the original statements).
const DUMP_SEND_ANNOTATE_ROWS: u16 = 2;
/// MariaDB slave capability 4 (GTID): GTID, GTID_LIST and checkpoint events as themselves.
const MARIADB_SLAVE_CAPABILITY: u32 = 4;
/// Heartbeat interval asked for when following; 5 s of silence means the server is gone.
const HEARTBEAT: Duration = Duration::from_secs(1);
const SILENCE_LIMIT: Duration = Duration::from_secs(5);
/// Without --follow the server sends without pause; this long a wait means it hangs.
const READ_LIMIT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

const ROTATE_EVENT: u8 = 4;
const FORMAT_DESCRIPTION_EVENT: u8 = 15;
const HEARTBEAT_EVENT: u8 = 27;
const HEARTBEAT_EVENT_V2: u8 = 41;

/// A server to stream from: driver options (TLS included, for the SQL side), the TLS policy
/// of the dump connection, and a label for messages.
#[derive(Clone)]
pub struct StreamServer {
    pub opts: Opts,
    pub label: String,
    pub tls: TlsPolicy,
}

impl StreamServer {
    /// From a URL; `?require_ssl=true&verify_ca=false` encrypts like tls = "required". A URL
    /// cannot name a CA file, so verifying one needs a configured instance.
    pub fn from_url(url: &str) -> anyhow::Result<StreamServer> {
        let opts =
            Opts::from_url(url).context("bad --url (expected mysql://user:pass@host:port)")?;
        let tls = match opts.ssl_opts() {
            None => TlsPolicy::off(),
            Some(ssl) if ssl.accept_invalid_certs() => TlsPolicy {
                mode: TlsMode::Required,
                ca: None,
            },
            Some(_) => bail!(
                "--url asks to verify the server's certificate, but a URL cannot name the CA \
                 file: add `verify_ca=false` to only encrypt, or use --instance with \
                 tls = \"verify_ca\" and `ca` in the config"
            ),
        };
        let label = match opts.socket() {
            Some(sock) => sock.to_string(),
            None => format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port()),
        };
        Ok(StreamServer { opts, label, tls })
    }

    /// From a configured instance (password resolved now).
    pub fn from_instance(inst: &InstanceConfig) -> anyhow::Result<StreamServer> {
        let password = resolve_password(inst)?;
        let opts = Opts::from(crate::backend::connect::opts_for(inst, password)?);
        Ok(StreamServer {
            opts,
            label: format!("{} ({})", inst.name, inst.address()),
            tls: TlsPolicy {
                mode: inst.tls,
                ca: inst.ca.clone(),
            },
        })
    }

    /// An SQL connection to the server (TLS as configured; a TLS failure says what to fix).
    pub async fn sql_conn(&self) -> anyhow::Result<Conn> {
        crate::backend::connect::connect_within(self.opts.clone(), &self.label, CONNECT_TIMEOUT)
            .await
            .map_err(|e| self.explain_tls(e))
    }

    /// Adds what to fix to a failure that TLS caused.
    fn explain_tls(&self, e: anyhow::Error) -> anyhow::Error {
        match failure_hint(&self.tls, &format!("{e:#}")) {
            Some(hint) => e.context(format!("{}: {hint}", self.label)),
            None => e,
        }
    }

    /// The TLS upgrade for the dump connection: TCP only (a Unix socket stays on the host and
    /// is not encrypted, as the stock client and the driver do).
    fn tls_upgrade(&self) -> anyhow::Result<Option<TlsUpgrade>> {
        if self.opts.socket().is_some() {
            return Ok(None);
        }
        let config = self
            .tls
            .client_config()
            .with_context(|| format!("TLS for {}", self.label))?;
        Ok(match config {
            None => None,
            Some(config) => Some(TlsUpgrade {
                config,
                name: server_name(self.opts.ip_or_hostname())?,
            }),
        })
    }

    async fn dump_wire(&self) -> anyhow::Result<Wire> {
        let open = async {
            let io: Box<dyn wire::Io> = match self.opts.socket() {
                Some(sock) => Box::new(UnixStream::connect(sock).await?),
                None => {
                    let addr = (self.opts.ip_or_hostname(), self.opts.tcp_port());
                    let tcp = TcpStream::connect(addr).await?;
                    tcp.set_nodelay(true)?;
                    Box::new(tcp)
                }
            };
            anyhow::Ok(io)
        };
        let io = match tokio::time::timeout(CONNECT_TIMEOUT, open).await {
            Ok(Ok(io)) => io,
            Ok(Err(e)) => bail!("cannot connect to {}: {e}", self.label),
            Err(_) => bail!("no answer from {} within {CONNECT_TIMEOUT:?}", self.label),
        };
        let user = self.opts.user().unwrap_or("root");
        let on_socket = self.opts.socket().is_some();
        let login = Wire::handshake(io, on_socket, self.tls_upgrade()?, user, self.opts.pass());
        match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
            Ok(Ok(wire)) => Ok(wire),
            Ok(Err(e)) => {
                let e = e.context(format!("logging in to {}", self.label));
                let tls = e.chain().any(|c| c.is::<TlsFailure>())
                    || format!("{e:#}").contains("offers no TLS");
                Err(if tls { self.explain_tls(e) } else { e })
            }
            Err(_) => bail!(
                "{} did not finish the login within {CONNECT_TIMEOUT:?}",
                self.label
            ),
        }
    }
}

/// One row of SHOW BINARY LOGS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogFileInfo {
    pub name: String,
    pub size: u64,
}

/// What to stream and how.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    /// Empty: the server's first binlog.
    pub start_file: String,
    pub start_pos: u32,
    /// None: `DEFAULT_SERVER_ID`, or the next id not in use.
    pub server_id: Option<u32>,
    /// Keep waiting for new events instead of stopping at the current end.
    pub follow: bool,
}

/// The server's binlogs, oldest first.
pub async fn list_binlogs(server: &StreamServer) -> anyhow::Result<Vec<BinlogFileInfo>> {
    let mut conn = server.sql_conn().await?;
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .with_context(|| format!("SHOW BINARY LOGS on {} (is log_bin on?)", server.label))?;
    conn.disconnect().await.ok();
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(BinlogFileInfo {
                name: r.get_opt::<String, _>(0)?.ok()?,
                size: r.get_opt::<u64, _>(1).and_then(Result::ok).unwrap_or(0),
            })
        })
        .collect())
}

/// The replica id to announce: the asked one (refused if taken), else the first free id
/// from `DEFAULT_SERVER_ID` up. Taken: the server's own id and every registered replica's.
pub async fn choose_server_id(server: &StreamServer, asked: Option<u32>) -> anyhow::Result<u32> {
    let mut conn = server.sql_conn().await?;
    let own: Option<u32> = conn.query_first("SELECT @@server_id").await?;
    // MySQL 8.4 dropped SHOW SLAVE HOSTS; MariaDB and older MySQL lack SHOW REPLICAS.
    let hosts: Vec<mysql_async::Row> = match conn.query("SHOW SLAVE HOSTS").await {
        Ok(rows) => rows,
        Err(_) => conn.query("SHOW REPLICAS").await.unwrap_or_default(),
    };
    conn.disconnect().await.ok();
    let mut taken: Vec<u32> = hosts
        .iter()
        .filter_map(|r| r.get_opt::<u32, _>(0).and_then(Result::ok))
        .collect();
    taken.extend(own);
    pick_server_id(asked, &taken).with_context(|| format!("on {}", server.label))
}

fn pick_server_id(asked: Option<u32>, taken: &[u32]) -> anyhow::Result<u32> {
    match asked {
        Some(0) => bail!("--server-id 0 is refused by servers for replicas; pick another"),
        Some(id) if taken.contains(&id) => bail!(
            "--server-id {id} is already used by the server or one of its replicas \
             (SHOW SLAVE HOSTS); streaming with it would disconnect that replica"
        ),
        Some(id) => Ok(id),
        None => (DEFAULT_SERVER_ID..=u32::MAX)
            .find(|id| !taken.contains(id))
            .context("no free server id"),
    }
}

/// Streams events into `deliver` until the current end (or forever when following); stops
/// early, without error, when `deliver` returns false (the consumer is gone).
pub async fn stream_binlog(
    server: &StreamServer,
    req: &StreamRequest,
    deliver: &mut (dyn FnMut(Arrival) -> bool + Send),
) -> anyhow::Result<()> {
    let (mut wire, server_id) = start_dump(server, req).await?;
    let mut pos = StreamPosition::new(&req.start_file, req.start_pos);
    let read_limit = if req.follow {
        SILENCE_LIMIT
    } else {
        READ_LIMIT
    };
    loop {
        let mut packet = match tokio::time::timeout(read_limit, wire.read_packet()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(pos.broken(&server.label, e)),
            Err(_) => {
                let e = anyhow::anyhow!("no data or heartbeat for {read_limit:?}");
                return Err(pos.broken(&server.label, e));
            }
        };
        match packet.first() {
            Some(0x00) => {}
            // The end of a non-blocking dump; while following, the server is going away.
            Some(0xfe) if packet.len() < 9 && !req.follow => return Ok(()),
            Some(0xfe) if packet.len() < 9 => {
                let e = anyhow::anyhow!("the server ended the stream (shutting down?)");
                return Err(pos.broken(&server.label, e));
            }
            Some(0xff) => {
                let mut text = wire::err_text(&packet);
                if text.contains("same server_uuid/server_id") {
                    text += &format!(
                        " (another replication connection took server id {server_id}; \
                         pass a --server-id of your own)"
                    );
                }
                return Err(pos.broken(&server.label, anyhow::anyhow!("{text}")));
            }
            _ => return Err(pos.broken(&server.label, anyhow::anyhow!("unexpected packet"))),
        }
        packet.remove(0);
        let arrivals = pos
            .place(packet)
            .map_err(|e| pos.broken(&server.label, e))?;
        for a in arrivals {
            if !deliver(a) {
                return Ok(());
            }
        }
    }
}

/// Logs in, announces what a MariaDB replica would, and sends COM_BINLOG_DUMP.
async fn start_dump(server: &StreamServer, req: &StreamRequest) -> anyhow::Result<(Wire, u32)> {
    let server_id = choose_server_id(server, req.server_id).await?;
    let mut wire = server.dump_wire().await?;
    // Events then keep the checksums they have in the file, which the engine verifies.
    wire.exec("SET @master_binlog_checksum = @@global.binlog_checksum")
        .await?;
    let mut flags = if req.follow { 0 } else { DUMP_NON_BLOCK };
    if wire.server_version.contains("MariaDB") {
        wire.exec(&format!(
            "SET @mariadb_slave_capability = {MARIADB_SLAVE_CAPABILITY}"
        ))
        .await?;
        flags |= DUMP_SEND_ANNOTATE_ROWS;
    }
    if req.follow {
        let ns = HEARTBEAT.as_nanos();
        wire.exec(&format!("SET @master_heartbeat_period = {ns}"))
            .await?;
    }
    // Registered, the stream shows in SHOW SLAVE HOSTS, so the next arkc takes another id
    // (a newer dump with the same id makes the server drop the older one).
    wire.register_replica(server_id, "arkc").await?;
    wire.request_dump(&req.start_file, req.start_pos, flags, server_id)
        .await?;
    Ok((wire, server_id))
}

/// Where the stream is: the file, and the end of the last event read in it.
struct StreamPosition {
    file: String,
    end: u64,
    /// The file the consumer was last told about.
    announced: Option<String>,
}

impl StreamPosition {
    fn new(file: &str, pos: u32) -> Self {
        StreamPosition {
            file: file.to_string(),
            end: pos as u64,
            announced: None,
        }
    }

    fn broken(&self, label: &str, cause: anyhow::Error) -> anyhow::Error {
        let file = if self.file.is_empty() {
            "(before the first event)"
        } else {
            &self.file
        };
        anyhow::anyhow!(
            "binlog stream from {label} broke after {file}:{}: {cause:#}",
            self.end
        )
    }

    /// Turns one event into arrivals: a fake ROTATE switches file, heartbeats and other
    /// artificial events (log_pos 0) are dropped, a real event gets its file offset.
    fn place(&mut self, event: Vec<u8>) -> anyhow::Result<Vec<Arrival>> {
        let Some(head) = event.first_chunk::<19>() else {
            bail!("event of {} bytes is shorter than its header", event.len());
        };
        let type_code = head[4];
        let size = u32::from_le_bytes([head[9], head[10], head[11], head[12]]) as u64;
        let log_pos = u32::from_le_bytes([head[13], head[14], head[15], head[16]]);
        match type_code {
            HEARTBEAT_EVENT | HEARTBEAT_EVENT_V2 => return Ok(vec![Arrival::Idle]),
            ROTATE_EVENT if log_pos == 0 => return Ok(self.fake_rotate(&event)),
            FORMAT_DESCRIPTION_EVENT if log_pos == 0 => {
                // Resent when the dump starts past the header; it lives at offset 4.
                self.end = self.end.max(4 + size);
                return Ok(vec![Arrival::Event {
                    offset: 4,
                    data: event,
                }]);
            }
            _ if log_pos == 0 => return Ok(Vec::new()),
            _ => {}
        }
        let end = widen(log_pos, self.end);
        let offset = end
            .checked_sub(size)
            .with_context(|| format!("event ends at {end} but is {size} bytes long"))?;
        self.end = end;
        Ok(vec![Arrival::Event {
            offset,
            data: event,
        }])
    }

    fn fake_rotate(&mut self, event: &[u8]) -> Vec<Arrival> {
        let body = &event[19..];
        let n = body.len();
        // The checksum (if any) is not announced yet: strip 4 bytes when they are a CRC32.
        let name_end = if n >= 12
            && crc32fast::hash(&event[..event.len() - 4]).to_le_bytes() == event[event.len() - 4..]
        {
            n - 4
        } else {
            n
        };
        let name = String::from_utf8_lossy(body.get(8..name_end).unwrap_or_default()).into_owned();
        let pos = body
            .first_chunk::<8>()
            .map(|p| u64::from_le_bytes(*p))
            .unwrap_or(4);
        self.file = name.clone();
        self.end = pos;
        if self.announced.as_ref() == Some(&name) {
            return Vec::new();
        }
        self.announced = Some(name.clone());
        vec![Arrival::File(name)]
    }
}

/// The 64-bit end offset for a 32-bit log_pos, given the previous end (files over 4 GiB).
fn widen(log_pos: u32, previous: u64) -> u64 {
    let candidate = (previous & !0xffff_ffff) | log_pos as u64;
    if candidate < previous {
        candidate + (1 << 32)
    } else {
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(type_code: u8, log_pos: u32, body: &[u8]) -> Vec<u8> {
        let size = (19 + body.len()) as u32;
        let mut e = vec![0, 0, 0, 0, type_code, 1, 0, 0, 0];
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&log_pos.to_le_bytes());
        e.extend_from_slice(&[0, 0]);
        e.extend_from_slice(body);
        e
    }

    fn rotate(name: &str, pos: u64, crc: bool) -> Vec<u8> {
        let mut body = pos.to_le_bytes().to_vec();
        body.extend_from_slice(name.as_bytes());
        if crc {
            body.extend_from_slice(&[0; 4]);
            let mut e = event(ROTATE_EVENT, 0, &body);
            let n = e.len() - 4;
            let c = crc32fast::hash(&e[..n]).to_le_bytes();
            e[n..].copy_from_slice(&c);
            return e;
        }
        event(ROTATE_EVENT, 0, &body)
    }

    #[test]
    fn fake_rotate_switches_file_with_or_without_checksum() {
        for crc in [false, true] {
            let mut pos = StreamPosition::new("", 4);
            let got = pos.place(rotate("mysql-bin.000002", 4, crc)).unwrap();
            assert_eq!(got, vec![Arrival::File("mysql-bin.000002".into())]);
            let q = event(2, 4 + 19 + 10, &[0; 10]);
            match &pos.place(q).unwrap()[..] {
                [Arrival::Event { offset, .. }] => assert_eq!(*offset, 4),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn heartbeats_and_artificial_events_carry_no_offset() {
        let mut pos = StreamPosition::new("b.000001", 4);
        assert_eq!(
            pos.place(event(HEARTBEAT_EVENT, 500, b"b.000001")).unwrap(),
            vec![Arrival::Idle]
        );
        assert!(pos.place(event(0xa3, 0, &[0; 8])).unwrap().is_empty());
        let fde = pos
            .place(event(FORMAT_DESCRIPTION_EVENT, 0, &[0; 100]))
            .unwrap();
        assert!(matches!(fde[..], [Arrival::Event { offset: 4, .. }]));
    }

    #[test]
    fn log_pos_smaller_than_the_event_is_an_error() {
        let mut pos = StreamPosition::new("b.000001", 4);
        assert!(pos.place(event(2, 10, &[0; 30])).is_err());
        assert!(pos.place(vec![0; 5]).is_err());
    }

    #[test]
    fn log_pos_wraps_past_4_gib() {
        assert_eq!(widen(100, 4), 100);
        assert_eq!(widen(50, u32::MAX as u64 - 10), (1 << 32) + 50);
        assert_eq!(widen(200, (1 << 32) + 50), (1 << 32) + 200);
    }

    #[test]
    fn server_id_default_avoids_taken_ids_and_asked_id_is_checked() {
        assert_eq!(pick_server_id(None, &[1, 2]).unwrap(), DEFAULT_SERVER_ID);
        assert_eq!(
            pick_server_id(None, &[1, DEFAULT_SERVER_ID]).unwrap(),
            DEFAULT_SERVER_ID + 1
        );
        assert!(pick_server_id(Some(2), &[1, 2]).is_err());
        assert!(pick_server_id(Some(0), &[1]).is_err());
        assert_eq!(pick_server_id(Some(7), &[1, 2]).unwrap(), 7);
    }
}
