//! A command on its way to the server: its encoding, the token that names its completion, its
//! name for error messages, and what its deadline should be.

use super::commands;
use super::pubsub::PubSubRequest;
use crate::protocol::encode_command;
use std::time::Duration;

/// How long the client waits for this command's reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Deadline {
    /// The connection's `request_timeout`.
    Default,
    /// A per-command override (`timeout => { 'DEBUG SLEEP' => 120 }`).
    After(Duration),
    /// No client-side deadline.
    Never,
}

/// A blocking command's server-side wait, which its client deadline must cover.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Blocking {
    /// Blocks at most this long on the server.
    For(Duration),
    /// Blocks until data arrives (a timeout of 0).
    Forever,
}

/// The command name (and subcommand of container commands) for error messages. Inline and
/// bounded, so naming a request costs no allocation; never holds any other argument, so
/// secrets given to AUTH or HELLO cannot leak through it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CommandName {
    bytes: [u8; 40],
    len: u8,
}

impl CommandName {
    pub fn new(args: &[&[u8]]) -> Self {
        Self::of(args, commands::lookup(args))
    }

    /// With the command's place in the table already looked up (`commands::lookup(args)`).
    pub(super) fn of(args: &[&[u8]], found: Option<commands::Found>) -> Self {
        let mut name = CommandName { bytes: [0; 40], len: 0 };
        let Some(first) = args.first() else {
            name.push(b"?");
            return name;
        };
        name.push_upper(first, 24);
        if let Some(sub) = found.and_then(|f| f.sub) {
            // A subcommand of the table: its own (upper-case, printable) name.
            name.push(b" ");
            name.push(sub.name);
        } else if args.len() > 1 && found.is_some_and(|f| names_subcommand(f.command)) {
            // One the table does not list (a newer server's, or DEBUG's): printable words only.
            let sub = args[1];
            if sub.len() <= 14 && sub.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
                name.push(b" ");
                name.push_upper(sub, 14);
            }
        }
        name
    }

    fn push(&mut self, b: &[u8]) {
        for &c in b {
            if (self.len as usize) < self.bytes.len() {
                self.bytes[self.len as usize] = c;
                self.len += 1;
            }
        }
    }

    fn push_upper(&mut self, b: &[u8], max: usize) {
        for &c in b.iter().take(max) {
            let c = if c.is_ascii_graphic() { c.to_ascii_uppercase() } else { b'?' };
            self.push(&[c]);
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII graphic bytes and spaces are ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("?")
    }
}

impl std::fmt::Debug for CommandName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for CommandName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Commands whose second word belongs in their name although the table lists no subcommands
/// for them, and why. Checked against the table in `commands::tests`.
pub(super) const NAMED_SUBCOMMANDS: &[(&str, &str)] =
    &[("DEBUG", "its subcommands (SLEEP, RELOAD, ...) are not in COMMAND DOCS, and `timeout => { 'DEBUG SLEEP' => ... }` names one")];

fn names_subcommand(command: &commands::Entry) -> bool {
    command.has(commands::CONTAINER) || NAMED_SUBCOMMANDS.iter().any(|(n, _)| n.as_bytes() == command.name)
}

/// What a command does, when the server accepts it, to the connection state that a reconnect
/// must restore (or to the MULTI bookkeeping that decides when that happens). Worked out once in
/// [`Request::new`]; `None` for every other command, so that they pay one comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SessionEffect {
    #[default]
    None,
    /// `SELECT n`.
    Select(u32),
    /// `CLIENT SETNAME name`, or `HELLO ... SETNAME name`; an empty name clears it (`None`).
    SetName(Option<Box<[u8]>>),
    /// `RESET`: database 0, no name, no transaction.
    Reset,
    Multi,
    Exec,
    Discard,
    /// `WATCH key [key ...]`: keys watched until EXEC, DISCARD, UNWATCH or RESET.
    Watch,
    /// `UNWATCH`.
    Unwatch,
}

impl SessionEffect {
    pub fn of(args: &[&[u8]]) -> SessionEffect {
        let Some(name) = args.first() else { return SessionEffect::None };
        // Cheap rejection first: every command of interest has a name of 4 to 7 bytes.
        if !(4..=7).contains(&name.len()) {
            return SessionEffect::None;
        }
        let is = |want: &[u8]| name.eq_ignore_ascii_case(want);
        let arg_is = |i: usize, want: &[u8]| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(want));
        let set_name = |n: &[u8]| SessionEffect::SetName((!n.is_empty()).then(|| n.into()));
        if is(b"SELECT") && args.len() == 2 {
            // Redis refuses anything but a plain decimal index; the reply decides, this only
            // has to read what an accepted one means.
            return match std::str::from_utf8(args[1]).ok().and_then(|s| s.parse::<u32>().ok()) {
                Some(db) => SessionEffect::Select(db),
                None => SessionEffect::None,
            };
        }
        if is(b"CLIENT") && args.len() == 3 && arg_is(1, b"SETNAME") {
            return set_name(args[2]);
        }
        if is(b"HELLO") {
            // HELLO [protover [AUTH user pass] [SETNAME name]]
            let mut i = 2;
            let mut name = None;
            while i < args.len() {
                if arg_is(i, b"AUTH") {
                    i += 3;
                } else if arg_is(i, b"SETNAME") && i + 1 < args.len() {
                    name = Some(args[i + 1]);
                    i += 2;
                } else {
                    return SessionEffect::None;
                }
            }
            return name.map_or(SessionEffect::None, set_name);
        }
        if is(b"WATCH") && args.len() >= 2 {
            return SessionEffect::Watch;
        }
        if args.len() == 1 {
            if is(b"UNWATCH") {
                return SessionEffect::Unwatch;
            }
            if is(b"RESET") {
                return SessionEffect::Reset;
            }
            if is(b"MULTI") {
                return SessionEffect::Multi;
            }
            if is(b"EXEC") {
                return SessionEffect::Exec;
            }
            if is(b"DISCARD") {
                return SessionEffect::Discard;
            }
        }
        SessionEffect::None
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub token: u64,
    pub bytes: Vec<u8>,
    pub name: CommandName,
    pub deadline: Deadline,
    pub blocking: Option<Blocking>,
    /// Read-only: safe to send again after a lost connection.
    pub idempotent: bool,
    /// What it changes of the state replayed on reconnect, if the server accepts it.
    pub effect: SessionEffect,
    /// A SUBSCRIBE-family command: the confirmations it waits for.
    pub pubsub: Option<PubSubRequest>,
}

impl Request {
    pub fn new(token: u64, args: &[&[u8]], deadline: Deadline) -> Self {
        Self::of(token, args, deadline, commands::lookup(args))
    }

    /// A request for `args`, or why they cannot be sent on a request/reply connection (see
    /// `unsupported_mode`): one search of the command table serves both.
    pub fn checked(token: u64, args: &[&[u8]], deadline: Deadline) -> Result<Self, &'static str> {
        let found = commands::lookup(args);
        match refusal(args, found) {
            Some(why) => Err(why),
            None => Ok(Self::of(token, args, deadline, found)),
        }
    }

    /// One search of the command table serves the name and the resend decision.
    fn of(token: u64, args: &[&[u8]], deadline: Deadline, found: Option<commands::Found>) -> Self {
        Request {
            token,
            bytes: encode_command(args),
            name: CommandName::of(args, found),
            deadline,
            blocking: blocking_wait(args),
            idempotent: found.is_some_and(|f| f.resend_safe()),
            effect: SessionEffect::of(args),
            pubsub: found.filter(|f| f.command.has(commands::SUBSCRIBES)).and_then(|_| PubSubRequest::of(args)),
        }
    }
}

/// Why `args` cannot be sent on a request/reply connection, if it cannot: commands that switch
/// the connection into a mode where replies stop matching requests one for one (MONITOR, replication streams, CLIENT REPLY OFF/SKIP, RESP3 via HELLO 3). Sending one would
/// desynchronise every later reply. (The SUBSCRIBE family is sent: the connection tracks subscribe
/// mode, see `pubsub`.) Which commands switch whatever their arguments comes from
/// the command table (the generator's mode list, which the Perl methods share); the two that
/// depend on their arguments are read here.
pub fn unsupported_mode(args: &[&[u8]]) -> Option<&'static str> {
    refusal(args, commands::lookup(args))
}

/// `unsupported_mode` for `args` whose place in the command table was already looked up.
fn refusal(args: &[&[u8]], found: Option<commands::Found>) -> Option<&'static str> {
    let found = found?;
    let command = found.command;
    if command.has(commands::MONITORS | commands::REPLICATES) {
        return Some("turns the connection into a stream of events, which this client does not read");
    }
    let arg_is = |i: usize, want: &[u8]| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(want));
    if command.name == b"CLIENT" && found.sub.is_some_and(|s| s.name == b"REPLY") && (arg_is(2, b"OFF") || arg_is(2, b"SKIP")) {
        return Some("stops replies, and replies are how commands are matched to their results");
    }
    if command.name == b"HELLO" && args.get(1).is_some_and(|v| *v != b"2") {
        return Some("switches the protocol; this version speaks RESP2 (HELLO 2 is fine)");
    }
    None
}

/// At most this many words of a command are kept for a timeout error (`command_words`).
pub const MAX_ERROR_WORDS: usize = 16;
/// Longer words are cut to this many bytes, followed by `...`.
pub const MAX_ERROR_WORD_LEN: usize = 64;

/// The words of a command from its encoding (as `encode_command` wrote it), bounded for an error
/// object: the first [`MAX_ERROR_WORDS`] words, each cut to [`MAX_ERROR_WORD_LEN`] bytes (a cut
/// word ends in `...`), and, when words were left out, a last word `...(N more)`. Secrets are
/// redacted by the Perl error class, which knows which commands carry them.
pub fn command_words(encoded: &[u8]) -> Vec<Vec<u8>> {
    fn line(buf: &[u8], at: usize) -> Option<(usize, usize)> {
        let rest = buf.get(at..)?;
        let cr = rest.windows(2).position(|w| w == b"\r\n")?;
        let n = std::str::from_utf8(&rest[1..cr]).ok()?.parse().ok()?;
        Some((n, at + cr + 2))
    }
    let mut words = Vec::new();
    let Some((count, mut at)) = line(encoded, 0) else { return words };
    for _ in 0..count.min(MAX_ERROR_WORDS) {
        let Some((len, start)) = line(encoded, at) else { return words };
        let Some(word) = encoded.get(start..start + len) else { return words };
        let mut w = word[..len.min(MAX_ERROR_WORD_LEN)].to_vec();
        if len > MAX_ERROR_WORD_LEN {
            w.extend_from_slice(b"...");
        }
        words.push(w);
        at = start + len + 2;
    }
    if count > MAX_ERROR_WORDS {
        words.push(format!("...({} more)", count - MAX_ERROR_WORDS).into_bytes());
    }
    words
}

/// Where a blocking command's server-side timeout is, and its unit.
#[derive(Debug, Clone, Copy)]
pub(super) enum TimeoutArg {
    /// The last argument, in (fractional) seconds.
    LastSecs,
    /// The first argument after the name, in seconds.
    FirstSecs,
    /// The last argument, in milliseconds.
    LastMillis,
    /// The argument after the `BLOCK` keyword, in milliseconds; without it, not blocking.
    BlockMillis,
}

/// The timeout of each blocking command: the table says which commands block (its `blocking`
/// flag), not where their timeout is. `commands::tests` checks that every command the table
/// flags has a rule here, and that every rule names a command of the table.
pub(super) const TIMEOUT_RULES: &[(&str, TimeoutArg)] = &[
    ("BLPOP", TimeoutArg::LastSecs),
    ("BRPOP", TimeoutArg::LastSecs),
    ("BZPOPMIN", TimeoutArg::LastSecs),
    ("BZPOPMAX", TimeoutArg::LastSecs),
    ("BRPOPLPUSH", TimeoutArg::LastSecs),
    ("BLMOVE", TimeoutArg::LastSecs),
    ("BLMPOP", TimeoutArg::FirstSecs),
    ("BZMPOP", TimeoutArg::FirstSecs),
    ("WAIT", TimeoutArg::LastMillis),
    ("WAITAOF", TimeoutArg::LastMillis),
    ("XREAD", TimeoutArg::BlockMillis),
    ("XREADGROUP", TimeoutArg::BlockMillis),
];

/// Commands with a timeout rule that the table does not flag `blocking`, and why they have one.
#[cfg(test)]
pub(super) const UNFLAGGED_BLOCKING: &[(&str, &str)] = &[
    ("WAIT", "waits for replicas, not for keys, which is what the `blocking` flag marks"),
    ("WAITAOF", "waits for the AOF fsync, as WAIT waits for replicas"),
];

/// Commands named in the hand-kept lists that the committed table (Redis 7.0) predates.
#[cfg(test)]
pub(super) const NEWER_THAN_TABLE: &[(&str, &str)] = &[("WAITAOF", "Redis 7.2")];

/// If `args` is a blocking command, how long the server may hold it (see [`TIMEOUT_RULES`]).
/// A timeout of 0 blocks forever.
pub fn blocking_wait(args: &[&[u8]]) -> Option<Blocking> {
    let name = args.first()?;
    let (_, rule) = TIMEOUT_RULES.iter().find(|(n, _)| n.len() == name.len() && name.eq_ignore_ascii_case(n.as_bytes()))?;
    let secs = |arg: Option<&&[u8]>| arg.and_then(|a| parse_f64(a)).map(from_secs);
    let millis = |arg: Option<&&[u8]>| arg.and_then(|a| parse_f64(a)).map(|ms| from_secs(ms / 1000.0));
    let wait = match rule {
        TimeoutArg::LastSecs => secs(args.last()),
        TimeoutArg::FirstSecs => secs(args.get(1)),
        TimeoutArg::LastMillis => millis(args.last()),
        TimeoutArg::BlockMillis => {
            // Options come before STREAMS (whose keys and IDs may be named anything):
            // [GROUP group consumer] [COUNT n] [BLOCK ms] [NOACK].
            let mut i = 1;
            let block = loop {
                let a = args.get(i)?;
                if a.eq_ignore_ascii_case(b"STREAMS") {
                    return None;
                } else if a.eq_ignore_ascii_case(b"BLOCK") {
                    break i;
                } else if a.eq_ignore_ascii_case(b"GROUP") {
                    i += 3;
                } else if a.eq_ignore_ascii_case(b"COUNT") {
                    i += 2;
                } else {
                    i += 1;
                }
            };
            millis(args.get(block + 1))
        }
    };
    wait.or(Some(Blocking::Forever))
}

fn from_secs(s: f64) -> Blocking {
    if s <= 0.0 || !s.is_finite() {
        Blocking::Forever
    } else {
        Blocking::For(Duration::from_secs_f64(s.min(1e9)))
    }
}

fn parse_f64(a: &[u8]) -> Option<f64> {
    std::str::from_utf8(a).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(args: &[&str]) -> Option<Blocking> {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        blocking_wait(&v)
    }

    #[test]
    fn finds_server_timeouts_of_blocking_commands() {
        assert_eq!(b(&["blpop", "a", "b", "30"]), Some(Blocking::For(Duration::from_secs(30))));
        assert_eq!(b(&["BRPOP", "a", "0.5"]), Some(Blocking::For(Duration::from_millis(500))));
        assert_eq!(b(&["BLPOP", "a", "0"]), Some(Blocking::Forever));
        assert_eq!(b(&["blmove", "s", "d", "LEFT", "RIGHT", "2"]), Some(Blocking::For(Duration::from_secs(2))));
        assert_eq!(b(&["BLMPOP", "3", "1", "k", "LEFT"]), Some(Blocking::For(Duration::from_secs(3))));
        assert_eq!(b(&["XREAD", "COUNT", "2", "BLOCK", "1500", "STREAMS", "s", "$"]), Some(Blocking::For(Duration::from_millis(1500))));
        assert_eq!(b(&["XREAD", "STREAMS", "s", "0"]), None);
        assert_eq!(b(&["XREAD", "STREAMS", "BLOCK", "0"]), None, "a stream named BLOCK");
        assert_eq!(b(&["XREAD", "COUNT", "1", "STREAMS", "block", "5"]), None);
        assert_eq!(
            b(&["XREADGROUP", "GROUP", "BLOCK", "COUNT", "BLOCK", "250", "NOACK", "STREAMS", "s", ">"]),
            Some(Blocking::For(Duration::from_millis(250))),
            "a group and a consumer named BLOCK and COUNT"
        );
        assert_eq!(b(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]), None);
        assert_eq!(b(&["WAITAOF", "1", "0", "100"]), Some(Blocking::For(Duration::from_millis(100))));
        assert_eq!(b(&["BZMPOP", "0.25", "1", "z", "MIN"]), Some(Blocking::For(Duration::from_millis(250))));
        assert_eq!(b(&["WAIT", "1", "0"]), Some(Blocking::Forever));
        assert_eq!(b(&["GET", "BLPOP"]), None);
        assert_eq!(b(&["BLPOP", "k", "x"]), Some(Blocking::Forever));
    }

    #[test]
    fn commands_that_break_request_reply_matching_are_named() {
        let u = |args: &[&str]| {
            let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            unsupported_mode(&v).is_some()
        };
        assert!(!u(&["subscribe", "ch"]));
        assert!(!u(&["PSUBSCRIBE", "p*"]));
        assert!(u(&["MONITOR"]));
        assert!(u(&["client", "reply", "off"]));
        assert!(u(&["HELLO", "3"]));
        assert!(!u(&["HELLO", "2"]));
        assert!(!u(&["HELLO"]));
        assert!(!u(&["CLIENT", "REPLY", "ON"]));
        assert!(!u(&["PUBLISH", "ch", "m"]));
        assert!(!u(&["GET", "subscribe"]));
    }

    #[test]
    fn session_effects_are_read_from_the_arguments() {
        let e = |args: &[&str]| {
            let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            SessionEffect::of(&v)
        };
        let name = |n: &str| SessionEffect::SetName(Some(n.as_bytes().into()));
        assert_eq!(e(&["select", "3"]), SessionEffect::Select(3));
        assert_eq!(e(&["SELECT", "0"]), SessionEffect::Select(0));
        assert_eq!(e(&["SELECT", "x"]), SessionEffect::None);
        assert_eq!(e(&["SELECT", "1", "2"]), SessionEffect::None);
        assert_eq!(e(&["SELECT"]), SessionEffect::None);
        assert_eq!(e(&["client", "setname", "app"]), name("app"));
        assert_eq!(e(&["CLIENT", "SETNAME", ""]), SessionEffect::SetName(None));
        assert_eq!(e(&["CLIENT", "GETNAME"]), SessionEffect::None);
        assert_eq!(e(&["HELLO", "2", "AUTH", "u", "p", "SETNAME", "h"]), name("h"));
        assert_eq!(e(&["HELLO", "2"]), SessionEffect::None);
        assert_eq!(e(&["reset"]), SessionEffect::Reset);
        assert_eq!(e(&["Multi"]), SessionEffect::Multi);
        assert_eq!(e(&["EXEC"]), SessionEffect::Exec);
        assert_eq!(e(&["discard"]), SessionEffect::Discard);
        assert_eq!(e(&["watch", "a", "b"]), SessionEffect::Watch);
        assert_eq!(e(&["WATCH"]), SessionEffect::None);
        assert_eq!(e(&["unwatch"]), SessionEffect::Unwatch);
        assert_eq!(e(&["UNWATCH", "x"]), SessionEffect::None);
        assert_eq!(e(&["GET", "select"]), SessionEffect::None);
        assert_eq!(e(&["SET", "k", "v"]), SessionEffect::None);
        assert_eq!(e(&[]), SessionEffect::None);
    }

    #[test]
    fn command_words_are_read_back_bounded() {
        let enc = |args: &[&[u8]]| encode_command(args);
        let w = command_words(&enc(&[b"SET", b"k", b"v\r\n"]));
        assert_eq!(w, vec![b"SET".to_vec(), b"k".to_vec(), b"v\r\n".to_vec()]);
        let long = vec![b'x'; 100];
        let w = command_words(&enc(&[b"SET", b"k", &long]));
        assert_eq!(w[2].len(), MAX_ERROR_WORD_LEN + 3);
        assert!(w[2].ends_with(b"x..."));
        let many: Vec<Vec<u8>> = (0..20).map(|i| format!("a{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        let w = command_words(&enc(&refs));
        assert_eq!(w.len(), MAX_ERROR_WORDS + 1);
        assert_eq!(w.last().unwrap(), b"...(4 more)");
        assert!(command_words(b"garbage").is_empty());
    }

    #[test]
    fn names_never_include_arguments() {
        let n = |args: &[&str]| {
            let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            CommandName::new(&v).to_string()
        };
        assert_eq!(n(&["get", "secretkey"]), "GET");
        assert_eq!(n(&["debug", "sleep", "2"]), "DEBUG SLEEP");
        assert_eq!(n(&["AUTH", "user", "hunter2"]), "AUTH");
        assert_eq!(n(&["client", "setname", "x"]), "CLIENT SETNAME");
        assert_eq!(n(&["config", "set", "requirepass", "pw"]), "CONFIG SET");
        assert_eq!(n(&["client", "secret value with spaces"]), "CLIENT");
        assert_eq!(n(&[]), "?");
    }
}
