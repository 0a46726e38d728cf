//! A connection's options as the user gave them (name and value, both bytes), checked and
//! turned into a [`ConnConfig`]. This is the one home of every connection option's default and
//! of the rule for its values: the Perl side passes what the user wrote, and a bad value is
//! refused here with a message that names the option and the value.
//!
//! Names: the options of `Future::IO::Redis->new` that concern the connection; a hash option is
//! passed flattened, one entry per key: `timeout.DEBUG SLEEP` => `120`, `tls.ca_file` => path.
//! A value the caller could only pass as a reference (an array, a code ref) comes with `is_ref`
//! set and is refused for every option but the hashes.

use super::config::{Address, ConnConfig};
use std::path::PathBuf;
use std::time::Duration;

/// One option as given.
#[derive(Debug, Clone, Copy)]
pub struct RawOption<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// The value was a reference (not a string or number) where the caller gave it.
    pub is_ref: bool,
}

/// What TLS needs beyond the connection's configuration (files are read when the connection
/// is opened).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub verify: bool,
    /// The name the certificate must carry; the host when absent.
    pub server_name: Option<String>,
}

/// Checked options: the connection's configuration, and TLS when asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: ConnConfig,
    pub tls: Option<TlsOptions>,
}

const SECONDS: &[&str] = &[
    "connect_timeout",
    "read_timeout",
    "write_timeout",
    "request_timeout",
    "blocking_timeout_buffer",
    "reconnect_delay",
    "reconnect_delay_max",
];
const COUNTS: &[&str] = &["queue_size", "pipeline_depth", "read_buffer_size", "write_buffer_size", "max_bulk_len"];
const TLS_KEYS: &[&str] = &["ca_file", "cert_file", "key_file", "verify", "server_name"];

/// Check `given` and build the configuration. The first problem found is the error, worded for
/// the user ("port must be an integer from 1 to 65535, not '0'"); a password is never quoted.
pub fn parse(given: &[RawOption<'_>]) -> Result<Options, String> {
    let mut host: Option<String> = None;
    let mut port: Option<u16> = None;
    let mut path: Option<PathBuf> = None;
    let mut c = ConnConfig::new(Address::Tcp { host: String::new(), port: 0 });
    let mut tls_on = false;
    let mut tls_hash = false;
    let mut tls = TlsOptions { verify: true, ..TlsOptions::default() };

    for o in given {
        let name = std::str::from_utf8(o.name).map_err(|_| "an option name is not UTF-8".to_string())?;
        let shown = || show(o.value);
        if let Some(key) = name.strip_prefix("timeout.") {
            let command = key.split_whitespace().map(|w| w.to_ascii_uppercase()).collect::<Vec<_>>().join(" ");
            if command.is_empty() || command.split(' ').count() > 2 {
                return Err(format!("timeout names a command of at most two words, not '{key}'"));
            }
            let secs = seconds(o).ok_or_else(|| format!("timeout for '{key}' must be a number of seconds >= 0"))?;
            c.timeouts.insert(command, secs);
            continue;
        }
        if let Some(key) = name.strip_prefix("tls.") {
            if !TLS_KEYS.contains(&key) {
                return Err(format!("unknown tls option '{key}'"));
            }
            tls_on = true;
            tls_hash = true;
            match key {
                "verify" => tls.verify = truthy(o.value),
                "server_name" => {
                    let n = text(o).ok_or("tls server_name must be a UTF-8 string")?;
                    tls.server_name = (!n.is_empty()).then_some(n);
                }
                file => {
                    let p = file_path(o).ok_or_else(|| format!("tls {file} must be a file name"))?;
                    if !readable_file(&p) {
                        return Err(format!("tls {file} '{}' is not a readable file", p.display()));
                    }
                    match file {
                        "ca_file" => tls.ca_file = Some(p),
                        "cert_file" => tls.cert_file = Some(p),
                        _ => tls.key_file = Some(p),
                    }
                }
            }
            continue;
        }
        match name {
            "host" => {
                let h = text(o).filter(|h| !h.is_empty()).ok_or("host must be a non-empty string")?;
                host = Some(h);
            }
            "port" => {
                let p = integer(o)
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| format!("port must be an integer from 1 to 65535, not '{}'", shown()))?;
                port = Some(p);
            }
            "path" => {
                let p = file_path(o).filter(|p| !p.as_os_str().is_empty()).ok_or("path must be a non-empty string")?;
                path = Some(p);
            }
            n if SECONDS.contains(&n) => {
                let secs = seconds(o).ok_or_else(|| format!("{n} must be a number of seconds >= 0, not '{}'", shown()))?;
                match n {
                    "connect_timeout" => c.connect_timeout = secs,
                    "read_timeout" => c.read_timeout = secs,
                    "write_timeout" => c.write_timeout = secs,
                    "request_timeout" => c.request_timeout = secs,
                    "blocking_timeout_buffer" => c.blocking_timeout_buffer = secs.unwrap_or_default(),
                    "reconnect_delay" => {
                        if let Some(d) = secs {
                            c.reconnect.delay = d;
                        }
                    }
                    _ => {
                        if let Some(d) = secs {
                            c.reconnect.delay_max = d;
                        }
                    }
                }
            }
            n if COUNTS.contains(&n) => {
                let v = integer(o)
                    .and_then(|v| usize::try_from(v).ok())
                    .ok_or_else(|| format!("{n} must be a non-negative integer, not '{}'", shown()))?;
                match n {
                    "queue_size" => c.queue_size = v,
                    "pipeline_depth" => c.pipeline_depth = v,
                    // 0: the default.
                    "read_buffer_size" if v > 0 => c.read_buffer_size = v,
                    "write_buffer_size" if v > 0 => c.write_buffer_size = v,
                    "max_bulk_len" if v > 0 => c.max_bulk_len = v,
                    _ => {}
                }
            }
            "reconnect_jitter" => {
                let j = number(o)
                    .filter(|j| (0.0..=1.0).contains(j))
                    .ok_or("reconnect_jitter must be between 0 and 1")?;
                c.reconnect.jitter = j;
            }
            "reconnect" => c.reconnect.enabled = !o.is_ref && truthy(o.value),
            "retry" => {
                c.retry.enabled = match o.value {
                    b"exponential" if !o.is_ref => true,
                    b"none" | b"0" if !o.is_ref => false,
                    _ => return Err("retry must be 'exponential', 'none' (or 0) or a code reference".into()),
                };
            }
            "database" => {
                let db = integer(o)
                    .and_then(|d| u32::try_from(d).ok())
                    .ok_or_else(|| format!("database must be a non-negative integer, not '{}'", shown()))?;
                c.handshake.database = Some(db);
            }
            "client_name" => {
                if o.is_ref || o.value.iter().any(|b| b.is_ascii_whitespace()) {
                    return Err("client_name must not contain spaces or newlines".into());
                }
                c.handshake.client_name = Some(o.value.to_vec());
            }
            "username" => {
                if o.is_ref {
                    return Err("username must be a string".into());
                }
                c.handshake.username = Some(o.value.to_vec());
            }
            "password" => {
                if o.is_ref {
                    return Err("password must be a string".into());
                }
                c.handshake.password = Some(o.value.to_vec());
            }
            "timeout" => return Err("timeout must be a hash of command => seconds".into()),
            "tls" => {
                if o.is_ref {
                    return Err("tls must be 1 or a hash of ca_file, cert_file, key_file, verify, server_name".into());
                }
                tls_on = truthy(o.value);
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }

    if c.handshake.username.is_some() && c.handshake.password.is_none() {
        return Err("username needs a password (AUTH username password)".into());
    }
    c.address = match path {
        Some(path) => Address::Unix { path },
        None => Address::Tcp { host: host.unwrap_or_else(|| "localhost".into()), port: port.unwrap_or(6379) },
    };
    let tls = if tls_on || tls_hash {
        if matches!(c.address, Address::Unix { .. }) {
            return Err("TLS needs host and port, not a unix socket path".into());
        }
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err("tls cert_file and key_file go together (mutual TLS needs both)".into());
        }
        Some(tls)
    } else {
        None
    };
    Ok(Options { config: c, tls })
}

/// Perl's truth: false for "" and "0", true for anything else.
fn truthy(v: &[u8]) -> bool {
    !(v.is_empty() || v == b"0")
}

fn text(o: &RawOption<'_>) -> Option<String> {
    if o.is_ref {
        return None;
    }
    String::from_utf8(o.value.to_vec()).ok()
}

fn file_path(o: &RawOption<'_>) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    (!o.is_ref).then(|| std::ffi::OsString::from_vec(o.value.to_vec()).into())
}

fn readable_file(p: &std::path::Path) -> bool {
    p.is_file() && std::fs::File::open(p).is_ok()
}

/// A decimal number written the way Perl's options are: digits, an optional fraction and
/// exponent, no sign.
fn number(o: &RawOption<'_>) -> Option<f64> {
    if o.is_ref {
        return None;
    }
    let s = std::str::from_utf8(o.value).ok()?;
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let ok_mantissa = match frac {
        None => !int.is_empty() && digits(int),
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
    };
    let ok_exponent = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(ok_mantissa && ok_exponent) {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A non-negative integer (digits only).
fn integer(o: &RawOption<'_>) -> Option<u64> {
    if o.is_ref || o.value.is_empty() || !o.value.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(o.value).ok()?.parse().ok()
}

/// Seconds: a number >= 0; 0 means "none".
fn seconds(o: &RawOption<'_>) -> Option<Option<Duration>> {
    let s = number(o)?;
    Some((s > 0.0).then(|| Duration::from_secs_f64(s.min(1e9))))
}

fn show(v: &[u8]) -> String {
    String::from_utf8_lossy(&v[..v.len().min(64)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt<'a>(name: &'a str, value: &'a str) -> RawOption<'a> {
        RawOption { name: name.as_bytes(), value: value.as_bytes(), is_ref: false }
    }

    fn err(given: &[RawOption<'_>]) -> String {
        parse(given).expect_err("should be refused")
    }

    #[test]
    fn defaults_live_here() {
        let o = parse(&[]).unwrap();
        let c = o.config;
        assert_eq!(c.address, Address::Tcp { host: "localhost".into(), port: 6379 });
        assert_eq!(c.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(c.read_timeout, Some(Duration::from_secs(30)));
        assert_eq!(c.request_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.blocking_timeout_buffer, Duration::from_secs(2));
        assert!(c.reconnect.enabled && c.retry.enabled);
        assert_eq!(c.queue_size, 1000);
        assert_eq!(c.max_bulk_len, crate::protocol::DEFAULT_MAX_BULK_LEN);
        assert!(o.tls.is_none());
    }

    #[test]
    fn values_are_taken_and_zero_means_none() {
        let o = parse(&[
            opt("host", "127.0.0.1"),
            opt("port", "7000"),
            opt("request_timeout", "0"),
            opt("connect_timeout", "1.5"),
            opt("reconnect", "0"),
            opt("retry", "none"),
            opt("database", "3"),
            opt("timeout.debug  sleep", "120"),
            opt("pipeline_depth", "8"),
        ])
        .unwrap();
        let c = o.config;
        assert_eq!(c.address, Address::Tcp { host: "127.0.0.1".into(), port: 7000 });
        assert_eq!(c.request_timeout, None);
        assert_eq!(c.connect_timeout, Some(Duration::from_millis(1500)));
        assert!(!c.reconnect.enabled && !c.retry.enabled);
        assert_eq!(c.handshake.database, Some(3));
        assert_eq!(c.timeouts.get("DEBUG SLEEP"), Some(&Some(Duration::from_secs(120))));
        assert_eq!(c.pipeline_depth, 8);
    }

    #[test]
    fn a_path_replaces_host_and_port() {
        let o = parse(&[opt("host", "h"), opt("path", "/tmp/r.sock")]).unwrap();
        assert_eq!(o.config.address, Address::Unix { path: "/tmp/r.sock".into() });
        assert!(err(&[opt("path", "/tmp/r.sock"), opt("tls", "1")]).contains("not a unix socket"));
    }

    #[test]
    fn bad_values_are_refused_with_the_option_named() {
        assert_eq!(err(&[opt("port", "0")]), "port must be an integer from 1 to 65535, not '0'");
        assert!(err(&[opt("port", "65536")]).contains("port"));
        assert!(err(&[opt("port", "abc")]).contains("port"));
        assert_eq!(err(&[opt("request_timeout", "-1")]), "request_timeout must be a number of seconds >= 0, not '-1'");
        assert!(err(&[opt("read_timeout", "soon")]).contains("read_timeout"));
        assert!(err(&[opt("database", "-1")]).contains("database"));
        assert!(err(&[opt("timeout.DEBUG SLEEP", "-1")]).contains("timeout for 'DEBUG SLEEP'"));
        assert!(err(&[opt("timeout.A B C", "1")]).contains("at most two words"));
        assert!(err(&[opt("reconnect_jitter", "2")]).contains("between 0 and 1"));
        assert!(err(&[opt("client_name", "a b")]).contains("spaces"));
        assert!(err(&[opt("queue_size", "1.5")]).contains("queue_size must be a non-negative integer"));
        assert!(err(&[opt("retry", "sometimes")]).contains("retry must be"));
        assert_eq!(err(&[opt("colour", "blue")]), "unknown option 'colour'");
        assert_eq!(err(&[opt("tls.colour", "blue")]), "unknown tls option 'colour'");
        assert!(err(&[opt("tls.ca_file", "/nonexistent/ca.pem")]).contains("not a readable file"));
        assert!(err(&[opt("username", "alice")]).contains("needs a password"));
        let host_ref = RawOption { name: b"host", value: b"ARRAY(0x1)", is_ref: true };
        assert!(err(&[host_ref]).contains("host must be a non-empty string"));
        assert!(err(&[opt("timeout", "5")]).contains("hash"));
    }

    #[test]
    fn numbers_are_written_as_perl_options_are() {
        let n = |s: &str| number(&opt("x", s));
        assert_eq!(n("5"), Some(5.0));
        assert_eq!(n("0.25"), Some(0.25));
        assert_eq!(n(".5"), Some(0.5));
        assert_eq!(n("5."), Some(5.0));
        assert_eq!(n("1e3"), Some(1000.0));
        assert_eq!(n("-1"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("."), None);
        assert_eq!(n("1e"), None);
        assert_eq!(n("inf"), None);
        assert_eq!(n("0x10"), None);
    }

    #[test]
    fn a_password_is_never_quoted() {
        let given = [opt("password", "hunter2"), opt("port", "x")];
        assert!(!err(&given).contains("hunter2"));
    }
}
