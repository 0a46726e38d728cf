//! `fior_engine_*`: the interpreter's engine handle, its turn, and draining completions.

use super::boundary::{boundary, with_engine};
use super::fork;
use super::types::*;
use crate::conn::{Address, BatchItem, ClientError, Completion, ConnEvent, MessageKind};
use crate::driver::Engine;
use crate::protocol::Node;

/// Opaque handle on an engine (its Poll, sockets and timer).
pub struct FiorEngine {
    pub(crate) engine: Engine,
    pub(crate) poisoned: bool,
    /// The completion the last `fior_engine_next` returned, kept alive for its view (and for
    /// the views of its items, for a batch).
    current: Option<Completion>,
    /// The connection `current` came from.
    current_conn: u64,
    nodes: Vec<FiorNode>,
    command: String,
    /// Views of the current failure's command words (into `current`).
    words: Vec<FiorSlice>,
    /// Tokens handed back by `fior_engine_next_orphan`, once taken from the engine.
    orphans: Option<Vec<u64>>,
    /// Why the last call that returned `FIOR_RESULT_INVALID_ARGUMENT` refused its arguments.
    pub(crate) last_error: String,
}

/// Make an engine. On success `*out` owns it; free with `fior_engine_free`.
#[no_mangle]
pub extern "C" fn fior_engine_new(out: *mut *mut FiorEngine) -> FiorResult {
    boundary(FiorResult::Panic, || {
        if out.is_null() {
            return FiorResult::NullArgument;
        }
        let engine = match Engine::new() {
            Ok(e) => e,
            Err(_) => return FiorResult::Io,
        };
        fork::watch(&engine);
        let boxed = Box::new(FiorEngine {
            engine,
            poisoned: false,
            current: None,
            current_conn: 0,
            nodes: Vec::new(),
            command: String::new(),
            words: Vec::new(),
            orphans: None,
            last_error: String::new(),
        });
        // SAFETY: `out` is non-null and points to writable storage for a pointer (caller's contract).
        unsafe { *out = Box::into_raw(boxed) };
        FiorResult::Ok
    })
}

/// Close every connection and free the engine. NULL is ignored. In a forked child (a process
/// other than the one that created the engine) nothing of the parent's engine is touched: the
/// handle is leaked, and its inherited file descriptors were already closed at fork time.
#[no_mangle]
pub extern "C" fn fior_engine_free(engine: *mut FiorEngine) {
    boundary((), || {
        if engine.is_null() {
            return;
        }
        // SAFETY: a pointer from `fior_engine_new`, not freed before (caller's contract).
        let boxed = unsafe { Box::from_raw(engine) };
        fork::unwatch(&boxed.engine);
        if boxed.engine.pid() != std::process::id() || !boxed.engine.is_running() {
            let FiorEngine { engine, .. } = *boxed;
            fork::close_all(engine.abandon());
            return;
        }
        drop(boxed);
    })
}

/// Why the last call on this engine returned `FIOR_RESULT_INVALID_ARGUMENT` (a view valid until
/// the next call; empty if none). Never contains a password.
#[no_mangle]
pub extern "C" fn fior_engine_last_error(engine: *mut FiorEngine) -> FiorSlice {
    with_engine!(engine, FiorSlice::EMPTY, |e| FiorSlice::of(e.last_error.as_bytes()))
}

/// The descriptor the event loop watches (the engine's Poll fd): readable when a turn has
/// work. -1 for NULL.
#[no_mangle]
pub extern "C" fn fior_engine_fd(engine: *mut FiorEngine) -> i32 {
    with_engine!(engine, -1, |e| e.engine.fd())
}

/// The process id that created this engine (0 for NULL).
#[no_mangle]
pub extern "C" fn fior_engine_pid(engine: *mut FiorEngine) -> u32 {
    with_engine!(engine, 0, |e| e.engine.pid())
}

/// Whether the engine works: false for NULL, a poisoned handle, or in a fork child (the engine
/// is the parent's).
#[no_mangle]
pub extern "C" fn fior_engine_is_running(engine: *mut FiorEngine) -> bool {
    with_engine!(engine, false, |e| e.engine.is_running())
}

/// In a fork child (`fior_engine_is_running` false), or on a poisoned handle: the next token
/// that was submitted and will never complete.
/// Returns false when there is none left. The caller fails what waited on these tokens.
#[no_mangle]
pub extern "C" fn fior_engine_next_orphan(engine: *mut FiorEngine, token: *mut u64) -> bool {
    boundary(false, || {
        // SAFETY: as for `with_engine!`; this works on a poisoned handle too (it only reads the
        // Perl thread's own bookkeeping), so that waiting requests can still be failed.
        let Some(e) = (unsafe { engine.as_mut() }) else { return false };
        if token.is_null() {
            return false;
        }
        let list = e.orphans.get_or_insert_with(|| e.engine.take_orphans());
        match list.pop() {
            Some(t) => {
                // SAFETY: non-null and writable (caller's contract).
                unsafe { *token = t };
                true
            }
            None => {
                e.orphans = None;
                false
            }
        }
    })
}

/// Have a fork child neutralise `fd` (a descriptor the caller owns, such as its duplicate of
/// the engine's fd): in the child it is pointed at a pipe nobody writes, so a child's event loop
/// can never consume the parent's wake-ups through it. Undo with `fior_engine_unguard_fd`
/// before closing it.
#[no_mangle]
#[allow(clippy::unused_unit)]
pub extern "C" fn fior_engine_guard_fd(engine: *mut FiorEngine, fd: i32) {
    with_engine!(engine, (), |e| e.engine.fds().guard(fd))
}

/// Stop neutralising `fd` in fork children.
#[no_mangle]
#[allow(clippy::unused_unit)]
pub extern "C" fn fior_engine_unguard_fd(engine: *mut FiorEngine, fd: i32) {
    with_engine!(engine, (), |e| e.engine.fds().unguard(fd))
}

/// How many submitted tokens have not completed yet (0 for NULL).
#[no_mangle]
pub extern "C" fn fior_engine_outstanding(engine: *mut FiorEngine) -> u64 {
    with_engine!(engine, 0, |e| e.engine.outstanding() as u64)
}

/// Whether the event loop must keep watching `fior_engine_fd`: commands are outstanding,
/// completions wait, or a connection is connecting or waiting to reconnect.
#[no_mangle]
pub extern "C" fn fior_engine_busy(engine: *mut FiorEngine) -> bool {
    with_engine!(engine, false, |e| e.engine.busy())
}

/// Seconds until the engine needs a turn for a deadline, on systems where its timer cannot
/// make `fior_engine_fd` readable by itself; -1 where it can (Linux: timerfd), when there is no
/// deadline, and for NULL.
#[no_mangle]
pub extern "C" fn fior_engine_external_timeout(engine: *mut FiorEngine) -> f64 {
    with_engine!(engine, -1.0, |e| e.engine.external_timeout().map_or(-1.0, |d| d.as_secs_f64()))
}

/// Block until the engine's fd is readable or `timeout` seconds pass (negative: no limit);
/// true if readable. For an event loop that reports the fd ready without asking the kernel
/// (Future::IO's default implementation with a single reader expects the read that follows to
/// block). Never called from a turn.
#[no_mangle]
pub extern "C" fn fior_engine_wait_readable(engine: *mut FiorEngine, timeout: f64) -> bool {
    with_engine!(engine, false, |e| {
        let limit = (timeout >= 0.0).then(|| std::time::Duration::try_from_secs_f64(timeout).unwrap_or(std::time::Duration::MAX));
        e.engine.wait_readable(limit)
    })
}

/// Run one turn: do whatever is ready without waiting (read, decode, write, expire deadlines).
/// Then collect completions with `fior_engine_next`.
#[no_mangle]
#[allow(clippy::unused_unit)]
pub extern "C" fn fior_engine_turn(engine: *mut FiorEngine) {
    with_engine!(engine, (), |e| e.engine.turn())
}

/// Fetch the next completion into `*out`; returns false when none waits. The view (nodes,
/// message, command) stays valid until the next `fior_engine_next` or `fior_engine_batch_item`
/// call on this engine (or its `fior_engine_free`).
///
/// A completion of kind `FIOR_COMPLETION_KIND_BATCH` carries `item_count` results, one per
/// command of the batch in submission order: read each with `fior_engine_batch_item`.
#[no_mangle]
pub extern "C" fn fior_engine_next(engine: *mut FiorEngine, out: *mut FiorCompletion) -> bool {
    with_engine!(engine, false, |e| {
        if out.is_null() {
            return false;
        }
        e.current = None;
        let Some((conn, completion)) = e.engine.next_completion() else { return false };
        let mut c = FiorCompletion::empty();
        c.conn = conn;
        e.nodes.clear();
        e.command.clear();
        e.words.clear();
        match &completion {
            Completion::Reply { token, reply } => {
                c.token = *token;
                reply_view(reply, &mut e.nodes, &mut c);
            }
            Completion::Done { token } => {
                c.token = *token;
                c.kind = FiorCompletionKind::Done;
            }
            Completion::Failed { token, error } => {
                c.token = *token;
                failure_view(error, &mut e.command, &mut e.words, &mut c);
            }
            Completion::Batch { token, results } => {
                c.token = *token;
                c.kind = FiorCompletionKind::Batch;
                c.item_count = results.len();
            }
            Completion::Message(m) => {
                c.kind = FiorCompletionKind::Message;
                c.message_kind = match m.kind {
                    MessageKind::Message => FiorMessageKind::Message,
                    MessageKind::PMessage => FiorMessageKind::PMessage,
                    MessageKind::SMessage => FiorMessageKind::SMessage,
                };
                c.channel = FiorSlice::of(m.channel());
                c.data = FiorSlice::of(m.data());
                if let Some(p) = m.pattern() {
                    c.pattern = FiorSlice::of(p);
                }
            }
            Completion::Event(ev) => {
                c.kind = FiorCompletionKind::Event;
                match ev {
                    ConnEvent::Connected => c.event = FiorEvent::Connected,
                    ConnEvent::Disconnected { reason, message } => {
                        c.event = FiorEvent::Disconnected;
                        c.reason = (*reason).into();
                        c.message = FiorSlice::of(message.as_bytes());
                    }
                    ConnEvent::Resubscribed => c.event = FiorEvent::Resubscribed,
                    ConnEvent::Error(error) => {
                        c.event = FiorEvent::Error;
                        error_view(error, &mut e.command, &mut e.words, &mut c);
                    }
                }
            }
        }
        c.nodes = e.nodes.as_ptr();
        c.node_count = e.nodes.len();
        if !e.command.is_empty() {
            c.command = FiorSlice::of(e.command.as_bytes());
        }
        // The message points into `completion`; keep it alive as `current` (moving the enum
        // does not move the heap data its strings and buffers point to).
        e.current = Some(completion);
        e.current_conn = conn;
        // SAFETY: `out` is non-null and writable (caller's contract).
        unsafe { *out = c };
        true
    })
}

/// When the completion the last `fior_engine_next` returned is a reply that is one bulk string
/// held in a read buffer of its own (a large reply: the decoder hands such a buffer over
/// instead of copying the string out), pass that buffer to the caller instead of having it
/// copy the string: `*out` gets the allocation (which the string starts), the string's length
/// (a NUL byte follows it) and the allocation's size. The caller owns the allocation from then on and releases it with
/// `free` (Perl adopts it as a string's buffer: it comes from `malloc`, see the crate's global allocator).
/// The completion's node views are invalid afterwards. Returns false (and leaves `*out` alone)
/// for NULL arguments and for any other completion (the string is then copied, as usual).
#[no_mangle]
pub extern "C" fn fior_engine_take_bulk(engine: *mut FiorEngine, out: *mut FiorOwnedBytes) -> bool {
    with_engine!(engine, false, |e| {
        if out.is_null() {
            return false;
        }
        let Some(Completion::Reply { reply, .. }) = e.current.as_mut() else { return false };
        let Some((buf, len)) = reply.take_bulk_buffer() else { return false };
        e.nodes.clear();
        let mut buf = std::mem::ManuallyDrop::new(buf);
        let taken = FiorOwnedBytes { ptr: buf.as_mut_ptr(), len, capacity: buf.capacity() };
        // SAFETY: `out` is non-null and writable (caller's contract).
        unsafe { *out = taken };
        true
    })
}

/// Item `index` of the batch completion the last `fior_engine_next` returned, into `*out`: a
/// view of kind `FIOR_COMPLETION_KIND_REPLY` or `FIOR_COMPLETION_KIND_FAILED` (with the batch's
/// `conn` and `token`), as `fior_engine_next` gives for a single command. Returns false (and
/// leaves `*out` alone) for NULL arguments, an index from `item_count` on, or when the last
/// completion was not a batch.
///
/// The item's view (nodes, message, command) stays valid until the next
/// `fior_engine_batch_item` or `fior_engine_next` call on this engine: convert each item before
/// asking for the next. The batch itself stays readable until `fior_engine_next`, so its items
/// can be read in any order, any number of times.
#[no_mangle]
pub extern "C" fn fior_engine_batch_item(engine: *mut FiorEngine, index: usize, out: *mut FiorCompletion) -> bool {
    with_engine!(engine, false, |e| {
        if out.is_null() {
            return false;
        }
        let Some(Completion::Batch { token, results }) = &e.current else { return false };
        let Some(item) = results.get(index) else { return false };
        let mut c = FiorCompletion::empty();
        c.token = *token;
        c.conn = e.current_conn;
        e.nodes.clear();
        e.command.clear();
        e.words.clear();
        match item {
            BatchItem::Reply(reply) => reply_view(reply, &mut e.nodes, &mut c),
            BatchItem::Failed(error) => failure_view(error, &mut e.command, &mut e.words, &mut c),
        }
        c.nodes = e.nodes.as_ptr();
        c.node_count = e.nodes.len();
        if !e.command.is_empty() {
            c.command = FiorSlice::of(e.command.as_bytes());
        }
        // SAFETY: `out` is non-null and writable (caller's contract).
        unsafe { *out = c };
        true
    })
}

/// A reply's view: its nodes go to `nodes` (which `c.nodes` is then set to point at).
fn reply_view(reply: &crate::protocol::Reply, nodes: &mut Vec<FiorNode>, c: &mut FiorCompletion) {
    c.kind = FiorCompletionKind::Reply;
    nodes.extend(reply.nodes().map(|n| node_view(reply, n)));
}

/// A failure's view: the command's name goes to `command` (which `c.command` then points at),
/// views of its words to `words` (which `c.words` points at).
fn failure_view(error: &ClientError, command: &mut String, words: &mut Vec<FiorSlice>, c: &mut FiorCompletion) {
    c.kind = FiorCompletionKind::Failed;
    error_view(error, command, words, c);
}

/// An error's fields, for a failed request or an error event.
fn error_view(error: &ClientError, command: &mut String, words: &mut Vec<FiorSlice>, c: &mut FiorCompletion) {
    c.error_kind = error.kind.into();
    c.message = FiorSlice::of(error.message.as_bytes());
    c.timeout_kind = error.timeout_kind.into();
    c.timeout = error.timeout.map(|d| d.as_secs_f64()).unwrap_or(-1.0);
    if let Some(name) = error.command {
        command.push_str(name.as_str());
    }
    if let Some(w) = &error.words {
        words.extend(w.iter().map(|w| FiorSlice::of(w)));
        c.words = words.as_ptr();
        c.word_count = words.len();
    }
    c.maybe_executed = error.maybe_executed;
    if let Some(r) = error.reason {
        c.reason = r.into();
    }
    match &error.address {
        Some(Address::Tcp { host, port }) => {
            c.host = FiorSlice::of(host.as_bytes());
            c.port = u32::from(*port);
        }
        Some(Address::Unix { path }) => c.path = FiorSlice::of(path.as_os_str().as_encoded_bytes()),
        None => {}
    }
    if let Some(d) = &error.data {
        c.data = FiorSlice::of(d.as_bytes());
    }
    if let Some(n) = error.queue_size {
        c.queue_size = i64::try_from(n).unwrap_or(i64::MAX);
    }
}

fn node_view(reply: &crate::protocol::Reply, n: &Node) -> FiorNode {
    let (kind, integer, bytes): (FiorNodeKind, i64, &[u8]) = match n {
        Node::Simple(r) => (FiorNodeKind::Simple, 0, reply.bytes(r)),
        Node::Error(r) => (FiorNodeKind::Error, 0, reply.bytes(r)),
        Node::Bulk(r) => (FiorNodeKind::Bulk, 0, reply.bytes(r)),
        Node::Integer(i) => (FiorNodeKind::Integer, *i, &[]),
        Node::Nil => (FiorNodeKind::Nil, 0, &[]),
        Node::Array(len) => return FiorNode { kind: FiorNodeKind::Array, integer: 0, ptr: std::ptr::null(), len: *len },
    };
    FiorNode { kind, integer, ptr: bytes.as_ptr(), len: bytes.len() }
}
