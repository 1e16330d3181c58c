"""Connection limits and peer links: what raftcache does when descriptors
run out, how maxclients is fitted to them (and CONFIG SET maxclients takes
Redis 7.0's range), how peer links (RAFT.AUTH) are kept apart from clients
(connections without raft-secret, idle beyond maxclients or presenting a
wrong secret, cannot lock real peers out), and that a cluster with
requirepass replicates messages larger than the unauthenticated bulk limit.

Every wait polls with a deadline (conftest.wait_until); nothing asserts on
how long something took.
"""

import gc
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import time

import pytest
import redis

from conftest import BIN, KIND, read_reply_line, wait_until
from raftharness import parse_info
from test_security import SECRET

PASSWORD = "pw-conns"
MAXCLIENTS_ERR = b"-ERR max number of clients reached\r\n"


def applied_index(nd):
    info = nd.raft_info()
    return int(info["last_applied_index"]) if info else -1


def test_requirepass_cluster_replicates_big_messages(make_cluster):
    """RAFT.MSG carries whole entries: with requirepass set, a peer link that
    presented raft-secret must not be held to the 16 KB bulk limit of
    unauthenticated clients, or the first big entry cuts replication."""
    cl = make_cluster(3, {"requirepass": PASSWORD})
    ld = cl.leader()
    big = bytes((i * 31) & 0xFF for i in range(100_000))
    with ld.client(socket_timeout=30) as c:
        try:
            assert c.set("big", big) is True
        except redis.ResponseError as e:
            raise AssertionError(f"a 100 KB SET was not committed: {e}") from None
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"burst:{i}", f"{i}:" + "x" * 200)
        replies = pipe.execute(raise_on_error=False)
        refused = [r for r in replies if r is not True]
        assert not refused, f"{len(refused)} pipelined writes refused, first: {refused[0]}"
        commit = int(ld.raft_info()["commit_index"])
    for nd in cl.nodes:
        wait_until(lambda: applied_index(nd) >= commit, 30,
                   what=f"{nd} to apply index {commit}")
        with nd.readonly_client() as c:
            assert c.get("big") == big, f"{nd} lacks the 100 KB value"
            assert c.get("burst:1999") == b"1999:" + b"x" * 200, f"{nd} lacks the burst"


# ---------------------------------------------------------------- peer links

def socket_inodes(pid):
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_connections(pid):
    """(local ip:port, remote ip:port) of the process's established IPv4
    TCP connections, from the kernel (/proc)."""
    inodes = socket_inodes(pid)

    def addr(hexaddr):
        ip_hex, port_hex = hexaddr.split(":")
        return f"{socket.inet_ntoa(struct.pack('<I', int(ip_hex, 16)))}:{int(port_hex, 16)}"
    conns = []
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:
                conns.append((addr(fields[1]), addr(fields[2])))
    return conns


def peer_links_into(nd, nodes):
    """Addresses (as nd sees them) of the connections the other nodes'
    processes opened to nd: Raft links, proxy links."""
    return {local for other in nodes if other is not nd and other.alive()
            for local, remote in tcp_connections(other.proc.pid) if remote == nd.addr}


def clients_listed(c):
    text = c.execute_command("CLIENT", "LIST")
    text = text.decode() if isinstance(text, bytes) else text
    return [line for line in text.splitlines() if line]


def test_peer_links_are_not_clients(make_cluster):
    """Peer links (Raft links, proxy links) are not in CLIENT LIST, not
    counted in connected_clients, and CLIENT KILL cannot cut them."""
    cl = make_cluster(3, {"raft-follower-proxy": "yes"})
    ld = cl.leader()
    fol = cl.followers()[0]
    with fol.client() as fc:  # a write through the proxy: a proxy link to the leader
        assert fc.set("via-proxy", "1") is True
    assert len(peer_links_into(ld, cl.nodes)) >= 3, "no proxy link into the leader"
    for nd in cl.nodes:
        peers = peer_links_into(nd, cl.nodes)
        assert len(peers) >= 2, f"{nd}: peer links {peers}"
        with nd.client() as c:
            listed = clients_listed(c)
            shown = [p for p in peers if any(f"addr={p} " in line for line in listed)]
            assert not shown, f"{nd}: CLIENT LIST shows peer links {shown}: {listed}"
            info = c.info("clients")
            assert info["connected_clients"] == len(listed), f"{nd}: {info} vs {listed}"
            assert info["cluster_connections"] >= 2, f"{nd}: {info}"
            for addr in peers:
                assert c.execute_command("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes") == 0
                try:
                    c.execute_command("CLIENT", "KILL", addr)
                    raise AssertionError(f"{nd}: CLIENT KILL {addr} killed a peer link")
                except redis.ResponseError as e:
                    assert str(e) == "No such client"
            c.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            assert c.ping() is True  # one more round trip: any kill is done
        cut = peers - peer_links_into(nd, cl.nodes)
        assert not cut, f"{nd}: CLIENT KILL cut peer links {cut}"
    with ld.client() as c:
        assert c.set("after-kill", "1") is True
    for nd in cl.nodes:
        with nd.readonly_client() as c:
            wait_until(lambda: c.get("after-kill") == b"1", 30, what=f"{nd} to apply")


def recv_all(s):
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_full_node_still_admits_peer_links(make_cluster):
    """A leader holding maxclients clients still takes a restarted
    follower's links: peers are not locked out by clients."""
    cl = make_cluster(3, {"maxclients": 4})
    ld = cl.leader()
    fol = cl.followers()[0]
    held = []
    try:
        for _ in range(10):
            c = ld.client(socket_timeout=10)
            try:
                c.ping()
            except redis.ConnectionError:  # max number of clients reached
                c.close()
                break
            held.append(c)
        # Peer links do not count: all 4 fit.
        assert len(held) == 4, f"{len(held)} clients fit under maxclients 4"
        c = held[0]
        assert c.info("clients")["connected_clients"] == 4
        # Over the limit, a connection that is no peer gets the error and is
        # closed: whether it stays silent or presents a wrong secret.
        with socket.create_connection(("127.0.0.1", ld.port), timeout=10) as s:
            assert recv_all(s) == MAXCLIENTS_ERR
        with socket.create_connection(("127.0.0.1", ld.port), timeout=10) as s:
            s.sendall(b"RAFT.AUTH wrong-secret 9\r\nPING\r\n")
            refused = recv_all(s)  # RAFT.AUTH's error; the PING never runs
            assert refused.startswith(b"-ERR ") and refused.count(b"\r\n") == 1, refused
        cl.stop(fol)
        assert c.set("while-down", "1") is True
        cl.start(fol)
        assert c.set("after-restart", "1") is True
        commit = int(parse_info(c.execute_command("RAFT.INFO").decode())["commit_index"])

        def follower_acked():
            info = parse_info(c.execute_command("RAFT.INFO").decode())
            for k, v in info.items():
                if k.startswith("node") and f"id={fol.node_id}," in v:
                    return int(v.split("match_index=")[1].split(",")[0]) >= commit
            return False
        wait_until(follower_acked, 30, what=f"the leader to hear {fol} acknowledge {commit}")
    finally:
        for c in held:
            c.close()


# --------------------------------- peers cannot be locked out without the secret
# Beyond maxclients a connection may still be a peer and gets time to present
# RAFT.AUTH. Connections that never do (an attacker without raft-secret) must
# not hold the room a real peer needs to reconnect.

def present_auth(port, node_id, secret=SECRET):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"RAFT.AUTH {secret} {node_id}\r\n".encode())
    return s


@pytest.fixture
def full_node(start_server):
    """A node with raft-secret at maxclients (1), its one client held."""
    srv = start_server({"raft-secret": SECRET})
    held = srv.client()
    # The fixture's own clients may still be closing: wait until held is alone.
    wait_until(lambda: held.info("clients")["connected_clients"] == 1, 10,
               what="the other clients to be gone")
    assert held.config_set("maxclients", 1) is True
    yield srv, held
    held.close()


@pytest.mark.skipif(KIND == "redis", reason="RAFT.AUTH is raftcache's")
def test_idle_connections_over_maxclients_do_not_lock_out_peers(full_node):
    srv, held = full_node
    idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(200)]
    try:
        with present_auth(srv.port, 2) as peer:
            assert read_reply_line(peer) == b"+OK\r\n"
            peer.sendall(b"PING\r\n")
            assert read_reply_line(peer) == b"+PONG\r\n"
        # The idle ones were turned away with Redis's error, not kept.
        assert read_reply_line(idle[0]) == MAXCLIENTS_ERR
        assert held.info("clients")["connected_clients"] == 1
    finally:
        for s in idle:
            s.close()


@pytest.mark.skipif(KIND == "redis", reason="RAFT.AUTH is raftcache's")
def test_peer_authenticating_during_a_flood_of_connections_gets_in(full_node):
    """The peer's RAFT.AUTH is on the wire when 200 more connections arrive:
    the node is stopped meanwhile (SIGSTOP), so on SIGCONT it accepts them
    all in one go and the room fills while the peer is still unread."""
    srv, _ = full_node
    flood = []
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        with present_auth(srv.port, 2) as peer:
            flood = [socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                     for _ in range(200)]
            srv.proc.send_signal(signal.SIGCONT)
            assert read_reply_line(peer) == b"+OK\r\n"
            peer.sendall(b"PING\r\n")  # still connected, still a peer
            assert read_reply_line(peer) == b"+PONG\r\n"
        assert read_reply_line(flood[0]) == MAXCLIENTS_ERR
    finally:
        srv.proc.send_signal(signal.SIGCONT)
        for s in flood:
            s.close()


@pytest.mark.skipif(KIND == "redis", reason="RAFT.AUTH is raftcache's")
def test_wrong_secret_presenters_over_maxclients_are_closed(full_node):
    srv, _ = full_node
    wrong = [present_auth(srv.port, 3, "wrong") for _ in range(100)]
    try:
        for s in wrong:
            assert read_reply_line(s) == b"-ERR invalid raft-secret\r\n"
        with present_auth(srv.port, 2) as peer:
            assert read_reply_line(peer) == b"+OK\r\n"
    finally:
        for s in wrong:
            s.close()


# --------------------------------------------------- descriptors, maxclients

LOG_BOUND_BYTES = 256 * 1024   # a whole test's log, flood or not, stays far below
CPU_RATIO_MAX = 0.5            # CPU seconds per wall second while clients wait


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no 'Max open files' in /proc limits")


def start_limited(start_server, nofile, directives=None):
    """A server started with RLIMIT_NOFILE (soft and hard) set to nofile, as
    `ulimit -n` in the launching shell would."""
    srv = start_server(directives, start=False)
    srv._log_file = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen(
        [BIN, srv.conf_path], stdin=subprocess.DEVNULL, stdout=srv._log_file,
        stderr=subprocess.STDOUT, cwd=srv.workdir,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
    srv.wait_ready(30)
    return srv


class Watch:
    """Process CPU time and log size of a server from now on."""

    def __init__(self, srv):
        self.srv = srv
        self.wall0 = time.monotonic()
        self.cpu0 = cpu_seconds(srv.proc.pid)

    def log_bytes(self):
        return os.path.getsize(self.srv.log_path)

    def check_log(self):
        size = self.log_bytes()
        assert size < LOG_BOUND_BYTES, f"log flood: {size} bytes"

    def cpu_ratio(self):
        wall = time.monotonic() - self.wall0
        return (cpu_seconds(self.srv.proc.pid) - self.cpu0) / wall

    def observe(self, seconds):
        """Polls for `seconds`: the server stays up and its log bounded."""
        deadline = time.monotonic() + seconds

        def over():
            self.srv.assert_running()
            self.check_log()
            return time.monotonic() >= deadline
        wait_until(over, seconds + 5, interval_s=0.05, what="the observation window")


def raw_command(srv, inline):
    """One inline command on a connection of its own, closed after the reply
    (a bulk reply is read whole)."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(inline + b"\r\n")
        data = s.recv(65536)
        while data.startswith(b"$") and len(data) < int(data[1:data.index(b"\r\n")]) + 4:
            data += s.recv(65536)
        return data


def open_pinging(srv, n):
    """n connections, each with a PING sent; returns the sockets."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.setblocking(False)
        try:
            s.send(b"PING\r\n")
        except OSError:
            pass  # refused and closed already: its reply is still readable
        socks.append(s)
    return socks


def read_replies(socks, timeout_s, watch=None):
    """Reads until each socket has a full line (or is closed), or the
    deadline. Returns {sock: bytes} (b"" for a close without a reply);
    sockets with nothing yet are absent."""
    got, bufs = {}, {s: b"" for s in socks}
    pending = set(socks)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        if watch:
            watch.check_log()
        ready, _, _ = select.select(list(pending), [], [], 0.1)
        for s in ready:
            try:
                data = s.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            bufs[s] += data
            if data == b"" or bufs[s].endswith(b"\r\n"):
                got[s] = bufs[s]
                pending.discard(s)
    return got


def test_low_fd_limit_fits_maxclients_and_refuses_extra_clients(start_server):
    """Under `ulimit -n 256`, 400 clients: maxclients is lowered to fit the
    limit (with a warning), the clients beyond it get the max-clients error
    instead of hanging, the server neither spins nor floods its log, and it
    serves new clients once the others leave."""
    srv = start_limited(start_server, 256)
    if nofile_limit(srv.proc.pid) != 256:
        pytest.skip("the server could raise its descriptor limit (privileged)")
    maxclients = int(raw_command(srv, b"CONFIG GET maxclients").split(b"\r\n")[4])
    assert 0 < maxclients <= 256 - 32, maxclients
    gc.collect()  # helper clients of the fixture, left to the garbage collector
    wait_until(lambda: b"connected_clients:1\r\n" in raw_command(srv, b"INFO clients"), 10,
               what="the fixture's clients to be gone")
    log = open(srv.log_path, "rb").read()
    assert b"maxclients has been reduced to %d" % maxclients in log
    watch = Watch(srv)
    socks = open_pinging(srv, 400)
    try:
        replies = read_replies(socks, 20, watch)
        pongs = sum(1 for r in replies.values() if r == b"+PONG\r\n")
        refused = sum(1 for r in replies.values() if r == MAXCLIENTS_ERR)
        assert len(replies) == 400, f"{400 - len(replies)} clients got no reply at all"
        assert pongs + refused == 400, f"unexpected replies: {set(replies.values())}"
        # (the last INFO's connection may not have been seen closed yet)
        assert maxclients - 1 <= pongs <= maxclients, f"{pongs} served, maxclients {maxclients}"
        watch.observe(1.0)  # the served clients stay connected
        ratio = watch.cpu_ratio()
        assert ratio < CPU_RATIO_MAX, f"server CPU {ratio:.2f} s per s while clients wait"
    finally:
        for s in socks:
            s.close()
    # Once they are gone, as many clients as maxclients are served again.
    def all_served():
        batch = open_pinging(srv, maxclients)
        try:
            r = read_replies(batch, 10)
            return sum(1 for v in r.values() if v == b"+PONG\r\n") == maxclients
        finally:
            for s in batch:
                s.close()
    wait_until(all_served, 30, interval_s=0.2, what="maxclients clients served again")
    watch.check_log()


def idle_fd_count(srv):
    """The server's descriptors once every client has gone. A redis-py
    client's socket stays open after close() until the client is collected,
    so the start-up fixture's last one may still be open on the server's
    side: counted, it would leave one descriptor more than asked for. So: a
    raw socket that sees itself alone, then its close seen in /proc."""
    fd_dir = f"/proc/{srv.proc.pid}/fd"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        def alone():
            gc.collect()  # helper clients of the fixture, left to the garbage collector
            s.sendall(b"INFO clients\r\n")
            data = b""
            while not data.endswith(b"\r\n\r\n"):  # the bulk ends with a blank line
                data += s.recv(4096)
            return b"connected_clients:1\r\n" in data
        wait_until(alone, 10, what="the start-up clients to be gone")
        with_one = len(os.listdir(fd_dir))
    return wait_until(lambda: len(os.listdir(fd_dir)) < with_one and len(os.listdir(fd_dir)),
                      10, what="the last client's descriptor to be closed")


def test_descriptors_running_out_pauses_accepting(start_server):
    """Descriptors run out below maxclients (the limit lowered under the
    running server): accept() fails with EMFILE. The server must not spin on
    the readable listener nor log every failure, and the waiting clients are
    served once descriptors free up."""
    srv = start_server()
    pid = srv.proc.pid
    hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
    open_fds = idle_fd_count(srv)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_fds + 40, hard))
    watch = Watch(srv)
    socks = open_pinging(srv, 100)
    try:
        first = read_replies(socks, 10, watch)
        served = [s for s, r in first.items() if r == b"+PONG\r\n"]
        assert 0 < len(served) <= 40, f"{len(served)} served with 40 descriptors free"
        assert all(r == b"+PONG\r\n" for r in first.values()), set(first.values())
        watch.observe(2.0)  # the others wait in the listen backlog
        ratio = watch.cpu_ratio()
        assert ratio < CPU_RATIO_MAX, f"server CPU {ratio:.2f} s per s while out of descriptors"
        log = open(srv.log_path, "rb").read()
        assert b"Too many open files" in log, "running out of descriptors is not logged"
        # Each client leaving frees a descriptor for one still waiting.
        waiting = [s for s in socks if s not in first]
        for s in served:
            s.close()

        def all_served():
            got = read_replies(waiting, 0.5, watch)
            assert all(r == b"+PONG\r\n" for r in got.values()), set(got.values())
            for s in got:
                s.close()
                waiting.remove(s)
            return not waiting
        wait_until(all_served, 30, interval_s=0, what="every waiting client to be served")
    finally:
        for s in socks:
            s.close()
    watch.check_log()


def test_config_set_maxclients_beyond_fd_limit(start_server):
    """CONFIG SET maxclients beyond what the descriptor limit allows is
    refused, as Redis 7.0 refuses it, and the old value stays."""
    srv = start_limited(start_server, 256)
    if nofile_limit(srv.proc.pid) != 256:
        pytest.skip("the server could raise its descriptor limit (privileged)")
    with srv.client() as c:
        fit = int(c.config_get("maxclients")["maxclients"])
        try:
            c.config_set("maxclients", 1000)
            raise AssertionError("CONFIG SET maxclients 1000 accepted under ulimit -n 256")
        except redis.ResponseError as e:
            assert str(e) == ("CONFIG SET failed (possibly related to argument 'maxclients') - "
                              "The operating system is not able to handle the specified "
                              f"number of clients, try with {fit}")
        assert c.config_get("maxclients") == {"maxclients": str(fit)}
        assert c.config_set("maxclients", fit - 10) is True
        assert c.config_get("maxclients") == {"maxclients": str(fit - 10)}
        assert c.config_set("maxclients", fit) is True
        try:
            c.config_set("maxclients", fit + 1)
            raise AssertionError("CONFIG SET maxclients accepted one more than fits")
        except redis.ResponseError as e:
            assert f"try with {fit}" in str(e)
        assert c.config_get("maxclients") == {"maxclients": str(fit)}


# ------------------------------------------------ CONFIG SET maxclients range


@pytest.mark.skipif(KIND == "redis", reason="redis-server can spend minutes on 3000000000, "
                    "lowering its descriptor limit 16 at a time; its replies were compared by hand")
def test_config_set_maxclients_takes_redis_range(server):
    """Redis 7.0 takes 1..4294967295 and refuses what the descriptor limit
    cannot hold with its "try with N" advice, beyond 2^31 as well."""
    c = server.client()
    for v in ("3000000000", "4294967296", "0"):
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("maxclients", v)
        if v == "3000000000":
            assert "The operating system is not able to handle the specified number of " \
                   "clients, try with" in str(e.value)
        else:
            assert str(e.value).endswith("argument must be between 1 and 4294967295 inclusive")
    assert c.config_get("maxclients") == {"maxclients": "10000"}
