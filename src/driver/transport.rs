//! The byte pipe under a connection: a TCP or unix-domain stream, or TLS over TCP.

use super::nosignal::{self, NoSignal};
use super::tls::{Handshake, TlsStream};
use crate::conn::Address;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The sockets are std's (nonblocking), registered with the Poll by descriptor: std's streams
/// read into a buffer's uninitialised spare capacity (see `read_append`), mio's do not.
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
            Target::Tcp(addr) => {
                let s: TcpStream = mio::net::TcpStream::connect(*addr)?.into();
                nosignal::prepare(&s);
                Ok(Transport::Tcp(s))
            }
            Target::Unix(path) => {
                let s: UnixStream = mio::net::UnixStream::connect(path)?.into();
                nosignal::prepare(&s);
                Ok(Transport::Unix(s))
            }
        }
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut SourceFd(&self.fd()), token, Interest::READABLE | Interest::WRITABLE)
    }

    pub fn deregister(&mut self, registry: &Registry) {
        let _ = registry.deregister(&mut SourceFd(&self.fd()));
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

    /// Whether `read_append` reads straight into a buffer's spare capacity: plain sockets do;
    /// TLS does not (rustls' reader would have the spare capacity zeroed first on every call,
    /// which costs as much as the copy it saves).
    pub fn reads_into_spare(&self) -> bool {
        !matches!(self, Transport::Tls(_))
    }

    /// Append at most `limit` bytes to `buf`, read straight into its spare capacity (std's
    /// `read_to_end` over `take`: std's sockets read into uninitialised memory safely). `limit`
    /// must not exceed `buf`'s spare capacity, so that `buf` never reallocates here. Returns the
    /// bytes appended, and how the read stopped: `Ok(true)` at the limit (more may be waiting),
    /// `Ok(false)` at the end of the stream, `Err` on an error, `WouldBlock` included (what was
    /// read before it is kept in `buf` and counted). TLS transports do not read this way.
    pub fn read_append(&mut self, buf: &mut Vec<u8>, limit: usize) -> (usize, io::Result<bool>) {
        debug_assert!(limit <= buf.capacity() - buf.len());
        let before = buf.len();
        let got = match self {
            Transport::Tcp(s) => Read::take(&*s, limit as u64).read_to_end(buf),
            Transport::Unix(s) => Read::take(&*s, limit as u64).read_to_end(buf),
            // Not used for TLS (see `reads_into_spare`): the engine reads it through `read`.
            Transport::Tls(_) => Err(io::ErrorKind::Unsupported.into()),
        };
        let n = buf.len() - before;
        match got {
            Ok(_) if n == limit && limit > 0 => (n, Ok(true)),
            Ok(_) => (n, Ok(false)),
            Err(e) => (n, Err(e)),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => (&*s).read(buf),
            Transport::Unix(s) => (&*s).read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }

    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => NoSignal(s).write_vectored(bufs),
            Transport::Unix(s) => NoSignal(s).write_vectored(bufs),
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
