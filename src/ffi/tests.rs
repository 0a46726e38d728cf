//! The C ABI's contract for bad input: NULL handles and pointers, invalid arguments, panics.
//! No redis-server is needed: connections are only opened, never used.

use super::boundary::{boundary, with_engine_result};
use super::*;
use std::ffi::CStr;
use std::ptr;

fn engine() -> *mut FiorEngine {
    let mut e: *mut FiorEngine = ptr::null_mut();
    assert_eq!(fior_engine_new(&mut e), FiorResult::Ok);
    assert!(!e.is_null());
    e
}

fn opt(name: &'static str, value: &'static str) -> FiorOption {
    FiorOption { name: FiorSlice::of(name.as_bytes()), value: FiorSlice::of(value.as_bytes()), is_ref: false }
}

fn options(host: &'static str, port: &'static str) -> Vec<FiorOption> {
    vec![opt("host", host), opt("port", port), opt("connect_timeout", "1"), opt("reconnect", "0")]
}

#[test]
fn null_handles_are_refused_not_dereferenced() {
    let null: *mut FiorEngine = ptr::null_mut();
    assert_eq!(fior_engine_new(ptr::null_mut()), FiorResult::NullArgument);
    fior_engine_free(null);
    assert_eq!(fior_engine_fd(null), -1);
    assert!(!fior_engine_busy(null));
    assert!(!fior_engine_wait_readable(null, 0.0));
    assert_eq!(fior_engine_external_timeout(null), -1.0);
    assert_eq!(fior_engine_pid(null), 0);
    assert!(!fior_engine_is_running(null));
    assert_eq!(fior_engine_outstanding(null), 0);
    fior_engine_turn(null);
    fior_engine_guard_fd(null, 3);
    fior_engine_unguard_fd(null, 3);
    let mut c = FiorCompletion::empty();
    assert!(!fior_engine_next(null, &mut c));
    let mut t = 0u64;
    assert!(!fior_engine_next_orphan(null, &mut t));
    assert!(fior_engine_last_error(null).ptr.is_null());
    let o = options("127.0.0.1", "6379");
    let mut id = 0u64;
    // A NULL handle is told apart from a panic.
    assert_eq!(fior_conn_open(null, o.as_ptr(), o.len(), &mut id), FiorResult::NullArgument);
    assert_eq!(fior_conn_connect(null, 1, 2), FiorResult::NullArgument);
    assert_eq!(fior_conn_close(null, 1, 2, true), FiorResult::NullArgument);
    assert_eq!(fior_conn_drop(null, 1), FiorResult::NullArgument);
    let argv = [FiorSlice::of(b"PING")];
    assert_eq!(fior_conn_submit(null, 1, 2, -1.0, 1, argv.as_ptr()), FiorResult::NullArgument);
    assert_eq!(fior_conn_submit_batch(null, 1, 2, 0, ptr::null()), FiorResult::NullArgument);
    assert!(!fior_engine_batch_item(null, 0, &mut c));
    let mut owned = FiorOwnedBytes { ptr: ptr::null_mut(), len: 0, capacity: 0 };
    assert!(!fior_engine_take_bulk(null, &mut owned));
    let e = engine();
    assert!(!fior_engine_take_bulk(e, ptr::null_mut()));
    assert!(!fior_engine_take_bulk(e, &mut owned), "no completion: nothing to take");
    assert!(owned.ptr.is_null(), "left alone");
    fior_engine_free(e);
    let mut flags = 0u32;
    assert_eq!(fior_conn_flags(null, 1, &mut flags), FiorResult::NullArgument);
    let (mut a, mut b) = (0u64, 0u64);
    assert_eq!(fior_conn_pending(null, 1, &mut a, &mut b), FiorResult::NullArgument);
}

#[test]
fn conn_flags_of_a_live_engine() {
    let e = engine();
    let mut flags = 99u32;
    assert_eq!(fior_conn_flags(e, 12345, &mut flags), FiorResult::InvalidArgument, "no such connection");
    assert_eq!(flags, 99);
    let o = options("127.0.0.1", "6379");
    let mut id = 0u64;
    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), &mut id), FiorResult::Ok);
    assert_eq!(fior_conn_flags(e, id, ptr::null_mut()), FiorResult::NullArgument);
    assert_eq!(fior_conn_flags(e, id, &mut flags), FiorResult::Ok);
    assert_eq!(flags, FiorConnFlag::NotConnected as u32, "opened, not connected");
    let (mut sent, mut waiting) = (9u64, 9u64);
    assert_eq!(fior_conn_pending(e, 12345, &mut sent, &mut waiting), FiorResult::InvalidArgument);
    assert_eq!(fior_conn_pending(e, id, ptr::null_mut(), &mut waiting), FiorResult::NullArgument);
    assert_eq!(fior_conn_pending(e, id, &mut sent, &mut waiting), FiorResult::Ok);
    assert_eq!((sent, waiting), (0, 0));
    assert_eq!(fior_conn_drop(e, id), FiorResult::Ok);
    fior_engine_free(e);
}

#[test]
fn conn_flags_of_the_abi_are_the_engines() {
    use crate::conn::session_flags as f;
    let pairs = [
        (FiorConnFlag::InMulti, f::IN_MULTI),
        (FiorConnFlag::Watching, f::WATCHING),
        (FiorConnFlag::Subscribed, f::SUBSCRIBED),
        (FiorConnFlag::Pending, f::PENDING),
        (FiorConnFlag::Blocking, f::BLOCKING_COMMAND),
        (FiorConnFlag::MultiOpen, f::MULTI_OPEN),
        (FiorConnFlag::NotConnected, f::NOT_CONNECTED),
    ];
    for (abi, engine) in pairs {
        assert_eq!(abi as u32, engine, "{abi:?}");
    }
}

#[test]
fn null_and_invalid_arguments_on_a_live_engine() {
    let e = engine();
    assert!(fior_engine_is_running(e));
    assert!(fior_engine_fd(e) > 2);
    assert!(!fior_engine_busy(e));
    fior_engine_turn(e);
    assert_eq!(fior_engine_pid(e), std::process::id());
    let mut id = 0u64;
    assert_eq!(fior_conn_open(e, ptr::null(), 1, &mut id), FiorResult::NullArgument);
    let o = options("127.0.0.1", "6379");
    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), ptr::null_mut()), FiorResult::NullArgument);

    let bad_port = options("127.0.0.1", "0");
    assert_eq!(fior_conn_open(e, bad_port.as_ptr(), bad_port.len(), &mut id), FiorResult::InvalidArgument);
    let why = fior_engine_last_error(e);
    let why = String::from_utf8(copy_view(why)).unwrap();
    assert!(why.contains("port"), "{why}");

    let mut tls = options("localhost", "6379");
    tls.push(opt("tls.ca_file", "/nonexistent/ca.pem"));
    assert_eq!(fior_conn_open(e, tls.as_ptr(), tls.len(), &mut id), FiorResult::InvalidArgument);
    let why = String::from_utf8(copy_view(fior_engine_last_error(e))).unwrap();
    assert!(why.contains("ca_file"), "{why}");

    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), &mut id), FiorResult::Ok);
    assert!(id > 0);
    // No arguments, NULL argv, NULL batch.
    assert_eq!(fior_conn_submit(e, id, 2, -1.0, 0, ptr::null()), FiorResult::InvalidArgument);
    assert_eq!(fior_conn_submit(e, id, 2, -1.0, 1, ptr::null()), FiorResult::InvalidArgument);
    // A NULL slice with a length is not an argument.
    let argv = [FiorSlice { ptr: ptr::null(), len: 3 }];
    assert_eq!(fior_conn_submit(e, id, 2, -1.0, 1, argv.as_ptr()), FiorResult::InvalidArgument);
    // Nor among more words than are viewed from the stack.
    let mut long = vec![FiorSlice { ptr: b"x".as_ptr(), len: 1 }; 20];
    long[19] = FiorSlice { ptr: ptr::null(), len: 3 };
    assert_eq!(fior_conn_submit(e, id, 2, -1.0, long.len(), long.as_ptr()), FiorResult::InvalidArgument);
    let mut c = FiorCompletion::empty();
    assert!(!fior_engine_next(e, ptr::null_mut()));
    let _ = fior_engine_next(e, &mut c);
    assert_eq!(fior_conn_drop(e, id), FiorResult::Ok);
    fior_engine_free(e);
}

/// Copy a view the way the XS side does (views are only valid until the next call).
fn copy_view(s: FiorSlice) -> Vec<u8> {
    if s.ptr.is_null() {
        return Vec::new();
    }
    // The slice points into the engine's own `last_error`, alive until the next call.
    let mut v = Vec::with_capacity(s.len);
    for i in 0..s.len {
        v.push(read_byte(s.ptr, i));
    }
    v
}

fn read_byte(p: *const u8, i: usize) -> u8 {
    // SAFETY: callers pass views valid for `i` (see `copy_view`).
    unsafe { *p.add(i) }
}

#[test]
fn options_are_checked_without_an_engine() {
    let good = options("127.0.0.1", "6379");
    assert_eq!(fior_options_check(good.as_ptr(), good.len()), FiorResult::Ok);
    assert_eq!(fior_options_check(ptr::null(), 0), FiorResult::Ok);
    assert_eq!(fior_options_check(ptr::null(), 1), FiorResult::NullArgument);
    let bad = [opt("port", "99999"), opt("password", "hunter2")];
    assert_eq!(fior_options_check(bad.as_ptr(), bad.len()), FiorResult::InvalidArgument);
    let why = String::from_utf8(copy_view(fior_options_last_error())).unwrap();
    assert!(why.contains("port must be an integer from 1 to 65535, not '99999'"), "{why}");
    assert!(!why.contains("hunter2"));
    let nul_name = [FiorOption { name: FiorSlice { ptr: ptr::null(), len: 2 }, value: FiorSlice::EMPTY, is_ref: false }];
    assert_eq!(fior_options_check(nul_name.as_ptr(), 1), FiorResult::InvalidArgument);
}

#[test]
fn every_result_code_has_a_message() {
    for code in 0..=7u32 {
        // SAFETY: fior_result_message returns static NUL-terminated strings.
        let msg = unsafe { CStr::from_ptr(fior_result_message(code)) }.to_str().unwrap();
        assert!(!msg.is_empty());
    }
}

#[test]
fn a_panic_becomes_a_value_and_poisons_the_handle() {
    assert_eq!(boundary(7, || panic!("boom")), 7);
    let e = engine();
    let r: FiorResult = with_engine_result!(e, |_e| panic!("inside"));
    assert_eq!(r, FiorResult::Panic);
    // Poisoned: every later call returns its neutral value, or POISONED.
    assert!(!fior_engine_is_running(e));
    assert_eq!(fior_engine_fd(e), -1);
    let o = options("127.0.0.1", "6379");
    let mut id = 0;
    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), &mut id), FiorResult::Poisoned);
    assert_eq!(fior_conn_connect(e, 1, 2), FiorResult::Poisoned);
    assert_eq!(fior_conn_submit_batch(e, 1, 2, 0, ptr::null()), FiorResult::Poisoned);
    let mut c = FiorCompletion::empty();
    assert!(!fior_engine_batch_item(e, 0, &mut c));
    fior_engine_free(e);
}

#[test]
fn submit_batch_refuses_bad_arguments() {
    let e = engine();
    let o = options("127.0.0.1", "6379");
    let mut id = 0u64;
    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), &mut id), FiorResult::Ok);
    assert_eq!(fior_conn_submit_batch(e, id, 2, 1, ptr::null()), FiorResult::NullArgument);
    let ping = [FiorSlice::of(b"PING")];
    let good = FiorBatchCommand { timeout: -1.0, argc: 1, argv: ping.as_ptr() };
    // The engine's own tokens (top bit set) are refused, for batches and single commands.
    assert_eq!(fior_conn_submit_batch(e, id, 1 << 63, 1, &good), FiorResult::InvalidArgument);
    let why = String::from_utf8(copy_view(fior_engine_last_error(e))).unwrap();
    assert!(why.contains("reserved"), "{why}");
    assert_eq!(fior_conn_submit(e, id, 1 << 63 | 2, -1.0, 1, ping.as_ptr()), FiorResult::InvalidArgument);
    // A command without arguments, or with a NULL argv, fails the whole batch.
    let empty = FiorBatchCommand { timeout: -1.0, argc: 0, argv: ping.as_ptr() };
    assert_eq!(fior_conn_submit_batch(e, id, 2, 2, [good, empty].as_ptr()), FiorResult::InvalidArgument);
    let null_argv = FiorBatchCommand { timeout: -1.0, argc: 1, argv: ptr::null() };
    assert_eq!(fior_conn_submit_batch(e, id, 2, 1, &null_argv), FiorResult::InvalidArgument);
    let subscribe = [FiorSlice::of(b"SUBSCRIBE"), FiorSlice::of(b"ch")];
    let mode = FiorBatchCommand { timeout: -1.0, argc: 2, argv: subscribe.as_ptr() };
    assert_eq!(fior_conn_submit_batch(e, id, 2, 1, &mode), FiorResult::InvalidArgument);
    assert_eq!(fior_engine_outstanding(e), 0, "nothing refused was submitted");
    // Without a batch completion there are no items.
    let mut c = FiorCompletion::empty();
    assert!(!fior_engine_batch_item(e, 0, &mut c));
    assert!(!fior_engine_batch_item(e, 0, ptr::null_mut()));
    assert_eq!(fior_conn_drop(e, id), FiorResult::Ok);
    fior_engine_free(e);
}

/// Drive the engine until a completion comes (no server: completions made without one).
fn next_completion(e: *mut FiorEngine) -> FiorCompletion {
    let mut c = FiorCompletion::empty();
    for _ in 0..100 {
        fior_engine_wait_readable(e, 0.1);
        fior_engine_turn(e);
        if fior_engine_next(e, &mut c) {
            return c;
        }
    }
    panic!("no completion");
}

#[test]
fn a_batch_completes_as_one_completion_whose_items_are_views() {
    let e = engine();
    let o = options("127.0.0.1", "6379");
    let mut id = 0u64;
    assert_eq!(fior_conn_open(e, o.as_ptr(), o.len(), &mut id), FiorResult::Ok);
    // Released: every command of the batch fails at once, each in its own slot.
    assert_eq!(fior_conn_drop(e, id), FiorResult::Ok);
    let get = [FiorSlice::of(b"GET"), FiorSlice::of(b"k")];
    let ping = [FiorSlice::of(b"PING")];
    let cmds = [
        FiorBatchCommand { timeout: -1.0, argc: 2, argv: get.as_ptr() },
        FiorBatchCommand { timeout: 0.0, argc: 1, argv: ping.as_ptr() },
    ];
    assert_eq!(fior_conn_submit_batch(e, id, 8, 2, cmds.as_ptr()), FiorResult::Ok);
    assert_eq!(fior_engine_outstanding(e), 1);
    let c = next_completion(e);
    assert_eq!(c.kind, FiorCompletionKind::Batch);
    assert_eq!((c.token, c.conn, c.item_count), (8, id, 2));
    for i in [1, 0, 1] {
        let mut item = FiorCompletion::empty();
        assert!(fior_engine_batch_item(e, i, &mut item));
        assert_eq!((item.kind, item.token, item.conn), (FiorCompletionKind::Failed, 8, id));
        assert_eq!(item.error_kind, FiorErrorKind::Disconnected);
        assert!(String::from_utf8(copy_view(item.message)).unwrap().contains("released"));
    }
    let mut item = FiorCompletion::empty();
    assert!(!fior_engine_batch_item(e, 2, &mut item), "past the last item");
    assert!(!fior_engine_batch_item(e, 0, ptr::null_mut()));
    assert_eq!(fior_engine_outstanding(e), 0);

    // An empty batch completes too, with no items.
    assert_eq!(fior_conn_submit_batch(e, id, 10, 0, ptr::null()), FiorResult::Ok);
    let c = next_completion(e);
    assert_eq!((c.kind, c.token, c.item_count), (FiorCompletionKind::Batch, 10, 0));
    assert!(!fior_engine_batch_item(e, 0, &mut item));
    // After the next completion, the batch is gone.
    assert!(!fior_engine_next(e, &mut item));
    assert!(!fior_engine_batch_item(e, 0, &mut item));
    fior_engine_free(e);
}
