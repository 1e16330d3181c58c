"""The cluster as tools see it: CLUSTER SLOTS/SHARDS/NODES while the leader
is gone and after a node died, INFO replication and ROLE (what health
checks and proxies read), keyless reads through a follower with the real
redis-cli, RAFT.INFO's readability, and the internal peer commands hidden
from COMMAND.

Real raftcache processes on loopback (conftest.py, raftcluster.py); every
wait polls with a deadline and nothing asserts how long something took.
"""

import subprocess
import time

import redis

from conftest import wait_until
from raftcluster import parse_info

DEADLINE_S = 60  # bound on any one wait; never the thing tested
SLOTS = (0, 16383)


def cluster_nodes(nd):
    """CLUSTER NODES of nd as {port: (flags, link_state)}."""
    with nd.client(socket_timeout=5) as c:
        text = c.execute_command("CLUSTER", "NODES")
    text = text.decode() if isinstance(text, bytes) else text
    out = {}
    for line in text.splitlines():
        f = line.split()
        out[int(f[1].split("@")[0].rsplit(":", 1)[1])] = (f[2].split(","), f[7])
    return out


def slots_ports(reply):
    """The ports CLUSTER SLOTS lists, master first."""
    assert len(reply) == 1, reply
    assert (reply[0][0], reply[0][1]) == SLOTS, reply
    return [int(n[1]) for n in reply[0][2:]]


def shards_health(nd):
    with nd.client(socket_timeout=5) as c:
        shards = c.execute_command("CLUSTER", "SHARDS")
    nodes = shards[0][3]
    out = {}
    for node in nodes:
        fields = dict(zip(node[::2], node[1::2]))
        out[int(fields[b"port"])] = fields[b"health"].decode()
    return out


# -- item 13: the slot map while no leader is known ---------------------------

def test_cluster_slots_never_empty_while_the_leader_is_replaced(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    c = follower.client(socket_timeout=5)
    cluster.kill9(leader)
    replies = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            replies.append(c.execute_command("CLUSTER", "SLOTS"))
        except redis.ResponseError as e:
            assert str(e).startswith("CLUSTERDOWN"), e
            replies.append("CLUSTERDOWN")
        info = follower.raft_info()
        if info and info["leader_id"] not in ("-1", str(leader.node_id)):
            break
        time.sleep(0.01)
    else:
        raise AssertionError("no new leader")
    c.close()
    assert [] not in replies, "CLUSTER SLOTS answered an empty map while no leader was known"
    for r in replies:
        if r != "CLUSTERDOWN":
            slots_ports(r)
    # The new leader's map lists it as master and leaves the dead node out.
    new_leader = cluster.wait_leader()
    with follower.client() as c2:
        ports = slots_ports(c2.execute_command("CLUSTER", "SLOTS"))
    assert ports[0] == new_leader.port
    wait_until(lambda: leader.port not in slots_ports(
        follower.client(socket_timeout=5).execute_command("CLUSTER", "SLOTS")),
        DEADLINE_S, what="the dead node out of CLUSTER SLOTS")


# -- item 14: a dead node is reported as such ---------------------------------

def test_killed_follower_is_flagged_failed_everywhere(cluster):
    leader = cluster.leader()
    dead, other = cluster.followers()
    cluster.kill9(dead)

    def leader_sees_it():
        flags, link = cluster_nodes(leader)[dead.port]
        return "fail" in flags and link == "disconnected"
    wait_until(leader_sees_it, DEADLINE_S, what="the leader to flag the dead node fail")

    def follower_suspects_it():
        flags, link = cluster_nodes(other)[dead.port]
        return ("fail?" in flags or "fail" in flags) and link == "disconnected"
    wait_until(follower_suspects_it, DEADLINE_S, what="the follower to flag the dead node")

    for nd in (leader, other):
        assert shards_health(nd)[dead.port] == "fail"
        with nd.client() as c:
            ports = slots_ports(c.execute_command("CLUSTER", "SLOTS"))
        assert dead.port not in ports and leader.port == ports[0]
        assert other.port in ports
        flags, link = cluster_nodes(nd)[nd.port]
        assert "myself" in flags and "fail" not in flags and "fail?" not in flags
    # The live ones stay healthy.
    assert shards_health(leader)[other.port] == "online"
    flags, link = cluster_nodes(leader)[other.port]
    assert flags == ["slave"] and link == "connected"

    out = subprocess.run(["redis-cli", "--cluster", "check", leader.addr],
                         capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    # As for a dead Redis replica: not counted, not listed, reported unreachable.
    assert "1 additional replica(s)" in text, text
    assert f"S: {dead.node_id:040x}" not in text, text
    assert f"Could not connect to Redis at {dead.addr}" in text, text

    # Restarted, it is healthy again.
    cluster.start(dead)
    wait_until(lambda: cluster_nodes(leader)[dead.port] == (["slave"], "connected"),
               DEADLINE_S, what="the restarted node healthy again")
