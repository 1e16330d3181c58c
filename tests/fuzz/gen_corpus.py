#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (tests/fuzz/corpus/).

Run from the repository root when a format changes; the files are small and
deterministic. Layouts follow the headers they come from: resp/parser.h, resp/frame.h,
raft/codec.c, src/sm/sm.h, src/sm/snapshot.h, conf/raftcache.conf, src/acl/acl.h; the RDB
bodies of fuzz_rdb come from tests/integration/rdb_bytes.py (src/rdb/rdb_value.h,
src/rdb/rdb_zl.h), which the integration tests restore on redis-server too.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import rdb_bytes  # noqa: E402  (tests/integration/rdb_bytes.py)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def mbulk(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def resp():
    # byte 0: bit 0 unauthenticated, bit 1 small limits
    put("resp_parser", "set_get", b"\x00" + mbulk(b"SET", b"k", b"v") + mbulk(b"GET", b"k"))
    put("resp_parser", "inline", b"\x00PING\r\nSET a \"x\\x41\\n\" 'b\\'c'\n\r\n")
    put("resp_parser", "empty_mbulk", b"\x00*0\r\n*-1\r\n" + mbulk(b"PING"))
    put("resp_parser", "partial", b"\x00*2\r\n$3\r\nGET\r\n$10\r\nabc")
    put("resp_parser", "bad_bulk", b"\x00*1\r\n$x\r\n")
    put("resp_parser", "unauth", b"\x01" + mbulk(*[b"a"] * 11))
    put("resp_parser", "small_limits", b"\x02" + mbulk(b"SET", b"k", b"v" * 70) + b"x" * 40 + b"\n")
    put("resp_parser", "unbalanced", b"\x00SET \"abc\n")
    # replies, RESP2 and RESP3 (resp/frame.h)
    put("resp_frame", "resp2", b"+OK\r\n-ERR x\r\n:1\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n"
        b"*2\r\n$1\r\na\r\n*1\r\n:2\r\n")
    put("resp_frame", "resp3", b"%1\r\n$1\r\nk\r\n,1.5\r\n~2\r\n#t\r\n_\r\n"
        b"=7\r\ntxt:abc\r\n!3\r\nERR\r\n(123\r\n")
    put("resp_frame", "push_attr", b">2\r\n+a\r\n+b\r\n|1\r\n+k\r\n+v\r\n*1\r\n|0\r\n:1\r\n")
    put("resp_frame", "partial", b"*3\r\n:1\r\n$5\r\nab")
    put("resp_frame", "bad", b"*01\r\n:1\r\n$2\r\nabc\r\n")


def u64(v):
    return struct.pack("<Q", v)


def u32(v):
    return struct.pack("<I", v)


def msg(mtype, flags=0, fields=(1, 2, 3, 4, 5, 6, 0, 0, 0, 0), body=b""):
    return bytes([2, mtype, flags]) + b"".join(u64(f) for f in fields) + body


def conf(servers):
    out = u32(len(servers))
    for sid, voter, addr in servers:
        out += u64(sid) + bytes([voter, len(addr)]) + addr
    return out


def codec():
    ents = u32(2) + u64(3) + bytes([1]) + u32(5) + b"hello" + u64(3) + bytes([0]) + u32(0)
    put("raft_codec", "append", msg(1, body=ents))
    put("raft_codec", "append_conf", msg(1, body=u32(1) + u64(3) + bytes([2]) + u32(0)))
    put("raft_codec", "append_resp_reject", msg(2, flags=1, fields=(2, 1, 3, 9, 0, 0, 7, 2, 0, 0)))
    put("raft_codec", "vote_transfer", msg(3, flags=2))
    put("raft_codec", "heartbeat", msg(7, fields=(1, 2, 3, 0, 0, 9, 0, 0, 42, 0)))
    c = conf([(1, 1, b"127.0.0.1:7001"), (2, 1, b"127.0.0.1:7002"), (3, 0, b"")])
    put("raft_codec", "snapshot", msg(9, flags=4, body=u32(len(c)) + c + u32(4) + b"RCSN"))
    put("raft_codec", "timeout_now", msg(11))
    # found by the fuzzer: an address-less (old log) configuration in a SNAPSHOT
    old = u32(1) + u64(1) + bytes([1])
    put("raft_codec", "snapshot_old_conf", msg(9, body=u32(len(old)) + old + u32(0)))
    put("raft_codec", "conf_only", c)


HAS_DB = 1 << 31  # src/sm/sm.h, SM_CMD_HAS_DB


def entry(etype, ts, cmds):
    """cmds: argv lists (database 0) or (db, argv) pairs."""
    out = bytes([1, etype]) + struct.pack("<q", ts) + u32(len(cmds))
    for cmd in cmds:
        db, argv = cmd if isinstance(cmd, tuple) else (0, cmd)
        out += u32(len(argv) | HAS_DB) + u32(db) if db else u32(len(argv))
        out += b"".join(u32(len(a)) + a for a in argv)
    return out


def sm():
    ts = 1700000000000
    put("sm_entry", "noop", entry(0, ts, []))
    put("sm_entry", "set", entry(1, ts, [[b"SET", b"k", b"v", b"PXAT", b"1700000060000"]]))
    put("sm_entry", "multi", entry(2, ts, [[b"INCR", b"n"], [b"APPEND", b"s", b"xy"],
                                           [b"GET", b"n"]]))
    put("sm_entry", "expire", entry(3, ts, [[b"canary", b"other"]]))
    put("sm_entry", "batch", entry(4, ts, [[b"MSET", b"a", b"1", b"b", b"2"],
                                           [b"SETRANGE", b"a", b"5", b"zz"],
                                           [b"RENAME", b"a", b"c"], [b"DEL", b"b"],
                                           [b"PEXPIREAT", b"c", b"1"], [b"FLUSHALL"]]))
    put("sm_entry", "unknown_cmd", entry(1, ts, [[b"NOSUCH", b"x"]]))
    # numbered databases: commands of several in one batch, an expiry in one
    put("sm_entry", "dbs", entry(4, ts, [(3, [b"SET", b"canary", b"3"]), [b"INCR", b"n"],
                                        (1, [b"RPUSH", b"canary", b"x"]), (3, [b"DEL", b"canary"]),
                                        (2, [b"FLUSHALL"])]))
    put("sm_entry", "expire_db", entry(3, ts, [(2, [b"canary", b"other"])]))
    put("sm_entry", "db_beyond", entry(1, ts, [(9, [b"SET", b"k", b"v"])]))
    # the data types: compact encodings, conversions, random draws, strings as HLLs
    put("sm_entry", "hash", entry(4, ts, [[b"HSET", b"h", b"f", b"1", b"g", b"x" * 70],
                                          [b"HINCRBYFLOAT", b"h", b"f", b"2.5"],
                                          [b"HDEL", b"h", b"g"], [b"HRANDFIELD", b"h", b"-3"]]))
    put("sm_entry", "sets", entry(4, ts, [[b"SADD", b"s", b"1", b"2", b"3"], [b"SADD", b"s", b"a"],
                                         [b"SPOP", b"s", b"2"], [b"SINTERSTORE", b"d", b"s", b"s"],
                                         [b"SMOVE", b"s", b"d", b"1"]]))
    put("sm_entry", "zset", entry(4, ts, [[b"ZADD", b"z", b"1", b"a", b"2.5", b"b", b"-inf", b"c"],
                                          [b"ZINCRBY", b"z", b"3", b"a"],
                                          [b"ZUNIONSTORE", b"u", b"2", b"z", b"z", b"WEIGHTS", b"1", b"2"],
                                          [b"ZPOPMIN", b"z", b"2"],
                                          [b"ZREMRANGEBYLEX", b"u", b"[a", b"(c"]]))
    put("sm_entry", "lists", entry(4, ts, [[b"RPUSH", b"l", b"a", b"1", b"x" * 70, b"b"],
                                           [b"LINSERT", b"l", b"BEFORE", b"1", b"y" * 9000],
                                           [b"LSET", b"l", b"-1", b"z"], [b"LREM", b"l", b"0", b"a"],
                                           [b"LMOVE", b"l", b"m", b"LEFT", b"RIGHT"],
                                           [b"LMPOP", b"2", b"n", b"l", b"RIGHT", b"COUNT", b"2"],
                                           [b"LTRIM", b"l", b"0", b"-2"],
                                           [b"SORT", b"m", b"ALPHA", b"STORE", b"s"]]))
    put("sm_entry", "bitmap_hll", entry(4, ts, [[b"SETBIT", b"bm", b"100", b"1"],
                                                [b"BITOP", b"OR", b"bo", b"bm", b"bm"],
                                                [b"PFADD", b"hll", b"a", b"b", b"c"],
                                                [b"PFMERGE", b"m", b"hll"], [b"PFCOUNT", b"m"],
                                                [b"PFDEBUG", b"TODENSE", b"m"]]))


def fnv(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def snapshot():
    # byte 0 bit 0: the harness recomputes the trailer's checksum
    recs = [(b"k", b"v", -1), (b"exp", b"x" * 20, 1700000000000), (b"", b"", -1)]
    body = b"".join(u32(len(k)) + u32(len(v)) + struct.pack("<q", e) + k + v for k, v, e in recs)
    for version in (1, 2):
        head = b"RCSNAP\r\n" + u32(version) + u32(0) + u64(12) + u64(3) + u64(len(recs))
        data = head + body
        if version == 1:
            put("snapshot", "v1_valid", b"\x00" + data + b"RCSNEND\n" + u64(fnv(data)))
        put("snapshot", "v%d_fixsum" % version, b"\x01" + data + b"RCSNEND\n" + u64(0))
    # a list (kv type 1) as versions 4 (element by element) and 5 (its nodes'
    # listpacks: "a", 7, -5) write it, then no extras
    elems = b"".join(u32(len(e)) + e for e in (b"a", b"7", b"-5"))
    lp = b"\x81a\x02" + b"\x07\x01" + b"\xdf\xfb\x02"
    lp = u32(8 + len(lp)) + u32(3) + lp
    for version, payload in ((4, u32(3) + elems), (5, u32(3) + u32(1) + u32(len(lp)) + lp)):
        rec = b"\x01" + u32(1) + u64(len(payload)) + struct.pack("<q", -1) + b"l" + payload
        data = b"RCSNAP\r\n" + u32(version) + u32(0) + u64(12) + u64(3) + u64(1) + rec + bytes(9)
        put("snapshot", "v%d_list_fixsum" % version, b"\x01" + data + b"RCSNEND\n" + u64(0))
    # version 6: a key of database 0, then one of database 2 (type byte 0x80 | string)
    recs6 = (b"\x00" + u32(1) + u64(1) + struct.pack("<q", -1) + b"a" + b"0" +
             b"\x80" + u32(2) + u32(1) + u64(1) + struct.pack("<q", -1) + b"a" + b"2")
    data = b"RCSNAP\r\n" + u32(6) + u32(0) + u64(12) + u64(3) + u64(2) + recs6 + bytes(9)
    put("snapshot", "v6_dbs_fixsum", b"\x01" + data + b"RCSNEND\n" + u64(0))
    empty = b"RCSNAP\r\n" + u32(2) + u32(0) + u64(0) + u64(0) + u64(0)
    put("snapshot", "empty_fixsum", b"\x01" + empty + b"RCSNEND\n" + u64(0))
    put("snapshot", "truncated", b"\x00RCSNAP\r\n" + u32(2))


def config():
    put("config", "cluster", b"""# node 1
port 7001
bind 127.0.0.1 ::1
node-id 1
dir ./data/node1
cluster-members "1=127.0.0.1:7001 2=127.0.0.1:7002 3=[::1]:7003"
raft-secret "s\\x00cr\\"et"
requirepass 'it\\'s'
maxmemory 1gb
maxmemory-policy noeviction
client-output-buffer-limit normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60
loglevel verbose
raft-read-mode lease
save ""
""")
    put("config", "bad_value", b"port 70000\n")
    put("config", "unbalanced", b"requirepass \"abc\n")
    put("config", "include_missing", b"include missing.conf\nhz 10\n")
    put("config", "unknown", b"nosuchdirective 1\n")
    # found by the fuzzer: a line without end was read whole before its limit
    put("config", "include_dev_zero", b"port 7000\ninclude /dev/zero\n")


def acl():
    # lines of an aclfile, as src/acl/acl.h reads them
    put("acl", "users", b"""user default on nopass ~* &* +@all
user app on >secret ~app:* %R~ro:* &news.* +@all -@dangerous -flushall
user ro on #c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2 %R~* +@read
user sel on nopass ~a:* +get (~b:* +set) (%W~log:* +lpush +select|0 -config|set)
user gone on nopass
deluser gone
user ro reset
""")
    put("acl", "errors", b"user x +nosuch\nuser y (~a +get\nuser z allkeys ~b\nuser w #abc\n")


def rdb():
    # byte 0 (tests/fuzz/fuzz_rdb.c): bit 0 a whole DUMP payload (footer checked),
    # else a body alone; bit 1 tiny encoding limits
    bodies = dict(rdb_bytes.modern_bodies())
    bodies.update((k, b) for k, (b, _) in rdb_bytes.legacy_bodies().items())
    for name, body in bodies.items():
        put("rdb", name, b"\x00" + body)
        put("rdb", "tiny_" + name, b"\x02" + body)
    for name, body in rdb_bytes.damaged_legacy_bodies().items():
        put("rdb", "bad_" + name, b"\x00" + body)
    put("rdb", "payload_hash_ziplist", b"\x01" + rdb_bytes.with_footer(
        rdb_bytes.legacy_bodies()["hash_ziplist"][0], version=9))
    put("rdb", "payload_quicklist_2", b"\x03" + rdb_bytes.with_footer(
        rdb_bytes.modern_bodies()["quicklist_2"]))


if __name__ == "__main__":
    rdb()
    acl()
    resp()
    codec()
    sm()
    snapshot()
    config()
