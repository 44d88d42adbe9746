//! A loopback port with nothing listening, for an instance that must look down. A port found by
//! binding port 0 and letting go may be taken by another test's server a moment later (the
//! "down" instance then answers); this one stays bound, never listening, while the guard lives.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpSocket;

/// Holds the port: connections to it are refused, and no other process can bind it (the socket
/// has no SO_REUSEADDR, which a second bind would need on Linux).
pub struct RefusedPort {
    _socket: TcpSocket,
    pub port: u16,
}

pub fn refused_port() -> RefusedPort {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("bind a loopback port");
    let port = socket.local_addr().expect("bound address").port();
    RefusedPort {
        _socket: socket,
        port,
    }
}
