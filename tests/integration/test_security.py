"""Security: binary secrets, CONFIG GET and raft-secret, start-up refusals of
configurations that cannot work, protected mode (a remote connection gets
one RAFT.AUTH try, within 2 seconds).

Secrets (requirepass, raft-secret) are binary strings compared by length, as
in Redis 7.0: a config file writes a NUL byte as "\\x00" inside double quotes,
and CONFIG SET takes any bytes. The fixture's config writer quotes values
for redis.conf, so the escaped lines are appended to the config file by hand.

Protected mode is tested from a non-loopback source address without leaving
the machine: the host's own address (`hostname -I`), connected to itself;
the tests skip where the host has none.

No sleeps: start-up polls with a deadline (the fixtures) and every socket
read has a timeout.
"""

import os
import socket
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import BIN, KIND, free_port, stop_servers
from raftcluster import Cluster

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def append_conf(srv, text):
    with open(srv.conf_path, "a") as f:
        f.write(text)


def anon(srv, **kw):
    """A client that sends no AUTH."""
    kw.setdefault("socket_timeout", 10)
    return redis.Redis(host="127.0.0.1", port=srv.port, **kw)


def error_of(fn, *args):
    try:
        fn(*args)
    except redis.RedisError as e:
        return str(e)
    raise AssertionError(f"{args} succeeded")


def auth_error(c, *args):
    return error_of(c.execute_command, "AUTH", *args)


# ----------------------------------------------------------- binary secrets

def test_requirepass_starting_with_nul_in_config_file(start_server):
    srv = start_server(start=False)
    append_conf(srv, 'requirepass "\\x00Secret"\n')
    srv.password = "\x00Secret"
    srv.start()
    with anon(srv) as c:
        assert error_of(c.set, "k", "v").startswith("Authentication required")
        assert auth_error(c, "") == WRONGPASS
        assert auth_error(c, "Secret") == WRONGPASS
        assert c.execute_command("AUTH", b"\x00Secret") is True
        assert c.set("k", "v") is True
        assert c.config_get("requirepass") == {"requirepass": "\x00Secret"}


def test_requirepass_nul_inside_config_file(start_server):
    srv = start_server(start=False)
    append_conf(srv, 'requirepass "sec\\x00ret"\n')
    srv.password = "sec\x00ret"
    srv.start()
    with anon(srv) as c:
        assert auth_error(c, "sec") == WRONGPASS
        assert auth_error(c, "default", "sec") == WRONGPASS
        assert error_of(c.execute_command, "HELLO", "3", "AUTH", "default", "sec") == WRONGPASS
        assert error_of(c.get, "k").startswith("Authentication required")
        assert c.execute_command("AUTH", "default", b"sec\x00ret") is True
        assert c.execute_command("CONFIG", "GET", "requirepass") == [b"requirepass",
                                                                     b"sec\x00ret"]
    with anon(srv) as c:
        hello = c.execute_command("HELLO", "2", "AUTH", "default", b"sec\x00ret")
        assert b"proto" in hello


def test_config_set_requirepass_with_nul(server):
    with server.client() as admin:
        assert admin.execute_command("CONFIG", "SET", "requirepass", b"ab\x00cdef") == b"OK"
        assert admin.execute_command("CONFIG", "GET", "requirepass") == [b"requirepass",
                                                                         b"ab\x00cdef"]
    with anon(server) as c:
        assert auth_error(c, "ab") == WRONGPASS
        assert auth_error(c, b"ab\x00cde") == WRONGPASS
        assert auth_error(c, b"ab\x00cdefg") == WRONGPASS
        assert error_of(c.get, "k").startswith("Authentication required")
        assert c.execute_command("AUTH", b"ab\x00cdef") is True
        assert c.execute_command("CONFIG", "SET", "requirepass", "") == b"OK"
    with anon(server) as c:
        assert c.set("k", "v") is True  # no password again


def test_raft_auth_compares_the_whole_binary_secret(start_server):
    srv = start_server(start=False)
    append_conf(srv, 'raft-secret "sec\\x00ret"\n')
    srv.start()
    with anon(srv) as c:
        assert error_of(c.execute_command, "RAFT.AUTH", "sec", "9") == "invalid raft-secret"
        assert error_of(c.execute_command, "RAFT.AUTH", b"sec\x00re", "9") == \
            "invalid raft-secret"
        assert c.execute_command("RAFT.AUTH", b"sec\x00ret", "9") == b"OK"


@pytest.fixture
def unstarted_cluster(request):
    """Factory: unstarted_cluster(n, directives) -> raftcluster.Cluster whose
    config files the test may still edit; the test calls start_all(). Every
    node is stopped by pid at teardown."""
    servers, workdirs = [], []
    request.node._raftcache_servers = servers

    def factory(n, directives=None):
        workdir = tempfile.mkdtemp(prefix="raftcache-it-sec-")
        workdirs.append(workdir)
        cl = Cluster(n, workdir, directives, registry=servers)
        servers.extend(cl.nodes)
        return cl

    yield factory
    stop_servers(servers, workdirs)


def test_cluster_with_binary_secrets(unstarted_cluster):
    """Peers present the whole raft-secret (src/transport/transport.c) and a follower's
    proxy link AUTHs with the whole requirepass (src/server/proxy.c)."""
    cl = unstarted_cluster(3, {"raft-follower-proxy": "yes"})
    for nd in cl.nodes:
        append_conf(nd, 'raft-secret "sec\\x00ret"\nrequirepass "pw\\x00tail"\n')
        nd.password = "pw\x00tail"
    cl.start_all()
    fol = cl.followers()[0]
    with fol.client() as c:  # not a cluster client: the follower forwards
        assert c.set("k", "v") is True
        assert c.get("k") == b"v"
    with anon(fol) as c:
        assert error_of(c.execute_command, "RAFT.AUTH", "sec", "9") == "invalid raft-secret"
        assert auth_error(c, "pw") == WRONGPASS
    cl.wait_converged()


# ------------------------------------------------------------ CONFIG GET

def test_config_get_never_returns_raft_secret(start_server):
    srv = start_server({"raft-secret": "peer-secret-value", "requirepass": "client-pw"},
                       password="client-pw")
    with srv.client() as c:
        assert c.execute_command("CONFIG", "GET", "raft-secret") == []
        assert c.execute_command("CONFIG", "GET", "RAFT-SECRET") == []
        for pattern in ("*", "raft-*", "*secret*"):
            flat = c.execute_command("CONFIG", "GET", pattern)
            assert b"raft-secret" not in flat, pattern
            assert not any(b"peer-secret-value" in v for v in flat), pattern
        everything = c.execute_command("CONFIG", "GET", "*")
        assert b"raft-election-timeout-ms" in everything
        # requirepass stays readable, as in Redis
        assert c.config_get("requirepass") == {"requirepass": "client-pw"}
        # and the secret still works for peers
        assert c.execute_command("RAFT.AUTH", "peer-secret-value", "9") == b"OK"


# ------------------------------------------------- start-up refusals

def start_refused(tmp_path, text, *args):
    """Starts the server on a config file holding text; it must exit non-zero
    without serving. Returns what it printed."""
    conf = tmp_path / "refused.conf"
    conf.write_text(f"dir {tmp_path / 'data'}\n" + text)
    proc = subprocess.Popen([BIN, str(conf), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"server kept running with:\n{text}")
    assert proc.returncode != 0, out
    assert not (tmp_path / "data").exists() or not os.listdir(tmp_path / "data"), \
        "the server went as far as creating its data"
    return out.decode(), str(conf)


def test_port_zero_refused(tmp_path):
    out, conf = start_refused(tmp_path, "bind 127.0.0.1\nport 0\n")
    assert f"{conf}:3\n>>> 'port 0'\n" in out, out
    assert "Raft peers and redirected clients need" in out, out
    out, _ = start_refused(tmp_path, "port 7000\n", "--port", "0")
    assert "command line argument 2\n>>> 'port 0'" in out, out


def test_more_than_16_cluster_members_refused(tmp_path):
    members = " ".join(f"{i}=127.0.0.1:{20000 + i}" for i in range(1, 18))
    out, conf = start_refused(tmp_path, f'raft-secret s\ncluster-members "{members}"\n'
                              f'port {free_port()}\n')
    assert f"{conf}:3\n>>> 'cluster-members" in out, out
    assert "17 cluster members: a Raft configuration holds at most 16" in out, out


def test_multi_node_without_raft_secret_refused(tmp_path):
    port = free_port()
    out, _ = start_refused(tmp_path, f'port {port}\n'
                           f'cluster-members "1=127.0.0.1:{port} 2=127.0.0.1:{port + 1}"\n')
    assert "FATAL CONFIG FILE ERROR" in out, out
    assert "raft-secret is empty" in out, out


# ------------------------------------------------------------ protected mode

# redis-server 7.0's text, byte for byte; raftcache leaves out the advice to
# run CONFIG REWRITE, a command it does not implement.
REDIS_DENIED = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    "same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start accepting connections "
    "from the outside.")
DENIED = REDIS_DENIED if KIND == "redis" else \
    REDIS_DENIED.replace(" Use CONFIG REWRITE to make this change permanent.", "")
DENIED_REPLY = b"-" + DENIED.encode() + b"\r\n"
# The raft-secret peers present (test_conn_limits.py uses it too).
SECRET = "peer-secret"


def local_non_loopback_ipv4():
    """An IPv4 address of this machine outside 127/8: a connection from it
    to itself never leaves the machine, yet the server sees a client that is
    not on the loopback interface."""
    words = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    for addr in words:
        if ":" in addr or addr.startswith("127."):
            continue
        try:
            with socket.socket() as s:
                s.bind((addr, 0))
            return addr
        except OSError:
            continue
    return None


@pytest.fixture
def remote_addr():
    addr = local_non_loopback_ipv4()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    return addr


def remote_exchange(addr, port, payload=b"", timeout_s=10):
    """Connects from addr to addr:port, sends payload, and returns what the
    server sent until it closed the connection (or the timeout, which fails)."""
    with socket.create_connection((addr, port), timeout=timeout_s,
                                  source_address=(addr, 0)) as s:
        if payload:
            try:
                s.sendall(payload)
            except OSError:
                pass  # already closed: what it sent is still readable
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                return data
            data += chunk
        return data


def remote_client(addr, port, **kw):
    return redis.Redis(host=addr, port=port, socket_timeout=10, **kw)


def rejected(srv):
    with srv.client() as c:
        return c.info("stats")["rejected_connections"]


def test_protected_mode_refuses_remote_clients(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0"})
    with srv.client() as c:
        assert c.config_get("protected-mode") == {"protected-mode": "yes"}
    before = rejected(srv)
    # Refused at once, before any command, and disconnected (as redis-server).
    assert remote_exchange(remote_addr, srv.port) == DENIED_REPLY
    assert remote_exchange(remote_addr, srv.port,
                           b"CONFIG SET protected-mode no\r\nSET k v\r\n") == DENIED_REPLY
    assert remote_exchange(remote_addr, srv.port,
                           b"*5\r\n$9\r\nRAFT.NODE\r\n$3\r\nADD\r\n$1\r\n5\r\n"
                           b"$14\r\n127.0.0.1:9999\r\n") == DENIED_REPLY
    assert rejected(srv) == before + 3
    with srv.client() as c:  # loopback clients are served
        assert c.config_get("protected-mode") == {"protected-mode": "yes"}
        assert c.get("k") is None
        assert c.set("k", "local") is True


def test_protected_mode_can_be_turned_off(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0"})
    with srv.client() as c:
        assert c.config_set("protected-mode", "no") is True
    with remote_client(remote_addr, srv.port) as r:
        assert r.set("k", "remote") is True
        with srv.client() as c:
            assert c.config_set("protected-mode", "yes") is True
        # decided at accept: an open connection stays served, as in Redis
        assert r.get("k") == b"remote"
    assert remote_exchange(remote_addr, srv.port, b"GET k\r\n") == DENIED_REPLY
    off = start_server({"bind": "0.0.0.0", "protected-mode": "no"})
    with remote_client(remote_addr, off.port) as r:
        assert r.ping() is True


def test_password_replaces_protected_mode(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0", "requirepass": "pw"}, password="pw")
    assert remote_exchange(remote_addr, srv.port, b"GET k\r\nAUTH pw\r\nQUIT\r\n") == \
        b"-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n"
    with remote_client(remote_addr, srv.port, password="pw") as r:
        assert r.set("k", "v") is True


@pytest.mark.skipif(KIND == "redis", reason="Raft peers are raftcache's")
def test_protected_mode_lets_raft_peers_authenticate(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0", "raft-secret": "peer-secret"})
    # With a raft-secret a remote connection may present it first...
    assert remote_exchange(remote_addr, srv.port, b"PING\r\n") == DENIED_REPLY
    assert remote_exchange(remote_addr, srv.port, b"FOO\r\n") == DENIED_REPLY
    assert remote_exchange(remote_addr, srv.port, b"RAFT.AUTH wrong 9\r\nGET k\r\n") == \
        b"-ERR invalid raft-secret\r\n" + DENIED_REPLY
    with socket.create_connection((remote_addr, srv.port), timeout=10,
                                  source_address=(remote_addr, 0)) as s:
        s.sendall(b"RAFT.AUTH peer-secret 9\r\n")
        assert s.recv(64) == b"+OK\r\n"
        s.sendall(b"RAFT.AUTH peer-secret 9\r\n")  # still connected, still a peer
        assert s.recv(64) == b"+OK\r\n"
    # ...and without one it is refused at accept, as redis-server does.
    plain = start_server({"bind": "0.0.0.0"})
    assert remote_exchange(remote_addr, plain.port) == DENIED_REPLY


def move_to(cl, addr):
    """Rewrites the cluster's config files so that its members reach each
    other at addr (all nodes listen on every address)."""
    for nd in cl.nodes:
        with open(nd.conf_path) as f:
            text = f.read().replace("127.0.0.1:", f"{addr}:")
        with open(nd.conf_path, "w") as f:
            f.write(text + f"bind 0.0.0.0\nadvertise-addr {addr}:{nd.port}\n")


@pytest.mark.skipif(KIND == "redis", reason="Raft peers are raftcache's")
def test_cluster_over_non_loopback_addresses(unstarted_cluster, remote_addr):
    """Default protected mode, no requirepass: peers reach each other from a
    non-loopback address, authenticate with raft-secret, and replicate
    messages larger than an unauthenticated client may send."""
    cl = unstarted_cluster(3)
    move_to(cl, remote_addr)
    cl.start_all()
    ld = cl.leader()
    big = b"x" * 100_000
    with ld.client() as c:
        assert c.set("big", big) is True
    cl.wait_converged()
    for nd in cl.nodes:
        with nd.readonly_client() as c:
            assert c.get("big") == big
        assert remote_exchange(remote_addr, nd.port, b"GET big\r\n") == DENIED_REPLY


def test_protected_mode_with_bind_star(start_server, remote_addr):
    """raftcache's bind * listens on IPv6 and IPv4 (one dual-stack socket,
    where 127.0.0.1 appears as ::ffff:127.0.0.1): loopback in either family
    is served, any other address is not. (redis-server's * is IPv4 only.)"""
    srv = start_server({"bind": "*"})
    with srv.client() as c:
        assert c.set("k", "v") is True
    assert remote_exchange(remote_addr, srv.port, b"GET k\r\n") == DENIED_REPLY
    if KIND == "redis":
        return
    with redis.Redis(host="::1", port=srv.port, socket_timeout=10) as c:
        assert c.get("k") == b"v"
    v6 = [a for a in subprocess.run(["hostname", "-I"], capture_output=True,
                                    text=True).stdout.split() if ":" in a]
    for addr in v6[:1]:
        assert remote_exchange(addr, srv.port, b"GET k\r\n") == DENIED_REPLY


@pytest.mark.skipif(KIND == "redis", reason="raftcache's follower proxy")
def test_follower_proxy_across_hosts_is_a_peer_link(unstarted_cluster, remote_addr):
    """The proxy link presents raft-secret (RAFT.AUTH) before any command,
    so it is a peer link: protected mode does not deny it across hosts, while
    a client of the follower on another host is still denied."""
    cl = unstarted_cluster(3, {"raft-follower-proxy": "yes"})
    move_to(cl, remote_addr)
    cl.start_all()
    leader, follower = cl.leader(), cl.followers()[0]
    with follower.client() as c:
        assert c.set("k", "v") is True
        assert c.get("k") == b"v"
    with leader.client() as c:
        assert c.get("k") == b"v"
    assert remote_exchange(remote_addr, follower.port, b"GET k\r\n") == DENIED_REPLY
    cl.wait_converged()


# ------------------------------ protected mode: peers' one try, within 2 seconds


@pytest.mark.skipif(KIND == "redis", reason="RAFT.AUTH is raftcache's")
def test_protected_connection_that_stays_silent_is_denied(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0", "raft-secret": SECRET})
    t0 = time.monotonic()
    assert remote_exchange(remote_addr, srv.port, timeout_s=10) == DENIED_REPLY
    assert time.monotonic() - t0 < 8


@pytest.mark.skipif(KIND == "redis", reason="RAFT.AUTH is raftcache's")
def test_protected_connection_gets_one_raft_auth_try(start_server, remote_addr):
    srv = start_server({"bind": "0.0.0.0", "raft-secret": SECRET})
    guesses = b"".join(f"RAFT.AUTH guess{i} 9\r\n".encode() for i in range(3))
    assert remote_exchange(remote_addr, srv.port, guesses + f"RAFT.AUTH {SECRET} 9\r\n".encode()) \
        == b"-ERR invalid raft-secret\r\n" + DENIED_REPLY
