"""Redis's numbered databases (`databases`, 16 by default) as clients use
them: SELECT, a client's db=, redis-cli -n; MOVE, SWAPDB, COPY ... DB,
FLUSHDB against FLUSHALL; WATCH, blocking pops, keyspace events, scripts and
transactions each in their database; and, in a cluster, every database
replicated, through the follower proxy, a leader's kill -9 and a snapshot
install (the harness's convergence check reads every database).

Redis's own suite covers the commands' replies (redis-tests/ runs in
database 9, as against redis-server); this file covers what only a cluster
can break."""
import subprocess
import threading

import pytest
import redis

from conftest import CLIENTS_DIR, node_bin, node_modules, wait_until

DEADLINE_S = 30


def test_select_and_clients_db_keep_databases_apart(server):
    with server.client() as c0, server.client(db=2) as c2:
        assert c0.set("k", "zero") is True
        assert c2.set("k", "two") is True
        assert (c0.get("k"), c2.get("k")) == (b"zero", b"two")
        assert c0.execute_command("SELECT", 15) in (b"OK", True)
        with pytest.raises(redis.ResponseError, match="^DB index is out of range$"):
            c0.execute_command("SELECT", 16)
        with pytest.raises(redis.ResponseError, match="not an integer or out of range"):
            c0.execute_command("SELECT", "x")
    assert server.cli("-n", "2", "GET", "k") == "two"
    assert server.cli("-n", "3", "SET", "only3", "v", "EX", "1000") == "OK"
    assert server.cli("GET", "only3") == ""  # database 0 has no such key
    with server.client() as c:
        ks = c.info("keyspace")
        assert set(ks) == {"db0", "db2", "db3"}, ks
        assert ks["db2"]["keys"] == 1 and ks["db3"]["expires"] == 1
        # the expiry cycle's estimate of the TTLs, as Redis keeps it
        wait_until(lambda: 0 < c.info("keyspace")["db3"]["avg_ttl"] <= 1_000_000, DEADLINE_S,
                   what="db3's avg_ttl")
        assert " db=0 " in c.execute_command("CLIENT", "INFO").decode()
    with server.client(db=2) as c2:
        me = c2.execute_command("CLIENT", "INFO").decode()
        assert " db=2 " in me, me


def test_move_swapdb_copy_and_the_two_flushes(server):
    with server.client(db=1) as c1, server.client(db=4) as c4:
        c1.set("a", "1", px=600000)
        assert c1.execute_command("MOVE", "a", 4) == 1
        assert c1.exists("a") == 0 and c4.get("a") == b"1" and c4.pttl("a") > 0
    with server.client(db=4) as c4:
        with pytest.raises(redis.ResponseError, match="source and destination objects are the same"):
            c4.execute_command("MOVE", "a", 4)
        assert c4.execute_command("COPY", "a", "b", "DB", 7) == 1
        assert c4.execute_command("SWAPDB", 4, 7) in (b"OK", True)
        assert c4.exists("a") == 0 and c4.get("b") == b"1"  # 4 now holds 7's keys
        c4.execute_command("FLUSHDB")
        assert c4.dbsize() == 0
    with server.client(db=7) as c7, server.client() as c0:
        assert c7.get("a") == b"1"
        c0.set("z", "0")
        c0.execute_command("FLUSHALL")
        assert c7.dbsize() == 0 and c0.dbsize() == 0


def test_watch_blocking_events_and_scripts_in_their_database(server):
    with server.client(db=1) as c1, server.client() as c0:
        # WATCH remembers its database: a write to "w" of database 0 leaves
        # database 1's watch alone, one to database 1's fails the EXEC.
        c1.set("w", "1")
        p = c1.pipeline(transaction=True)
        p.watch("w")
        c0.set("w", "other database")
        p.multi()
        p.set("w", "2")
        assert p.execute() == [True]
        p = c1.pipeline(transaction=True)
        p.watch("w")
        c1.set("w", "3")
        p.multi()
        p.set("w", "4")
        with pytest.raises(redis.WatchError):
            p.execute()

        # A transaction's SELECT moves the commands after it, and the client.
        p = c0.pipeline(transaction=True)
        p.execute_command("SELECT", 5)
        p.set("in5", "x")
        p.execute()
        assert c0.get("in5") == b"x"  # the client stays in 5, as in Redis

        # A script's SELECT is its own.
        assert c1.eval("redis.call('select', 6); redis.call('set', 's', 'in6'); "
                       "return redis.call('get', 's')", 0) == b"in6"
        assert c1.get("s") is None
    with server.client(db=6) as c6:
        assert c6.get("s") == b"in6"

    # A pop waiting in database 8 is served by a push there, not in 0.
    got = {}
    def pop():
        with server.client(db=8, socket_timeout=DEADLINE_S) as c:
            got["v"] = c.blpop("q", timeout=DEADLINE_S)
    t = threading.Thread(target=pop)
    t.start()
    with server.client() as c0, server.client(db=8) as c8:
        wait_until(lambda: c0.info("clients")["blocked_clients"] == 1, DEADLINE_S,
                   what="the BLPOP to block")
        c0.rpush("q", "wrong database")
        c8.rpush("q", "right")
    t.join(DEADLINE_S)
    assert got["v"] == (b"q", b"right")


def test_keyspace_events_name_the_database(server):
    with server.client() as c:
        c.config_set("notify-keyspace-events", "KEA")
        ps = c.pubsub()
        ps.psubscribe("__key*@3__:*")
        assert ps.get_message(timeout=5)["type"] == "psubscribe"
        with server.client(db=3) as c3, server.client() as c0:
            c0.set("k0", "v")  # database 0: not heard
            c3.set("k3", "v")
            c3.eval("redis.call('set', 'by-script', 'v')", 0)  # a script's writes fire too
        got = []
        wait_until(lambda: got.append(ps.get_message(timeout=0.2)) or
                   len([m for m in got if m]) >= 4, DEADLINE_S, what="four events of database 3")
        channels = sorted(m["channel"] for m in got if m)
        assert channels == [b"__keyevent@3__:set", b"__keyevent@3__:set",
                            b"__keyspace@3__:by-script", b"__keyspace@3__:k3"], channels
        ps.close()


def fill(c, db, n):
    p = c.pipeline(transaction=False)
    p.execute_command("SELECT", db)
    for i in range(n):
        p.set(f"d{db}:{i}", i)
    p.execute_command("SELECT", 0)
    p.execute()


def catch_up_by_snapshot(cl, leader, write):
    """A follower stopped, write(a client of the leader) run, the leader's log
    compacted: the follower, started again, catches up by a snapshot.
    Returns it."""
    lag = [nd for nd in cl.nodes if nd is not leader][0]
    cl.stop(lag)
    with leader.client() as c:
        write(c)
        c.execute_command("RAFT.DEBUG", "COMPACT")
        wait_until(lambda: int(leader.raft_info()["snapshot_last_idx"]) > 0, DEADLINE_S,
                   what="the leader's compaction")
    cl.start(lag)
    wait_until(lambda: int((lag.raft_info() or {}).get("snapshots_received", 0)) >= 1,
               DEADLINE_S, what=f"{lag} to receive a snapshot")
    return lag


def test_cluster_replicates_every_database_through_the_proxy_a_crash_and_a_snapshot(make_cluster):
    cl = make_cluster(3, {"raft-follower-proxy": "yes", "raft-snapshot-threshold": 1_000_000})
    ld = cl.leader()
    fol = [nd for nd in cl.nodes if nd is not ld]
    with ld.client() as c:
        for db in (0, 3, 5):
            fill(c, db, 50)
    with ld.client(db=5) as c5:
        assert c5.execute_command("MOVE", "d5:0", 9) == 1
        c5.execute_command("SWAPDB", 3, 11)
        p = c5.pipeline(transaction=True)
        p.execute_command("SELECT", 12)
        p.set("tx", "in12")
        p.execute()
    # A plain client on a follower, in database 12, through the proxy.
    with fol[0].client(db=12) as f12:
        assert f12.get("tx") == b"in12"
        assert f12.set("via-proxy", "1") is True
        assert f12.dbsize() == 2
    with fol[0].client(db=5) as f5:
        assert f5.dbsize() == 49  # a keyless read, forwarded in its database
    cl.wait_converged()

    # The leader dies: every database is on the new one.
    cl.kill9(ld)
    new = cl.wait_leader(fol)
    with new.client(db=11) as c11, new.client(db=9) as c9:
        assert c11.dbsize() == 50 and c9.get("d5:0") == b"0"
    cl.start(ld)
    cl.wait_converged()

    lag = catch_up_by_snapshot(cl, new, lambda c: fill(c, 14, 30))
    digest = cl.wait_converged()
    assert any(row[0].startswith(b"@14:") for row in digest)
    with lag.readonly_client(db=12) as r12:
        assert r12.get("via-proxy") == b"1"


# ---------------------------------------------------------------- clients

def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    assert out.returncode == 0, f"{cmd}: {out.stdout} {out.stderr}"
    return out.stdout


IOREDIS = """
const Redis = require('ioredis');
(async () => {
  const [port, db] = process.argv.slice(1).map(Number);
  const r = new Redis({port, db, maxRetriesPerRequest: 3});
  for (let i = 0; i < 20; i++) await r.set(`io:${i}`, `db${db}`);
  await r.quit();
})().catch((e) => { console.error(e); process.exit(1); });
"""

PHPREDIS = """
$r = new Redis();
$r->connect('127.0.0.1', (int)$argv[1]);
$r->select((int)$argv[2]);
for ($i = 0; $i < 20; $i++) $r->set("php:$i", "db" . $argv[2]);
// Laravel's cache store lives in database 1; its cache:clear is FLUSHDB there
$r->select(1);
if (!$r->flushDb()) exit(1);
"""


def test_clients_on_numbered_databases_of_a_cluster(make_cluster):
    """ioredis (db: 2, through a follower's proxy), phpredis (select 3, then
    a Laravel-style FLUSHDB of database 1), redis-cli -n 4 and redis-py
    (db=5) each write their database; every key stays in its database, and
    database 1's flush touches nothing else, across the leader's kill -9 and
    a follower's snapshot install."""
    cl = make_cluster(3, {"raft-follower-proxy": "yes", "raft-snapshot-threshold": 1_000_000})
    ld = cl.leader()
    fol = [nd for nd in cl.nodes if nd is not ld]
    with ld.client() as c0, ld.client(db=1) as c1:
        c0.set("app", "db0 data")
        c1.set("cache:x", "cached")
    node_modules()
    run([node_bin(), "-e", IOREDIS, str(fol[0].port), "2"], cwd=CLIENTS_DIR)
    run(["php", "-r", PHPREDIS, "--", str(ld.port), "3"])
    for i in range(20):
        assert ld.cli("-n", "4", "SET", f"cli:{i}", "db4") == "OK"
    with ld.client(db=5) as c5:
        for i in range(20):
            c5.set(f"py:{i}", "db5")

    expected = {0: {"app": "db0 data"}, 1: {},
                2: {f"io:{i}": "db2" for i in range(20)},
                3: {f"php:{i}": "db3" for i in range(20)},
                4: {f"cli:{i}": "db4" for i in range(20)},
                5: {f"py:{i}": "db5" for i in range(20)}}

    def check(nd, readonly=False):
        for db, keys in expected.items():
            with (nd.readonly_client(db=db) if readonly else nd.client(db=db)) as c:
                assert c.dbsize() == len(keys), (nd, db)
                for k, v in keys.items():
                    assert c.get(k) == v.encode(), (nd, db, k)

    check(ld)
    cl.kill9(ld)
    new = cl.wait_leader(fol)
    check(new)
    cl.start(ld)
    cl.wait_converged()

    expected[6] = {f"late:{i}": "db6" for i in range(20)}
    def write_late(c):  # while the follower is down, then compacted away
        with new.client(db=6) as c6:
            for k, v in expected[6].items():
                c6.set(k, v)
    lag = catch_up_by_snapshot(cl, new, write_late)
    cl.wait_converged()
    check(lag, readonly=True)


IOREDIS_CLUSTER = """
const Redis = require('ioredis');
(async () => {
  const ports = process.argv.slice(1).map(Number);
  const c = new Redis.Cluster(ports.map((port) => ({host: '127.0.0.1', port})),
                              {redisOptions: {db: 3}});
  for (let i = 0; i < 20; i++) await c.set(`ioc:${i}`, 'db3');
  const got = await c.get('ioc:7');
  if (got !== 'db3') throw new Error(`read back ${got}`);
  await c.quit();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_cluster_clients_that_select_a_database(cluster):
    """Cluster mode keeps the numbered databases (as Valkey 9): ioredis's
    Cluster client with db: 3 and redis-cli -c -n 5 work on every node."""
    node_modules()
    run([node_bin(), "-e", IOREDIS_CLUSTER, *[str(nd.port) for nd in cluster.nodes]],
        cwd=CLIENTS_DIR)
    f = cluster.followers()[0]
    assert f.cli("-c", "-n", "5", "SET", "cli-c", "db5") == "OK"  # follows -MOVED
    ld = cluster.leader()
    with ld.client(db=3) as c3, ld.client(db=5) as c5, ld.client() as c0:
        assert c3.dbsize() == 20 and c3.get("ioc:0") == b"db3"
        assert c5.get("cli-c") == b"db5"
        assert c0.dbsize() == 0
