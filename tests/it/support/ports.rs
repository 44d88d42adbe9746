//! Loopback ports for tests that run beside many others: one with nothing listening, for an
//! instance that must look down, and one kept free for a server the test has started later. A
//! port found by binding port 0 and letting go may be taken by another test's server a moment
//! later (the "down" instance then answers, the deploy finds its port in use).
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

/// A loopback port for a server the test has someone else start later (a deployed MariaDB, an
/// exporter): free now and kept free for this test. A port found by binding port 0 comes from the
/// kernel's ephemeral range, where every sandbox and every outgoing connection of the parallel
/// tests also takes its ports, so it may be gone by the time the server binds it. This one lies
/// below that range, and a lock held until the test process ends keeps other tests (all taking
/// ports here) off it.
pub fn reserved_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral_low.max(10_100));
    let span = u32::from(high - low);
    let dir = std::env::temp_dir().join("arkc-test-ports");
    std::fs::create_dir_all(&dir).expect("the port lock directory");
    let start = rand::random::<u32>() % span;
    for i in 0..span {
        let port = low + ((start + i) % span) as u16;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{port}.lock")))
            .expect("a port lock file");
        match lock.try_lock() {
            Ok(()) => {}
            Err(_) => continue, // another test holds it
        }
        if std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue; // something outside the tests has it
        }
        // Held until the process ends (each test is a process of its own under nextest).
        std::mem::forget(lock);
        return port;
    }
    panic!("no free loopback port between {low} and {high}");
}
