"""MONITOR, CLIENT PAUSE and CLIENT REPLY on a single node and in a cluster.

MONITOR shows the commands a node dispatches for its own clients (run,
proposed to the log, or forwarded by the follower proxy), never the entries
it applies for others. CLIENT PAUSE WRITE on a leader holds back its
clients' writes while reads go on; CLIENT UNPAUSE releases them, none lost.
CLIENT REPLY's decision is taken per command when it is dispatched, and
holds for a write answered later, when its entry is applied.

Every wait polls with a deadline (conftest.wait_until); nothing asserts on
how long something took.
"""

import re
import socket

import pytest
import redis

from conftest import KIND, wait_until

cluster_only = pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")

PROXY = {"raft-follower-proxy": "yes"}
LINE = re.compile(rb'^\+(\d+)\.(\d{6}) \[0 ([^\]]+)\] (.*)$')


class Monitor:
    """A MONITOR connection; lines() returns the (source, args) seen so far."""

    def __init__(self, nd):
        self.sock = socket.create_connection(("127.0.0.1", nd.port), timeout=10)
        self.sock.sendall(b"MONITOR\r\n")
        self.buf = b""
        wait_until(lambda: self._fill() or b"+OK\r\n" in self.buf, 10, what="MONITOR's +OK")
        assert self.buf.startswith(b"+OK\r\n")
        self.buf = self.buf[5:]

    def _fill(self):
        self.sock.settimeout(0.05)
        try:
            data = self.sock.recv(65536)
            self.buf += data
        except socket.timeout:
            pass
        return False

    def lines(self):
        self._fill()
        out = []
        for raw in self.buf.split(b"\r\n")[:-1]:
            m = LINE.match(raw)
            assert m, raw
            out.append((m.group(3).decode(), m.group(4).decode()))
        return out

    def wait_for(self, text, what):
        return wait_until(lambda: any(text in args.lower() for _, args in self.lines()), 30,
                          what=what)

    def close(self):
        self.sock.close()


def conn(nd):
    c = redis.Connection(host="127.0.0.1", port=nd.port, socket_timeout=30)
    c.connect()
    return c


def test_monitor_single_node(server):
    mon = Monitor(server)
    with server.client() as c:
        c.set("foo", 'ba"r\n')
        c.get("foo")
        c.eval("redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v")
        try:
            c.execute_command("AUTH", "secret-pass")
        except redis.ResponseError:
            pass
        c.config_get("maxmemory")  # admin: never shown
        with c.pipeline(transaction=True) as p:
            p.set("a", 1).get("a").execute()
        c.ping()
    mon.wait_for('"ping"', "PING in the monitor")
    args = [a for _, a in mon.lines()]
    want = ['"SET" "foo" "ba\\"r\\n"', '"GET" "foo"',
            '"EVAL" "redis.call(\'set\', KEYS[1], ARGV[1])" "1" "k" "v"', '"set" "k" "v"',
            '"AUTH" "(redacted)"', '"MULTI"', '"SET" "a" "1"', '"GET" "a"', '"EXEC"', '"PING"']
    got = [a for a in args if not a.lower().startswith(('"client', '"hello', '"config'))]
    assert got == want, args
    sources = [s for s, a in mon.lines() if a == '"set" "k" "v"']
    assert sources == ["lua"]
    assert not any("config" in a.lower() for a in args)
    mon.close()


@cluster_only
def test_monitor_leader_and_follower(make_cluster):
    cl = make_cluster(3, PROXY)
    ld = cl.leader()
    fol = cl.followers()[0]
    other = cl.followers()[1]
    mon_ld, mon_fol, mon_other = Monitor(ld), Monitor(fol), Monitor(other)
    with ld.client() as lc, fol.client() as fc:
        lc.execute_command("set", "on-leader", "1")
        lc.eval("return redis.call('incr', KEYS[1])", 1, "counter")
        # forwarded to the leader by the proxy
        fc.execute_command("set", "via-follower", "2")
        assert lc.execute_command("get", "via-follower") == b"2"
        lc.execute_command("PING", "leader-done")
        fc.execute_command("PING", "follower-done")
        other.client().execute_command("PING", "other-done")
    mon_ld.wait_for('"leader-done"', "the leader's monitor")
    mon_fol.wait_for('"follower-done"', "the follower's monitor")
    mon_other.wait_for('"other-done"', "the other follower's monitor")
    ld_args = [a for _, a in mon_ld.lines()]
    fol_args = [a for _, a in mon_fol.lines()]
    other_args = [a for _, a in mon_other.lines()]
    # The leader shows its own clients' commands, the script's as lua.
    assert '"set" "on-leader" "1"' in ld_args
    assert ("lua", '"incr" "counter"') in mon_ld.lines()
    assert '"get" "via-follower"' in ld_args
    # The follower's client's write shows where it was sent, once; the
    # leader, which ran it for the follower's proxy link, does not show it.
    assert fol_args.count('"set" "via-follower" "2"') == 1
    assert not any("via-follower\" \"2" in a for a in ld_args)
    # Applying the log shows nothing: the leader's writes are not on followers.
    for args in (fol_args, other_args):
        assert not any("on-leader" in a or "counter" in a for a in args)
    for m in (mon_ld, mon_fol, mon_other):
        m.close()
    cl.wait_converged()


def test_monitor_reset_and_quit(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"MONITOR\r\n")
    assert s.recv(5) == b"+OK\r\n"
    with server.client() as c:
        assert "O" in c.client_list()[-1]["flags"] or any(
            "O" in cl["flags"] for cl in c.client_list())
        s.sendall(b"RESET\r\n")
        wait_until(lambda: not any("O" in cl["flags"] for cl in c.client_list()), 10,
                   what="RESET to end MONITOR")
        c.set("after-reset", "1")
    s.sendall(b"PING\r\n")
    data = b""
    while not data.endswith(b"+PONG\r\n"):
        data += s.recv(4096)
    assert data.split(b"+RESET\r\n")[1] == b"+PONG\r\n"  # nothing streamed after RESET
    s.close()


def read_all(c, n):
    return [c.read_response() for _ in range(n)]


def reply_pipeline(c, p=""):
    """Sends a pipeline mixing writes and reads under CLIENT REPLY SKIP, OFF
    and ON (keys prefixed by p, none of them set yet); returns the replies a
    client must get."""
    a, b, cc, n = (p + k for k in "abcn")
    cmds = [("CLIENT", "REPLY", "SKIP"), ("SET", a, "1"), ("SET", b, "2"), ("GET", a),
            ("CLIENT", "REPLY", "OFF"), ("SET", cc, "3"), ("INCR", n), ("GET", cc),
            ("INCR", n), ("BLPOP", p + "nolist", "0.01"),
            ("CLIENT", "REPLY", "ON"), ("GET", cc), ("MGET", a, b, cc, n),
            ("CLIENT", "REPLY", "SKIP"), ("INCR", n), ("GET", n)]
    c.send_packed_command(c.pack_commands(cmds))
    return [b"OK", b"1", b"OK", b"3", [b"1", b"2", b"3", b"2"], b"3"]


def test_client_reply_pipelined_single_node(server):
    c = conn(server)
    want = reply_pipeline(c)
    got = read_all(c, len(want))
    assert got == want
    c.send_command("PING", "last")
    assert c.read_response() == b"last"  # nothing else was queued
    c.disconnect()


@cluster_only
def test_client_reply_pipelined_leader_and_follower(make_cluster):
    cl = make_cluster(3, PROXY)
    # On the follower, writes are forwarded and their replies relayed.
    for p, nd in (("ld-", cl.leader()), ("fol-", cl.followers()[0])):
        c = conn(nd)
        want = reply_pipeline(c, p)
        got = read_all(c, len(want))
        assert got == want, nd
        c.send_command("PING", "last")
        assert c.read_response() == b"last"
        c.disconnect()
    cl.wait_converged()


def test_client_reply_errors_and_subscribe(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.sendall(b"CLIENT REPLY SKIP\r\nNOSUCHCOMMAND\r\n"  # its error is skipped too
              b"CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\nPING\r\nUNSUBSCRIBE ch\r\n"
              b"CLIENT REPLY ON\r\n")
    # Pub/sub confirmations are pushes: never silenced (Redis 7.0).
    want = (b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
            b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n+OK\r\n")
    data = b""
    while len(data) < len(want):
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    assert data == want
    s.close()
    with server.client() as rc:
        try:
            rc.execute_command("CLIENT", "REPLY", "MAYBE")
            raise AssertionError("CLIENT REPLY MAYBE accepted")
        except redis.ResponseError as e:
            assert str(e) == "syntax error"


def held_in_buffer(nd, name):
    """1 when the client named `name` has a command waiting in its buffer."""
    with nd.client() as c:
        for cl in c.client_list():
            if cl["name"] == name and int(cl["qbuf"]) > 0:
                return True
    return False


@cluster_only
def test_client_pause_write_on_leader(make_cluster):
    cl = make_cluster(3, PROXY)
    ld = cl.leader()
    with ld.client() as admin:
        admin.set("before", "0")
        assert admin.execute_command("CLIENT", "PAUSE", 60000, "WRITE") == b"OK"
        w = conn(ld)
        w.send_command("CLIENT", "SETNAME", "writer")
        assert w.read_response() == b"OK"
        cmds = [("SET", f"k{i}", str(i)) for i in range(50)] + [("INCR", "n")]
        w.send_packed_command(w.pack_commands(cmds))
        wait_until(lambda: held_in_buffer(ld, "writer"), 30, what="the writes to be held")
        # Reads go on, and see none of the held writes.
        with ld.client() as r:
            assert r.get("before") == b"0"
            assert r.get("k0") is None
            assert r.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1,
                                     "before") == b"0"
            assert r.dbsize() == 1
        assert not w.can_read(timeout=0)
        # A scripted write waits too, and a write a follower forwards.
        s = conn(ld)
        s.send_command("EVAL", "return redis.call('set', KEYS[1], 'x')", 1, "scripted")
        fol = cl.followers()[0]
        mon = Monitor(fol)
        f = conn(fol)
        f.send_command("SET", "forwarded", "y")
        mon.wait_for('"forwarded"', "the follower to forward the SET")
        mon.close()
        with ld.client() as r:
            assert r.get("forwarded") is None
            assert r.get("scripted") is None
        assert not f.can_read(timeout=0) and not s.can_read(timeout=0)
        assert admin.execute_command("CLIENT", "UNPAUSE") == b"OK"
        assert [w.read_response() for _ in cmds] == [b"OK"] * 50 + [1]
        assert s.read_response() == b"OK"
        assert f.read_response() == b"OK"
        assert admin.dbsize() == 54
        w.disconnect()
        s.disconnect()
        f.disconnect()
    cl.wait_converged()
    for nd in cl.live():
        with nd.readonly_client() as c:
            assert c.get("k49") == b"49"


def test_client_pause_all_ends_at_its_deadline(server):
    with server.client() as admin:
        admin.set("k", "before")
        assert admin.execute_command("CLIENT", "PAUSE", 300, "ALL") == b"OK"
        # Every command waits (this one included) until the deadline.
        assert admin.get("k") == b"before"
        w = conn(server)
        w.send_command("SET", "k", "after")
        assert w.read_response() == b"OK"
        assert admin.get("k") == b"after"
        w.disconnect()


def test_client_pause_errors_and_no_evict(server):
    with server.client() as c:
        for args, err in [((-1,), "timeout is negative"),
                          (("abc",), "timeout is not an integer or out of range"),
                          ((10, "READ"), "CLIENT PAUSE mode must be WRITE or ALL")]:
            try:
                c.execute_command("CLIENT", "PAUSE", *args)
                raise AssertionError(f"CLIENT PAUSE {args} accepted")
            except redis.ResponseError as e:
                assert str(e) == err
        assert c.execute_command("CLIENT", "NO-EVICT", "on") == b"OK"
        me = c.client_info()
        assert "e" in me["flags"]
        assert c.execute_command("CLIENT", "NO-EVICT", "off") == b"OK"
        assert "e" not in c.client_info()["flags"]


def test_monitor_that_does_not_read_is_disconnected(server):
    """A monitor is a normal client for client-output-buffer-limit (as in
    Redis 7.0): past the normal class's hard limit, its lines are dropped and
    it is disconnected, though it sends no command of its own."""
    with server.client() as c:
        c.config_set("client-output-buffer-limit", "normal 1048576 0 0")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", server.port))
        s.sendall(b"MONITOR\r\n")
        wait_until(lambda: any("O" in cl["flags"] for cl in c.client_list()), 10,
                   what="the monitor to attach")
        value = "x" * 100_000
        for i in range(100):  # about 10 MB of lines the monitor never reads
            c.set(f"big{i}", value)
            if not any("O" in cl["flags"] for cl in c.client_list()):
                break
        wait_until(lambda: not any("O" in cl["flags"] for cl in c.client_list()), 30,
                   what="the monitor to be disconnected")
        assert c.ping()
        s.close()


def test_monitor_shows_a_blocked_command_once(server):
    mon = Monitor(server)
    b = conn(server)
    b.send_command("BLPOP", "queue", "0")
    with server.client() as c:
        wait_until(lambda: c.info("clients")["blocked_clients"] == 1, 30,
                   what="BLPOP to block")
        with c.pipeline(transaction=True) as p:  # woken after the EXEC applies
            p.execute_command("rpush", "queue", "job").execute()
        assert b.read_response() == [b"queue", b"job"]
        c.execute_command("ping", "done")
    mon.wait_for('"done"', "the last command in the monitor")
    args = [a for _, a in mon.lines()]
    assert args.count('"BLPOP" "queue" "0"') == 1, args
    assert args.index('"BLPOP" "queue" "0"') < args.index('"rpush" "queue" "job"')
    b.disconnect()
    mon.close()
