"""What a client sees from ordinary traffic: pipelines, transactions, binary
and very large values, key expiry, and redis-cli."""

import hashlib
import os
import subprocess
import time

import pytest
import redis

from conftest import ROOT, wait_until

PIPELINE_LEN = 10_000


def test_pipeline_of_10000_commands_keeps_order_and_meaning(server):
    """Replies come back in request order, and each command sees exactly the
    writes sent before it on the connection (a GET between two SETs of the
    same key sees the first and not the second)."""
    r = server.client()
    pipe = r.pipeline(transaction=False)
    expected = []
    count = 0
    for i in range(PIPELINE_LEN):
        step = i % 4
        if step == 0:
            pipe.set("pl:key", f"v{i}")
            expected.append(True)
        elif step == 1:
            pipe.get("pl:key")
            expected.append(f"v{i - 1}".encode())
        elif step == 2:
            pipe.incr("pl:counter")
            count += 1
            expected.append(count)
        else:
            pipe.append("pl:log", f"{i},")
            expected.append(len("".join(f"{j}," for j in range(3, i + 1, 4))))
    replies = pipe.execute()
    assert len(replies) == PIPELINE_LEN
    for i, (got, want) in enumerate(zip(replies, expected)):
        assert got == want, f"reply {i}: got {got!r}, want {want!r}"
    assert r.get("pl:counter") == str(count).encode()


def test_raw_socket_pipeline_in_one_write(server):
    """10,000 commands in a single send(); replies read back in one stream."""
    lines = []
    for i in range(PIPELINE_LEN):
        key = f"raw:{i}"
        lines.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${len(str(i))}\r\n{i}\r\n")
        lines.append(f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n")
    payload = "".join(lines).encode()
    want = b"".join(b"+OK\r\n$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(PIPELINE_LEN))
    with server.sock(timeout_s=30) as s:
        s.sendall(payload)
        got = bytearray()
        deadline = time.monotonic() + 60
        while len(got) < len(want) and time.monotonic() < deadline:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
    assert bytes(got) == want


def test_multi_exec_through_redis_py_transaction(server):
    r = server.client()
    r.set("tx:a", "1")
    pipe = r.pipeline(transaction=True)
    pipe.incr("tx:a")
    pipe.set("tx:b", "x")
    pipe.get("tx:a")
    pipe.mget("tx:a", "tx:b", "tx:missing")
    assert pipe.execute() == [2, True, b"2", [b"2", b"x", None]]


def test_watch_conflict_aborts_exec(server):
    r = server.client()
    other = server.client()
    r.set("w:k", "0")
    with r.pipeline(transaction=True) as pipe:
        pipe.watch("w:k")
        other.set("w:k", "changed")
        pipe.multi()
        pipe.set("w:k", "mine")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("w:k") == b"changed"


def run_watch_increments(make_client, key, threads_n=6, per_thread=150):
    """The optimistic-locking loop clients build on WATCH (read, MULTI, write,
    EXEC, retry on a null reply), from several connections at once; returns
    (successful EXECs, the counter's final value), which must be equal."""
    import threading
    make_client().set(key, 0)
    wins = [0] * threads_n
    errors = []

    def worker(t):
        r = make_client()
        try:
            done = 0
            while done < per_thread:
                with r.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(key)
                        value = int(pipe.get(key))
                        pipe.multi()
                        pipe.set(key, value + 1)
                        pipe.execute()
                        done += 1
                    except redis.WatchError:
                        continue
            wins[t] = done
        except Exception as e:  # reported below, not lost in the thread
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return sum(wins), int(make_client().get(key))


def test_concurrent_watch_increments_lose_no_update(server):
    """Every EXEC that succeeds must count: a write that another client's EXEC
    put in the log ahead of this one, but that was not applied yet when this
    EXEC was checked, must fail this EXEC, or its update is lost."""
    wins, value = run_watch_increments(server.client, "w:counter")
    assert wins == value == 6 * 150


def test_exec_with_queued_error_reports_per_command(server):
    """A runtime error inside EXEC fails that command only."""
    r = server.client()
    r.set("tx:s", "notanumber")
    pipe = r.pipeline(transaction=True)
    pipe.incr("tx:s")
    pipe.set("tx:t", "ok")
    replies = pipe.execute(raise_on_error=False)
    assert isinstance(replies[0], redis.ResponseError)
    assert "not an integer" in str(replies[0])
    assert replies[1] is True
    assert r.get("tx:t") == b"ok"


def test_binary_values_and_keys_with_every_byte(server):
    r = server.client()
    every_byte = bytes(range(256))
    r.set(b"bin:all", every_byte)
    assert r.get(b"bin:all") == every_byte
    assert r.strlen(b"bin:all") == 256
    # Each byte value alone, as a value and inside a key.
    pipe = r.pipeline(transaction=False)
    for b in range(256):
        pipe.set(b"bin:k" + bytes([b]), bytes([b]) * 3)
    assert all(pipe.execute())
    pipe = r.pipeline(transaction=False)
    for b in range(256):
        pipe.get(b"bin:k" + bytes([b]))
    assert pipe.execute() == [bytes([b]) * 3 for b in range(256)]
    # Protocol-looking content is data, not framing.
    tricky = b"\r\n*1\r\n$4\r\nPING\r\n\x00-ERR\r\n"
    r.set(b"bin:\r\n", tricky)
    assert r.get(b"bin:\r\n") == tricky


def test_100mb_value_round_trip(server):
    r = server.client(socket_timeout=120)
    value = os.urandom(100 * 1024 * 1024)
    digest = hashlib.sha256(value).hexdigest()
    assert r.set("big", value) is True
    del value
    assert r.strlen("big") == 100 * 1024 * 1024
    got = r.get("big")
    assert len(got) == 100 * 1024 * 1024
    assert hashlib.sha256(got).hexdigest() == digest


def test_ttl_expiry_seen_by_client(server):
    r = server.client()
    r.set("ttl:px", "v", px=300)
    r.set("ttl:ex", "v")
    assert r.expire("ttl:ex", 1) is True
    r.set("ttl:keep", "v")
    assert 0 < r.pttl("ttl:px") <= 300
    assert r.ttl("ttl:ex") == 1
    assert r.ttl("ttl:keep") == -1
    wait_until(lambda: r.get("ttl:px") is None, 5, what="ttl:px to expire")
    assert r.exists("ttl:px") == 0
    assert r.ttl("ttl:px") == -2
    wait_until(lambda: r.exists("ttl:ex") == 0, 5, what="ttl:ex to expire")
    assert r.get("ttl:keep") == b"v"


def test_expired_keys_are_removed_without_access(server):
    """Active expiry: keys nobody reads still go away (DBSIZE drops)."""
    r = server.client()
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.set(f"act:{i}", "v", px=100)
    pipe.execute()
    r.set("act:keep", "v")
    wait_until(lambda: r.dbsize() == 1, 10, interval_s=0.1, what="active expiry")


def test_redis_cli_basic_usage(server):
    assert server.cli("SET", "a", "b") == "OK"
    assert server.cli("GET", "a") == "b"
    assert server.cli("GET", "nosuchkey") == ""
    assert server.cli("INCR", "n") == "1"
    assert server.cli("DEL", "a", "n") == "2"
    assert server.cli("PING") == "PONG"


def test_hiredis_client_pipeline_binary_values_and_transaction(server):
    """hiredis (the C client) pipelines 5,000 SET/GET pairs of binary values
    and runs a MULTI/EXEC; every reply is checked by the client itself."""
    client = os.path.join(ROOT, "build", "tests", "hiredis_client")
    out = subprocess.run([client, "127.0.0.1", str(server.port), "5000"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok 5000"
