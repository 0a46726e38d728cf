//! `fior_conn_*`: connections of an engine, and submitting commands to them.

use super::boundary::with_engine_result;
use super::engine::FiorEngine;
use super::types::*;
use crate::conn::{unsupported_mode, Address, ConnConfig, Deadline, Handshake, Reconnect, Request};
use crate::driver::{client_config, server_name, EngineGone, TlsClient, TlsSettings, BATCH_BIT, MAX_BATCH};
use std::time::Duration;

/// Register a connection described by `options`; `*conn` receives its id. It connects on
/// `fior_conn_connect` or on its first command.
#[no_mangle]
pub extern "C" fn fior_conn_open(engine: *mut FiorEngine, options: *const FiorConnOptions, conn: *mut u64) -> FiorResult {
    with_engine_result!(engine, |e| {
        if options.is_null() || conn.is_null() {
            return FiorResult::NullArgument;
        }
        // SAFETY: non-null, points to a valid FiorConnOptions for this call (caller's contract).
        let o = unsafe { &*options };
        let (config, tls) = match config_from(o) {
            Ok(c) => c,
            Err(why) => {
                e.last_error = why;
                return FiorResult::InvalidArgument;
            }
        };
        match e.engine.open(config, tls) {
            Ok(id) => {
                // SAFETY: non-null and writable (caller's contract).
                unsafe { *conn = id };
                FiorResult::Ok
            }
            Err(_) => FiorResult::EngineStopped,
        }
    })
}

/// Connect; `token` completes (Done or Failed) when the connection is ready or the attempt failed.
#[no_mangle]
pub extern "C" fn fior_conn_connect(engine: *mut FiorEngine, conn: u64, token: u64) -> FiorResult {
    with_engine_result!(engine, |e| status(e.engine.connect(conn, token)))
}

/// Submit one command (`argc` arguments, the name first). `timeout`: seconds; negative for the
/// connection's default, 0 for none. `token` completes with its reply or failure.
#[no_mangle]
pub extern "C" fn fior_conn_submit(
    engine: *mut FiorEngine,
    conn: u64,
    token: u64,
    timeout: f64,
    argc: usize,
    argv: *const FiorSlice,
) -> FiorResult {
    with_engine_result!(engine, |e| {
        // SAFETY: `argv` holds `argc` slices valid for this call (caller's contract).
        let request = match unsafe { request_from(token, timeout, argc, argv) } {
            Ok(r) => r,
            Err(why) => {
                e.last_error = why;
                return FiorResult::InvalidArgument;
            }
        };
        status(e.engine.submit(conn, request))
    })
}

/// Submit `count` commands at once: they are written together, in order.
#[no_mangle]
pub extern "C" fn fior_conn_submit_many(
    engine: *mut FiorEngine,
    conn: u64,
    count: usize,
    commands: *const FiorCommand,
) -> FiorResult {
    with_engine_result!(engine, |e| {
        if count == 0 {
            return FiorResult::Ok;
        }
        if commands.is_null() {
            return FiorResult::NullArgument;
        }
        // SAFETY: `commands` holds `count` commands valid for this call (caller's contract).
        let cmds = unsafe { std::slice::from_raw_parts(commands, count) };
        let mut requests = Vec::with_capacity(count);
        for c in cmds {
            // SAFETY: as above, each command's argv holds argc slices.
            match unsafe { request_from(c.token, c.timeout, c.argc, c.argv) } {
                Ok(r) => requests.push(r),
                Err(why) => {
                    e.last_error = why;
                    return FiorResult::InvalidArgument;
                }
            }
        }
        status(e.engine.submit_many(conn, requests))
    })
}

/// Submit `count` commands as one batch (a pipeline): they are written together, in order, and
/// `token` completes once, when all of them did, with a completion of kind
/// `FIOR_COMPLETION_KIND_BATCH` carrying one result per command in order (a reply, an error
/// reply included, or a failure); see `fior_engine_batch_item`. With `count` 0 it completes at
/// the next turn with no results. `commands` (and their arguments) are borrowed for the call.
/// Tokens with the top bit set are reserved for the engine's own use: `token` must not have it.
#[no_mangle]
pub extern "C" fn fior_conn_submit_batch(
    engine: *mut FiorEngine,
    conn: u64,
    token: u64,
    count: usize,
    commands: *const FiorBatchCommand,
) -> FiorResult {
    with_engine_result!(engine, |e| {
        if count > 0 && commands.is_null() {
            return FiorResult::NullArgument;
        }
        if let Err(why) = caller_token(token) {
            e.last_error = why;
            return FiorResult::InvalidArgument;
        }
        if count > MAX_BATCH {
            e.last_error = format!("a pipeline holds at most {MAX_BATCH} commands");
            return FiorResult::InvalidArgument;
        }
        let cmds: &[FiorBatchCommand] = if count == 0 {
            &[]
        } else {
            // SAFETY: `commands` is non-NULL and holds `count` commands valid for this call
            // (caller's contract).
            unsafe { std::slice::from_raw_parts(commands, count) }
        };
        let mut requests = Vec::with_capacity(count);
        for c in cmds {
            // SAFETY: as above, each command's argv holds argc slices. The token given here is
            // replaced by the engine's own.
            match unsafe { request_from(0, c.timeout, c.argc, c.argv) } {
                Ok(r) => requests.push(r),
                Err(why) => {
                    e.last_error = why;
                    return FiorResult::InvalidArgument;
                }
            }
        }
        status(e.engine.submit_batch(conn, token, requests))
    })
}

/// A token a caller may use: not one of the engine's own (the top bit set).
fn caller_token(token: u64) -> Result<(), String> {
    if token & BATCH_BIT != 0 {
        return Err(format!("token {token:#x} has the top bit set, which is reserved for the engine"));
    }
    Ok(())
}

/// Close the connection now (see the Perl `disconnect`). When `has_token`, `token` completes
/// with Done once closed.
#[no_mangle]
pub extern "C" fn fior_conn_close(engine: *mut FiorEngine, conn: u64, token: u64, has_token: bool) -> FiorResult {
    let token = has_token.then_some(token);
    with_engine_result!(engine, |e| status(e.engine.close(conn, token)))
}

/// Release the connection: commands already issued still complete, then it closes and its id
/// becomes invalid.
#[no_mangle]
pub extern "C" fn fior_conn_drop(engine: *mut FiorEngine, conn: u64) -> FiorResult {
    with_engine_result!(engine, |e| status(e.engine.release(conn)))
}

fn status(r: Result<(), EngineGone>) -> FiorResult {
    match r {
        Ok(()) => FiorResult::Ok,
        Err(_) => FiorResult::EngineStopped,
    }
}

/// # Safety
/// `argv` must point to `argc` slices, each pointing to `len` readable bytes (or NULL with
/// length 0), all valid for the duration of the call.
unsafe fn request_from(token: u64, timeout: f64, argc: usize, argv: *const FiorSlice) -> Result<Request, String> {
    caller_token(token)?;
    if argc == 0 || argv.is_null() {
        return Err("no command given".into());
    }
    let slices = std::slice::from_raw_parts(argv, argc);
    let mut args: Vec<&[u8]> = Vec::with_capacity(argc);
    for s in slices {
        args.push(bytes(*s).ok_or("an argument is a NULL pointer with a length")?);
    }
    if let Some(why) = unsupported_mode(&args) {
        let name = String::from_utf8_lossy(&args[0][..args[0].len().min(32)]).to_ascii_uppercase();
        return Err(format!("{name} {why}"));
    }
    let deadline = if timeout.is_nan() || timeout < 0.0 {
        Deadline::Default
    } else if timeout == 0.0 {
        Deadline::Never
    } else {
        Deadline::After(Duration::try_from_secs_f64(timeout).map_err(|_| "invalid timeout")?)
    };
    Ok(Request::new(token, &args, deadline))
}

/// # Safety
/// `s.ptr` must be NULL (then `s.len` must be 0) or point to `s.len` readable bytes.
unsafe fn bytes<'a>(s: FiorSlice) -> Option<&'a [u8]> {
    if s.ptr.is_null() {
        return (s.len == 0).then_some(&[]);
    }
    Some(std::slice::from_raw_parts(s.ptr, s.len))
}

/// Present (non-NULL) slice → owned bytes.
fn owned(s: FiorSlice) -> Option<Vec<u8>> {
    if s.ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL slices point to `len` readable bytes (caller's contract).
    Some(unsafe { std::slice::from_raw_parts(s.ptr, s.len) }.to_vec())
}

fn seconds(s: f64) -> Option<Duration> {
    (s.is_finite() && s > 0.0).then(|| Duration::from_secs_f64(s.min(1e9)))
}

/// The connection's configuration, and its TLS client when it speaks TLS; or what is wrong.
fn config_from(o: &FiorConnOptions) -> Result<(ConnConfig, Option<TlsClient>), String> {
    let address = match owned(o.path) {
        Some(path) if !path.is_empty() => {
            use std::os::unix::ffi::OsStringExt;
            Address::Unix { path: std::ffi::OsString::from_vec(path).into() }
        }
        _ => {
            let host = owned(o.host).and_then(|h| String::from_utf8(h).ok()).unwrap_or_default();
            if host.is_empty() {
                return Err("host must be a non-empty UTF-8 name".into());
            }
            if o.port == 0 {
                return Err("port must be from 1 to 65535".into());
            }
            Address::Tcp { host, port: o.port }
        }
    };
    let tls = if o.tls { Some(tls_client(o, &address)?) } else { None };
    let config = conn_config(o, address).ok_or("invalid per-command timeout (name or seconds)")?;
    Ok((config, tls))
}

fn path_of(s: FiorSlice) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    owned(s).filter(|p| !p.is_empty()).map(|p| std::ffi::OsString::from_vec(p).into())
}

fn tls_client(o: &FiorConnOptions, address: &Address) -> Result<TlsClient, String> {
    let Address::Tcp { host, .. } = address else {
        return Err("TLS needs a TCP connection (host and port), not a unix socket".into());
    };
    let settings = TlsSettings {
        ca_file: path_of(o.tls_ca_file),
        cert_file: path_of(o.tls_cert_file),
        key_file: path_of(o.tls_key_file),
        verify: o.tls_verify,
    };
    let name = match owned(o.tls_server_name).filter(|n| !n.is_empty()) {
        Some(n) => String::from_utf8(n).map_err(|_| "TLS: server_name must be UTF-8".to_string())?,
        None => host.clone(),
    };
    Ok(TlsClient { config: client_config(&settings)?, name: server_name(&name)? })
}

fn conn_config(o: &FiorConnOptions, address: Address) -> Option<ConnConfig> {
    let mut c = ConnConfig::new(address);
    c.connect_timeout = seconds(o.connect_timeout);
    c.read_timeout = seconds(o.read_timeout);
    c.write_timeout = seconds(o.write_timeout);
    c.request_timeout = seconds(o.request_timeout);
    c.blocking_timeout_buffer = seconds(o.blocking_timeout_buffer).unwrap_or_default();
    c.handshake = Handshake {
        username: owned(o.username),
        password: owned(o.password),
        database: u32::try_from(o.database).ok(),
        client_name: owned(o.client_name),
    };
    c.reconnect = Reconnect {
        enabled: o.reconnect,
        delay: seconds(o.reconnect_delay).unwrap_or(Duration::from_millis(100)),
        delay_max: seconds(o.reconnect_delay_max).unwrap_or(Duration::from_secs(60)),
        jitter: if o.reconnect_jitter.is_finite() { o.reconnect_jitter.clamp(0.0, 1.0) } else { 0.0 },
    };
    if !o.timeouts.is_null() && o.timeouts_len > 0 {
        // SAFETY: `timeouts` holds `timeouts_len` entries valid for this call (caller's contract).
        let entries = unsafe { std::slice::from_raw_parts(o.timeouts, o.timeouts_len) };
        for t in entries {
            let name = String::from_utf8(owned(t.name)?).ok()?;
            let key = name.split_whitespace().map(|w| w.to_ascii_uppercase()).collect::<Vec<_>>().join(" ");
            if key.is_empty() || !t.seconds.is_finite() || t.seconds < 0.0 {
                return None;
            }
            c.timeouts.insert(key, seconds(t.seconds));
        }
    }
    c.retry.enabled = o.retry;
    c.queue_size = usize::try_from(o.queue_size).unwrap_or(usize::MAX);
    c.pipeline_depth = usize::try_from(o.pipeline_depth).unwrap_or(usize::MAX);
    if o.read_buffer_size > 0 {
        c.read_buffer_size = usize::try_from(o.read_buffer_size).unwrap_or(c.read_buffer_size);
    }
    if o.max_bulk_len > 0 {
        c.max_bulk_len = usize::try_from(o.max_bulk_len).unwrap_or(usize::MAX);
    }
    if o.write_buffer_size > 0 {
        c.write_buffer_size = usize::try_from(o.write_buffer_size).unwrap_or(c.write_buffer_size);
    }
    Some(c)
}
