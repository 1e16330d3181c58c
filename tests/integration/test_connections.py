"""Connection-level behaviour: malformed input, output-buffer limits,
maxclients, idle timeout, AUTH."""

import socket
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
