"""A peer that holds raft-secret but sends absurd Raft messages (raft/raft.h,
MESSAGES FROM THE NETWORK and TERMS; raft/check.c).

A real 3-node cluster; the test connects to each node as a peer (RAFT.AUTH
with the cluster's secret, under another member's id) and sends what no
correct server sends: a heartbeat of term 2^64-1 (which used to put every node
at that term, leaderless for good, even across restarts, since the next
election's term + 1 wrapped around) and a TimeoutNow of term 2^63 (which used
to abort a node). Each is refused with an error reply and a log line; every
node stays up, the cluster keeps its leader at a sane term, and the writes
acknowledged before and after survive, also across a restart of all three.
Every wait polls with a deadline; nothing asserts how long anything took.
"""

import os
import sqlite3
import struct

from conftest import wait_until
from raftcluster import SECRET, check_acked_present
from test_cluster import read_reply_line, resp_command, term_of

DEADLINE_S = 60  # bound on any one wait; never the thing tested

MSG_HEARTBEAT = 7
MSG_TIMEOUT_NOW = 11
RAFT_TERM_MAX = 1 << 62  # raft/raft.h

# docs/operations.md, "Recovering a cluster whose term is exhausted": the
# statements an operator runs with sqlite3 on each stopped member's store.
HIGHEST_TERM_SQL = ("SELECT max(coalesce((SELECT max(term) FROM log), 0),"
                    " (SELECT value FROM meta WHERE key = 'snap_term'))")
OUT_OF_RANGE_SQL = ("SELECT (SELECT count(*) FROM log WHERE term < 0 OR term >= 4611686018427387904)"
                    " + (SELECT count(*) FROM meta WHERE key = 'snap_term'"
                    " AND (value < 0 OR value >= 4611686018427387904))")
SET_TERM_SQL = ("UPDATE meta SET value = {term} WHERE key = 'term';"
                " UPDATE meta SET value = 0 WHERE key = 'vote';")


def raft_payload(msg_type, sender, target, term):
    """A message as raft/codec.c encodes it: version 2, type, flags, then from,
    to, term, index, log_term, commit, hint, hint_term, ctx, offset as
    little-endian u64 (no body for these types)."""
    return bytes([2, msg_type, 0]) + struct.pack("<10Q", sender, target, term, 0, 0, 0, 0, 0, 0, 0)


def send_as_peer(target, sender_id, payloads):
    """Authenticates to target as node sender_id and sends each payload in a
    RAFT.MSG; returns the first line of each reply."""
    with target.sock(timeout_s=DEADLINE_S) as s:
        s.sendall(resp_command("RAFT.AUTH", SECRET, sender_id))
        assert read_reply_line(s) == b"+OK\r\n"
        s.sendall(b"".join(resp_command("RAFT.MSG", sender_id, p) for p in payloads))
        return [read_reply_line(s) for _ in payloads]


def write_keys(cluster, prefix, n):
    ld = cluster.wait_leader()
    acked = {}
    with ld.client(socket_timeout=DEADLINE_S) as c:
        for i in range(n):
            key, value = f"{prefix}:{i}", f"v{i}".encode()
            assert c.set(key, value) is True
            acked[key] = value
    return acked


def assert_sane(cluster, term_before):
    """Every node runs, one leader is agreed on, and no term moved further than
    a few elections would move it."""
    for nd in cluster.nodes:
        assert nd.alive(), f"{nd} died:\n{nd.log_tail()}"
    cluster.wait_leader(timeout_s=DEADLINE_S)
    for nd in cluster.nodes:
        assert term_of(nd) <= term_before + 100, f"{nd} jumped to term {term_of(nd)}"


def refused_lines(nd):
    with open(nd.log_path, "rb") as f:
        return f.read().count(b"Refused a Raft message from node")


def test_absurd_terms_are_refused_and_the_cluster_keeps_working(cluster):
    acked = write_keys(cluster, "before", 50)
    term_before = max(term_of(nd) for nd in cluster.nodes)
    replies = []
    for target in cluster.nodes:
        sender = next(nd for nd in cluster.nodes if nd is not target).node_id
        replies += send_as_peer(target, sender, [
            raft_payload(MSG_TIMEOUT_NOW, sender, target.node_id, 1 << 63),
            raft_payload(MSG_HEARTBEAT, sender, target.node_id, (1 << 64) - 1),
        ])
    assert_sane(cluster, term_before)
    for reply in replies:
        assert reply.startswith(b"-ERR raft message refused"), reply
    for nd in cluster.nodes:
        assert refused_lines(nd) >= 1, f"{nd} did not log the refusal"
        assert int(nd.raft_info()["messages_refused"]) == 2

    acked.update(write_keys(cluster, "after", 50))
    cluster.crash_all()
    assert_sane(cluster, term_before)
    acked.update(write_keys(cluster, "restarted", 10))
    cluster.wait_converged(cluster.nodes)
    for nd in cluster.nodes:
        check_acked_present(nd, acked)


def test_peer_commands_check_who_sends_them(cluster):
    """RAFT.MSG and RAFT.PUBLISH are for a connection that authenticated by
    RAFT.AUTH, and only in the name of the node it authenticated as."""
    target = cluster.nodes[0]
    msg = raft_payload(MSG_HEARTBEAT, 2, target.node_id, 1)
    with target.sock(timeout_s=DEADLINE_S) as s:
        s.sendall(resp_command("RAFT.MSG", 2, msg) + resp_command("RAFT.PUBLISH", 2, 0, "ch", "m"))
        assert read_reply_line(s) == b"-NOPERM RAFT.MSG is for cluster peers that sent RAFT.AUTH\r\n"
        assert read_reply_line(s) == (b"-NOPERM RAFT.PUBLISH is for cluster peers that sent "
                                      b"RAFT.AUTH\r\n")
    with target.sock(timeout_s=DEADLINE_S) as s:
        s.sendall(resp_command("RAFT.AUTH", SECRET, 2))
        assert read_reply_line(s) == b"+OK\r\n"
        s.sendall(resp_command("RAFT.MSG", 3, msg) + resp_command("RAFT.PUBLISH", "x", 0, "ch", "m"))
        assert read_reply_line(s) == (b"-NOPERM RAFT.MSG sender differs from the node id of "
                                      b"RAFT.AUTH\r\n")
        assert read_reply_line(s) == (b"-NOPERM RAFT.PUBLISH sender differs from the node id of "
                                      b"RAFT.AUTH\r\n")
    cluster.wait_leader(timeout_s=DEADLINE_S)


def test_a_flood_of_refused_messages_is_logged_in_few_lines(cluster):
    """2000 forged heartbeats: each gets its error reply, the log gets a line
    per NODE_REFUSAL_LOG_MS (10 s) at most, with the count of those left out.
    (Fewer than 100 lines holds unless sending them took over 1000 s.)"""
    target = cluster.followers()[0]
    sender = next(nd for nd in cluster.nodes if nd is not target).node_id
    term_before = term_of(target)
    before = refused_lines(target)
    forged = raft_payload(MSG_HEARTBEAT, sender, target.node_id, (1 << 64) - 1)
    replies = send_as_peer(target, sender, [forged] * 2000)
    assert all(r.startswith(b"-ERR raft message refused") for r in replies)
    assert int(target.raft_info()["messages_refused"]) == 2000
    wait_until(lambda: refused_lines(target) > before, DEADLINE_S, what="the refusal logged")
    assert refused_lines(target) - before < 100
    assert_sane(cluster, term_before)


def store_of(nd):
    return os.path.join(nd.data_dir, "raftcache.db")


def run_sql(nd, sql):
    """What `sqlite3 DIR/raftcache.db "SQL"` does: the statements, committed."""
    db = sqlite3.connect(store_of(nd), isolation_level=None)
    try:
        rows = None
        for stmt in filter(str.strip, sql.split(";")):
            rows = db.execute(stmt).fetchall()
        return rows
    finally:
        db.close()  # the connection's lock would keep the node from starting


def exhausted_logged(nd):
    with open(nd.log_path, "rb") as f:
        return b"RAFT TERM EXHAUSTED" in f.read()


def test_exhausted_cluster_recovers_with_the_documented_procedure(cluster):
    """A cluster whose stores hold RAFT_TERM_MAX (what 2^46 forged messages, or
    a store of an older version hit by one, leaves) starts no election and
    says so in its log; the steps of docs/operations.md bring it back with
    every acknowledged write and a leader at a sane term."""
    acked = write_keys(cluster, "exhausted", 50)
    for nd in cluster.nodes:
        cluster.stop(nd)
    for nd in cluster.nodes:
        run_sql(nd, SET_TERM_SQL.format(term=RAFT_TERM_MAX))
    for nd in cluster.nodes:
        cluster.start(nd)
    for nd in cluster.nodes:
        wait_until(lambda: exhausted_logged(nd), DEADLINE_S, what=f"{nd} to log its exhausted term")
    for nd in cluster.nodes:
        info = nd.raft_info()
        assert nd.alive() and info["leader_id"] == "-1", info
        assert int(info["current_term"]) == RAFT_TERM_MAX, info
        assert info["term_exhausted"] == "yes", info

    # The procedure: stop every member, take the highest term any log holds,
    # check it is below the ceiling, put every member's term just above it.
    for nd in cluster.nodes:
        cluster.stop(nd)
    assert all(run_sql(nd, OUT_OF_RANGE_SQL) == [(0,)] for nd in cluster.nodes)
    highest = max(run_sql(nd, HIGHEST_TERM_SQL)[0][0] for nd in cluster.nodes)
    assert 0 < highest < RAFT_TERM_MAX
    for nd in cluster.nodes:
        run_sql(nd, SET_TERM_SQL.format(term=highest + 1))
    for nd in cluster.nodes:
        cluster.start(nd)
    assert_sane(cluster, highest + 1)
    assert all(nd.raft_info()["term_exhausted"] == "no" for nd in cluster.nodes)
    acked.update(write_keys(cluster, "recovered", 10))
    cluster.wait_converged(cluster.nodes)
    for nd in cluster.nodes:
        check_acked_present(nd, acked)
