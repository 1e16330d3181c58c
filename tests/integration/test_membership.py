"""Live membership changes as an operator makes them: growing a 3-node
cluster to 5 and shrinking it back under a continuous write load, replacing
a dead node, removing the leader, transferring leadership, the errors of
impossible requests, and membership surviving restarts -- with no
acknowledged write lost.

Two ways in for a new node: RAFT.CLUSTER JOIN on a fresh node started
without cluster-members, and RAFT.NODE ADD on the leader for a node started
with cluster-members naming the existing members (not itself), which waits
to be contacted.

Real processes on loopback (raftcluster.py); every wait polls with a
deadline and nothing asserts how long anything took.
"""

import os
import shutil
import socket

import pytest
import redis

from conftest import config_text, free_port, wait_until
from raftcluster import AckWriter, check_acked_present

DEADLINE_S = 60


def info_of(nd):
    info = nd.raft_info()
    assert info is not None, f"{nd} does not answer RAFT.INFO"
    return info


def cmd(nd, *args, timeout_s=30):
    with nd.client(socket_timeout=timeout_s) as c:
        return c.execute_command(*args)


def ok(reply):
    return reply in (True, b"OK", "OK")


def wait_voters(cl, nodes, n_nodes, n_voters):
    """Every node in nodes sees n_nodes members of which n_voters vote."""
    def seen():
        for nd in nodes:
            info = nd.raft_info() or {}
            if (info.get("num_nodes"), info.get("num_voting_nodes")) != (str(n_nodes),
                                                                        str(n_voters)):
                return False
        return True
    wait_until(seen, DEADLINE_S, what=f"{nodes} to see {n_nodes} nodes, {n_voters} voting")


def retrying(what, attempt, retry_on=("TRYAGAIN",)):
    """attempt() until it returns a true value; -TRYAGAIN (another change, or
    a learner's promotion, is in flight) means retry, as an operator would.
    retry_on lists the errors that mean retry."""
    def once():
        try:
            return attempt()
        except redis.ResponseError as e:
            if any(what_err in str(e) for what_err in retry_on):
                return False
            raise
    return wait_until(once, DEADLINE_S, what=what)


def join(new, via):
    new.launch()
    new.wait_ping()
    retrying(f"{new} to join", lambda: ok(cmd(new, "RAFT.CLUSTER", "JOIN",
                                             *[v.addr for v in via])))


def add(cl, new, existing):
    """RAFT.NODE ADD path: new is started naming the existing members."""
    new.launch()
    new.wait_ping()
    retrying(f"{new} to be added", lambda: ok(cmd(cl.wait_leader(existing), "RAFT.NODE", "ADD",
                                                  new.node_id, new.addr)))


def remove(cl, nd, group):
    retrying(f"{nd} to be removed",
             lambda: ok(cmd(cl.wait_leader(group), "RAFT.NODE", "REMOVE", nd.node_id)))


def test_grow_3_to_5_and_shrink_back_under_load(make_cluster):
    cl = make_cluster(3)
    first = list(cl.nodes)
    writer = AckWriter(cl, "grow")
    writer.start()
    try:
        wait_until(lambda: writer.acked_count() >= 50, DEADLINE_S, what="writes before growing")
        n4 = cl.new_node()
        join(n4, [first[2]])  # a follower (or the leader): JOIN follows MOVED
        n5 = cl.new_node(members=first)
        add(cl, n5, first)
        wait_voters(cl, cl.nodes, 5, 5)  # learners promoted once caught up
        mark = writer.acked_count()
        wait_until(lambda: writer.acked_count() >= mark + 50, DEADLINE_S,
                   what="writes on the 5-node cluster")
        # Shrink back: remove the two new nodes, then stop them.
        for nd in (n5, n4):
            remove(cl, nd, cl.live())
            cl.stop(nd)
        wait_voters(cl, first, 3, 3)
        mark = writer.acked_count()
        wait_until(lambda: writer.acked_count() >= mark + 50, DEADLINE_S,
                   what="writes after shrinking")
    finally:
        writer.stop()
    cl.wait_converged(first)
    for nd in first:
        check_acked_present(nd, writer.acked)


def test_replace_a_dead_node(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    with ld.client() as c:
        for i in range(200):
            c.set(f"r{i}", i)
    dead = [nd for nd in cl.nodes if nd is not ld][0]
    cl.kill9(dead)
    rest = [nd for nd in cl.nodes if nd is not dead]
    remove(cl, dead, rest)
    wait_voters(cl, rest, 2, 2)
    new = cl.new_node()
    join(new, [rest[0], rest[1]])
    group = rest + [new]
    wait_voters(cl, group, 3, 3)
    digest = cl.wait_converged(group)
    assert len(digest) == 200
    # The dead node's data dir is stale; it stays down (cl.live() excludes it).


def test_remove_the_leader(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    with ld.client() as c:
        c.set("before", "1")
    # Refused while a follower has not answered this leader yet (a slow
    # disk holds its answers back): the operator retries.
    retrying(f"{ld} to remove itself", lambda: ok(cmd(ld, "RAFT.NODE", "REMOVE", ld.node_id)),
             retry_on=("TRYAGAIN", "would not be a majority"))
    rest = [nd for nd in cl.nodes if nd is not ld]
    new_ld = cl.wait_leader(rest, not_node=ld)
    assert new_ld is not ld
    cl.stop(ld)
    wait_voters(cl, rest, 2, 2)
    with new_ld.client() as c:
        # A new leader reads once an entry of its term has committed; until
        # then it answers -CLUSTERDOWN No raft leader (docs/cluster-replies.md).
        assert retrying("a read on the new leader", lambda: c.get("before"),
                        retry_on=("CLUSTERDOWN",)) == b"1"
        assert c.set("after", "2") is True
    cl.wait_converged(rest)


def test_transfer_leadership(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    target = [nd for nd in cl.nodes if nd is not ld][0]
    assert ok(cmd(ld, "RAFT.TRANSFER_LEADER", target.node_id))
    assert cl.wait_leader(not_node=ld) is target
    # Without an id: the most up-to-date other voter.
    assert ok(cmd(target, "RAFT.TRANSFER_LEADER"))
    assert cl.wait_leader(not_node=target) is not target
    with cl.leader().client() as c:
        assert c.set("k", "v") is True


def test_membership_errors_are_clear(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    follower = [nd for nd in cl.nodes if nd is not ld][0]
    other = [nd for nd in cl.nodes if nd is not ld][1]
    errors = [
        (ld, ("RAFT.NODE", "ADD", 2, "127.0.0.1:1"), "already in use"),
        (ld, ("RAFT.NODE", "ADD", 9, follower.addr), "already used by node"),
        (ld, ("RAFT.NODE", "ADD", 0, "127.0.0.1:1"), "positive integer"),
        (ld, ("RAFT.NODE", "ADD", 9, "nonsense"), "invalid address"),
        (ld, ("RAFT.NODE", "REMOVE", 42), "unknown node id 42"),
        (ld, ("RAFT.TRANSFER_LEADER", ld.node_id), "not another voting node"),
        (ld, ("RAFT.TRANSFER_LEADER", 42), "not another voting node"),
        (follower, ("RAFT.NODE", "ADD", 9, "127.0.0.1:1"), "MOVED"),
        (follower, ("RAFT.NODE", "REMOVE", 3), "MOVED"),
        (follower, ("RAFT.TRANSFER_LEADER",), "MOVED"),
        (ld, ("RAFT.CLUSTER", "JOIN", other.addr), "already a member"),
    ]
    for nd, args, text in errors:
        with pytest.raises(redis.ResponseError, match=text):
            cmd(nd, *args)
    # A second change while one is in flight: with both followers paused the
    # first cannot commit.
    for nd in cl.nodes:
        if nd is not ld:
            cl.sigstop(nd)
    s = socket.create_connection(("127.0.0.1", ld.port), timeout=30)
    try:
        s.sendall(b"*4\r\n$9\r\nRAFT.NODE\r\n$3\r\nADD\r\n$1\r\n7\r\n$11\r\n127.0.0.1:1\r\n")
        # Effective once appended: the leader counts 4 members at once.
        wait_until(lambda: info_of(ld)["num_nodes"] == "4", DEADLINE_S,
                   what="the first change to be appended")
        with pytest.raises(redis.ResponseError, match="TRYAGAIN"):
            cmd(ld, "RAFT.NODE", "ADD", 8, "127.0.0.1:2")
    finally:
        for nd in cl.nodes:
            if nd.paused:
                cl.sigcont(nd)
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = s.recv(256)
        assert chunk, "leader closed the connection"
        reply += chunk
    s.close()
    assert reply.startswith((b"+OK", b"-TIMEOUT")), reply
    # A node holding data refuses to join.
    with ld.client() as c:
        c.set("x", "1")
    fresh = cl.new_node()
    fresh.launch()
    fresh.wait_ping()
    with fresh.client() as c:
        c.set("mine", "1")
        with pytest.raises(redis.ResponseError, match="holds data"):
            c.execute_command("RAFT.CLUSTER", "JOIN", ld.addr)
    cl.stop(fresh)
    fresh.expect_exit = True
    # A node with another raft-secret is told so, not "no reply".
    stranger = cl.new_node()
    with open(stranger.conf_path, "a") as f:
        f.write("raft-secret not-the-clusters\n")
    stranger.launch()
    stranger.wait_ping()
    with stranger.client() as c:
        with pytest.raises(redis.ResponseError, match="RAFT.AUTH refused: ERR invalid raft-secret"):
            c.execute_command("RAFT.CLUSTER", "JOIN", ld.addr)
    cl.stop(stranger)
    stranger.expect_exit = True


def test_node_waiting_to_be_added_recovers_until_caught_up(make_cluster):
    """A node started on an empty dir to be added (a new store, or the wiped
    one of a node added earlier: it cannot tell) says it is recovering until
    it has caught up; only then is it promoted."""
    cl = make_cluster(3)
    n4 = cl.new_node(members=list(cl.nodes))
    n4.launch()
    n4.wait_ping()
    assert info_of(n4)["recovery"] == "recovering"
    first = cl.nodes[:3]
    retrying(f"{n4} to be added", lambda: ok(cmd(cl.wait_leader(first), "RAFT.NODE", "ADD",
                                                 n4.node_id, n4.addr)))
    wait_voters(cl, cl.nodes, 4, 4)
    assert info_of(n4)["recovery"] == "no"
    assert "this node votes again" in open(n4.log_path, "rb").read().decode(errors="replace")


def test_readded_node_leads_a_node_whose_log_missed_its_return(make_cluster):
    """A node removed, wiped and added again under its id becomes leader
    while another member was down: that member restarts from a log in which
    the leader is still removed (its cluster-members names it, though). It
    must answer the leader and catch up: it links to a peer that
    authenticated, whatever its configuration says."""
    cl = make_cluster(3)
    n4 = cl.new_node(members=list(cl.nodes))
    add(cl, n4, cl.nodes[:3])
    wait_voters(cl, cl.nodes, 4, 4)
    ld = cl.leader()
    out, behind = [nd for nd in cl.nodes[:3] if nd is not ld][:2]
    remove(cl, out, [nd for nd in cl.nodes if nd is not out])
    cl.stop(out)
    rest = [nd for nd in cl.nodes if nd is not out]
    wait_voters(cl, rest, 3, 3)
    cl.wait_converged(rest)
    cl.stop(behind)
    up = [nd for nd in rest if nd is not behind]
    with cl.wait_leader(up).client() as c:
        for i in range(100):
            assert c.set(f"missed{i}", i) is True
    # out comes back as a new store under its old id, waiting to be added
    shutil.rmtree(out.data_dir)
    os.makedirs(out.data_dir)
    out.directives = [d for d in out.directives if d[0] != "cluster-members"] + [
        ("cluster-members", " ".join(f"{m.node_id}=127.0.0.1:{m.port}" for m in rest))]
    with open(out.conf_path, "w") as f:
        f.write(config_text(out.directives))
    add(cl, out, up)
    group = up + [out]
    wait_until(lambda: (info_of(out).get("is_voting") == "yes"), DEADLINE_S,
               what=f"{out} to vote again")
    retrying(f"leadership to move to {out}",
             lambda: ok(cmd(cl.wait_leader(group), "RAFT.TRANSFER_LEADER", out.node_id)))
    wait_until(lambda: cl.agreed_leader(group) is out, DEADLINE_S, what=f"{out} to lead")
    with out.client() as c:
        for i in range(100):
            assert c.set(f"led{i}", i) is True
    cl.start(behind)
    digest = cl.wait_converged(group + [behind])
    assert len(digest) == 200


def test_membership_survives_restarts_and_a_removed_node_stays_out(make_cluster):
    cl = make_cluster(3)
    first = list(cl.nodes)
    n4 = cl.new_node()
    join(n4, [first[0]])
    wait_voters(cl, cl.nodes, 4, 4)
    with cl.leader().client() as c:
        for i in range(100):
            c.set(f"m{i}", i)
    # Every node restarted: n4 has no cluster-members, so it can only know
    # its peers from the log.
    for nd in cl.nodes:
        cl.stop(nd)
    for nd in cl.nodes:
        cl.start(nd, wait=False)
    for nd in cl.nodes:
        nd.wait_ping()
    wait_voters(cl, cl.nodes, 4, 4)
    assert len(cl.wait_converged()) == 100
    # Remove node 3 while it is down; bring it back: it must not disrupt the
    # others (no new leader, no term change) and writes keep working.
    n3 = first[2]
    cl.stop(n3)
    rest = [nd for nd in cl.nodes if nd is not n3]
    remove(cl, n3, rest)
    wait_voters(cl, rest, 3, 3)
    ld = cl.wait_leader(rest)
    term = info_of(ld)["current_term"]
    cl.start(n3)
    with ld.client() as c:
        for i in range(50):
            assert c.set(f"after{i}", i) is True
    wait_until(lambda: info_of(ld)["role"] == "leader", DEADLINE_S, what="leader check")
    assert info_of(ld)["current_term"] == term
    cl.stop(n3)
    cl.wait_converged(rest)


def test_addresses_that_disagree_with_cluster_members_are_reported(tmp_path):
    """Nodes started with cluster-members that disagree (node 3 has node 1
    at a wrong port): node 3 hears node 1 announce its real address
    (RAFT.AUTH) and says so in its log and RAFT.INFO, instead of redirecting
    clients to a dead address in silence. A node's own port differing from
    its entry is reported too."""
    from raftcluster import Cluster
    cl = Cluster(3, str(tmp_path))
    one, nd = cl.node(1), cl.node(3)
    wrong_port = free_port()
    real = " ".join(f"{m.node_id}=127.0.0.1:{m.port}" for m in cl.nodes)
    wrong = real.replace(f"1=127.0.0.1:{one.port}", f"1=127.0.0.1:{wrong_port}")
    with open(nd.conf_path, "a") as f:
        f.write(f'cluster-members "{wrong}"\n')
    two = cl.node(2)
    mine = real.replace(f"2=127.0.0.1:{two.port}", f"2=127.0.0.1:{wrong_port}")
    with open(two.conf_path, "a") as f:
        f.write(f'cluster-members "{mine}"\n')
    try:
        for m in cl.nodes:
            m.launch()
        for m in cl.nodes:
            m.wait_ping()
        want = (f"node 1 announces itself at 127.0.0.1:{one.port}, but this node's "
                f"configuration has it at 127.0.0.1:{wrong_port}")
        wait_until(lambda: want in nd.raft_info().get("address_mismatch", ""), DEADLINE_S,
                   what="the mismatch in RAFT.INFO")
        assert int(nd.raft_info()["address_mismatches"]) >= 1
        assert "Membership: " + want in nd.log_tail()
        assert f"node 2 is this node, listening on port {two.port}" in \
            two.raft_info()["address_mismatch"]
        assert one.raft_info()["address_mismatches"] in (0, "0")
    finally:
        for m in cl.nodes:
            if m.alive():
                cl.kill9(m)
