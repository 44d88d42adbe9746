//! A TCP relay the test owns between arkc and a sandbox server, to lose a server's answers
//! on purpose: a statement or COMMIT that runs on the server without its answer reaching arkc.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One relayed connection: its flags, arkc's side, and the server's side (kept open here).
struct Relayed {
    hold: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    client: TcpStream,
    _server: TcpStream,
}

/// A TCP relay between arkc and the server; `hold` makes the open connections drop what the
/// server sends from then on (new connections pass freely): a statement that runs on the
/// server without its answer ever reaching arkc. `cut_clients` then closes arkc's side of
/// them while the server's side stays open, so the server keeps running the statement.
pub struct Relay {
    pub port: u16,
    held: Arc<Mutex<Vec<Relayed>>>,
}

impl Relay {
    pub fn start(server_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let held: Arc<Mutex<Vec<Relayed>>> = Arc::default();
        let h = held.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                    return;
                };
                let (hold, cut) = (
                    Arc::new(AtomicBool::new(false)),
                    Arc::new(AtomicBool::new(false)),
                );
                h.lock().unwrap().push(Relayed {
                    hold: hold.clone(),
                    cut: cut.clone(),
                    client: client.try_clone().unwrap(),
                    _server: server.try_clone().unwrap(),
                });
                let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let never = Arc::new(AtomicBool::new(false));
                pipe(up.0, up.1, never, cut);
                pipe(server, client, hold, Arc::new(AtomicBool::new(false)));
            }
        });
        Relay { port, held }
    }

    pub fn hold_open_connections(&self) {
        for r in self.held.lock().unwrap().iter() {
            r.hold.store(true, Ordering::SeqCst);
        }
    }

    pub fn cut_clients(&self) {
        for r in self.held.lock().unwrap().iter() {
            r.cut.store(true, Ordering::SeqCst);
            let _ = r.client.shutdown(Shutdown::Both);
        }
    }
}

/// Copy `from` to `to` (dropping what comes while `hold`); at the end close `to`, unless the
/// end came from `cut` (arkc's side closed on purpose: the server's side stays open).
fn pipe(mut from: TcpStream, mut to: TcpStream, hold: Arc<AtomicBool>, cut: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) if !hold.load(Ordering::SeqCst) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
            }
        }
        if !cut.load(Ordering::SeqCst) {
            let _ = to.shutdown(Shutdown::Both);
        }
    });
}
