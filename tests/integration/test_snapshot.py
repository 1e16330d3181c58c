"""Snapshots and log compaction as an operator sees them: the log stays
bounded, RAFT.INFO's snapshot fields move, a restart (clean or kill -9, even
in the middle of taking a snapshot) brings every key back with its TTL, a
damaged snapshot file is refused at start, a follower that was down while
the leader compacted catches up through a snapshot transfer and ends up with
the same data, even when killed -9 in the middle of receiving it; big
lists changed all over while a snapshot shares them come back as they were;
the automatic rules are staggered across a cluster's nodes.

Every wait polls with a deadline; nothing asserts how long anything took.
"""

import os
import signal

import pytest

from conftest import KIND, wait_until
from raftharness import raft_info_of

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache snapshots only")

DEADLINE_S = 60


def info_int(client, field):
    return int(raft_info_of(client)[field])


def load(client, n, prefix="k", ttl_every=3, value_len=8, batch=500):
    """n SETs, pipelined in batches; every ttl_every-th key gets a 1000 s TTL."""
    for start in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + batch)):
            value = (f"v{i}:" * value_len)[:max(value_len, 1)]
            if ttl_every and i % ttl_every == 0:
                pipe.set(f"{prefix}{i}", value, px=1_000_000)
            else:
                pipe.set(f"{prefix}{i}", value)
        assert all(r is True for r in pipe.execute())


def check_loaded(client, n, prefix="k", ttl_every=3, value_len=8, batch=1000):
    assert client.dbsize() >= n
    for start in range(0, n, batch):
        pipe = client.pipeline(transaction=False)
        idx = range(start, min(n, start + batch))
        for i in idx:
            pipe.get(f"{prefix}{i}")
            pipe.pttl(f"{prefix}{i}")
        replies = pipe.execute()
        for j, i in enumerate(idx):
            value, pttl = replies[2 * j], replies[2 * j + 1]
            assert value == (f"v{i}:" * value_len)[:max(value_len, 1)].encode(), f"{prefix}{i}"
            if ttl_every and i % ttl_every == 0:
                assert 0 < pttl <= 1_000_000, f"{prefix}{i} pttl {pttl}"
            else:
                assert pttl == -1, f"{prefix}{i} pttl {pttl}"


def wait_snapshot_idle(client):
    wait_until(lambda: raft_info_of(client)["snapshot_in_progress"] == "no", DEADLINE_S,
               what="the snapshot in progress to end")


def test_entry_threshold_bounds_the_log(start_server):
    """raft-snapshot-threshold counts log entries. Writes sent one at a time,
    each waiting for its reply, are one entry each (no batch to share)."""
    srv = start_server({"raft-snapshot-threshold": 100, "raft-log-fsync": "no"})
    c = srv.client()
    for i in range(400):
        assert c.set(f"one{i}", i) is True
    wait_until(lambda: info_int(c, "snapshots_created") >= 1, DEADLINE_S,
               what="a snapshot to be taken")
    # A snapshot that started behind the last writes (a slow one lets the
    # log pass twice the threshold meanwhile) compacts it when it is done.
    wait_until(lambda: info_int(c, "log_entries") < 200, DEADLINE_S,
               what="the log under twice the threshold")
    wait_snapshot_idle(c)
    info = raft_info_of(c)
    assert int(info["snapshot_last_idx"]) >= 100
    assert int(info["log_entries"]) < 200, info
    assert int(info["first_log_index"]) == int(info["snapshot_last_idx"]) + 1


def test_size_rule_snapshots_bound_the_log_and_survive_restarts(start_server):
    """Pipelined writes share batch entries, so the entry count stays small;
    the size rule (raft-snapshot-log-min-size / -percentage) still bounds the
    log's bytes."""
    srv = start_server({"raft-snapshot-threshold": 1_000_000,
                        "raft-snapshot-log-min-size": 16384,
                        "raft-snapshot-log-percentage": 100})
    c = srv.client()
    load(c, 5000)
    wait_until(lambda: info_int(c, "snapshots_created") >= 1, DEADLINE_S,
               what="a snapshot to be taken")
    wait_snapshot_idle(c)
    info = raft_info_of(c)
    assert int(info["snapshot_last_idx"]) >= 1
    assert int(info["snapshot_last_term"]) >= 1
    assert int(info["snapshot_size"]) > 16384
    assert int(info["first_log_index"]) == int(info["snapshot_last_idx"]) + 1
    assert os.path.exists(os.path.join(srv.data_dir, "snapshot.rcs"))

    assert srv.stop(signal.SIGTERM) == 0
    srv.start()
    c = srv.client()
    check_loaded(c, 5000)

    load(c, 1500, prefix="more")
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    check_loaded(c, 5000)
    check_loaded(c, 1500, prefix="more")
    assert not os.path.exists(os.path.join(srv.data_dir, "snapshot.tmp"))


def test_raft_debug_compact(start_server):
    srv = start_server({"raft-snapshot-threshold": 1_000_000})
    c = srv.client()
    load(c, 300)
    assert info_int(c, "snapshots_created") == 0
    before = raft_info_of(c)
    assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
    wait_until(lambda: info_int(c, "snapshots_created") == 1, DEADLINE_S,
               what="RAFT.DEBUG COMPACT to finish")
    wait_snapshot_idle(c)
    info = raft_info_of(c)
    assert int(info["snapshot_last_idx"]) >= int(before["last_applied_index"])
    assert int(info["log_entries"]) <= int(info["current_index"]) - int(info["snapshot_last_idx"])
    with pytest.raises(Exception, match="nothing to compact"):
        c.execute_command("RAFT.DEBUG", "COMPACT")
    srv.stop(signal.SIGKILL)
    srv.start()
    check_loaded(srv.client(), 300)


def test_big_lists_changed_while_a_snapshot_is_taken(start_server):
    """Lists big enough for a snapshot to share them with the keyspace
    (src/sm/snaplive.h: copied node by node as they change, encoded by the
    writer thread) change all over while snapshots are taken. A restart
    loads the last snapshot and replays the log after it: a snapshot that
    held a change made after it began would see it applied twice."""
    srv = start_server({"raft-snapshot-threshold": 1_000_000})
    c = srv.client()
    load(c, 100_000, batch=5000)  # a walk long enough for changes to meet it

    def element(i):
        return f"e{i}:" + "x" * 90

    model = {}
    for k in range(4):
        if k == 2:  # the last two with their inner nodes compressed
            c.config_set("list-compress-depth", 1)
        items = [element(i) for i in range(4000)]
        for start in range(0, len(items), 1000):
            c.rpush(f"big{k}", *items[start:start + 1000])
        model[f"big{k}"] = items
    n = 0
    for _ in range(3):
        assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
        for step in range(40):
            k = f"big{step % 4}"
            items = model[k]
            pipe = c.pipeline(transaction=False)
            n += 1
            pipe.lpush(k, element(-n))
            items.insert(0, element(-n))
            pipe.rpop(k)
            items.pop()
            mid = len(items) // 2
            pipe.lset(k, mid, f"set{n}")
            items[mid] = f"set{n}"
            pipe.ltrim(k, 1, -2)
            del items[0], items[-1]
            pipe.lrem(k, 1, items[mid // 2])
            items.remove(items[mid // 2])
            if step % 10 == 9:
                pipe.rename(k, k + "x")
                pipe.rename(k + "x", k)
            pipe.execute()
        wait_snapshot_idle(c)
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    for k, items in model.items():
        assert [e.decode() for e in c.lrange(k, 0, -1)] == items, k
    check_loaded(c, 100_000)


def test_damaged_snapshot_is_refused_at_start(start_server):
    srv = start_server({"raft-snapshot-threshold": 1_000_000})
    c = srv.client()
    load(c, 200)
    c.execute_command("RAFT.DEBUG", "COMPACT")
    wait_until(lambda: info_int(c, "snapshots_created") == 1, DEADLINE_S, what="a snapshot")
    assert srv.stop(signal.SIGTERM) == 0
    path = os.path.join(srv.data_dir, "snapshot.rcs")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0x40]))
    with pytest.raises(AssertionError, match="exited with status"):
        srv.start(timeout_s=20)
    srv.expect_exit = True
    with open(srv.log_path, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    assert "corrupt" in log and "snapshot.rcs" in log, log[-2000:]


def test_kill9_while_taking_a_snapshot_loses_nothing(start_server):
    srv = start_server({"raft-snapshot-threshold": 1_000_000, "raft-log-fsync": "no"})
    c = srv.client()
    n = 200_000
    load(c, n, value_len=16, batch=2000)
    for attempt in range(2):
        assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
        # The snapshot has just begun: the node dies in the middle of it.
        srv.stop(signal.SIGKILL)
        srv.start()
        c = srv.client()
        check_loaded(c, n, value_len=16)
        assert not os.path.exists(os.path.join(srv.data_dir, "snapshot.tmp"))
    # And once a snapshot completed, kill -9 restores from it plus the tail.
    c.execute_command("RAFT.DEBUG", "COMPACT")
    wait_until(lambda: info_int(c, "snapshots_created") >= 1, DEADLINE_S, what="a snapshot")
    c.set("tail", "after-snapshot")
    srv.stop(signal.SIGKILL)
    srv.start()
    c = srv.client()
    check_loaded(c, n, value_len=16)
    assert c.get("tail") == b"after-snapshot"


def test_kill9_while_installing_a_snapshot_loses_nothing(make_cluster):
    """A follower killed -9 while it receives the leader's snapshot (chunks
    going into snapshot.incoming), once at the first chunk and once past
    half of the file, restarts, starts the transfer over and ends up with
    the same data; the partial file is not left behind."""
    cl = make_cluster(3, {"raft-snapshot-threshold": 1_000_000})
    leader = cl.leader()
    lagging = [nd for nd in cl.nodes if nd is not leader][0]
    cl.stop(lagging)
    c = leader.client()
    n = 40000
    load(c, n, value_len=1000)
    assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
    wait_until(lambda: info_int(c, "snapshots_created") >= 1, DEADLINE_S, what="a snapshot")
    wait_snapshot_idle(c)
    size = info_int(c, "snapshot_size")
    incoming = os.path.join(lagging.data_dir, "snapshot.incoming")
    for fraction in (0.0, 0.5):
        cl.start(lagging, wait=False)

        def receiving():
            lagging.assert_running("while receiving the snapshot")
            try:
                return os.path.getsize(incoming) > fraction * size
            except OSError:
                return False
        wait_until(receiving, DEADLINE_S, interval_s=0.001,
                   what=f"{lagging} to receive {fraction:.0%} of the snapshot")
        cl.kill9(lagging)
    cl.start(lagging)
    wait_until(lambda: int((lagging.raft_info() or {}).get("snapshots_received", 0)) >= 1,
               DEADLINE_S, what=f"{lagging} to install the snapshot")
    assert not os.path.exists(incoming)
    digest = cl.wait_converged()
    assert len(digest) == n
    with lagging.readonly_client() as rc:
        check_loaded(rc, n, value_len=1000)


def test_follower_down_through_three_compactions_catches_up_by_snapshot(make_cluster):
    cl = make_cluster(3, {"raft-snapshot-threshold": 1_000_000})
    leader = cl.leader()
    lagging = [nd for nd in cl.nodes if nd is not leader][0]
    cl.stop(lagging)
    c = leader.client()
    stopped_at = info_int(c, "last_applied_index")
    # Down through three compactions of the leader's log.
    for part in range(3):
        load(c, 5000 if part == 2 else 2000)
        created = info_int(c, "snapshots_created")
        assert c.execute_command("RAFT.DEBUG", "COMPACT") in (b"OK", "OK", True)
        wait_until(lambda: info_int(c, "snapshots_created") > created, DEADLINE_S,
                   what="a compaction of the leader's log")
        wait_snapshot_idle(c)
    assert info_int(c, "snapshot_last_idx") > stopped_at
    cl.start(lagging)
    wait_until(lambda: int((lagging.raft_info() or {}).get("snapshots_received", 0)) >= 1,
               DEADLINE_S, what=f"{lagging} to receive a snapshot")
    digest = cl.wait_converged()
    assert len(digest) == 5000
    with lagging.readonly_client() as rc:
        assert rc.get("k4999") == b"v4999:v4999:v4999:"[:8]
        assert 0 < rc.pttl("k4998") <= 1_000_000
    # The installed snapshot survives the follower's restart.
    cl.kill9(lagging)
    cl.start(lagging)
    cl.wait_converged()


def test_automatic_snapshots_are_staggered_across_nodes(make_cluster):
    """Every node applies the same log, so the rules would fire everywhere at
    once; the member at position p waits p mod 3 quarters more (positions:
    cluster-members' order, node1 first). Writes sent one at a time are one
    entry each."""
    threshold = 200
    cl = make_cluster(3, {"raft-snapshot-threshold": threshold})
    c = cl.leader().client()
    for i in range(int(threshold * 1.6)):
        assert c.set(f"s{i}", i) is True
    wanted = {1: threshold, 2: threshold * 5 // 4, 3: threshold * 3 // 2}
    for node_id, at_least in wanted.items():
        nd = cl.node(node_id)
        wait_until(lambda: int((nd.raft_info() or {}).get("snapshots_created", 0)) >= 1,
                   DEADLINE_S, what=f"{nd} to take its snapshot")
        info = nd.raft_info()
        assert int(info["snapshots_created"]) == 1, info
        assert int(info["snapshot_last_idx"]) >= at_least, (node_id, info)
    cl.wait_converged()
