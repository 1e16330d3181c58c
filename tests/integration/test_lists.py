"""Lists as a client sees them, compared byte for byte with redis-server 7.0
run beside raftcache: every list command's replies (RESP2 and RESP3 nulls
included), its errors (wrong type, wrong arity, out of range, LPOS's RANK 0,
negative COUNT and MAXLEN, LPOP's negative count, LMPOP's arguments), a
seeded stream of random list commands under several node sizes and
compression depths, SORT over lists, WATCH, the generic commands on lists
(TYPE, OBJECT ENCODING, COPY, RENAME, SCAN ... TYPE, DEL/UNLINK of big
lists), COMMAND INFO and DOCS. Then, raftcache alone: lists survive a
snapshot and a restart, and replicate to the followers of a 3-node cluster.

The reference redis-server is started on a free port in its own temp dir
and stopped by pid; the tests are skipped when it is not installed. Every
wait polls with a deadline.

What a user would notice if these failed: a queue (RPUSH/LPOP) that loses or
reorders work, a client library that misreads a null reply, a list changed
by a restart or different on a follower.
"""

import random

import pytest

from conftest import KIND, Raw, wait_until

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache beside redis-server")

DEADLINE_S = 60
@pytest.fixture
def reference(redis_reference):
    """A redis-server 7.0 on a free port (its port), stopped by pid."""
    return redis_reference().port


@pytest.fixture
def pair(server, reference):
    """Raw connections to raftcache and to redis-server, both flushed."""
    ours, theirs = Raw(server.port), Raw(reference)
    for c in (ours, theirs):
        assert c.cmd("FLUSHALL") == b"+OK\r\n"
    yield ours, theirs
    ours.close()
    theirs.close()


def same(pair, *args):
    """Runs one command on both servers; their raw replies must be equal."""
    ours, theirs = pair
    want = theirs.cmd(*args)
    got = ours.cmd(*args)
    assert got == want, f"{args!r}: raftcache {got!r}, redis-server {want!r}"
    return got


def run_script(pair, lines):
    for line in lines:
        same(pair, *line.split(" "))


BIG = "x" * 9000

BASICS = [
    "RPUSH l a b c 1 2 3", "LPUSH l z y", "LLEN l", "LRANGE l 0 -1", "LRANGE l -3 -1",
    "LRANGE l 2 1", "LRANGE l -100 100", "LRANGE l 5 -100", "LRANGE none 0 -1",
    "LINDEX l 0", "LINDEX l -1", "LINDEX l 100", "LINDEX l -100", "LINDEX none 0",
    "LPUSH n 007 -0 9223372036854775807 9223372036854775808 -9223372036854775808 0 127",
    "LRANGE n 0 -1", "LPOS n 127", "LPOS n 00127", "LREM n 1 007", "LRANGE n 0 -1",
    "LPOP l", "RPOP l", "LPOP l 2", "RPOP l 0", "LPOP l 100", "LLEN l", "EXISTS l",
    "LPOP l", "LPOP l 2", "RPOP none", "RPOP none 0",
    "RPUSHX l a", "LPUSHX l a", "RPUSH l a", "RPUSHX l b c", "LPUSHX l z", "LRANGE l 0 -1",
    "LINSERT l BEFORE a x", "LINSERT l after c y", "LINSERT l before nope q",
    "LINSERT none before a b", "LRANGE l 0 -1",
    "LSET l 0 first", "LSET l -1 last", "LSET l 2 " + BIG, "LRANGE l 0 1", "LINDEX l 2",
    "LRANGE l 0 -1", "RPUSH r a b a c a d a", "LREM r 2 a", "LRANGE r 0 -1", "LREM r -1 a",
    "LRANGE r 0 -1", "LREM r 0 a", "LRANGE r 0 -1", "LREM r 0 b", "LREM r 1 zz", "LREM none 1 a",
    "LREM r 0 c", "LREM r 0 d", "EXISTS r",
    "RPUSH t 0 1 2 3 4 5 6 7 8 9", "LTRIM t 2 -3", "LRANGE t 0 -1", "LTRIM t -100 100",
    "LRANGE t 0 -1", "LTRIM t 3 1", "EXISTS t", "LTRIM none 0 1",
    "RPUSH p a b c 1 2 3 c c", "LPOS p c", "LPOS p c RANK 2", "LPOS p c RANK -1",
    "LPOS p c RANK -2 COUNT 0", "LPOS p c COUNT 0", "LPOS p c COUNT 2", "LPOS p c MAXLEN 3",
    "LPOS p c MAXLEN 3 COUNT 0", "LPOS p c RANK 10", "LPOS p c RANK 4 COUNT 1", "LPOS p x",
    "LPOS p x COUNT 1", "LPOS none x", "LPOS none x COUNT 1", "LPOS p 3 RANK -1 MAXLEN 3",
    "LPOS p c RANK -9223372036854775807", "LPOS p c RANK -9223372036854775808",
    "LPOS p c RANK -9223372036854775808 COUNT 2",
    "RPUSH m1 a b c", "RPUSH m2 d e", "LMOVE m1 m2 LEFT RIGHT", "LMOVE m1 m2 right left",
    "LRANGE m1 0 -1", "LRANGE m2 0 -1", "LMOVE m1 m1 LEFT RIGHT", "LRANGE m1 0 -1",
    "LMOVE m1 m3 left left", "EXISTS m1", "LRANGE m3 0 -1", "LMOVE none m3 left left",
    "RPOPLPUSH m2 m2", "RPOPLPUSH m2 m4", "LRANGE m2 0 -1", "LRANGE m4 0 -1",
    "RPOPLPUSH none m4",
    "LMPOP 2 none m2 LEFT", "LMPOP 1 m2 right COUNT 10", "LMPOP 2 m2 m4 left count 1",
    "LMPOP 1 none left", "LMPOP 3 none m4 m4 RIGHT COUNT 2",
]

ERRORS = [
    "SET s v", "HSET h f v",
    "LPUSH s a", "RPUSH s a", "LPUSHX s a", "RPUSHX s a", "LPOP s", "RPOP s 2", "LLEN s",
    "LRANGE s 0 1", "LINDEX s 0", "LSET s 0 a", "LINSERT s before a b", "LREM s 0 a",
    "LTRIM s 0 1", "LPOS s a", "LMOVE s x left left", "RPOPLPUSH s x", "LMPOP 1 s left",
    "RPUSH l a b c", "LMOVE l s left left", "RPOPLPUSH l h", "LRANGE l 0 -1",
    "LMPOP 2 none s left", "LMPOP 2 l s left", "LMOVE none s left left",
    "LPOP l -1", "LPOP l abc", "RPOP l -123", "RPOP l 1.5", "LPOP none -1",
    "LRANGE l a 1", "LRANGE l 1 b", "LRANGE none a 1", "LTRIM l x 1", "LTRIM none x 1",
    "LINDEX l x", "LINDEX none x", "LSET l x a", "LSET none x a", "LSET none 0 a",
    "LSET l 3 a", "LSET l -4 a", "LINSERT l middle a b", "LINSERT none middle a b",
    "LREM l x a", "LREM none x a",
    "LPOS l a RANK 0", "LPOS l a RANK x", "LPOS l a COUNT -1", "LPOS l a COUNT x",
    "LPOS l a MAXLEN -1", "LPOS l a MAXLEN x", "LPOS l a FOO 1", "LPOS l a RANK",
    "LPOS none a RANK 0", "LPOS l a RANK 1 COUNT -1", "LPOS s a RANK 0",
    "LMOVE l l up left", "LMOVE l l left down",
    "LMPOP 0 l LEFT", "LMPOP a l LEFT", "LMPOP -1 l RIGHT", "LMPOP 1 l bad_where",
    "LMPOP 1 l LEFT bar_arg", "LMPOP 1 l RIGHT LEFT", "LMPOP 1 l COUNT", "LMPOP 2 l none",
    "LMPOP 1 l LEFT COUNT 1 COUNT 2", "LMPOP 2 l l2 bad_arg", "LMPOP 1 l LEFT COUNT 0",
    "LMPOP 1 l RIGHT COUNT a", "LMPOP 1 l LEFT COUNT -1", "LMPOP 5 l LEFT",
    "LMPOP 1 l LEFT COUNT 0 extra",
    "LPUSH", "LPUSH l", "RPUSHX l", "LPOP", "LPOP l 1 1", "RPOP l 2 2", "LLEN", "LLEN l x",
    "LRANGE l 0", "LINDEX l", "LSET l 0", "LINSERT l before a", "LREM l 0", "LTRIM l 0",
    "LPOS l", "LMOVE l l left", "RPOPLPUSH l", "LMPOP", "LMPOP 1", "LMPOP 1 l",
    "LRANGE l 0 -1",
]


def test_commands_and_replies_match_redis(pair):
    run_script(pair, BASICS)


def test_errors_match_redis(pair):
    run_script(pair, ERRORS)


def test_resp3_nulls_match_redis(pair):
    for c in pair:
        c.cmd("HELLO", "3")
    run_script(pair, [
        "RPUSH l a", "LPOP none", "LPOP none 0", "LPOP none 2", "RPOP none 1", "LPOP l 0",
        "LINDEX l 5", "LINDEX none 0", "LPOS l x", "LPOS none x", "LPOS l x COUNT 0",
        "LMPOP 1 none left", "LMOVE none l left left", "RPOPLPUSH none l", "LRANGE none 0 1",
        "LMPOP 1 l left COUNT 5",
    ])


def random_command(rng, keys):
    """One list command drawn from rng over keys (LSET and LINSERT name
    elements that are often there)."""
    vocab = ["a", "b", "c", "1", "2", "-3", "007", "", "x" * 70, "y" * 600, "z" * 5000]
    k, k2 = rng.choice(keys), rng.choice(keys)

    def elems():
        return [rng.choice(vocab) + str(rng.randrange(3)) * rng.randrange(2)
                for _ in range(rng.randrange(1, 6))]

    def idx():
        return str(rng.randrange(-15, 15))
    end = lambda: rng.choice(["LEFT", "RIGHT"])  # noqa: E731
    choices = [  # pushes twice over: lists grow to hundreds of elements
        lambda: ["RPUSH", k, *elems()], lambda: ["LPUSH", k, *elems()],
        lambda: ["RPUSH", k, *elems()], lambda: ["LPUSH", k, *elems()],
        lambda: ["RPUSHX", k, *elems()], lambda: ["LPUSHX", k, *elems()],
        lambda: ["LPOP", k], lambda: ["RPOP", k, str(rng.randrange(0, 5))],
        lambda: ["LLEN", k], lambda: ["LRANGE", k, idx(), idx()], lambda: ["LINDEX", k, idx()],
        lambda: ["LSET", k, idx(), rng.choice(vocab)],
        lambda: ["LINSERT", k, rng.choice(["BEFORE", "AFTER"]), rng.choice(vocab),
                 rng.choice(vocab)],
        lambda: ["LREM", k, str(rng.randrange(-3, 4)), rng.choice(vocab)],
        lambda: ["LTRIM", k, str(rng.randrange(0, 3)), str(-rng.randrange(1, 4))]
        if rng.random() < 0.9 else ["LTRIM", k, idx(), idx()],
        lambda: ["LPOS", k, rng.choice(vocab), "RANK", str(rng.choice([1, 2, -1, -2])),
                 "COUNT", str(rng.randrange(0, 3)), "MAXLEN", str(rng.randrange(0, 20))],
        lambda: ["LMOVE", k, k2, end(), end()], lambda: ["RPOPLPUSH", k, k2],
        lambda: ["LMPOP", "2", k, k2, end(), "COUNT", str(rng.randrange(1, 4))],
    ]
    return rng.choice(choices)()


@pytest.mark.parametrize("fill,depth", [(-2, 0), (1, 1), (4, 2), (-5, 3), (3, 1)])
def test_random_commands_match_redis(pair, fill, depth):
    """Node layouts differ with the settings; the replies never do."""
    for c in pair:
        assert c.cmd("CONFIG", "SET", "list-max-listpack-size", fill) == b"+OK\r\n"
        assert c.cmd("CONFIG", "SET", "list-compress-depth", depth) == b"+OK\r\n"
    rng = random.Random(fill * 10 + depth)
    keys = ["q1", "q2", "q3"]
    for _ in range(3000):
        same(pair, *random_command(rng, keys))
    lengths = [int(same(pair, "LLEN", k)[1:]) for k in keys]
    assert max(lengths) > 100, lengths
    for k in keys:
        same(pair, "LRANGE", k, "0", "-1")


def test_sort_on_lists_matches_redis(pair):
    run_script(pair, [
        "RPUSH l 3 1 10 2 1.5", "SORT l", "SORT l DESC", "SORT l ALPHA", "SORT l LIMIT 1 2",
        "SORT l BY nosort", "SORT l BY nosort DESC", "SORT l BY nosort LIMIT 1 2",
        "SORT l BY nosort DESC LIMIT 1 3", "MSET w_1 5 w_2 4 w_3 3 w_10 2", "SORT l BY w_*",
        "SORT l BY w_* GET # GET w_*", "SORT_RO l BY w_* GET w_* DESC", "SORT l STORE d",
        "LRANGE d 0 -1", "TYPE d", "OBJECT ENCODING d", "SORT l BY w_* GET w_* STORE d",
        "LRANGE d 0 -1", "SORT none STORE d", "EXISTS d", "RPUSH bad a", "SORT bad",
        "SADD s c a b", "SORT s BY nosort STORE d2", "LRANGE d2 0 -1", "SORT l STORE l",
        "LRANGE l 0 -1", "SORT_RO l STORE x",
    ])


def test_generic_commands_on_lists_match_redis(pair):
    run_script(pair, [
        "RPUSH l a b c", "TYPE l", "OBJECT ENCODING l", "COPY l l2", "LRANGE l2 0 -1",
        "COPY l l2", "COPY l l2 REPLACE", "RENAME l2 l3", "LRANGE l3 0 -1", "EXISTS l2",
        "RENAMENX l l3", "SET s v",
    ])
    ours, theirs = pair
    # SCAN's order is each server's hash order: compared as sets
    scans = [c.cmd("SCAN", "0", "TYPE", "list", "COUNT", "100") for c in pair]
    assert scans[0].startswith(b"*2\r\n$1\r\n0\r\n*2\r\n")
    assert sorted(scans[0].split(b"\r\n")) == sorted(scans[1].split(b"\r\n"))
    run_script(pair, ["DEL l l3", "EXISTS l l3"])
    for c in pair:
        for i in range(0, 20000, 1000):
            c.send("RPUSH", "big", *[f"e{j}" for j in range(i, i + 1000)])
        assert all(c.reply() == b":%d\r\n" % (i + 1000) for i in range(0, 20000, 1000))
    same(pair, "LLEN", "big")
    same(pair, "LINDEX", "big", "12345")
    assert ours.cmd("MEMORY", "USAGE", "big").startswith(b":")
    assert int(ours.cmd("MEMORY", "USAGE", "big")[1:]) > 20000 * 5
    same(pair, "UNLINK", "big")
    for c in pair:
        c.send("RPUSH", "big", *[f"e{j}" for j in range(1000)])
        c.reply()
    same(pair, "DEL", "big")
    same(pair, "EXISTS", "big")


def test_watch_sees_list_changes_like_redis(server, reference):
    """EXEC fails exactly when redis-server's does (LTRIM and SORT STORE of
    an empty result signal the key; an LREM that removes nothing does not)."""
    cases = [
        ("LPUSH", "k", "x"), ("RPOP", "k"), ("LREM", "k", "0", "nothing"),
        ("LTRIM", "k", "0", "-1"), ("LSET", "k", "0", "y"), ("LINSERT", "k", "before", "b", "z"),
        ("LINSERT", "k", "before", "nope", "z"), ("LMOVE", "other", "k", "left", "left"),
        ("SORT", "none", "STORE", "k"), ("LPOS", "k", "a"), ("LPOP", "k", "0"),
    ]
    for case in cases:
        replies = []
        for port in (server.port, reference):
            a, b = Raw(port), Raw(port)
            a.cmd("FLUSHALL")
            a.cmd("RPUSH", "k", "a", "b")
            a.cmd("RPUSH", "other", "o")
            a.cmd("WATCH", "k")
            b.cmd(*case)
            a.cmd("MULTI")
            a.cmd("PING")
            replies.append(a.cmd("EXEC"))
            a.close()
            b.close()
        assert replies[0] == replies[1], f"{case}: raftcache {replies[0]!r}, redis {replies[1]!r}"


LIST_COMMANDS = ["lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange",
                 "lindex", "lset", "linsert", "lrem", "ltrim", "lpos", "lmove", "rpoplpush",
                 "lmpop"]


def strip_docs(value):
    """COMMAND DOCS without what raftcache does not describe (complexity,
    history, doc flags, an argument's "since")."""
    if isinstance(value, list):
        out, i = [], 0
        while i < len(value):
            item = value[i]
            if isinstance(item, bytes) and item in (b"complexity", b"history", b"doc_flags",
                                                    b"deprecated_since", b"replaced_by",
                                                    b"since") and i % 2 == 0:
                i += 2
                continue
            out.append(strip_docs(item))
            i += 1
        return out
    return value


def read_parsed(port, *args):
    """One command's reply as redis-py's parser gives it (no callbacks)."""
    import redis
    conn = redis.Connection(host="127.0.0.1", port=port, socket_timeout=30)
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        conn.disconnect()


def test_command_info_and_docs_match_redis(server, reference):
    for name in LIST_COMMANDS:
        got = read_parsed(server.port, "COMMAND", "INFO", name)[0]
        want = read_parsed(reference, "COMMAND", "INFO", name)[0]
        assert got[:7] == want[:7], name  # name arity flags first last step acl
        got = read_parsed(server.port, "COMMAND", "DOCS", name)
        want = read_parsed(reference, "COMMAND", "DOCS", name)
        assert strip_docs(got[1]) == strip_docs(want[1]), name


# --- raftcache alone: snapshots, restarts, replication ---

def fill_lists(c, prefix):
    """Lists of several shapes; returns their elements."""
    want = {}
    for i, (n, size) in enumerate([(1, 5), (100, 10), (3000, 40), (500, 700), (20, 9000)]):
        key = f"{prefix}:{i}"
        elems = [(f"{j}:" + "v" * size)[:max(size, 1)] if j % 3 else str(j) for j in range(n)]
        pipe = c.pipeline(transaction=False)
        for start in range(0, n, 200):
            pipe.rpush(key, *elems[start:start + 200])
        pipe.execute()
        want[key] = [e.encode() for e in elems]
    c.linsert(f"{prefix}:2", "BEFORE", "1500", "inserted")
    want[f"{prefix}:2"].insert(1500, b"inserted")
    c.lset(f"{prefix}:3", 250, "replaced")
    want[f"{prefix}:3"][250] = b"replaced"
    return want


def check_lists(c, want):
    for key, elems in want.items():
        assert c.lrange(key, 0, -1) == elems, key
        assert c.object("encoding", key) == b"quicklist"


def test_lists_survive_snapshot_and_restart(start_server):
    from raftharness import raft_info_of
    srv = start_server({"list-compress-depth": 1, "list-max-listpack-size": 16})
    c = srv.client()
    want = fill_lists(c, "snap")
    created = int(raft_info_of(c)["snapshots_created"])
    c.execute_command("RAFT.DEBUG", "COMPACT")
    wait_until(lambda: int(raft_info_of(c)["snapshots_created"]) > created, DEADLINE_S,
               what="a snapshot")
    wait_until(lambda: raft_info_of(c)["snapshot_in_progress"] == "no", DEADLINE_S,
               what="the snapshot to end")
    c.rpush("snap:after", "in", "the", "log")  # replayed from the log tail
    want["snap:after"] = [b"in", b"the", b"log"]
    c.close()
    assert srv.stop() == 0
    srv.start()
    c = srv.client()
    check_lists(c, want)
    assert c.lpop("snap:4", 2) == want["snap:4"][:2]


def test_lists_replicate_to_followers(make_cluster):
    cl = make_cluster(3, {"list-compress-depth": 2})
    leader = cl.leader()
    c = leader.client()
    want = fill_lists(c, "rep")
    assert c.lmove("rep:2", "rep:new", "RIGHT", "LEFT") == want["rep:2"][-1]
    want["rep:new"] = [want["rep:2"].pop()]
    assert c.lrem("rep:1", 0, "1:vvvvvvvv") == 1
    want["rep:1"].remove(b"1:vvvvvvvv")
    assert c.lmpop(2, "none", "rep:0", direction="LEFT") == [b"rep:0", [b"0"]]
    del want["rep:0"]
    c.ltrim("rep:3", 10, -10)
    want["rep:3"] = want["rep:3"][10:-9]
    cl.wait_converged()
    for nd in cl.nodes:
        with nd.readonly_client() as rc:
            check_lists(rc, want)
            assert rc.exists("rep:0") == 0
    cl.crash_all()
    check_lists(cl.leader().client(), want)


def test_rejects_what_redis_rejects_at_config(server):
    c = server.client()
    assert c.config_get("list-max-ziplist-size") == {"list-max-ziplist-size": "-2"}
    c.config_set("list-max-ziplist-size", 7)
    assert c.config_get("list-max-listpack-size") == {"list-max-listpack-size": "7"}
    assert c.config_get("list-compress-depth") == {"list-compress-depth": "0"}
    import redis
    with pytest.raises(redis.ResponseError):
        c.config_set("list-compress-depth", -1)
