//! `fior_conn_*`: connections of an engine, and submitting commands to them.

use super::boundary::{boundary, with_engine_result};
use super::engine::FiorEngine;
use super::types::*;
use crate::conn::{parse_options, Address, Deadline, RawOption, Request, TlsOptions};
use crate::driver::{client_config, server_name, EngineGone, TlsClient, TlsSettings, BATCH_BIT, MAX_BATCH};
use std::time::Duration;

/// Register a connection described by `count` options (names and values as the user gave
/// them; see `fior_options_check`); `*conn` receives its id. It connects on `fior_conn_connect`
/// or on its first command. Refused options give `INVALID_ARGUMENT` and the reason in
/// `fior_engine_last_error`.
#[no_mangle]
pub extern "C" fn fior_conn_open(engine: *mut FiorEngine, options: *const FiorOption, count: usize, conn: *mut u64) -> FiorResult {
    with_engine_result!(engine, |e| {
        if (options.is_null() && count > 0) || conn.is_null() {
            return FiorResult::NullArgument;
        }
        // SAFETY: `options` holds `count` options valid for this call (caller's contract).
        let opened = unsafe { raw_options(options, count) }.and_then(|raw| {
            let o = parse_options(&raw)?;
            let tls = o.tls.as_ref().map(|t| tls_client(t, &o.config.address)).transpose()?;
            Ok((o.config, tls))
        });
        let (config, tls) = match opened {
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

thread_local! {
    /// Why the last `fior_options_check` on this thread refused its options.
    static CHECK_ERROR: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Check connection options without opening anything (no engine needed): `OK`, or
/// `INVALID_ARGUMENT` with the reason in `fior_options_last_error`. Every option's default and
/// rule lives behind this call (Rust `conn::options`); the caller passes what the user gave.
#[no_mangle]
pub extern "C" fn fior_options_check(options: *const FiorOption, count: usize) -> FiorResult {
    boundary(FiorResult::Panic, || {
        if options.is_null() && count > 0 {
            return FiorResult::NullArgument;
        }
        // SAFETY: `options` holds `count` options valid for this call (caller's contract).
        let checked = unsafe { raw_options(options, count) }.and_then(|raw| parse_options(&raw).map(|_| ()));
        match checked {
            Ok(()) => FiorResult::Ok,
            Err(why) => {
                CHECK_ERROR.with(|e| *e.borrow_mut() = why);
                FiorResult::InvalidArgument
            }
        }
    })
}

/// Why the last `fior_options_check` of this thread refused its options: a view valid until the
/// next such call on this thread. Never contains a password.
#[no_mangle]
pub extern "C" fn fior_options_last_error() -> FiorSlice {
    boundary(FiorSlice::EMPTY, || CHECK_ERROR.with(|e| FiorSlice::of(e.borrow().as_bytes())))
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
                Ok(r) if r.pubsub.is_some() => {
                    e.last_error = format!("{} cannot be part of a pipeline: subscribe on a client of its own", r.name);
                    return FiorResult::InvalidArgument;
                }
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

/// The state of connection `conn` that its next user would not expect, as bits of
/// `FiorConnFlag` in `*flags` (0: ready, idle, no transaction, no watched keys), as of the last
/// turn. `INVALID_ARGUMENT` when the engine holds no such connection (released, or never opened).
#[no_mangle]
pub extern "C" fn fior_conn_flags(engine: *mut FiorEngine, conn: u64, flags: *mut u32) -> FiorResult {
    with_engine_result!(engine, |e| {
        if flags.is_null() {
            return FiorResult::NullArgument;
        }
        let Some(f) = e.engine.conn_flags(conn) else {
            e.last_error = format!("no connection {conn}");
            return FiorResult::InvalidArgument;
        };
        // SAFETY: non-null and writable (caller's contract).
        unsafe { *flags = f };
        FiorResult::Ok
    })
}

/// Connection `conn`'s commands without their reply yet, as of the last turn: `*inflight`
/// written and waiting for it, `*waiting` not written yet (waiting for the connection, for room
/// under pipeline_depth, or out a retry delay). `INVALID_ARGUMENT` when the engine holds no
/// such connection.
#[no_mangle]
pub extern "C" fn fior_conn_pending(engine: *mut FiorEngine, conn: u64, inflight: *mut u64, waiting: *mut u64) -> FiorResult {
    with_engine_result!(engine, |e| {
        if inflight.is_null() || waiting.is_null() {
            return FiorResult::NullArgument;
        }
        let Some((sent, queued)) = e.engine.conn_pending(conn) else {
            e.last_error = format!("no connection {conn}");
            return FiorResult::InvalidArgument;
        };
        // SAFETY: both non-null and writable (caller's contract).
        unsafe {
            *inflight = sent as u64;
            *waiting = queued as u64;
        }
        FiorResult::Ok
    })
}

fn status(r: Result<(), EngineGone>) -> FiorResult {
    match r {
        Ok(()) => FiorResult::Ok,
        Err(_) => FiorResult::EngineStopped,
    }
}

/// Command lines of up to this many words need no allocation to be looked at.
const STACK_ARGS: usize = 16;

/// # Safety
/// `argv` must point to `argc` slices, each pointing to `len` readable bytes (or NULL with
/// length 0), all valid for the duration of the call.
unsafe fn request_from(token: u64, timeout: f64, argc: usize, argv: *const FiorSlice) -> Result<Request, String> {
    caller_token(token)?;
    if argc == 0 || argv.is_null() {
        return Err("no command given".into());
    }
    let slices = std::slice::from_raw_parts(argv, argc);
    // The usual short command line is viewed from the stack (no allocation per command).
    let mut on_stack: [&[u8]; STACK_ARGS] = [&[]; STACK_ARGS];
    let mut on_heap: Vec<&[u8]>;
    let args: &mut [&[u8]] = if argc <= STACK_ARGS {
        &mut on_stack[..argc]
    } else {
        on_heap = vec![&[]; argc];
        &mut on_heap
    };
    for (arg, s) in args.iter_mut().zip(slices) {
        *arg = bytes(*s).ok_or("an argument is a NULL pointer with a length")?;
    }
    let args = &*args;
    let deadline = if timeout.is_nan() || timeout < 0.0 {
        Ok(Deadline::Default)
    } else if timeout == 0.0 {
        Ok(Deadline::Never)
    } else {
        Duration::try_from_secs_f64(timeout).map(Deadline::After).map_err(|_| "invalid timeout")
    };
    // A command that cannot be sent is refused first, whatever its timeout.
    let request = Request::checked(token, args, deadline.unwrap_or(Deadline::Default)).map_err(|why| {
        let name = String::from_utf8_lossy(&args[0][..args[0].len().min(32)]).to_ascii_uppercase();
        format!("{name} {why}")
    })?;
    let deadline = deadline?;
    Ok(Request { deadline, ..request })
}

/// # Safety
/// `s.ptr` must be NULL (then `s.len` must be 0) or point to `s.len` readable bytes.
unsafe fn bytes<'a>(s: FiorSlice) -> Option<&'a [u8]> {
    if s.ptr.is_null() {
        return (s.len == 0).then_some(&[]);
    }
    Some(std::slice::from_raw_parts(s.ptr, s.len))
}

/// # Safety
/// `options` must point to `count` options whose slices are NULL with length 0 or point to
/// `len` readable bytes, all valid for the duration of the call.
unsafe fn raw_options<'a>(options: *const FiorOption, count: usize) -> Result<Vec<RawOption<'a>>, String> {
    if count == 0 {
        return Ok(Vec::new());
    }
    std::slice::from_raw_parts(options, count)
        .iter()
        .map(|o| {
            Ok(RawOption {
                name: bytes(o.name).ok_or("an option name is a NULL pointer with a length")?,
                value: bytes(o.value).ok_or("an option value is a NULL pointer with a length")?,
                is_ref: o.is_ref,
            })
        })
        .collect()
}

/// The TLS client for checked TLS options (reads the certificate files).
fn tls_client(t: &TlsOptions, address: &Address) -> Result<TlsClient, String> {
    let Address::Tcp { host, .. } = address else {
        return Err("TLS needs a TCP connection (host and port), not a unix socket".into());
    };
    let settings = TlsSettings {
        ca_file: t.ca_file.clone(),
        cert_file: t.cert_file.clone(),
        key_file: t.key_file.clone(),
        verify: t.verify,
    };
    let name = t.server_name.clone().unwrap_or_else(|| host.clone());
    Ok(TlsClient { config: client_config(&settings)?, name: server_name(&name)? })
}
