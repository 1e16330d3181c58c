"""Sentinel-compatible leader discovery on a 3-node cluster: every node
answers the SENTINEL commands clients use (the Raft leader as the master
named by sentinel-master-name), publishes +switch-master when it learns of
a new leader, and a leader that steps down closes the connections of
clients that cannot follow -MOVED.

Then real clients in Sentinel mode, each writing acknowledged keys one
after another while the leader is killed (kill -9) or hands over
(RAFT.TRANSFER_LEADER): redis-py's redis.sentinel.Sentinel (Debian
python3-redis 4.3.4), phpredis's RedisSentinel (Debian php-redis 5.3.7,
tests/clients/sentinel_writer.php), redis-rb's Redis.new(name:, sentinels:) (Debian
ruby-redis 4.8, tests/clients/sentinel_writer.rb), ioredis's
new Redis({sentinels, name}) and node-redis 5/6's createSentinel
(tests/clients/sentinel_writer.js; both pinned in
tests/clients/package-lock.json, installed by npm ci when missing). Each must keep writing through the change, with the retries an
application does (connection errors; -TRYAGAIN and -TIMEOUT, whose meaning
is "retry"), and find every acknowledged key afterwards. Cluster-mode
clients (redis-py RedisCluster, ioredis Cluster, redis-cli -c) must keep
working through the same changes although a leader that steps down closes
their connections.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.sentinel import Sentinel

from conftest import KIND, ROOT, node_bin, node_modules, wait_until

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache cluster only")

CLIENTS = os.path.join(ROOT, "tests", "clients")
RETRY_S = 30          # how long the applications retry one command
PROGRESS_KEYS = 30    # keys a writer acknowledges before and after the change
DEADLINE_S = 90


def addrs(cl):
    return [("127.0.0.1", nd.port) for nd in cl.nodes]


def as_dict(flat):
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def sentinel_cmd(nd, *args):
    with nd.client(socket_timeout=10) as c:
        return c.execute_command("SENTINEL", *args)


# ----------------------------------------------------------------- replies

def test_replies_name_the_leader(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    followers = cl.followers()
    for nd in cl.nodes:
        wait_until(lambda: sentinel_cmd(nd, "get-master-addr-by-name", "mymaster") ==
                   [b"127.0.0.1", str(ld.port).encode()], DEADLINE_S,
                   what=f"{nd} to name the leader")
        assert sentinel_cmd(nd, "get-master-addr-by-name", "other") is None
        masters = sentinel_cmd(nd, "masters")
        assert len(masters) == 1
        m = as_dict(masters[0])
        assert m["name"] == "mymaster" and m["ip"] == "127.0.0.1"
        assert int(m["port"]) == ld.port and m["flags"] == "master"
        assert (m["num-slaves"], m["num-other-sentinels"], m["quorum"]) == ("2", "2", "2")
        assert m["role-reported"] == "master"
        assert as_dict(sentinel_cmd(nd, "master", "mymaster"))["port"] == str(ld.port)
        for sub in ("replicas", "slaves"):
            reps = [as_dict(r) for r in sentinel_cmd(nd, sub, "mymaster")]
            assert sorted(int(r["port"]) for r in reps) == sorted(f.port for f in followers)
            for r in reps:
                assert r["name"] == f"127.0.0.1:{r['port']}"
                assert r["flags"] == "slave" and r["role-reported"] == "slave"
                assert (r["master-host"], r["master-port"]) == ("127.0.0.1", str(ld.port))
                assert r["slave-priority"] == "100"
        sents = [as_dict(s) for s in sentinel_cmd(nd, "sentinels", "mymaster")]
        assert sorted(int(s["port"]) for s in sents) == sorted(o.port for o in cl.nodes
                                                               if o is not nd)
        assert all(s["flags"] == "sentinel" and s["name"] == s["runid"] for s in sents)
        with nd.client() as c:
            assert c.execute_command("SENTINEL", "MYID") == c.execute_command("CLUSTER", "MYID")
        wait_until(lambda: sentinel_cmd(nd, "ckquorum", "mymaster") ==
                   b"OK 3 usable Sentinels. Quorum and failover authorization can be reached",
                   DEADLINE_S, what=f"{nd} to reach every voter")


def test_errors_are_sentinels(make_cluster):
    cl = make_cluster(3)
    nd = cl.followers()[0]
    with nd.client() as c:
        for args, text in [
            (("master", "nope"), "No such master with that name"),
            (("replicas", "nope"), "No such master with that name"),
            (("sentinels", "nope"), "No such master with that name"),
            (("ckquorum", "nope"), "No such master with that name"),
            (("foo",), "unknown subcommand 'foo'. Try SENTINEL HELP."),
            (("masters", "x"), "wrong number of arguments for 'sentinel|masters' command"),
            (("replicas",), "wrong number of arguments for 'sentinel|replicas' command"),
        ]:
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("SENTINEL", *args)
            assert str(e.value) == text, args
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("SENTINEL")
        assert str(e.value) == "wrong number of arguments for 'sentinel' command"


def test_master_name_is_a_directive(make_cluster):
    cl = make_cluster(3, {"sentinel-master-name": "cache"})
    ld = cl.leader()
    nd = cl.followers()[0]
    with nd.client() as c:
        assert c.config_get("sentinel-master-name") == {"sentinel-master-name": "cache"}
        assert c.execute_command("SENTINEL", "get-master-addr-by-name", "mymaster") is None
        wait_until(lambda: c.execute_command("SENTINEL", "get-master-addr-by-name", "cache") ==
                   [b"127.0.0.1", str(ld.port).encode()], DEADLINE_S, what="the leader")
        assert c.config_set("sentinel-master-name", "other") is True
        assert as_dict(c.execute_command("SENTINEL", "master", "other"))["name"] == "other"
        with pytest.raises(redis.ResponseError):
            c.config_set("sentinel-master-name", "two words")


def test_resp3_instances_are_maps(make_cluster):
    cl = make_cluster(3)
    nd = cl.leader()
    with socket.create_connection(("127.0.0.1", nd.port), timeout=10) as s:
        f = s.makefile("rb")
        s.sendall(b"HELLO 3\r\n")
        assert f.readline().startswith(b"%")
        while True:  # the HELLO map: 7 pairs, the last "modules" => *0
            if f.readline() == b"*0\r\n":
                break
        s.sendall(b"SENTINEL get-master-addr-by-name nope\r\n")
        assert f.readline() == b"_\r\n"
        s.sendall(b"SENTINEL master mymaster\r\n")
        head = f.readline()
        assert head.startswith(b"%") and int(head[1:]) >= 20, head


def test_down_members_are_flagged(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    gone = cl.followers()[0]
    cl.kill9(gone)

    def flagged():
        reps = {int(r["port"]): r for r in map(as_dict, sentinel_cmd(ld, "replicas", "mymaster"))}
        sents = {int(s["port"]): s for s in map(as_dict, sentinel_cmd(ld, "sentinels",
                                                                      "mymaster"))}
        return (reps[gone.port]["flags"] == "s_down,slave,disconnected" and
                sents[gone.port]["flags"] == "s_down,sentinel,disconnected" and
                "s-down-time" in reps[gone.port])
    wait_until(flagged, DEADLINE_S, what=f"{gone} flagged s_down")
    assert sentinel_cmd(ld, "ckquorum", "mymaster") == \
        b"OK 2 usable Sentinels. Quorum and failover authorization can be reached"
    assert as_dict(sentinel_cmd(ld, "master", "mymaster"))["flags"] == "master"
    # The survivors lose their quorum: no leader, the master is down for all.
    other = next(nd for nd in cl.live() if nd is not ld)
    cl.kill9(other)
    wait_until(lambda: sentinel_cmd(ld, "get-master-addr-by-name", "mymaster") is None,
               DEADLINE_S, what="the lone node to know no leader")
    m = as_dict(sentinel_cmd(ld, "master", "mymaster"))
    assert m["flags"].startswith("s_down,o_down,master"), m
    with pytest.raises(redis.ResponseError) as e:
        sentinel_cmd(ld, "ckquorum", "mymaster")
    assert str(e.value).startswith("NOQUORUM 1 usable Sentinels. ")
    cl.start(gone)
    cl.start(other)
    cl.wait_leader()


# ------------------------------------------------ leader changes as events

def transfer(cl):
    old = cl.leader()
    target = next(nd for nd in cl.live() if nd is not old)
    with old.client(socket_timeout=10) as c:
        assert c.execute_command("RAFT.TRANSFER_LEADER", target.node_id) in (b"OK", "OK", True)
    assert cl.wait_leader(not_node=old) is target
    return old, target


def test_switch_master_is_published(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    subs = []
    for nd in cl.nodes:
        p = nd.client(socket_timeout=10).pubsub()
        p.subscribe("+switch-master")
        assert p.get_message(timeout=10)["type"] == "subscribe"
        subs.append(p)
    old, new = transfer(cl)
    assert old is ld
    want = f"mymaster 127.0.0.1 {old.port} 127.0.0.1 {new.port}".encode()
    for nd, p in zip(cl.nodes, subs):
        msg = wait_until(lambda: p.get_message(timeout=1), DEADLINE_S,
                         what=f"+switch-master on {nd}")
        assert (msg["channel"], msg["data"]) == (b"+switch-master", want), nd
        p.close()


def closed(sock):
    """True once the peer closed sock (EOF), False while it stays open."""
    sock.settimeout(0.2)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionError:
        return True


def test_stepping_down_closes_clients_that_cannot_follow_moved(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()

    def connect(*setup):
        s = socket.create_connection(("127.0.0.1", ld.port), timeout=10)
        f = s.makefile("rb")
        for cmd in setup:
            s.sendall(cmd)
            f.readline()
        return s, f
    plain, _ = connect(b"PING\r\n")
    ro, ro_f = connect(b"READONLY\r\n")
    sub, sub_f = connect(b"SUBSCRIBE +switch-master\r\n")
    for _ in range(5):  # *3 $9 subscribe $14 +switch-master :1 (one line read above)
        sub_f.readline()
    old, new = transfer(cl)
    wait_until(lambda: closed(plain), DEADLINE_S, what="the plain connection closed")
    ro.settimeout(10)
    ro.sendall(b"PING\r\n")
    assert ro_f.readline() == b"+PONG\r\n"
    sub.settimeout(10)
    want = f"mymaster 127.0.0.1 {old.port} 127.0.0.1 {new.port}".encode()
    lines = [sub_f.readline() for _ in range(7)]
    assert lines[4].rstrip() == b"+switch-master" and lines[6].rstrip() == want, lines
    for s in (plain, ro, sub):
        s.close()


def test_proxy_mode_keeps_clients(make_cluster):
    cl = make_cluster(3, {"raft-follower-proxy": "yes"})
    ld = cl.leader()
    c = redis.Redis(host="127.0.0.1", port=ld.port, socket_timeout=10, retry_on_timeout=False)
    c.set("k", "1")
    cid = c.client_id()
    transfer(cl)
    assert c.client_id() == cid  # the same connection
    assert c.set("k", "2") is True  # forwarded to the new leader
    c.close()


# ------------------------------------------------------------ real clients

def redis_py_writer(m, prefix, stop, result):
    """A redis-py application writing through client m (Sentinel's
    master_for, or RedisCluster), the protocol of
    tests/clients/sentinel_writer.rb."""
    counts = {"connection_errors": 0, "retried_replies": 0}

    def retrying(f):
        started = time.monotonic()
        while True:
            try:
                return f()
            except redis.ConnectionError:  # MasterNotFoundError is one
                counts["connection_errors"] += 1
            except redis.ResponseError as e:
                if not str(e).startswith(("TRYAGAIN", "TIMEOUT")):
                    raise
                counts["retried_replies"] += 1
            if time.monotonic() - started > RETRY_S:
                raise TimeoutError("gave up retrying")
            time.sleep(0.05)
    acked, missing, errors = 0, None, []
    try:
        while not stop.is_set():
            retrying(lambda: m.set(f"{prefix}{acked}", acked))
            acked += 1
        missing = sum(retrying(lambda: m.get(f"{prefix}{i}")) != str(i).encode()
                      for i in range(acked))
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(repr(e))
    result.update(acked=acked, missing=missing, errors=errors, **counts)


def count_keys(cl, prefix):
    """n() is the number of keys under prefix on the leader, or None while
    the leader cannot say (being elected, or answering MOVED): a count of 0
    there would let a wait for progress end before any progress."""
    def n():
        try:
            with cl.leader().client(socket_timeout=5) as c:
                return len(c.keys(prefix + "*"))
        except redis.RedisError:
            return None
    return n


def known(n):
    """Waits until n() can say, and returns what it said."""
    def once():
        count = n()
        return None if count is None else (count,)
    return wait_until(once, DEADLINE_S, what="a count of keys on the leader")[0]


def reached(n, target):
    count = n()
    return count is not None and count >= target


def move_leadership(cl, fault):
    if fault == "kill9":
        old = cl.leader()
        cl.kill9(old)
        cl.wait_leader(not_node=old)
        return old
    return transfer(cl)[0]


def run_through_fault(cl, fault, prefix, start, running, finish):
    """start() begins a writer; the leader changes once it acknowledged
    PROGRESS_KEYS keys; finish() stops it once PROGRESS_KEYS more are there
    (or once it gave up: running() is false) and returns its result."""
    start()
    n = count_keys(cl, prefix)
    wait_until(lambda: reached(n, PROGRESS_KEYS) or not running(), DEADLINE_S,
               what="writes before the change")
    old = move_leadership(cl, fault)
    before = known(n)
    wait_until(lambda: reached(n, before + PROGRESS_KEYS) or not running(), DEADLINE_S,
               what="writes after the change")
    result = finish()
    print(f"{prefix} {fault}: {result}")  # what the application went through (pytest -s)
    if fault == "kill9":
        cl.start(old)
    assert result["errors"] == [] and result["missing"] == 0, result
    assert result["acked"] >= 2 * PROGRESS_KEYS, result
    with cl.leader().client() as c:
        values = c.mget([f"{prefix}{i}" for i in range(result["acked"])])
    assert values == [str(i).encode() for i in range(result["acked"])]
    return result


@pytest.mark.parametrize("fault", ["kill9", "transfer"])
def test_redis_py_sentinel_follows_the_leader(make_cluster, fault):
    cl = make_cluster(3)
    sentinel = Sentinel(addrs(cl), socket_timeout=5, socket_connect_timeout=5)
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", cl.leader().port)
    stop, result = threading.Event(), {}
    m = sentinel.master_for("mymaster", socket_timeout=5, socket_connect_timeout=5)
    t = threading.Thread(target=redis_py_writer, args=(m, "py:", stop, result))

    def finish():
        stop.set()
        t.join(DEADLINE_S + 2 * RETRY_S)
        assert not t.is_alive()
        return result
    run_through_fault(cl, fault, "py:", t.start, t.is_alive, finish)
    ld = cl.leader()
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", ld.port)
    want = sorted(("127.0.0.1", nd.port) for nd in cl.nodes if nd is not ld)
    wait_until(lambda: sorted(sentinel.discover_slaves("mymaster")) == want, DEADLINE_S,
               what="every replica up again")


class ScriptWriter:
    """A writer script (tests/clients/sentinel_writer.*) in a process."""

    def __init__(self, argv, cl, prefix, env=None, name="mymaster"):
        self.dir = tempfile.mkdtemp(prefix="raftcache-it-sentinel-")
        self.stop_file = os.path.join(self.dir, "stop")
        self.argv = argv + [self.stop_file, prefix, name] + \
            [f"{h}:{p}" for h, p in addrs(cl)]
        self.env = env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env)

    def running(self):
        return self.proc.poll() is None

    def finish(self):
        open(self.stop_file, "w").close()
        out, err = self.proc.communicate(timeout=DEADLINE_S + 2 * RETRY_S)
        assert self.proc.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# redis-rb's Redis.new(name:, sentinels:) and phpredis's RedisSentinel, each
# a writer script run by its interpreter (Debian packages named when absent).
SCRIPT_SENTINELS = {
    "redis-rb": ("ruby", "sentinel_writer.rb", "rb:", "ruby, ruby-redis"),
    "phpredis": ("php", "sentinel_writer.php", "php:", "php-cli, php-redis"),
}


@pytest.mark.parametrize("lib", sorted(SCRIPT_SENTINELS))
@pytest.mark.parametrize("fault", ["kill9", "transfer"])
def test_script_sentinel_follows_the_leader(make_cluster, lib, fault):
    interpreter, script, prefix, packages = SCRIPT_SENTINELS[lib]
    if shutil.which(interpreter) is None:
        pytest.skip(f"{interpreter} is not installed (Debian packages {packages})")
    cl = make_cluster(3)
    w = ScriptWriter([interpreter, os.path.join(CLIENTS, script)], cl, prefix)
    try:
        run_through_fault(cl, fault, prefix, w.start, w.running, w.finish)
    finally:
        w.close()


@pytest.fixture(scope="module")
def ioredis_path():
    """NODE_PATH holding ioredis and node-redis: tests/clients/node_modules
    (pinned by tests/clients/package-lock.json, installed by npm ci when
    missing)."""
    return node_modules()


# ioredis's new Redis({sentinels, name}); node-redis 5.12 and 6.3's
# createSentinel({name, sentinelRootNodes}). node-redis 6.3.1 does not
# survive the master's kill -9: the ECONNREFUSED of its reconnect to the
# dead master is a promise rejection nobody handles inside the library, and
# node stops the process (redis/node-redis#3061); 5.12.1 carries on.
NODE_SENTINEL_CASES = [
    (fault, lib) if (fault, lib) != ("kill9", "redis6") else pytest.param(
        fault, lib, marks=pytest.mark.xfail(strict=True, reason="node-redis 6.3.1 crashes on an "
                                            "unhandled ECONNREFUSED (redis/node-redis#3061)"))
    for fault in ("kill9", "transfer") for lib in ("ioredis", "redis5", "redis6")
]


@pytest.mark.parametrize("fault,lib", NODE_SENTINEL_CASES)
def test_node_sentinel_follows_the_leader(make_cluster, ioredis_path, lib, fault):
    cl = make_cluster(3)
    env = dict(os.environ, NODE_PATH=ioredis_path, SENTINEL_LIB=lib)
    w = ScriptWriter([node_bin(), os.path.join(CLIENTS, "sentinel_writer.js")], cl, "io:", env)
    try:
        run_through_fault(cl, fault, "io:", w.start, w.running, w.finish)
    finally:
        w.close()


# ----------------------------- cluster-mode clients across a step-down

# A transfer only: after kill -9, redis-py 4.3.4's RedisCluster fails in its
# own slot reload ("cannot pickle '_thread.lock' object"), whatever the
# server does.
@pytest.mark.parametrize("fault", ["transfer"])
def test_redis_py_cluster_mode_still_follows(make_cluster, fault):
    cl = make_cluster(3)
    rc = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in addrs(cl)],
                      socket_timeout=5, socket_connect_timeout=5)
    stop, result = threading.Event(), {}
    t = threading.Thread(target=redis_py_writer, args=(rc, "rc:", stop, result))

    def finish():
        stop.set()
        t.join(DEADLINE_S + 2 * RETRY_S)
        assert not t.is_alive()
        return result
    run_through_fault(cl, fault, "rc:", t.start, t.is_alive, finish)
    rc.close()


@pytest.mark.parametrize("fault", ["kill9", "transfer"])
def test_ioredis_cluster_mode_still_follows(make_cluster, ioredis_path, fault):
    cl = make_cluster(3)
    env = dict(os.environ, NODE_PATH=ioredis_path)
    w = ScriptWriter([node_bin(), os.path.join(CLIENTS, "sentinel_writer.js")], cl, "ic:", env,
                     name="--cluster")
    try:
        run_through_fault(cl, fault, "ic:", w.start, w.running, w.finish)
    finally:
        w.close()


@pytest.mark.parametrize("close", ["yes", "no"])
def test_redis_cli_cluster_mode_across_a_transfer(make_cluster, close):
    """stepdown-close-clients yes: redis-cli -c, connected to the old leader,
    reports the closed connection for the next command and reconnects for
    the one after; no: it follows -MOVED without a failure."""
    cl = make_cluster(3, {"stepdown-close-clients": close})
    ld = cl.leader()
    proc = subprocess.Popen(["redis-cli", "-c", "-p", str(ld.port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        proc.stdin.write(b"CLIENT SETNAME cli\nSET cli:1 a\n")
        proc.stdin.flush()
        assert [proc.stdout.readline().strip() for _ in range(2)] == [b"OK", b"OK"]
        old, _ = transfer(cl)

        def cli_connected():
            with old.client() as c:
                return any(cl_["name"] == "cli" for cl_ in c.client_list())
        if close == "yes":
            wait_until(lambda: not cli_connected(), DEADLINE_S, what="redis-cli disconnected")
        else:
            assert cli_connected()
        proc.stdin.write(b"SET cli:2 b\nSET cli:3 c\nMGET cli:2 cli:3\n")
        proc.stdin.close()
        out = proc.stdout.read().decode()
        proc.wait(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [ln for ln in out.splitlines() if not ln.startswith("-> Redirected")]
    if close == "yes":
        assert lines[0] == "Error: Server closed the connection", out
        assert lines[1:] == ["OK", "", "c"], out
    else:
        assert lines == ["OK", "OK", "b", "c"], out
