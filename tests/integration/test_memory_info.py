"""INFO memory and MEMORY PURGE as a user, or a monitoring tool, reads them.

- INFO memory names the allocator (mem_allocator) and, with jemalloc (the
  normal build, as redis-server's), gives Redis 7.0's allocator_* fields and
  fragmentation figures, each consistent with the others; a sanitizer build
  (mem_allocator:libc) leaves out what its allocator cannot tell.
- MEMORY PURGE replies OK, and with jemalloc the pages freed by a FLUSHALL
  leave the allocator's resident set at once instead of after its decay time.

Run against redis-server too (RAFTCACHE_BIN=redis-server): the same
assertions hold but for the ones that tie used_memory to the allocator's own
count, which Redis keeps separately.
"""

import pytest
import redis

from conftest import KIND, wait_until

MB = 1 << 20
PAGE_FIELDS = (
    "allocator_allocated", "allocator_active", "allocator_resident",
    "allocator_frag_ratio", "allocator_frag_bytes", "allocator_rss_ratio",
    "allocator_rss_bytes", "rss_overhead_ratio", "rss_overhead_bytes",
)


def memory_info(c):
    return c.info("memory")


def is_jemalloc(info):
    return str(info["mem_allocator"]).startswith("jemalloc-")


def test_info_memory_names_the_allocator_and_its_figures(server):
    c = server.client()
    info = memory_info(c)
    if not is_jemalloc(info):
        assert info["mem_allocator"] == "libc"
        assert not [f for f in PAGE_FIELDS if f in info]
        return
    version = info["mem_allocator"][len("jemalloc-"):]
    assert [p.isdigit() for p in version.split(".")] == [True] * 3
    allocated, active = info["allocator_allocated"], info["allocator_active"]
    resident, rss = info["allocator_resident"], info["used_memory_rss"]
    assert 0 < allocated <= active <= resident
    assert info["allocator_frag_bytes"] == active - allocated
    assert info["allocator_frag_ratio"] == pytest.approx(active / allocated, abs=0.01)
    assert info["allocator_rss_bytes"] == resident - active
    assert info["allocator_rss_ratio"] == pytest.approx(resident / active, abs=0.01)
    assert info["rss_overhead_bytes"] == rss - resident
    assert info["rss_overhead_ratio"] == pytest.approx(rss / resident, abs=0.01)


def test_info_memory_fragmentation_is_rss_over_used(server):
    if KIND != "raftcache":
        pytest.skip("redis-server computes it from a figure sampled by its cron")
    info = memory_info(server.client())
    used, rss = info["used_memory"], info["used_memory_rss"]
    assert info["mem_fragmentation_bytes"] == rss - used
    assert info["mem_fragmentation_ratio"] == pytest.approx(rss / used, abs=0.01)
    if is_jemalloc(info):
        # used_memory is what the program holds less the Raft log's share
        # (src/memory.h); the allocator's own figure also counts that share
        # and the blocks its thread caches keep.
        assert 0 < used < info["allocator_allocated"]
        assert info["used_memory_raft_log"] > 0


def test_memory_purge_replies_ok_and_takes_no_argument(server):
    c = server.client()
    assert c.execute_command("MEMORY", "PURGE") == b"OK"
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("MEMORY", "PURGE", "now")
    assert str(e.value) == "wrong number of arguments for 'memory|purge' command"
    help_lines = c.execute_command("MEMORY", "HELP")
    assert b"PURGE" in help_lines


def test_memory_purge_returns_freed_pages(server):
    c = server.client(socket_timeout=60)
    if not is_jemalloc(memory_info(c)):
        pytest.skip("only jemalloc keeps freed pages for later")
    pipe = c.pipeline(transaction=False)
    for i in range(100_000):
        pipe.set(f"purge:{i}", b"v" * 200)
    pipe.execute()
    loaded = memory_info(c)["allocator_resident"]
    assert c.flushall() is True
    wait_until(lambda: memory_info(c)["lazyfree_pending_objects"] == 0, 30,
               what="the flushed keys to be freed")
    assert c.execute_command("MEMORY", "PURGE") == b"OK"
    # 100k values of 200 bytes with their keys and entries: ~30 MB of small
    # blocks; the figures are at most 100 ms old.
    wait_until(lambda: memory_info(c)["allocator_resident"] < loaded - 10 * MB, 5,
               what=f"allocator_resident to fall from {loaded} after MEMORY PURGE")
