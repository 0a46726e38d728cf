//! Everything a connection needs to know to reach its server and behave.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp { host: String, port: u16 },
    Unix { path: std::path::PathBuf },
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix { path } => write!(f, "{}", path.display()),
        }
    }
}

/// Credentials and session settings replayed on every (re)connect.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Handshake {
    pub username: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
    pub database: Option<u32>,
    pub client_name: Option<Vec<u8>>,
}

impl std::fmt::Debug for Handshake {
    // Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("username", &self.username.as_ref().map(|u| String::from_utf8_lossy(u).into_owned()))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("client_name", &self.client_name.as_ref().map(|u| String::from_utf8_lossy(u).into_owned()))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reconnect {
    pub enabled: bool,
    pub delay: Duration,
    pub delay_max: Duration,
    /// Each delay is multiplied by a random factor in `1 ± jitter`.
    pub jitter: f64,
}

/// Sending a command again: after a reply that means "not executed, try later" (LOADING, BUSY,
/// MASTERDOWN, TRYAGAIN), and, for read-only commands, after the connection was lost while it
/// was in flight. Bounded by the command's deadline and by `max_attempts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub enabled: bool,
    /// Delay before the first retry; doubles each time up to `delay_max`.
    pub delay: Duration,
    pub delay_max: Duration,
    pub max_attempts: u32,
}

impl Retry {
    /// The delay before retry number `attempt + 1`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let d = self.delay.as_secs_f64() * 2f64.powi(attempt.min(30) as i32);
        Duration::from_secs_f64(d.min(self.delay_max.as_secs_f64()))
    }
}

#[derive(Debug, Clone)]
pub struct ConnConfig {
    pub address: Address,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
    pub blocking_timeout_buffer: Duration,
    pub handshake: Handshake,
    /// Per-command deadlines by upper-case name, with subcommand ("DEBUG SLEEP") or without
    /// ("SLOWLOG"); `None` means no deadline. They replace `request_timeout` (and the
    /// blocking-command rule) for those commands.
    pub timeouts: std::collections::HashMap<String, Option<Duration>>,
    pub reconnect: Reconnect,
    pub retry: Retry,
    /// Commands that may wait for a connection; more fail at once with `Disconnected`.
    pub queue_size: usize,
    /// Most commands written and waiting for their replies at once; later ones wait, in order,
    /// until replies make room. 0: no limit.
    pub pipeline_depth: usize,
    /// Bytes read per read call.
    pub read_buffer_size: usize,
    /// Longest bulk string accepted in a reply (Redis' own `proto-max-bulk-len` default,
    /// 512 MB, unless configured): a longer one is a protocol error on this connection as soon
    /// as its header arrives, before any memory is set aside for it.
    pub max_bulk_len: usize,
    /// Commands smaller than a quarter of this are packed together into one write buffer;
    /// larger ones are written from their own buffer without another copy.
    pub write_buffer_size: usize,
}

impl ConnConfig {
    pub fn new(address: Address) -> Self {
        ConnConfig {
            address,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            request_timeout: Some(Duration::from_secs(5)),
            blocking_timeout_buffer: Duration::from_secs(2),
            handshake: Handshake::default(),
            timeouts: std::collections::HashMap::new(),
            reconnect: Reconnect {
                enabled: true,
                delay: Duration::from_millis(100),
                delay_max: Duration::from_secs(60),
                jitter: 0.25,
            },
            retry: Retry {
                enabled: true,
                delay: Duration::from_millis(50),
                delay_max: Duration::from_secs(1),
                max_attempts: 10,
            },
            queue_size: 1000,
            pipeline_depth: 0,
            read_buffer_size: 64 * 1024,
            max_bulk_len: crate::protocol::DEFAULT_MAX_BULK_LEN,
            write_buffer_size: 64 * 1024,
        }
    }
}
