//! What the engine knows about each command, from the command table Redis publishes.
//!
//! `generated.rs` is written by `bin/generate-commands` from `share/commands.json` (the server's
//! own `COMMAND INFO` + `COMMAND DOCS`): every command and subcommand with the table's flags.
//! [`lookup`] finds a command line's entry (and its subcommand's, for a container) with a
//! binary search on the name upper-cased once on the stack: no allocation.
//!
//! A few facts the table cannot express stay hand-written next to the code that uses them
//! (`request.rs`: the timeout argument of each blocking command, the argument-dependent mode
//! switches, the session effects; `DEBUG`'s subcommands in command names). The tests at the end
//! of this file check each of those lists against the table, so that a newer table (or a typo)
//! fails a test instead of drifting silently.

#[rustfmt::skip]
mod generated;

pub use generated::COMMANDS;

/// The table flags `readonly`: the command reads keys and changes nothing.
pub const READONLY: u16 = 1 << 0;
/// The table flags `write`.
pub const WRITE: u16 = 1 << 1;
/// The table flags `blocking`: the server may hold the reply back.
pub const BLOCKING: u16 = 1 << 2;
/// The table flags `pubsub` (PUBLISH as well as SUBSCRIBE).
pub const PUBSUB: u16 = 1 << 3;
/// The command has subcommands: its second word is part of its name.
pub const CONTAINER: u16 = 1 << 4;
/// Not flagged `readonly` (it reads no keys) but changes nothing (the generator's `%NO_EFFECT`,
/// and every container's HELP).
pub const NO_EFFECT: u16 = 1 << 5;
/// Puts the connection into pub/sub mode (the generator's `%MODE`, which the Perl methods share).
pub const SUBSCRIBES: u16 = 1 << 6;
/// Turns the connection into a MONITOR stream.
pub const MONITORS: u16 = 1 << 7;
/// Turns the connection into a replication stream (SYNC, PSYNC).
pub const REPLICATES: u16 = 1 << 8;

/// One command, or one subcommand of a container, of the table.
#[derive(Debug)]
pub struct Entry {
    /// Upper case; for a subcommand, only its own word (`LIST` of `CLIENT LIST`).
    pub name: &'static [u8],
    pub facts: u16,
    /// Sorted by name; empty unless `CONTAINER`.
    pub subcommands: &'static [Entry],
}

impl Entry {
    pub const fn new(name: &'static [u8], facts: u16) -> Entry {
        Entry { name, facts, subcommands: &[] }
    }

    pub const fn container(name: &'static [u8], facts: u16, subcommands: &'static [Entry]) -> Entry {
        Entry { name, facts, subcommands }
    }

    pub fn has(&self, bits: u16) -> bool {
        self.facts & bits != 0
    }
}

/// A command line's place in the table.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub command: &'static Entry,
    /// The subcommand's entry, when the command is a container and its second argument names
    /// one of its subcommands.
    pub sub: Option<&'static Entry>,
}

impl Found {
    /// The facts of what `args` runs: the subcommand's for a container (none for a container
    /// without a known subcommand, whose own flags say nothing about what it does).
    pub fn facts(&self) -> u16 {
        match self.sub {
            Some(s) => s.facts,
            None if self.command.has(CONTAINER) => 0,
            None => self.command.facts,
        }
    }

    /// Safe to send again after the connection it was written on was lost without its reply.
    pub fn resend_safe(&self) -> bool {
        self.facts() & (READONLY | NO_EFFECT) != 0
    }
}

/// The entry of `args[0]`, and of `args[1]` among its subcommands. `None` for an empty line or a
/// command the table does not have (a module's, or one newer than the table).
pub fn lookup(args: &[&[u8]]) -> Option<Found> {
    let command = find(COMMANDS, args.first()?)?;
    let sub = match args.get(1) {
        Some(s) if !command.subcommands.is_empty() => find(command.subcommands, s),
        _ => None,
    };
    Some(Found { command, sub })
}

/// Longer than every name of the table (a test checks it): a longer word is no command.
const LONGEST_NAME: usize = 32;

/// `name`, in any case, in a table sorted by upper-case name: upper-cased once, then compared
/// whole at each step of the binary search.
pub fn find(table: &'static [Entry], name: &[u8]) -> Option<&'static Entry> {
    let mut buf = [0u8; LONGEST_NAME];
    let upper = buf.get_mut(..name.len())?;
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    table.binary_search_by(|e| e.name.cmp(upper)).ok().map(|i| &table[i])
}

#[cfg(test)]
mod tests {
    use super::super::request::{blocking_wait, unsupported_mode, SessionEffect, NAMED_SUBCOMMANDS, NEWER_THAN_TABLE, TIMEOUT_RULES, UNFLAGGED_BLOCKING};
    use super::*;

    fn entry(name: &str) -> Option<&'static Entry> {
        let mut words = name.split(' ');
        let e = find(COMMANDS, words.next()?.as_bytes())?;
        match words.next() {
            Some(s) => find(e.subcommands, s.as_bytes()),
            None => Some(e),
        }
    }

    fn in_table_or_newer(name: &str) -> bool {
        entry(name).is_some() || NEWER_THAN_TABLE.iter().any(|(n, _)| *n == name)
    }

    fn args(line: &str) -> Vec<&[u8]> {
        line.split(' ').map(str::as_bytes).collect()
    }

    #[test]
    fn the_generated_table_is_sorted_upper_case_and_consistent() {
        let check = |t: &[Entry]| {
            assert!(t.windows(2).all(|w| w[0].name < w[1].name), "sorted, no duplicates");
            for e in t {
                assert!(!e.name.is_empty() && !e.name.iter().any(u8::is_ascii_lowercase), "{e:?}");
                assert!(e.name.len() <= LONGEST_NAME, "{e:?} is longer than find looks");
                assert_eq!(e.has(CONTAINER), !e.subcommands.is_empty(), "{e:?}");
                assert!(!(e.has(WRITE) && e.has(READONLY | NO_EFFECT)), "{e:?} writes: it cannot be resent");
            }
        };
        check(COMMANDS);
        for c in COMMANDS {
            check(c.subcommands);
            assert!(c.subcommands.iter().all(|s| s.subcommands.is_empty()));
        }
        assert!(COMMANDS.len() > 200, "{} commands", COMMANDS.len());
    }

    #[test]
    fn lookup_ignores_case_and_finds_subcommands() {
        assert_eq!(lookup(&args("get k")).unwrap().command.name, b"GET");
        assert_eq!(lookup(&args("GeT")).unwrap().command.name, b"GET");
        let f = lookup(&args("client list")).unwrap();
        assert_eq!((f.command.name, f.sub.unwrap().name), (&b"CLIENT"[..], &b"LIST"[..]));
        assert_eq!(lookup(&args("client no-evict on")).unwrap().sub.unwrap().name, b"NO-EVICT");
        assert!(lookup(&args("CLIENT NOSUCH")).unwrap().sub.is_none());
        assert!(lookup(&args("GET LIST")).unwrap().sub.is_none());
        assert!(lookup(&args("NOSUCHCOMMAND")).is_none());
        assert!(lookup(&args("GE")).is_none());
        assert!(lookup(&args("GETX")).is_none());
        assert!(lookup(&[]).is_none());
        assert!(lookup(&[b""]).is_none());
        assert!(lookup(&[b"G\xffT"]).is_none());
        let long = vec![b'A'; LONGEST_NAME + 1];
        assert!(lookup(&[&long]).is_none(), "a word longer than every name is no command");
        // Every name finds itself, in lower case too.
        for c in COMMANDS {
            assert!(std::ptr::eq(find(COMMANDS, &c.name.to_ascii_lowercase()).unwrap(), c));
            for s in c.subcommands {
                assert!(std::ptr::eq(find(c.subcommands, &s.name.to_ascii_lowercase()).unwrap(), s));
            }
        }
    }

    #[test]
    fn the_table_knows_what_reads_for_subcommands_too() {
        let safe = |line: &str| lookup(&args(line)).is_some_and(|f| f.resend_safe());
        assert!(safe("CLIENT LIST") && !safe("CLIENT KILL ID 1"));
        assert!(safe("CONFIG GET x") && !safe("CONFIG SET x y"));
        assert!(safe("XINFO STREAM s") && safe("XINFO HELP") && !safe("XGROUP CREATE s g $"));
        assert!(safe("OBJECT HELP") && !safe("CLIENT"));
        assert!(!safe("DEBUG SLEEP 0") && !safe("FLUSHALL"));
    }

    // The hand-kept facts of request.rs, against the table.

    #[test]
    fn every_blocking_command_of_the_table_has_a_timeout_rule() {
        for c in COMMANDS.iter().chain(COMMANDS.iter().flat_map(|c| c.subcommands)) {
            if c.has(BLOCKING) {
                let name = std::str::from_utf8(c.name).unwrap();
                assert!(
                    TIMEOUT_RULES.iter().any(|(n, _)| *n == name),
                    "{name} is blocking: give it a timeout rule in request.rs (which argument, what unit)"
                );
            }
        }
    }

    #[test]
    fn every_timeout_rule_names_a_command_of_the_table() {
        for (name, _) in TIMEOUT_RULES {
            assert!(in_table_or_newer(name), "{name}: not in the table");
            let stated = UNFLAGGED_BLOCKING.iter().any(|(n, _)| n == name);
            if let Some(e) = entry(name) {
                assert!(e.has(BLOCKING) != stated, "{name}: the table flags it blocking exactly when UNFLAGGED_BLOCKING does not");
            }
            // And the rule is used: a timeout of 0 waits for ever.
            let line: Vec<&[u8]> = match *name {
                "XREAD" | "XREADGROUP" => vec![name.as_bytes(), b"BLOCK", b"0", b"STREAMS", b"s", b"0"],
                "BLMPOP" | "BZMPOP" => vec![name.as_bytes(), b"0", b"1", b"k", b"MIN"],
                _ => vec![name.as_bytes(), b"a", b"0"],
            };
            assert!(blocking_wait(&line).is_some(), "{name}");
        }
        for (name, _) in NEWER_THAN_TABLE {
            assert!(entry(name).is_none(), "{name} is in the table now: drop it from NEWER_THAN_TABLE");
        }
    }

    #[test]
    fn every_pubsub_command_is_refused_or_plain() {
        // The table's `pubsub` flag covers PUBLISH too; the generator's mode list must take
        // every other one (a new SUBSCRIBE variant fails here).
        const PLAIN: &[&str] = &["PUBLISH", "SPUBLISH", "PUBSUB"];
        for c in COMMANDS {
            let name = std::str::from_utf8(c.name).unwrap();
            if c.has(PUBSUB) && !PLAIN.contains(&name) {
                assert!(c.has(SUBSCRIBES), "{name} is a pub/sub command the generator's %MODE does not name");
            }
            if c.has(MONITORS | REPLICATES) {
                assert!(unsupported_mode(&[c.name, b"x"]).is_some(), "{name} changes the mode but is sent");
            }
            if c.has(SUBSCRIBES) {
                // Sent, and tracked as subscribe mode by the connection.
                assert!(unsupported_mode(&[c.name, b"x"]).is_none(), "{name}");
                assert!(super::super::pubsub::PubSubRequest::of(&[c.name, b"x"]).is_some(), "{name} is not tracked as subscribe mode");
            }
        }
        for name in PLAIN {
            assert!(entry(name).is_some(), "{name}");
            assert!(unsupported_mode(&args(name)).is_none(), "{name}");
        }
        // The argument-dependent switches of unsupported_mode.
        for name in ["CLIENT REPLY", "HELLO"] {
            assert!(entry(name).is_some(), "{name}");
        }
    }

    #[test]
    fn session_effects_name_commands_of_the_table() {
        for name in ["SELECT", "CLIENT SETNAME", "HELLO", "RESET", "MULTI", "EXEC", "DISCARD"] {
            assert!(entry(name).is_some(), "{name}");
            let len = name.split(' ').next().unwrap().len();
            assert!((4..=7).contains(&len), "{name}: SessionEffect::of rejects names by length first");
        }
        assert_eq!(SessionEffect::of(&args("RESET")), SessionEffect::Reset);
    }

    #[test]
    fn subcommands_in_names_are_the_tables_containers_and_named_exceptions() {
        for (name, _) in NAMED_SUBCOMMANDS {
            let e = entry(name).unwrap_or_else(|| panic!("{name}: not in the table"));
            assert!(!e.has(CONTAINER), "{name} is a container in the table now: drop it from NAMED_SUBCOMMANDS");
        }
    }
}
