"""The Raft log's memory is bounded by raft-log-max-memory: a node keeps only
its newest applied entries in memory (the rest stay in SQLite until a
snapshot compacts them), a follower that fell behind that window catches up
from the leader's disk (RAFT.INFO log_disk_reads), a restart trims the log it
reloaded, and every replica ends with the same data of every type.

Every wait polls with a deadline; nothing asserts how long anything took.
"""

import pytest

from conftest import KIND, wait_until
from raftharness import raft_info_of

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache's Raft log")

DEADLINE_S = 60
WINDOW = 64 * 1024


def info_int(client, field):
    return int(raft_info_of(client)[field])


def write_types(c, prefix, n):
    """n small writes of every type, one entry per pipeline batch of 100."""
    for start in range(0, n, 100):
        pipe = c.pipeline(transaction=False)
        for i in range(start, min(n, start + 100)):
            pipe.set(f"{prefix}:s{i}", "v" * 100)
            pipe.hset(f"{prefix}:h{i % 50}", f"f{i}", i)
            pipe.sadd(f"{prefix}:set{i % 20}", i)
            pipe.zincrby(f"{prefix}:z", 1.5, f"m{i % 300}")
        pipe.execute()


def test_memory_window_holds_and_a_lagging_follower_reads_from_disk(make_cluster):
    cl = make_cluster(3, {"raft-log-max-memory": WINDOW, "raft-snapshot-threshold": 1_000_000})
    leader = cl.leader()
    lagging = [nd for nd in cl.nodes if nd is not leader][0]
    c = leader.client()
    write_types(c, "a", 500)
    cl.wait_converged()
    cl.stop(lagging)  # down: nothing sent to it stays queued for it
    write_types(c, "b", 4000)
    info = raft_info_of(c)
    assert int(info["log_memory_bytes"]) <= WINDOW
    first_mem = int(info["log_memory_first_index"])
    assert first_mem > int(info["first_log_index"]), info  # older entries only on disk
    assert int(info["log_entries"]) > int(info["log_memory_entries"])
    cl.start(lagging)
    wait_until(lambda: info_int(c, "log_disk_entries_read") > 0, DEADLINE_S,
               what="the leader to read entries back from disk")
    cl.wait_converged()
    assert info_int(c, "snapshots_created") == 0  # caught up without a snapshot
    with lagging.readonly_client() as rc:
        assert rc.get("b:s3999") == b"v" * 100
        assert rc.zscore("b:z", "m7") == c.zscore("b:z", "m7")


def test_restart_reloads_the_log_and_trims_it(make_cluster):
    cl = make_cluster(3, {"raft-log-max-memory": WINDOW, "raft-snapshot-threshold": 1_000_000})
    write_types(cl.leader().client(), "r", 3000)
    cl.wait_converged()
    cl.crash_all()
    c = cl.leader().client()
    assert c.hget("r:h7", "f2957") == b"2957"
    for nd in cl.nodes:
        wait_until(lambda: int((nd.raft_info() or {}).get("log_memory_bytes", WINDOW + 1))
                   <= WINDOW, DEADLINE_S, what=f"{nd} to trim its reloaded log")


def test_log_file_shrinks_after_compaction(make_cluster):
    """A load leaves a large log; once a snapshot compacts it, the SQLite file
    gives the freed pages back (incremental vacuum) and ends near the live
    log's size instead of keeping its high-water mark."""
    cl = make_cluster(1, {"raft-snapshot-threshold": 1_000_000,
                          "raft-snapshot-log-min-size": "1gb"})
    c = cl.leader().client()
    value = "x" * 4000
    for start in range(0, 6000, 200):  # ~24 MB of log, no snapshot yet
        pipe = c.pipeline(transaction=False)
        for i in range(start, start + 200):
            pipe.set(f"big:{i % 500}", value)
        pipe.execute()
    peak = info_int(c, "log_file_bytes")
    assert peak > 20 << 20, peak
    assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
    wait_until(lambda: info_int(c, "log_file_bytes") < 8 << 20, DEADLINE_S,
               what="the log file to shrink after compaction")
    assert info_int(c, "log_vacuumed_bytes") > 10 << 20
    assert c.get("big:499") == value.encode()
