#!/usr/bin/python3
"""scripts/bench-multikey.py - multi-key commands with many keys, raftcache
beside redis-server: one call of each command over N keys, for each N.

The shape is the same for every command: N keys of two elements each (a
sorted set {a, m<i>}, a set {a, m<i>}, a string, an HLL of two elements, a
bitmap, a stream of one entry, ...), and one command naming all N keys;
ZDIFF-BIG1 and SDIFF-BIG1 are the difference of a first key of N members
and the N - 1 others. What
grows faster than N shows in the growth column (time at N over time at the
previous N, about N/previous N when linear) and in the ratio to
redis-server, whose commands are linear in their keys.

Both servers are started here, side by side, on free ports and temp dirs:
redis-server 7.0 without persistence and a single raftcache node with
raft-log-fsync no (the same durability class; a write then costs one commit
round, not a disk sync). Each figure is one call (wall clock seen by the
client, which sends the same bytes to both); the machine is shared, so read
the ratios and growth, not the last digit.

A command that takes longer than --cap seconds at some N is not run at the
larger N on that server ("skip"); a reply other than the expected kind is
printed as an error.

Usage: scripts/bench-multikey.py [--sizes 5000,10000,20000,50000]
         [--only REGEX] [--cap SECONDS] [--bin build/raftcache]
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 1000  # commands a pipeline round of the fill


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind, binary, workdir):
        self.kind = kind
        self.port = free_port()
        data = os.path.join(workdir, kind)
        os.makedirs(data)
        if kind == "redis":
            argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", data, "--daemonize", "no"]
        else:
            argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", data,
                    "--raft-log-fsync", "no"]
        self.log = open(os.path.join(workdir, kind + ".log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.c = self.client()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.c.set("bench:up", "1")
                self.c.delete("bench:up")
                break
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} did not start (log in {workdir})")
                time.sleep(0.05)

    def client(self, timeout_s=900):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout_s)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


def keys(n, prefix="k"):
    return [f"{{b}}{prefix}{i}" for i in range(n)]


def fill(c, n, add):
    """FLUSHALL, then add(pipeline, key, i) for the N keys, CHUNK a round."""
    c.flushall()
    ks = keys(n)
    for base in range(0, n, CHUNK):
        p = c.pipeline(transaction=False)
        for i in range(base, min(n, base + CHUNK)):
            add(p, ks[i], i)
        p.execute()
    return ks


def fill_zsets(c, n):
    return fill(c, n, lambda p, k, i: p.zadd(k, {"a": 1, f"m{i}": 2}))


def fill_sets(c, n):
    return fill(c, n, lambda p, k, i: p.sadd(k, "a", f"m{i}"))


def fill_big_first(c, n, add_many):
    """The zsets or sets of fill_zsets/fill_sets, the first of which holds
    N members: a difference of one big key and many small ones."""
    ks = (fill_zsets if add_many == "zadd" else fill_sets)(c, n)
    members = [f"m{i}" for i in range(n)]
    if add_many == "zadd":
        c.zadd(ks[0], {m: 1 for m in members})
    else:
        c.sadd(ks[0], *members)
    return ks


def fill_strings(c, n):
    return fill(c, n, lambda p, k, i: p.set(k, f"v{i}"))


def fill_hlls(c, n):
    return fill(c, n, lambda p, k, i: p.pfadd(k, "a", f"m{i}"))


def fill_bitmaps(c, n):
    return fill(c, n, lambda p, k, i: p.setbit(k, i % 64, 1))


def fill_streams(c, n):
    return fill(c, n, lambda p, k, i: p.xadd(k, {"f": i}, id="1-1"))


def fill_none(c, n):
    c.flushall()
    return keys(n)


def blocked_then_pushed(srv, block_cmd, push):
    """Sends block_cmd over all keys (timeout 0) on one connection; once the
    server lists it as blocked, push(client) on another wakes it. Returns
    the reply; the time counts both (registration and wake-up)."""
    out = {}

    def run():
        out["reply"] = srv.client().execute_command(*block_cmd)

    t = threading.Thread(target=run)
    t.start()
    c = srv.c
    deadline = time.monotonic() + 900
    while int(c.info("clients")["blocked_clients"]) < 1:
        if time.monotonic() > deadline or not t.is_alive():
            break
        time.sleep(0.001)
    push(c)
    t.join(900)
    return out.get("reply")


LUA_EACH = "for i, k in ipairs(KEYS) do redis.call('EXISTS', k) end return #KEYS"

# name, fill, run(server, keys, n). Each run is one command (or one
# MULTI/EXEC, or one blocked call and its wake-up) naming all N keys.
BENCHES = [
    ("ZUNION", fill_zsets, lambda s, ks, n: len(s.c.execute_command("ZUNION", n, *ks))),
    ("ZUNIONSTORE", fill_zsets, lambda s, ks, n: s.c.execute_command("ZUNIONSTORE", "{b}d", n, *ks)),
    ("ZINTER", fill_zsets, lambda s, ks, n: len(s.c.execute_command("ZINTER", n, *ks))),
    ("ZINTERSTORE", fill_zsets, lambda s, ks, n: s.c.execute_command("ZINTERSTORE", "{b}d", n, *ks)),
    ("ZDIFF", fill_zsets, lambda s, ks, n: len(s.c.execute_command("ZDIFF", n, *ks))),
    ("ZDIFFSTORE", fill_zsets, lambda s, ks, n: s.c.execute_command("ZDIFFSTORE", "{b}d", n, *ks)),
    ("ZDIFF-BIG1", lambda c, n: fill_big_first(c, n, "zadd"),
     lambda s, ks, n: len(s.c.execute_command("ZDIFF", n, *ks))),
    ("ZINTERCARD", fill_zsets, lambda s, ks, n: s.c.execute_command("ZINTERCARD", n, *ks)),
    ("SUNION", fill_sets, lambda s, ks, n: len(s.c.execute_command("SUNION", *ks))),
    ("SUNIONSTORE", fill_sets, lambda s, ks, n: s.c.execute_command("SUNIONSTORE", "{b}d", *ks)),
    ("SINTER", fill_sets, lambda s, ks, n: len(s.c.execute_command("SINTER", *ks))),
    ("SINTERSTORE", fill_sets, lambda s, ks, n: s.c.execute_command("SINTERSTORE", "{b}d", *ks)),
    ("SINTERCARD", fill_sets, lambda s, ks, n: s.c.execute_command("SINTERCARD", n, *ks)),
    ("SDIFF", fill_sets, lambda s, ks, n: len(s.c.execute_command("SDIFF", *ks))),
    ("SDIFF-BIG1", lambda c, n: fill_big_first(c, n, "sadd"),
     lambda s, ks, n: len(s.c.execute_command("SDIFF", *ks))),
    ("SDIFFSTORE", fill_sets, lambda s, ks, n: s.c.execute_command("SDIFFSTORE", "{b}d", *ks)),
    ("MGET", fill_strings, lambda s, ks, n: len(s.c.execute_command("MGET", *ks))),
    ("MSET", fill_none,
     lambda s, ks, n: s.c.execute_command("MSET", *[x for k in ks for x in (k, "v")])),
    ("DEL", fill_strings, lambda s, ks, n: s.c.execute_command("DEL", *ks)),
    ("UNLINK", fill_strings, lambda s, ks, n: s.c.execute_command("UNLINK", *ks)),
    ("EXISTS", fill_strings, lambda s, ks, n: s.c.execute_command("EXISTS", *ks)),
    ("TOUCH", fill_strings, lambda s, ks, n: s.c.execute_command("TOUCH", *ks)),
    ("WATCH+EXEC", fill_strings, lambda s, ks, n: watch_exec(s, ks)),
    ("PFMERGE", fill_hlls, lambda s, ks, n: s.c.execute_command("PFMERGE", "{b}d", *ks)),
    ("PFCOUNT", fill_hlls, lambda s, ks, n: s.c.execute_command("PFCOUNT", *ks)),
    ("BITOP", fill_bitmaps, lambda s, ks, n: s.c.execute_command("BITOP", "OR", "{b}d", *ks)),
    ("XREAD", fill_streams,
     lambda s, ks, n: len(s.c.execute_command("XREAD", "STREAMS", *ks, *(["0"] * n)))),
    ("XREAD-BLOCK", fill_none,
     lambda s, ks, n: blocked_then_pushed(
         s, ["XREAD", "BLOCK", "0", "STREAMS", *ks, *(["$"] * n)],
         lambda c: c.xadd(ks[-1], {"f": 1}))),
    ("BLPOP", fill_none,
     lambda s, ks, n: blocked_then_pushed(s, ["BLPOP", *ks, "0"], lambda c: c.rpush(ks[-1], "x"))),
    ("BZPOPMIN", fill_none,
     lambda s, ks, n: blocked_then_pushed(s, ["BZPOPMIN", *ks, "0"],
                                          lambda c: c.zadd(ks[-1], {"x": 1}))),
    ("EVAL", fill_strings, lambda s, ks, n: s.c.eval(LUA_EACH, n, *ks)),
    ("MULTI-DEL", fill_strings, lambda s, ks, n: multi_del(s, ks)),
]


def watch_exec(s, ks):
    """WATCH of all N keys, then MULTI, SET of one of them (on the same
    connection, so the transaction still runs), EXEC."""
    with s.client() as c:
        c.execute_command("WATCH", *ks)
        c.execute_command("MULTI")
        c.execute_command("SET", ks[0], "w")
        return c.execute_command("EXEC")


def multi_del(s, ks):
    """MULTI, DEL of all N keys, EXEC (a transactional pipeline)."""
    p = s.c.pipeline(transaction=True)
    p.delete(*ks)
    return p.execute()


def timed(srv, bench, n):
    name, filler, run = bench
    ks = filler(srv.c, n)
    t = time.monotonic()
    try:
        run(srv, ks, n)
    except redis.RedisError as e:
        return None, f"error: {e}"
    return time.monotonic() - t, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5000,10000,20000,50000")
    ap.add_argument("--only", default="", help="regex over the command names")
    ap.add_argument("--cap", type=float, default=30.0,
                    help="seconds past which a command is not run at larger N")
    ap.add_argument("--bin", default=os.environ.get("RAFTCACHE_BIN",
                                                    os.path.join(ROOT, "build", "raftcache")))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    workdir = tempfile.mkdtemp(prefix="raftcache-bench-multikey.")
    servers = []
    try:
        servers = [Server("raftcache", args.bin, workdir), Server("redis", None, workdir)]
        print(f"{'command':<12} {'N':>6} {'raftcache s':>12} {'redis s':>9} {'ratio':>8} "
              f"{'growth rc':>9} {'growth redis':>12}")
        for bench in BENCHES:
            if args.only and not re.search(args.only, bench[0], re.I):
                continue
            prev = {}
            skip = set()
            for n in sizes:
                row = {}
                for srv in servers:
                    if srv.kind in skip:
                        row[srv.kind] = None
                        continue
                    secs, err = timed(srv, bench, n)
                    if err:
                        print(f"{bench[0]:<12} {n:>6} {srv.kind}: {err}")
                    row[srv.kind] = secs
                    if secs is not None and secs > args.cap:
                        skip.add(srv.kind)
                print(fmt_row(bench[0], n, row, prev))
                sys.stdout.flush()
                prev = row
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def fmt_row(name, n, row, prev):
    def secs(v):
        return "skip" if v is None else f"{v:.3f}"

    def growth(kind):
        a, b = row.get(kind), prev.get(kind)
        return "-" if a is None or not b else f"{a / b:.1f}"

    rc, rd = row.get("raftcache"), row.get("redis")
    ratio = "-" if rc is None or not rd else f"{rc / rd:.1f}"
    return (f"{name:<12} {n:>6} {secs(rc):>12} {secs(rd):>9} {ratio:>8} "
            f"{growth('raftcache'):>9} {growth('redis'):>12}")


if __name__ == "__main__":
    main()
