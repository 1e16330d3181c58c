"""Small fixes found by an outside review, each checked as a user sees it.

- CLIENT LIST/KILL TYPE take every client type Redis 7.0 names (normal,
  replica, slave, master, pubsub) and give Redis's count, listing and error
  text; the types this server never has match no connection.
- used_memory counts the heap and maxmemory refuses writes in every build,
  AddressSanitizer's included (run the suite with
  RAFTCACHE_BIN=build-asan/raftcache to check that one).

The suite also passes against redis-server 7.0 (RAFTCACHE_BIN=redis-server),
which is how the expected replies were taken. No sleeps: servers are started
by the fixtures, which poll with a deadline.
"""

import time

import pytest
import redis

from conftest import wait_until

# ------------------------------------------------------- CLIENT TYPE filters


def listed_ids(c, *args):
    """The client ids CLIENT LIST [args] shows."""
    text = c.execute_command("CLIENT", "LIST", *args)
    text = text.decode() if isinstance(text, bytes) else text
    return [int(line.split(" ")[0][3:]) for line in text.splitlines() if line]


ABSENT_TYPES = ["replica", "slave", "master", "pubsub", "Replica", "MASTER"]


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


# ------------------------------------------- used_memory and maxmemory (ASan)
# AddressSanitizer's allocator answers mallinfo2() with zeros; a sanitizer
# build must still count its heap, or maxmemory is never enforced there.


def used_memory(c):
    return c.info("memory")["used_memory"]


def test_used_memory_counts_the_data(server):
    c = server.client()
    before = used_memory(c)
    assert before > 0
    value = b"v" * 100_000
    for i in range(100):
        c.set(f"k{i}", value)
    # 10 MB stored, at least half of it seen (the figure is refreshed every 100 ms)
    wait_until(lambda: used_memory(c) >= before + 5_000_000, 10, what="used_memory to grow")


def test_maxmemory_refuses_writes_once_reached(server):
    c = server.client()
    c.config_set("maxmemory", used_memory(c) + 4_000_000)
    value = b"v" * 100_000
    deadline = time.monotonic() + 20
    with pytest.raises(redis.ResponseError) as e:
        for i in range(1000):  # 100 MB at most: far past the limit
            c.set(f"k{i}", value)
            assert time.monotonic() < deadline, f"{i} writes, no OOM yet"
    assert str(e.value).startswith("OOM command not allowed when used memory > 'maxmemory'")
    assert c.get("k0") == value
