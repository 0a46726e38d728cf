//! Which commands only read, and may therefore be sent again after the connection they were
//! written on was lost (their reply never arrived): those the command table flags `readonly`
//! (for a container, its subcommand's flag: `CLIENT LIST` but not `CLIENT KILL`), and those it
//! lists as reading no keys and changing nothing (PING, TIME, CONFIG GET, every HELP; see
//! `%NO_EFFECT` in bin/generate-commands). [`super::Request::new`] asks the table directly.

use super::commands;

#[cfg_attr(not(test), allow(dead_code))]
pub fn is_read_only(args: &[&[u8]]) -> bool {
    commands::lookup(args).is_some_and(|f| f.resend_safe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes() {
        let ro = |a: &[&str]| is_read_only(&a.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
        assert!(ro(&["get", "k"]));
        assert!(ro(&["ZRANGE", "z", "0", "-1"]));
        assert!(ro(&["object", "encoding", "k"]));
        assert!(!ro(&["SET", "k", "v"]));
        assert!(!ro(&["INCR", "k"]));
        assert!(!ro(&["BLPOP", "q", "0"]));
        assert!(!ro(&["OBJECT", "FREQ2"]));
        assert!(!ro(&["CONFIG", "SET", "x", "y"]));
        assert!(!ro(&[]));
    }

    #[test]
    fn what_the_hand_kept_list_said_still_holds() {
        // The list this module kept before the table replaced it (Redis 7.0's readonly commands
        // plus replies-only ones), and its container rules.
        const BEFORE: &[&str] = &[
            "BITCOUNT", "BITFIELD_RO", "BITPOS", "DBSIZE", "DUMP", "ECHO", "EVALSHA_RO", "EVAL_RO", "EXISTS",
            "EXPIRETIME", "FCALL_RO", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUSBYMEMBER_RO", "GEORADIUS_RO",
            "GEOSEARCH", "GET", "GETBIT", "GETRANGE", "HEXISTS", "HGET", "HGETALL", "HKEYS", "HLEN", "HMGET",
            "HRANDFIELD", "HSCAN", "HSTRLEN", "HVALS", "INFO", "KEYS", "LASTSAVE", "LCS", "LINDEX", "LLEN", "LPOS",
            "LRANGE", "MGET", "PEXPIRETIME", "PFCOUNT", "PING", "PTTL", "RANDOMKEY", "SCAN", "SCARD", "SDIFF",
            "SINTER", "SINTERCARD", "SISMEMBER", "SMEMBERS", "SMISMEMBER", "SORT_RO", "SRANDMEMBER", "SSCAN",
            "STRLEN", "SUBSTR", "SUNION", "TIME", "TTL", "TYPE", "XLEN", "XRANGE", "XREAD", "XREVRANGE", "ZCARD",
            "ZCOUNT", "ZDIFF", "ZINTER", "ZINTERCARD", "ZLEXCOUNT", "ZMSCORE", "ZRANDMEMBER", "ZRANGE",
            "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANK", "ZREVRANGE", "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE",
            "ZREVRANK", "ZSCAN", "ZSCORE", "ZUNION",
            "OBJECT ENCODING", "OBJECT FREQ", "OBJECT IDLETIME", "OBJECT REFCOUNT", "OBJECT HELP",
            "MEMORY USAGE", "MEMORY STATS", "MEMORY DOCTOR", "MEMORY HELP",
            "XINFO STREAM", "XINFO GROUPS", "XINFO CONSUMERS", "XINFO HELP",
            "CLIENT GETNAME", "CLIENT ID", "CLIENT INFO", "CLIENT LIST", "CONFIG GET",
        ];
        for line in BEFORE {
            assert!(ro_line(line), "{line}");
        }
        for line in ["CLIENT KILL", "CLIENT PAUSE", "CONFIG SET", "CONFIG REWRITE", "MEMORY PURGE", "OBJECT", "XGROUP DESTROY"] {
            assert!(!ro_line(line), "{line}");
        }
        // What the table adds: TOUCH (only the access time), XPENDING, LOLWUT.
        assert!(ro_line("TOUCH") && ro_line("XPENDING") && ro_line("LOLWUT"));
    }

    fn ro_line(line: &str) -> bool {
        is_read_only(&line.split(' ').map(str::as_bytes).collect::<Vec<_>>())
    }
}
