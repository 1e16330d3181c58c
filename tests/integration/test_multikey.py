"""Commands over many keys reply as redis-server 7.0.15 does, started beside
raftcache: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD over
seeded inputs of mixed sizes (both encodings, sets among them, missing and
repeated keys, WEIGHTS and AGGREGATE), and the set, string, HLL and bitmap
commands that take many keys.

What a user would notice if these failed: a leaderboard merged with
ZUNIONSTORE whose scores differ in the last digits from Redis's (a sum of
scores depends on the order it is taken in: Redis adds them in the order
of the inputs' sizes, smallest first), or an infinity where Redis has 0
(inf + -inf is 0 in Redis, and which infinities meet first depends on that
order too).

The cost of these commands (linear in their keys) is measured by
scripts/bench-multikey.py and counted by tests/unit/test_t_zset.c; here
only the replies are checked.
"""

import random

import pytest
import redis

from conftest import KIND

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache beside redis-server")

SEED = 20261128
# Scores whose sums depend on their order, and infinities.
SCORES = ["0.1", "0.2", "0.3", "1e16", "-1e16", "1", "-2.5", "inf", "-inf", "3"]
ZKEYS = [f"{{m}}z{i}" for i in range(24)]
SKEYS = [f"{{m}}s{i}" for i in range(6)]


def fill(c, rng):
    """Sorted sets of 1 to 300 members (listpack and skiplist) over a pool
    of 400 members, and a few plain sets; the same on both servers."""
    for k in ZKEYS:
        size = rng.choice([1, 2, 3, 5, 40, 129, 300])
        members = rng.sample(range(400), size)
        c.execute_command("ZADD", k, *[x for m in members for x in (rng.choice(SCORES), f"m{m}")])
    for k in SKEYS:
        c.execute_command("SADD", k, *[f"m{m}" for m in rng.sample(range(400), rng.choice([1, 7, 200]))])


def reply(c, *args):
    try:
        return c.execute_command(*args)
    except redis.ResponseError as e:
        return f"error: {e}"


def zset_calls(rng, count):
    """Random calls of the zset commands over the filled keys."""
    pool = ZKEYS + SKEYS + ["{m}missing"]
    for _ in range(count):
        keys = [rng.choice(pool) for _ in range(rng.randint(1, 8))]
        n = len(keys)
        op = rng.choice(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE",
                         "ZDIFFSTORE", "ZINTERCARD"])
        args = [op] + (["{m}dst"] if op.endswith("STORE") else []) + [n] + keys
        if op in ("ZUNION", "ZINTER", "ZUNIONSTORE", "ZINTERSTORE"):
            if rng.random() < 0.5:
                # Weight 0 makes -0 of a negative score, which Redis replies
                # as "-0" (ZUNION, ZINTER) and stores as 0.
                args += ["WEIGHTS"] + [rng.choice(["1", "2", "-1", "0.5", "0", "inf"])
                                       for _ in keys]
            if rng.random() < 0.5:
                args += ["AGGREGATE", rng.choice(["SUM", "MIN", "MAX"])]
        if op in ("ZUNION", "ZINTER", "ZDIFF") and rng.random() < 0.7:
            args.append("WITHSCORES")
        if op == "ZINTERCARD" and rng.random() < 0.5:
            args += ["LIMIT", rng.choice([0, 1, 3])]
        yield args


def test_zset_combinations_reply_as_redis(server, reference):
    ours, theirs = server.client(), reference()
    for c in (ours, theirs):
        fill(c, random.Random(SEED))
    diffs = []
    for args in zset_calls(random.Random(SEED + 1), 400):
        got, want = reply(ours, *args), reply(theirs, *args)
        if args[0].endswith("STORE"):
            # Raw replies: "-0" and "0" differ there, not once parsed.
            got = (got, reply(ours, "ZRANGE", "{m}dst", 0, -1, "WITHSCORES"))
            want = (want, reply(theirs, "ZRANGE", "{m}dst", 0, -1, "WITHSCORES"))
        if got != want:
            diffs.append(f"{' '.join(map(str, args))}\n  raftcache {got}\n  redis     {want}")
    assert not diffs, f"{len(diffs)} of 400 calls differ; first:\n" + "\n".join(diffs[:3])


def test_order_of_aggregation_is_redis_s(server, reference):
    """The cases that show the order: sizes 4, 2, 1 named largest first."""
    ours, theirs = server.client(), reference()
    calls = [("ZADD", "{m}p", "0.1", "m", "1", "x", "2", "y", "3", "z"),
             ("ZADD", "{m}q", "0.2", "m", "5", "x"), ("ZADD", "{m}r", "0.3", "m"),
             ("ZUNION", 3, "{m}p", "{m}q", "{m}r", "WITHSCORES"),
             ("ZINTER", 3, "{m}p", "{m}q", "{m}r", "WITHSCORES"),
             ("ZADD", "{m}a", "-inf", "m", "1", "x", "2", "y"), ("ZADD", "{m}b", "inf", "m"),
             ("ZUNIONSTORE", "{m}d", 3, "{m}a", "{m}b", "{m}b"), ("ZSCORE", "{m}d", "m"),
             ("ZINTER", 3, "{m}a", "{m}b", "{m}b", "WITHSCORES"),
             # -0: replied as Redis replies it from its skiplist, stored as 0
             ("ZUNION", 1, "{m}p", "WEIGHTS", "-0", "WITHSCORES"),
             ("ZUNIONSTORE", "{m}d", 1, "{m}p", "WEIGHTS", "-0"),
             ("ZRANGE", "{m}d", 0, -1, "WITHSCORES")]
    assert [reply(ours, *a) for a in calls] == [reply(theirs, *a) for a in calls]


def test_many_key_commands_reply_as_redis(server, reference):
    """The other commands that take many keys, over 300 keys of each kind
    (and missing ones); replies whose order Redis leaves to its hash table
    (SUNION, SINTER, SDIFF) are compared as sets."""
    ours, theirs = server.client(), reference()
    rng = random.Random(SEED + 2)
    n = 300
    strings = [f"{{k}}str{i}" for i in range(n)]
    sets = [f"{{k}}set{i}" for i in range(n)]
    hlls = [f"{{k}}hll{i}" for i in range(n)]
    bits = [f"{{k}}bit{i}" for i in range(n)]
    for c in (ours, theirs):
        r = random.Random(SEED + 3)
        p = c.pipeline(transaction=False)
        for i in range(n):
            p.set(strings[i], f"v{i}")
            p.sadd(sets[i], "a", *[f"m{r.randrange(500)}" for _ in range(r.randint(1, 20))])
            p.pfadd(hlls[i], *[f"e{r.randrange(5000)}" for _ in range(r.randint(1, 50))])
            p.setbit(bits[i], r.randrange(256), 1)
        p.execute()
        # A big first set: SDIFF copies it and removes the others' members.
        c.sadd("{k}big", *[f"m{i}" for i in range(500)])
    missing = [f"{{k}}none{i}" for i in range(20)]
    mixed = strings + missing
    rng.shuffle(mixed)
    ordered = [("MGET", *mixed), ("EXISTS", *mixed, *strings[:50]), ("TOUCH", *mixed),
               ("SINTERCARD", n, *sets), ("SINTERSTORE", "{k}d", *sets), ("SDIFFSTORE", "{k}d", *sets),
               ("SUNIONSTORE", "{k}d", *sets), ("SCARD", "{k}d"), ("PFCOUNT", *hlls),
               ("PFMERGE", "{k}dh", *hlls), ("PFCOUNT", "{k}dh"), ("BITOP", "OR", "{k}db", *bits),
               ("GET", "{k}db"), ("BITOP", "AND", "{k}db", *bits), ("GET", "{k}db"),
               ("MSET", *[x for k in mixed for x in (k, "w")]), ("MGET", *mixed),
               ("DEL", *strings[:150], *missing), ("UNLINK", *mixed), ("EXISTS", *mixed)]
    ordered += [("SDIFFSTORE", "{k}d", "{k}big", *sets, *missing), ("SCARD", "{k}d")]
    unordered = [("SUNION", *sets), ("SINTER", *sets[:3]), ("SDIFF", *sets),
                 ("SDIFF", "{k}big", *sets), ("SDIFF", "{k}big", *missing, *sets[:5]),
                 ("SMEMBERS", "{k}d")]
    assert [reply(ours, *a) for a in ordered] == [reply(theirs, *a) for a in ordered]
    for a in unordered:
        assert sorted(reply(ours, *a)) == sorted(reply(theirs, *a)), a[0]
