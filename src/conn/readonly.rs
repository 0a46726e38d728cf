//! Which commands only read, and may therefore be sent again after the connection they were
//! written on was lost (their reply never arrived). A hand-kept list of Redis 7.0's read-only
//! commands (those the server flags `readonly`, plus replies-only commands such as PING and
//! TIME); the command table that `bin/generate-commands` reads from the server supersedes it.

pub fn is_read_only(args: &[&[u8]]) -> bool {
    let Some(name) = args.first() else { return false };
    if name.len() > 24 {
        return false;
    }
    let mut upper = [0u8; 24];
    for (u, c) in upper.iter_mut().zip(name.iter()) {
        *u = c.to_ascii_uppercase();
    }
    let upper = &upper[..name.len()];
    if READ_ONLY.binary_search(&upper).is_ok() {
        return true;
    }
    // Container commands whose subcommand reads.
    let sub = |want: &[&[u8]]| {
        args.get(1).is_some_and(|s| want.iter().any(|w| s.len() == w.len() && s.eq_ignore_ascii_case(w)))
    };
    match upper {
        b"OBJECT" => sub(&[b"ENCODING", b"FREQ", b"IDLETIME", b"REFCOUNT", b"HELP"]),
        b"MEMORY" => sub(&[b"USAGE", b"STATS", b"DOCTOR", b"HELP"]),
        b"XINFO" => true,
        b"CLIENT" => sub(&[b"GETNAME", b"ID", b"INFO", b"LIST"]),
        b"CONFIG" => sub(&[b"GET"]),
        _ => false,
    }
}

/// Sorted, upper case.
const READ_ONLY: &[&[u8]] = &[
    b"BITCOUNT", b"BITFIELD_RO", b"BITPOS", b"DBSIZE", b"DUMP", b"ECHO", b"EVALSHA_RO", b"EVAL_RO",
    b"EXISTS", b"EXPIRETIME", b"FCALL_RO", b"GEODIST", b"GEOHASH", b"GEOPOS", b"GEORADIUSBYMEMBER_RO",
    b"GEORADIUS_RO", b"GEOSEARCH", b"GET", b"GETBIT", b"GETRANGE", b"HEXISTS", b"HGET", b"HGETALL",
    b"HKEYS", b"HLEN", b"HMGET", b"HRANDFIELD", b"HSCAN", b"HSTRLEN", b"HVALS", b"INFO", b"KEYS",
    b"LASTSAVE", b"LCS", b"LINDEX", b"LLEN", b"LPOS", b"LRANGE", b"MGET", b"PEXPIRETIME", b"PFCOUNT",
    b"PING", b"PTTL", b"RANDOMKEY", b"SCAN", b"SCARD", b"SDIFF", b"SINTER", b"SINTERCARD",
    b"SISMEMBER", b"SMEMBERS", b"SMISMEMBER", b"SORT_RO", b"SRANDMEMBER", b"SSCAN", b"STRLEN",
    b"SUBSTR", b"SUNION", b"TIME", b"TTL", b"TYPE", b"XLEN", b"XRANGE", b"XREAD", b"XREVRANGE",
    b"ZCARD", b"ZCOUNT", b"ZDIFF", b"ZINTER", b"ZINTERCARD", b"ZLEXCOUNT", b"ZMSCORE",
    b"ZRANDMEMBER", b"ZRANGE", b"ZRANGEBYLEX", b"ZRANGEBYSCORE", b"ZRANK", b"ZREVRANGE",
    b"ZREVRANGEBYLEX", b"ZREVRANGEBYSCORE", b"ZREVRANK", b"ZSCAN", b"ZSCORE", b"ZUNION",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(READ_ONLY.windows(2).all(|w| w[0] < w[1]));
    }

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
}
