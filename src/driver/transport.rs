//! The byte pipe under a connection: a TCP or unix-domain stream, or TLS over TCP.

use super::tls::{Handshake, TlsStream};
use crate::conn::Address;
use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

pub enum Transport {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<TlsStream>),
}

/// What a connection needs to speak TLS: the client configuration (built once, when the
/// connection is opened) and the name the server's certificate must carry.
#[derive(Clone)]
pub struct TlsClient {
    pub config: std::sync::Arc<rustls::ClientConfig>,
    pub name: rustls::pki_types::ServerName<'static>,
}

/// Where a connect attempt stands.
pub enum Progress {
    /// Still connecting; wait for the next writable event.
    Pending,
    Connected,
    Failed(io::Error),
}

/// One place to try to connect to.
#[derive(Debug, Clone)]
pub enum Target {
    Tcp(SocketAddr),
    Unix(std::path::PathBuf),
}

impl Transport {
    /// Start a nonblocking connect.
    pub fn connect(target: &Target) -> io::Result<Transport> {
        match target {
            Target::Tcp(addr) => TcpStream::connect(*addr).map(Transport::Tcp),
            Target::Unix(path) => UnixStream::connect(path).map(Transport::Unix),
        }
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        match self {
            Transport::Tcp(s) => registry.register(s, token, interest),
            Transport::Unix(s) => registry.register(s, token, interest),
            Transport::Tls(t) => registry.register(&mut t.sock, token, interest),
        }
    }

    pub fn deregister(&mut self, registry: &Registry) {
        let _ = match self {
            Transport::Tcp(s) => registry.deregister(s),
            Transport::Unix(s) => registry.deregister(s),
            Transport::Tls(t) => registry.deregister(&mut t.sock),
        };
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Transport::Tcp(s) => s.as_raw_fd(),
            Transport::Unix(s) => s.as_raw_fd(),
            Transport::Tls(t) => t.sock.as_raw_fd(),
        }
    }

    /// After a writable (or error) event on a connecting socket: did the connect finish?
    pub fn progress(&self) -> Progress {
        let (err, peer) = match self {
            Transport::Tcp(s) => (s.take_error(), s.peer_addr().map(|_| ())),
            Transport::Unix(s) => (s.take_error(), s.peer_addr().map(|_| ())),
            Transport::Tls(t) => (t.sock.take_error(), t.sock.peer_addr().map(|_| ())),
        };
        match (err, peer) {
            (Ok(Some(e)), _) | (Err(e), _) => Progress::Failed(e),
            (Ok(None), Ok(())) => Progress::Connected,
            (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => Progress::Pending,
            (Ok(None), Err(e)) if e.raw_os_error() == Some(libc::EINPROGRESS) => Progress::Pending,
            (Ok(None), Err(e)) => Progress::Failed(e),
        }
    }

    /// Socket options for an established TCP connection: no Nagle delay, and keep-alive probes
    /// so that a peer that vanished without a FIN is eventually noticed even when idle.
    pub fn tune(&self) {
        let s = match self {
            Transport::Tcp(s) => s,
            Transport::Tls(t) => &t.sock,
            Transport::Unix(_) => return,
        };
        {
            let _ = s.set_nodelay(true);
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(60))
                .with_interval(Duration::from_secs(10));
            let _ = socket2::SockRef::from(s).set_tcp_keepalive(&ka);
        }
    }

    /// Wrap an established TCP connection in a TLS session (the handshake starts with
    /// `handshake`). The socket keeps its registration. On error the socket is closed.
    pub fn start_tls(self, tls: &TlsClient) -> Result<Transport, String> {
        match self {
            Transport::Tcp(sock) => TlsStream::new(sock, tls.config.clone(), tls.name.clone())
                .map(|t| Transport::Tls(Box::new(t))),
            _ => Err("TLS needs a TCP connection".into()),
        }
    }

    /// Move a TLS handshake forward (plain transports have none).
    pub fn handshake(&mut self) -> Handshake {
        match self {
            Transport::Tls(t) => t.handshake(),
            _ => Handshake::Done,
        }
    }

    /// Whether a short read proves the socket drained (not so for TLS: a record may be split).
    pub fn short_read_drains(&self) -> bool {
        !matches!(self, Transport::Tls(_))
    }

    /// Write buffered TLS records (after a writable event); nothing for plain transports.
    pub fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Tls(t) => t.flush(),
            _ => Ok(()),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(buf),
            Transport::Unix(s) => s.read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write_vectored(bufs),
            Transport::Unix(s) => s.write_vectored(bufs),
            Transport::Tls(t) => t.write_vectored(bufs),
        }
    }
}

/// Addresses to try for `address`, without blocking when it is an IP literal.
pub fn literal_addrs(address: &Address) -> Option<Vec<SocketAddr>> {
    match address {
        Address::Tcp { host, port } => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            h.parse::<std::net::IpAddr>().ok().map(|ip| vec![SocketAddr::new(ip, *port)])
        }
        Address::Unix { .. } => None,
    }
}
