//! A loopback port with nothing listening, for an instance that must look down. A port found by
//! binding port 0 and letting go may be taken by another test's server a moment later (the
//! "down" instance then answers); this one stays bound, never listening, until the test process
//! ends.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpSocket;

/// A port that refuses connections and that no other process can bind (the socket has no
/// SO_REUSEADDR, which a second bind would need on Linux). The socket is kept open on purpose:
/// each test is a short process of its own.
pub fn refused_port() -> u16 {
    let socket = TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("bind a loopback port");
    let port = socket.local_addr().expect("bound address").port();
    std::mem::forget(socket);
    port
}
