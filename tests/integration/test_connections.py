"""Connection-level behaviour: malformed input, output-buffer limits,
maxclients, idle timeout, AUTH; the connection commands CLIENT LIST/KILL
TYPE (every client type Redis 7.0 names, with its count, listing and error
text; the types this server never has match no connection; pubsub:
tests/integration/test_pubsub.py) and HELLO (its options run in order, with
Redis 7.0's error texts); bind as redis.conf takes it (optional '-'
addresses, IPv4 and IPv6 "any" together)."""

import os
import socket
import stat
import time

import pytest
import redis

from conftest import KIND, wait_until


def read_until_closed(s, timeout_s=10):
    """Reads everything the server sends until it closes the connection.
    Returns (data, closed)."""
    data = bytearray()
    deadline = time.monotonic() + timeout_s
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
    return bytes(data), False


MALFORMED = [
    (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$99999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n"),
    (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b'SET "a b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"*" + b"1" * 70000, b"-ERR Protocol error: too big mbulk count string\r\n"),
    (b"GET " + b"k" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
]


@pytest.mark.parametrize("payload,reply", MALFORMED,
                         ids=["bulk-len-x", "mbulk-abc", "huge-bulk", "negative-bulk",
                              "no-dollar", "huge-mbulk", "unbalanced-quotes",
                              "long-mbulk-line", "long-inline"])
def test_malformed_input_gets_protocol_error_and_only_that_connection_closes(
        server, payload, reply):
    bystander = server.client()
    bystander.set("bystander", "alive")
    with server.sock() as bad:
        # Commands before the garbage in the same stream are still answered.
        bad.sendall(b"PING\r\n" + payload)
        data, closed = read_until_closed(bad)
    assert data == b"+PONG\r\n" + reply
    assert closed, "server kept the connection open after a protocol error"
    assert bystander.get("bystander") == b"alive"
    with server.sock() as fresh:
        fresh.sendall(b"PING\r\n")
        assert fresh.recv(64) == b"+PONG\r\n"


def test_byte_by_byte_command_is_understood(server):
    with server.sock() as s:
        for b in b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n":
            s.sendall(bytes([b]))
        want = b"+OK\r\n$5\r\nhello\r\n"
        got = b""
        while len(got) < len(want):
            chunk = s.recv(64)
            assert chunk, "connection closed"
            got += chunk
        assert got == want


def client_names(r):
    return [c.get("name") for c in r.client_list()]


OBUF_HARD_LIMIT = 4 * 1024 * 1024
VALUE_LEN = 1024 * 1024
GETS = 600  # 600 MB of replies requested


def test_slow_reader_is_disconnected_by_output_buffer_limit(start_server):
    srv = start_server({"client-output-buffer-limit": ["normal", "4mb", "0", "0"]})
    r = srv.client()
    r.set("big", b"x" * VALUE_LEN)
    hwm_before_kb = srv.vm_hwm_kb()
    slow = srv.sock(rcvbuf=4096)
    try:
        slow.sendall(b"CLIENT SETNAME slowreader\r\n")
        assert slow.recv(64) == b"+OK\r\n"
        # Ask for far more output than the limit and never read it.
        slow.sendall(b"GET big\r\n" * GETS)
        wait_until(lambda: "slowreader" not in client_names(r), 30, interval_s=0.1,
                   what="the slow reader to be disconnected")
        # Other clients were served all along, and still are.
        assert r.get("big") == b"x" * VALUE_LEN
        assert r.ping()
        grew_mb = (srv.vm_hwm_kb() - hwm_before_kb) / 1024
        assert grew_mb < 200, f"peak RSS grew {grew_mb:.0f} MB for a 4 MB output limit"
        # The slow reader sees at most the limit's worth of replies, then EOF.
        data, closed = read_until_closed(slow, timeout_s=20)
        assert closed
        assert len(data) < GETS * VALUE_LEN
    finally:
        slow.close()


def test_maxclients_reached(start_server):
    maxclients = 8
    srv = start_server({"maxclients": maxclients})
    socks = []
    try:
        error = None
        for _ in range(maxclients + 2):
            s = srv.sock()
            socks.append(s)
            s.sendall(b"PING\r\n")
            reply = s.recv(128)
            if reply != b"+PONG\r\n":
                error = reply
                break
        assert error == b"-ERR max number of clients reached\r\n"
        assert len(socks) == maxclients + 1
        _, closed = read_until_closed(socks[-1])
        assert closed
        # Freeing a slot lets a new client in.
        socks.pop().close()
        socks.pop(0).close()

        def admitted():
            with srv.sock() as s:
                s.sendall(b"PING\r\n")
                return s.recv(128) == b"+PONG\r\n"
        wait_until(admitted, 10, what="a free client slot")
    finally:
        for s in socks:
            s.close()


def test_idle_clients_are_closed_after_timeout(start_server):
    srv = start_server({"timeout": 1})
    with srv.sock() as idle:
        idle.sendall(b"PING\r\n")
        assert idle.recv(64) == b"+PONG\r\n"
        t0 = time.monotonic()
        busy = srv.client()
        data, closed = read_until_closed(idle, timeout_s=15)
        waited = time.monotonic() - t0
        assert closed, "idle client still connected after 15s with timeout 1"
        assert data == b""
        assert waited >= 0.9, f"closed after {waited:.2f}s, before the 1s timeout"
        assert busy.ping()


def test_requirepass_and_auth(start_server):
    srv = start_server({"requirepass": "s3cret"}, password="s3cret")
    with srv.sock() as s:
        s.sendall(b"GET k\r\n")
        assert s.recv(128) == b"-NOAUTH Authentication required.\r\n"
        s.sendall(b"AUTH wrong\r\n")
        assert s.recv(128).startswith(b"-WRONGPASS")
        s.sendall(b"AUTH s3cret\r\n")
        assert s.recv(128) == b"+OK\r\n"
        s.sendall(b"SET k v\r\nGET k\r\n")
        want = b"+OK\r\n$1\r\nv\r\n"
        got = b""
        while len(got) < len(want):
            chunk = s.recv(128)
            assert chunk
            got += chunk
        assert got == want
    anon = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=10)
    with pytest.raises(redis.AuthenticationError):
        anon.get("k")
    assert srv.client().get("k") == b"v"
    assert srv.cli("GET", "k") == "v"
    # HELLO with AUTH also authenticates.
    with srv.sock() as s:
        s.sendall(b"HELLO 2 AUTH default s3cret\r\n")
        assert s.recv(4096).startswith(b"*")
        s.sendall(b"PING\r\n")
        assert s.recv(64) == b"+PONG\r\n"


@pytest.mark.parametrize("payload,reply", [
    (b"*100\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*1\r\n$100000000\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
])
def test_unauthenticated_clients_get_tight_protocol_limits(start_server, payload, reply):
    srv = start_server({"requirepass": "s3cret"}, password="s3cret")
    with srv.sock() as s:
        s.sendall(payload)
        data, closed = read_until_closed(s)
    assert data == reply
    assert closed
    assert srv.client().ping()


def client_field(r, name, field):
    for cl in r.client_list():
        if cl.get("name") == name:
            return int(cl[field])
    return None


@pytest.mark.skipif(KIND != "raftcache", reason="redis-server runs the whole pipeline at once")
def test_pipeline_of_big_replies_waits_for_its_output(start_server):
    """A pipeline whose replies pile up stops after a command until they
    drain (src/net/conn.c, OUT_YIELD_BYTES), so the loop (and a cluster's Raft
    timers) is never held for the copy of every reply at once: a client that
    sent five GETs of a 20 MB value and reads nothing holds one reply's worth
    in its output buffer, with the other GETs still unparsed in its query
    buffer; once it reads, every reply arrives whole and in order."""
    srv = start_server()
    r = srv.client()
    size = 20 << 20
    for i in range(5):
        r.set(f"big{i}", bytes([65 + i]) * size)
    s = srv.sock()
    try:
        s.sendall(b"CLIENT SETNAME piper\r\n")
        assert s.recv(64) == b"+OK\r\n"
        s.sendall(b"".join(b"GET big%d\r\n" % i for i in range(5)))
        wait_until(lambda: (client_field(r, "piper", "omem") or 0) > 0, 30,
                   what="the first GET to run")
        # Were the rest not held back, they would have run with the first;
        # another client's round trips give the loop more turns to run them.
        for _ in range(5):
            r.ping()
        assert client_field(r, "piper", "omem") < 2 * size
        assert client_field(r, "piper", "qbuf") > 0
        want = b"".join(b"$%d\r\n%s\r\n" % (size, bytes([65 + i]) * size) for i in range(5))
        got = bytearray()
        s.settimeout(30)
        while len(got) < len(want):
            chunk = s.recv(1 << 20)
            assert chunk, "connection closed"
            got += chunk
        assert bytes(got) == want
    finally:
        s.close()


# ------------------------------------------------------- CLIENT TYPE filters


def listed_ids(c, *args):
    """The client ids CLIENT LIST [args] shows."""
    text = c.execute_command("CLIENT", "LIST", *args)
    text = text.decode() if isinstance(text, bytes) else text
    return [int(line.split(" ")[0][3:]) for line in text.splitlines() if line]


ABSENT_TYPES = ["replica", "slave", "master", "Replica", "MASTER"]


@pytest.mark.parametrize("kind", ABSENT_TYPES)
def test_client_kill_type_absent_kind_kills_nothing(server, kind):
    c = server.client()
    other = server.client()
    other.ping()
    assert c.execute_command("CLIENT", "KILL", "TYPE", kind) == 0
    assert c.execute_command("CLIENT", "KILL", "TYPE", kind, "SKIPME", "no") == 0
    assert other.ping() is True
    assert c.ping() is True


@pytest.mark.parametrize("kind", ABSENT_TYPES)
def test_client_list_type_absent_kind_is_empty(server, kind):
    c = server.client()
    assert listed_ids(c, "TYPE", kind) == []
    assert c.client_id() in listed_ids(c, "TYPE", "normal")


def test_client_kill_type_normal_still_kills_others(server):
    c = server.client()
    other = server.client()
    other_id = other.client_id()
    assert c.execute_command("CLIENT", "KILL", "TYPE", "normal") >= 1
    assert other_id not in listed_ids(c)
    assert c.ping() is True


def test_client_type_unknown_error_text(server):
    c = server.client()
    for sub in ("LIST", "KILL"):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("CLIENT", sub, "TYPE", "bogus")
        assert str(e.value) == "Unknown client type 'bogus'"


def test_client_list_type_takes_exactly_one_argument(server):
    c = server.client()
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("CLIENT", "LIST", "TYPE", "normal", "extra")
    assert str(e.value) == "syntax error"


# ----------------------------------------------- HELLO's options, in order

BINARY_PW = b"a\x00b\r\n\xff"
HELLO_NOAUTH = ("HELLO must be called with the client already authenticated, otherwise the "
                "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                "select the RESP protocol version at the same time")
BAD_NAME = "Client names cannot contain spaces, newlines or special characters."


def hello_error(c, *args):
    with pytest.raises(redis.RedisError) as e:  # NOAUTH is redis-py's AuthenticationError
        c.execute_command("HELLO", *args)
    return str(e.value)


def test_hello_errors_follow_redis_order(start_server):
    srv = start_server()
    with srv.client() as c:
        assert c.config_set("requirepass", BINARY_PW) is True
    with redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=10) as c:
        assert hello_error(c, "2") == HELLO_NOAUTH
        # A bad name is refused where it stands, before the missing or wrong AUTH.
        assert hello_error(c, "2", "SETNAME", "x y") == BAD_NAME
        assert hello_error(c, "2", "SETNAME", "x y", "AUTH", "default", "wrong") == BAD_NAME
        assert hello_error(c, "2", "AUTH", "default", "wrong", "SETNAME", "x y") == \
            "WRONGPASS invalid username-password pair or user is disabled."
        # An AUTH that succeeded stands even though a later option is refused.
        assert hello_error(c, "2", "AUTH", "default", BINARY_PW, "BOGUS") == \
            "Syntax error in HELLO option 'BOGUS'"
        assert c.ping() is True
        reply = c.execute_command("HELLO", "2", "SETNAME", "named")
        assert reply[reply.index(b"proto") + 1] == 2
        assert c.client_getname() in ("named", b"named")


# ------------------------------------------------------- bind, as redis.conf


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_bind_optional_address_missing_on_this_host_is_skipped(start_server):
    """redis.conf 7.0's own default is "bind 127.0.0.1 -::1": a '-' address
    the host does not have is skipped (198.51.100.0/24 is documentation
    space, on no interface here)."""
    srv = start_server({"bind": ["127.0.0.1", "-198.51.100.77", "-::1"]})
    with srv.client() as c:
        assert c.set("k", "v") is True
        assert c.config_get("bind") == {"bind": "127.0.0.1 -198.51.100.77 -::1"}
    if has_ipv6_loopback():
        with redis.Redis(host="::1", port=srv.port, socket_timeout=10) as c:
            assert c.get("k") == b"v"


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_bind_ipv4_and_ipv6_any_together(start_server):
    """An explicit IPv6 address listens on IPv6 only, as in Redis, so
    0.0.0.0 and :: can both be bound."""
    srv = start_server({"bind": ["0.0.0.0", "::"]})
    with redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=10) as c:
        assert c.set("k", "v") is True
    with redis.Redis(host="::1", port=srv.port, socket_timeout=10) as c:
        assert c.get("k") == b"v"


def test_unixsocket_serves_clients_beside_the_port(start_server):
    """unixsocket/unixsocketperm as in Redis: a stale file replaced, the
    mode set, clients shown as the socket's path with flag U, the file
    removed at exit."""
    srv = start_server(start=False)
    path = os.path.join(srv.workdir, "node.sock")
    with open(path, "w") as f:
        f.write("stale")
    srv.start(extra_args=["--unixsocket", path, "--unixsocketperm", "700"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    with redis.Redis(unix_socket_path=path, socket_timeout=10, decode_responses=True) as r:
        assert r.set("over-unix", "1")
        mine = [c for c in r.client_list() if c["cmd"] == "client|list"]
        assert mine and mine[0]["addr"] == f"{path}:0" and mine[0]["laddr"] == f"{path}:0", mine
        assert "U" in mine[0]["flags"], mine
        assert r.config_get("unixsocketperm") == {"unixsocketperm": "700"}
    assert srv.client().get("over-unix") == b"1"  # the same node over TCP
    assert srv.stop() == 0
    assert not os.path.exists(path)
