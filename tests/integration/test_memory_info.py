"""INFO memory and the MEMORY subcommands as a user, or a monitoring tool,
reads them.

- INFO memory names the allocator (mem_allocator) and, with jemalloc (the
  normal build, as redis-server's), gives Redis 7.0's allocator_* fields and
  fragmentation figures, each consistent with the others; a sanitizer build
  (mem_allocator:libc) leaves out what its allocator cannot tell.
- MEMORY PURGE replies OK, and with jemalloc the pages freed by a FLUSHALL
  leave the allocator's resident set at once instead of after its decay time.
- MEMORY STATS and INFO memory give Redis 7.0's fields in its order (but
  the cluster links' buffers, which raftcache does not measure, and its
  active defrag, which it does not have), then the Raft log's part
  (raft.log, mem_raft_log) and SQLite's (raft.storage, mem_raft_storage);
  their overhead parts add up to used_memory.
- MEMORY DOCTOR answers Redis's texts (empty instance, a peak); MEMORY
  MALLOC-STATS is jemalloc's report.

Run against redis-server too (RAFTCACHE_BIN=redis-server): the same
assertions hold but for the ones that tie used_memory to the allocator's own
count, which Redis keeps separately.
"""

import pytest
import redis

from conftest import KIND, wait_until

MB = 1 << 20


def memory_info(c):
    return c.info("memory")


def is_jemalloc(info):
    return str(info["mem_allocator"]).startswith("jemalloc-")


def test_info_memory_names_the_allocator_and_its_figures(server):
    c = server.client()
    info = memory_info(c)
    if not is_jemalloc(info):
        # Redis's stand-ins for an allocator without page figures:
        # allocated = used_memory, active = resident (RSS less the Lua heaps)
        assert info["mem_allocator"] == "libc"
        assert info["allocator_active"] == info["allocator_resident"] > 0
        assert info["allocator_allocated"] > 0 and info["allocator_rss_bytes"] == 0
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
        # (src/server/memory.h); the allocator's own figure also counts that share
        # and the blocks its thread caches keep.
        assert 0 < used < info["allocator_allocated"]
        assert info["mem_raft_log"] + info["mem_raft_storage"] > 0


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


# Redis 7.0's MEMORY STATS fields in its order (db.0 only with keys; the
# allocator's with jemalloc). raftcache does not measure the cluster links'
# buffers (no cluster.links) and ends with raft.log, the Raft log's entries
# held in memory, and raft.storage, SQLite's memory.
STATS_HEAD = ["peak.allocated", "total.allocated", "startup.allocated", "replication.backlog",
              "clients.slaves", "clients.normal", "cluster.links", "aof.buffer", "lua.caches",
              "functions.caches"]
STATS_TAIL = ["overhead.total", "keys.count", "keys.bytes-per-key", "dataset.bytes",
              "dataset.percentage", "peak.percentage"]
STATS_ALLOCATOR = ["allocator.allocated", "allocator.active", "allocator.resident",
                   "allocator-fragmentation.ratio", "allocator-fragmentation.bytes",
                   "allocator-rss.ratio", "allocator-rss.bytes", "rss-overhead.ratio",
                   "rss-overhead.bytes"]
DB_FIELDS = ["overhead.hashtable.main", "overhead.hashtable.expires",
             "overhead.hashtable.slot-to-keys"]

# Redis 7.0's INFO memory fields in its order (the allocator's too, Redis's
# stand-ins without jemalloc).
INFO_FIELDS = [
    "used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human",
    "used_memory_peak", "used_memory_peak_human", "used_memory_peak_perc", "used_memory_overhead",
    "used_memory_startup", "used_memory_dataset", "used_memory_dataset_perc",
    "allocator_allocated", "allocator_active", "allocator_resident", "total_system_memory",
    "total_system_memory_human", "used_memory_lua", "used_memory_vm_eval", "used_memory_lua_human",
    "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
    "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total",
    "used_memory_vm_total_human", "used_memory_functions", "used_memory_scripts",
    "used_memory_scripts_human", "maxmemory", "maxmemory_human", "maxmemory_policy",
    "allocator_frag_ratio", "allocator_frag_bytes", "allocator_rss_ratio", "allocator_rss_bytes",
    "rss_overhead_ratio", "rss_overhead_bytes", "mem_fragmentation_ratio",
    "mem_fragmentation_bytes", "mem_not_counted_for_evict", "mem_replication_backlog",
    "mem_total_replication_buffers", "mem_clients_slaves", "mem_clients_normal",
    "mem_cluster_links", "mem_aof_buffer", "mem_allocator", "active_defrag_running",
    "lazyfree_pending_objects", "lazyfreed_objects",
]
def memory_stats(c):
    """MEMORY STATS as an ordered dict (db.0's map as a dict too)."""
    flat = c.execute_command("MEMORY", "STATS")
    out = {}
    for name, value in zip(flat[0::2], flat[1::2]):
        name = name.decode()
        if isinstance(value, list):
            value = {k.decode(): v for k, v in zip(value[0::2], value[1::2])}
        elif isinstance(value, bytes):
            value = float(value)
        out[name] = value
    return out


def expected_stats_fields(with_db, jemalloc):
    fields = STATS_HEAD + (["db.0"] if with_db else []) + STATS_TAIL
    fields += STATS_ALLOCATOR if jemalloc else []
    fields += ["fragmentation", "fragmentation.bytes"]
    if KIND == "raftcache":
        fields = [f for f in fields if f != "cluster.links"] + ["raft.log", "raft.storage"]
    return fields


def info_field_names(c):
    return list(c.info("memory"))  # redis-py keeps the reply's order


def test_memory_stats_has_redis_fields_in_its_order(server):
    c = server.client()
    jemalloc = is_jemalloc(memory_info(c))
    assert list(memory_stats(c)) == expected_stats_fields(False, jemalloc)
    c.set("k", "v")
    c.set("t", "v", ex=100)
    stats = memory_stats(c)
    assert list(stats) == expected_stats_fields(True, jemalloc)
    assert list(stats["db.0"]) == DB_FIELDS
    assert stats["keys.count"] == 2


def test_memory_stats_parts_add_up(server):
    c = server.client(socket_timeout=60)
    pipe = c.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set(f"stats:{i}", b"v" * 100)
        if i % 4 == 0:
            pipe.expire(f"stats:{i}", 1000)
    pipe.execute()
    s = memory_stats(c)
    used = s["total.allocated"]
    assert s["keys.count"] == c.dbsize() == 20_000
    assert 0 < s["startup.allocated"] < used <= s["peak.allocated"]
    db = s["db.0"]
    # 20k keys: a dict entry and a value header each, and the buckets.
    assert db["overhead.hashtable.main"] >= 20_000 * 16
    assert 0 < db["overhead.hashtable.expires"] < db["overhead.hashtable.main"]
    assert db["overhead.hashtable.slot-to-keys"] == 0
    # raft.log and raft.storage are reported but outside total.allocated
    # (used_memory leaves the Raft log's memory out: src/server/memory.h).
    parts = ["startup.allocated", "replication.backlog", "clients.slaves", "clients.normal",
             "cluster.links", "aof.buffer", "lua.caches", "functions.caches"]
    overhead = sum(s.get(p, 0) for p in parts) + sum(db.values())
    if KIND == "raftcache":
        # Redis samples the clients' memory in its cron; raftcache adds up
        # what it measures when asked, every part of it.
        assert s["overhead.total"] == overhead
        assert s["clients.normal"] > 0
        assert s["dataset.bytes"] == used - overhead
        net = used - s["startup.allocated"]
        assert s["keys.bytes-per-key"] == net // 20_000
        assert s["dataset.percentage"] == pytest.approx(s["dataset.bytes"] * 100 / net, rel=1e-6)
        assert s["peak.percentage"] == pytest.approx(used * 100 / s["peak.allocated"], rel=1e-6)
    # 20k keys of 100-byte values: about 2 MB of data beside the overhead.
    assert s["dataset.bytes"] > 20_000 * 100
    assert s["replication.backlog"] == s["clients.slaves"] == s["aof.buffer"] == 0
    if "allocator.allocated" in s:
        assert s["allocator.allocated"] <= s["allocator.active"] <= s["allocator.resident"]
        assert s["allocator-fragmentation.bytes"] == s["allocator.active"] - s["allocator.allocated"]
        assert s["allocator-rss.bytes"] == s["allocator.resident"] - s["allocator.active"]


def test_memory_stats_agrees_with_info_memory(server):
    """Both come from one kind of reading; figures read 100 ms apart may
    move, so only those that cannot are compared exactly."""
    c = server.client()
    c.set("k", "v")
    s, info = memory_stats(c), memory_info(c)
    assert info["used_memory_startup"] == s["startup.allocated"]
    assert info["used_memory_peak"] >= s["peak.allocated"]
    assert info["used_memory_peak"] >= info["used_memory"]
    if KIND == "raftcache":  # Redis's overhead figures are sampled by its cron
        assert info["used_memory_overhead"] + info["used_memory_dataset"] == info["used_memory"]
    assert info["mem_replication_backlog"] == info["mem_clients_slaves"] == 0
    assert info["mem_aof_buffer"] == 0
    assert info["mem_not_counted_for_evict"] == 0
    assert info["total_system_memory"] > 0
    if KIND == "raftcache":
        # A write is in the log (in memory) and SQLite caches the log's pages.
        assert info["mem_raft_log"] > 0 and s["raft.log"] > 0
        assert info["mem_raft_storage"] > 0 and s["raft.storage"] > 0


def test_info_memory_has_redis_fields_in_its_order(server):
    c = server.client()
    names = info_field_names(c)
    expected = INFO_FIELDS
    if KIND == "raftcache":
        # Redis's fields (mem_cluster_links: the Raft peer links'), then
        # raftcache's own at the end.
        expected = expected + ["mem_raft_log", "mem_raft_storage", "mem_over_maxmemory"]
    assert names == expected


def test_used_memory_peak_follows_a_peak(server):
    c = server.client(socket_timeout=60)
    base = memory_info(c)["used_memory"]
    c.set("big", b"x" * (16 * MB))
    # Sampled at least every 100 ms by the cron, and by INFO itself.
    wait_until(lambda: memory_info(c)["used_memory_peak"] >= base + 16 * MB, 10,
               what="used_memory_peak to see a 16 MB value")
    c.delete("big")
    wait_until(lambda: memory_info(c)["used_memory"] < base + 8 * MB, 10,
               what="used_memory to fall after DEL")
    info = memory_info(c)
    assert info["used_memory_peak"] >= base + 16 * MB
    assert float(str(info["used_memory_peak_perc"]).rstrip("%")) < 100


def test_memory_doctor_texts(server):
    c = server.client(socket_timeout=60)
    report = c.execute_command("MEMORY", "DOCTOR")
    report = report.decode() if isinstance(report, bytes) else report
    assert report.startswith("Hi Sam, this instance is empty or is using very little memory")
    # Over 5 MB, then a peak of more than 1.5 times what stays.
    keep = c.pipeline(transaction=False)
    for i in range(40):
        keep.set(f"keep:{i}", b"k" * (256 * 1024))
    keep.execute()
    c.set("peak", b"p" * (32 * MB))
    wait_until(lambda: memory_info(c)["used_memory_peak"] >= 42 * MB, 10,
               what="the peak to be sampled")
    c.delete("peak")
    wait_until(lambda: memory_info(c)["used_memory"] < 20 * MB, 10,
               what="used_memory to fall after DEL")
    report = c.execute_command("MEMORY", "DOCTOR")
    report = report.decode() if isinstance(report, bytes) else report
    assert report.startswith("Sam, I detected a few issues in this Redis instance memory "
                             "implants:\n\n")
    assert " * Peak memory: In the past this instance used more than 150% the memory" in report
    assert report.endswith("I'm here to keep you safe, Sam. I want to help you.\n")
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command("MEMORY", "DOCTOR", "now")
    assert str(e.value) == "wrong number of arguments for 'memory|doctor' command"


def test_memory_malloc_stats(server):
    c = server.client()
    text = c.execute_command("MEMORY", "MALLOC-STATS")
    text = text.decode() if isinstance(text, bytes) else text
    if is_jemalloc(memory_info(c)):
        assert text.startswith("___ Begin jemalloc statistics ___\n")
        assert "--- End jemalloc statistics ---" in text
    else:
        assert text == "Stats not supported for the current allocator"
    help_lines = [h.decode() for h in c.execute_command("MEMORY", "HELP")]
    for sub in ("DOCTOR", "MALLOC-STATS", "PURGE", "STATS", "USAGE <key> [SAMPLES <count>]"):
        assert sub in help_lines


@pytest.mark.skipif(KIND != "raftcache", reason="a raftcache cluster")
def test_a_follower_answers_memory_stats_of_its_own(cluster):
    """MEMORY STATS, DOCTOR and INFO memory are the node's own (no -MOVED):
    a follower that applied the leader's writes counts their keys and holds
    their entries in its log."""
    leader = cluster.leader()
    with leader.client(socket_timeout=10) as c:
        for i in range(100):
            c.set(f"f:{i}", "v")
    cluster.wait_converged()
    follower = cluster.followers()[0]
    with follower.client(socket_timeout=10) as f:
        s = memory_stats(f)
        assert s["keys.count"] == 100
        assert s["raft.log"] > 0 and s["raft.storage"] > 0
        assert list(s) == expected_stats_fields(True, is_jemalloc(memory_info(f)))
        report = f.execute_command("MEMORY", "DOCTOR")
        assert (report.decode() if isinstance(report, bytes) else report).startswith("Hi Sam")


def test_script_and_function_caches(server):
    c = server.client()
    before = memory_stats(c)
    c.script_load("return 1")
    c.execute_command("FUNCTION", "LOAD",
                      "#!lua name=memlib\nredis.register_function('memf', function() return 1 end)")
    s, info = memory_stats(c), memory_info(c)
    assert s["lua.caches"] > before["lua.caches"]
    assert s["functions.caches"] > before["functions.caches"]
    assert info["used_memory_scripts_eval"] == s["lua.caches"]
    assert info["used_memory_functions"] == s["functions.caches"]
    assert info["used_memory_scripts"] == \
        info["used_memory_scripts_eval"] + info["used_memory_functions"]
