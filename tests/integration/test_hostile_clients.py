"""Hostile clients, side by side with redis-server 7.0 where Redis has the
behaviour: a browser's HTTP request sent to the client port, an
unauthenticated client that never reads its replies, a bulk header as large
as proto-max-bulk-len allows, and MONITOR watching a peer's secret.

No sleeps: every socket read has a timeout, every wait a deadline.
"""

import socket

import pytest
import redis

from conftest import KIND, wait_until
from test_security import start_refused

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="compares raftcache with redis-server")

SECRET = "peer-secret-7"


def read_until_closed(s, limit=1 << 20):
    """What the server sent before closing s; fails if it keeps it open."""
    got = b""
    while len(got) < limit:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            return got
        except socket.timeout:
            raise AssertionError(f"connection still open after {got!r}")
        if not b:
            return got
        got += b
    raise AssertionError("the server kept sending")


# ------------------------------------------------------ cross-protocol requests

HTTP_POST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
             b"Content-Length: 30\r\n\r\nSET httpkey1 pwned\r\nQUIT\r\n")
# A GET's first line is an unknown command (an error reply), its Host: line
# closes the connection before the body's command runs.
HTTP_GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nSET httpkey2 pwned\r\n"


@pytest.mark.parametrize("request_bytes,key", [(HTTP_POST, "httpkey1"), (HTTP_GET, "httpkey2")],
                         ids=["post", "get-with-host"])
def test_http_request_closes_the_connection(start_server, redis_reference, request_bytes, key):
    replies = []
    for srv in (start_server(), redis_reference()):
        s = srv.sock(timeout_s=10)
        s.sendall(request_bytes)
        replies.append(read_until_closed(s))
        s.close()
        assert srv.client().exists(key) == 0, "a line of the HTTP request ran as a command"
        assert srv.client().ping()
    ours, theirs = replies
    assert ours == theirs


def test_http_request_after_auth_still_closes(start_server, redis_reference):
    """An authenticated client too; the replies of the commands before it
    are dropped with the connection, as Redis drops them."""
    for srv in (start_server({"requirepass": "pw"}, password="pw"),
                redis_reference(password="pw")):
        s = srv.sock(timeout_s=10)
        s.sendall(b"AUTH pw\r\nPOST / HTTP/1.1\r\nSET httpkey3 pwned\r\n")
        assert read_until_closed(s) == b""
        assert srv.client().exists("httpkey3") == 0


# ------------------------------------------------- unauthenticated output

def pile_up(srv, total_bytes):
    """Sends total_bytes of one-byte commands without reading a reply; True
    when the server closed the connection before all of them went out."""
    s = srv.sock(timeout_s=10, rcvbuf=4096)
    chunk = b"x\r\n" * 65536
    sent = 0
    try:
        while sent < total_bytes:
            s.sendall(chunk)
            sent += len(chunk)
        read_until_closed(s, limit=1 << 30)
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except AssertionError:
        return False
    finally:
        s.close()


def test_unauthenticated_client_cannot_pile_up_replies(start_server, redis_reference):
    for srv in (start_server({"requirepass": "pw"}, password="pw"), redis_reference(password="pw")):
        assert pile_up(srv, 64 << 20), f"port {srv.port} kept the client"
        assert srv.client().ping()
    ours = start_server({"requirepass": "pw"}, password="pw")
    assert ours.client().info("stats")["client_output_buffer_limit_disconnections"] == 0
    pile_up(ours, 64 << 20)
    assert ours.client().info("stats")["client_output_buffer_limit_disconnections"] == 1


def test_unauthenticated_pipeline_that_reads_is_answered(start_server, redis_reference):
    """The limit is Redis's: a short pipeline of refused commands is answered
    in full, byte for byte as redis-server answers it."""
    replies = []
    for srv in (start_server({"requirepass": "pw"}, password="pw"), redis_reference(password="pw")):
        s = srv.sock(timeout_s=10)
        s.sendall(b"GET k\r\n" * 200 + b"QUIT\r\n")
        replies.append(read_until_closed(s))
        s.close()
    assert replies[0] == replies[1]
    assert replies[0].count(b"-NOAUTH") == 200


# ------------------------------------------------------- proto-max-bulk-len

def test_proto_max_bulk_len_has_a_ceiling(start_server):
    c = start_server().client()
    with pytest.raises(redis.ResponseError, match="between 1048576 and 4294967296"):
        c.config_set("proto-max-bulk-len", "9223372036854775807")
    assert c.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "536870912"}
    c.config_set("proto-max-bulk-len", "4gb")
    assert c.config_get("proto-max-bulk-len") == {"proto-max-bulk-len": "4294967296"}


def test_proto_max_bulk_len_over_the_ceiling_refused_at_start(tmp_path):
    out, conf = start_refused(tmp_path, "proto-max-bulk-len 8gb\n")
    assert f"{conf}:2" in out and "proto-max-bulk-len" in out


def test_largest_bulk_header_holds_no_memory(start_server):
    """A header announcing a 4 GB bulk, then a few bytes: the server neither
    aborts nor reserves the announced size (used_memory stays near where it
    was), and a header past the ceiling is a protocol error."""
    srv = start_server()
    c = srv.client()
    c.config_set("proto-max-bulk-len", "4gb")
    before = c.info("memory")["used_memory"]
    s = srv.sock(timeout_s=10)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4294967295\r\nabc")
    wait_until(lambda: c.info("clients")["connected_clients"] == 2, 10, what="the client")
    # The next read makes room for the rest of the bulk.
    s.sendall(b"def")
    wait_until(lambda: any(int(cl["qbuf"]) >= 6 for cl in c.client_list()), 10, what="the bytes")
    assert c.info("memory")["used_memory"] - before < 128 << 20
    s.close()
    s = srv.sock(timeout_s=10)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9223372036854775806\r\nabc")
    assert read_until_closed(s) == b"-ERR Protocol error: invalid bulk length\r\n"
    assert c.ping() and c.exists("k") == 0


# --------------------------------------------------------------- secrets

def test_monitor_redacts_raft_auth(start_server):
    srv = start_server({"raft-secret": SECRET})
    mon = srv.sock(timeout_s=10)
    mon.sendall(b"MONITOR\r\n")
    assert mon.recv(5) == b"+OK\r\n"
    peers = []
    for line in (f"RAFT.AUTH {SECRET} 2\r\n", "raft.auth wrong-guess 3\r\n"):
        peers.append(srv.sock(timeout_s=10))
        peers[-1].sendall(line.encode())
    seen = b""
    while seen.count(b"\r\n") < 2:
        seen += mon.recv(65536)
    assert SECRET.encode() not in seen and b"wrong-guess" not in seen, seen
    assert seen.lower().count(b'"raft.auth" "(redacted)" "(redacted)"') == 2, seen
    for s in [mon] + peers:
        s.close()


def test_slowlog_keeps_the_name_of_a_redacted_command(start_server, redis_reference):
    entries = []
    for srv in (start_server({"requirepass": "pw"}, password="pw"), redis_reference(password="pw")):
        c = srv.client()
        c.config_set("slowlog-log-slower-than", 0)
        c.slowlog_reset()
        c.execute_command("AUTH", "pw")
        entries.append([e["command"] for e in c.slowlog_get(10)])
    assert b"AUTH (redacted)" in entries[0] or "AUTH (redacted)" in entries[0], entries
    assert entries[0] == entries[1]
