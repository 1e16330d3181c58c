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
        # SHARDS and NODES keep a master too (the last known leader).
        roles = [dict(zip(n[::2], n[1::2]))[b"role"]
                 for n in c.execute_command("CLUSTER", "SHARDS")[0][3]]
        assert roles.count(b"master") == 1, roles
        masters = [p for p, (flags, _) in cluster_nodes(follower).items() if "master" in flags]
        assert len(masters) == 1, masters
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


def test_a_node_that_knows_no_leader_gives_no_map(cluster):
    """Restarted while the others are down, a node knows of no leader, not
    even a past one: SLOTS, SHARDS and NODES all answer CLUSTERDOWN, so a
    client asks another node. A NODES reply calling every node a replica
    would empty redis-rb's node list when it pairs that reply with another
    node's SLOTS, and its next command would fail with NoMethodError."""
    for nd in cluster.nodes:
        cluster.kill9(nd)
    alone = cluster.nodes[0]
    cluster.start(alone)
    with alone.client(socket_timeout=5) as c:
        for sub in ("SLOTS", "SHARDS", "NODES"):
            try:
                reply = c.execute_command("CLUSTER", sub)
            except redis.ResponseError as e:
                assert str(e) == "CLUSTERDOWN No raft leader", (sub, e)
            else:
                raise AssertionError(f"CLUSTER {sub} with no leader known: {reply!r}")
    for nd in cluster.nodes[1:]:
        cluster.start(nd)
    leader = cluster.wait_leader()
    wait_until(lambda: [p for p, (flags, _) in cluster_nodes(alone).items()
                        if "master" in flags] == [leader.port],
               DEADLINE_S, what="the restarted node's map naming the new leader")


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
    # The leader's replication view drops it, as Redis drops a lost replica.
    info = replication(leader)
    assert info["connected_slaves"] == 1 and info["slave0"]["port"] == other.port
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


# -- item 15: INFO replication and ROLE ---------------------------------------

def replication(nd):
    with nd.client(socket_timeout=5) as c:
        return c.info("replication")


def test_info_replication_and_role_tell_the_leader_from_followers(cluster):
    leader = cluster.leader()
    followers = cluster.followers()
    with leader.client() as c:
        c.set("k", "v")
    commit = int(leader.raft_info()["commit_index"])

    def master_sees_both():
        info = replication(leader)
        return info if info.get("connected_slaves") == 2 else None
    info = wait_until(master_sees_both, DEADLINE_S, what="the leader to list 2 replicas")
    assert info["role"] == "master"
    assert int(info["master_repl_offset"]) >= commit
    replicas = {info[f"slave{i}"]["port"]: info[f"slave{i}"] for i in range(2)}
    assert set(replicas) == {f.port for f in followers}
    for r in replicas.values():
        assert r["ip"] == "127.0.0.1" and r["state"] == "online" and r["lag"] >= 0
    wait_until(lambda: all(r[2] and int(r[2]) >= commit for r in
                           leader.client().execute_command("ROLE")[2]),
               DEADLINE_S, what="the replicas' offsets to reach the commit index")
    role = leader.client().execute_command("ROLE")
    assert role[0] == b"master" and role[1] >= commit
    assert sorted(int(r[1]) for r in role[2]) == sorted(f.port for f in followers)

    for f in followers:
        info = wait_until(lambda: (lambda i: i if int(i["slave_repl_offset"]) >= commit
                                   else None)(replication(f)),
                          DEADLINE_S, what=f"{f} to apply the write")
        assert info["role"] == "slave"
        assert info["master_host"] == "127.0.0.1" and info["master_port"] == leader.port
        assert info["master_link_status"] == "up"
        assert info["master_last_io_seconds_ago"] >= 0
        assert info["slave_read_repl_offset"] >= info["slave_repl_offset"]
        assert info["connected_slaves"] == 0
        with f.client() as c:
            role = c.execute_command("ROLE")
        assert role[:4] == [b"slave", b"127.0.0.1", leader.port, b"connected"]
        assert role[4] >= commit


def test_replica_whose_leader_is_gone_reports_the_link_down(cluster):
    leader = cluster.leader()
    a, b = cluster.followers()
    cluster.kill9(b)
    cluster.kill9(leader)  # no quorum left: a never knows another leader

    def link_down():
        info = replication(a)
        return info if info.get("master_link_status") == "down" else None
    info = wait_until(link_down, DEADLINE_S, what="the replica to report its link down")
    assert info["role"] == "slave"
    assert info["master_port"] == leader.port  # the last master it knew, as Redis keeps it
    assert info["master_link_down_since_seconds"] >= 0
    with a.client() as c:
        role = c.execute_command("ROLE")
    assert role[0] == b"slave" and role[2] == leader.port
    assert role[3] == b"connect" and role[4] == -1
    cluster.start(leader)
    cluster.start(b)
    cluster.wait_leader()
    wait_until(lambda: replication(a).get("master_link_status") == "up"
               or replication(a).get("role") == "master", DEADLINE_S,
               what="the link up again")



def test_info_all_carries_redis_role_once(cluster):
    """INFO all holds replication's role once (master, slave), the Raft role
    as raft_role; RAFT.INFO keeps role. Exporters and Sentinel-mode clients
    keep the last field of a name."""
    leader = cluster.leader()
    for nd, role, raft_role in ((leader, "master", "leader"),
                                (cluster.followers()[0], "slave", "follower")):
        lines = nd.cli("INFO", "all").splitlines()
        assert [l for l in lines if l.startswith("role:")] == [f"role:{role}"], nd.port
        assert f"raft_role:{raft_role}" in lines
        assert nd.raft_info()["role"] == raft_role


def hello_of(port):
    with redis.Redis(port=port, decode_responses=True, socket_timeout=10) as c:
        flat = c.execute_command("HELLO", "2")
    return dict(zip(flat[::2], flat[1::2]))


def test_hello_and_info_tell_redis_mode_and_role(cluster, server):
    """A node alone is standalone, as redis-server is; a member of a cluster
    says cluster. The leader is a master and the others replicas."""
    hello = hello_of(server.port)
    assert (hello["mode"], hello["role"]) == ("standalone", "master"), hello
    assert "redis_mode:standalone" in server.cli("INFO", "server").splitlines()
    leader = cluster.leader()
    for nd, role in ((leader, "master"), (cluster.followers()[0], "replica")):
        hello = hello_of(nd.port)
        assert (hello["mode"], hello["role"]) == ("cluster", role), (nd.port, hello)
        assert "redis_mode:cluster" in nd.cli("INFO", "server").splitlines()

def test_role_is_in_the_command_table_like_redis(server):
    lines = server.cli("COMMAND", "INFO", "ROLE").split("\n")
    assert lines[:6] == ["role", "1", "noscript", "loading", "stale", "fast"], lines
    assert lines[9:12] == ["@admin", "@fast", "@dangerous"], lines
    with server.client() as c:
        assert c.execute_command("ROLE")[0] == b"master"
        assert c.info("replication")["role"] == "master"


# -- item 17: RAFT.INFO for humans, internal commands hidden -------------------

def test_raft_info_reads_as_info_text_in_redis_cli(server):
    # redis-cli prints INFO raw (by its name): `INFO raft` reads line by line.
    lines = server.cli("INFO", "raft").splitlines()
    assert "# Raft" in lines and any(l.startswith("node_id:") for l in lines), lines
    # RAFT.INFO itself: with --raw, or a RESP3 verbatim string as INFO's.
    raw = server.cli("--raw", "RAFT.INFO").splitlines()
    assert "# Raft" in raw and any(l.startswith("leader_id:") for l in raw), raw
    resp3 = server.cli("-3", "RAFT.INFO").splitlines()
    assert "# Raft" in resp3 and any(l.startswith("role:") for l in resp3), resp3
    # On the wire: a bulk string in RESP2 (docs/cluster-replies.md, RAFT.INFO), a verbatim "txt" one in RESP3.
    with server.sock() as s:
        s.sendall(b"RAFT.INFO\r\n")
        assert s.recv(1) == b"$"
        s.sendall(b"HELLO 3\r\n")
    with server.sock() as s:
        s.sendall(b"HELLO 3\r\nPING\r\n")
        buf = b""
        while not buf.endswith(b"+PONG\r\n"):
            buf += s.recv(65536)
        s.sendall(b"RAFT.INFO\r\n")
        head = b""
        while len(head) < 16:
            head += s.recv(16 - len(head))
        assert head.startswith(b"=") and b"\r\ntxt:# Raft" in head + s.recv(16), head


def test_internal_peer_commands_are_hidden_from_command(server):
    hidden = {"raft.auth", "raft.msg"}
    names = set(server.cli("COMMAND", "LIST").split("\n"))
    assert names and not names & hidden
    assert "raft.info" in names and "role" in names
    count = int(server.cli("COMMAND", "COUNT"))
    assert count == len(names - {n for n in names if "|" in n})
    docs = server.cli("COMMAND", "DOCS").split("\n")
    assert not hidden & set(docs)
    cmds = server.cli("COMMAND").split("\n")
    assert not hidden & set(cmds)
    with server.sock() as s:
        s.sendall(b"COMMAND INFO raft.auth raft.msg\r\n")
        want = b"*2\r\n*-1\r\n*-1\r\n"
        buf = b""
        while len(buf) < len(want):
            buf += s.recv(256)
        assert buf == want
    assert server.cli("COMMAND", "DOCS", "raft.msg") == ""
    # They still work (RAFT.AUTH without a raft-secret refuses with its own error).
    assert "raft-secret is not configured" in server.cli("RAFT.AUTH", "x", "2")
    assert "NOPERM" in server.cli("RAFT.MSG", "2", "x")


def test_peers_still_talk_with_hidden_commands(cluster):
    leader = cluster.leader()
    with leader.client() as c:
        c.set("hidden", "ok")
    cluster.wait_converged()


# -- item 16: keyless reads through a follower ---------------------------------

def cli(nd, *args, check=True):
    out = subprocess.run(["redis-cli", "-c", "-h", "127.0.0.1", "-p", str(nd.port),
                          *map(str, args)], capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def test_keyless_reads_on_a_follower_answer_with_the_leaders_keys(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    keys = {f"key:{i}" for i in range(50)}
    with leader.client() as c:
        for k in keys:
            c.set(k, "x" * (len(k) + 1))
    assert cli(follower, "DBSIZE").strip() == "50"
    assert set(cli(follower, "--scan").split()) == keys
    assert set(cli(follower, "KEYS", "*").split()) == keys
    assert cli(follower, "RANDOMKEY").strip() in keys
    scan = cli(follower, "SCAN", "0", "COUNT", "1000").split()
    assert scan[0] == "0" and set(scan[1:]) == keys
    big = cli(follower, "--bigkeys")
    assert "50 keys with 'string' type" in big or "Sampled 50 keys" in big, big
    # Linearizable: a write acknowledged by the leader is seen at once.
    with leader.client() as c:
        c.set("one-more", "v")
    assert cli(follower, "DBSIZE").strip() == "51"
    # READONLY keeps serving them locally (possibly stale), as before.
    with follower.readonly_client() as c:
        wait_until(lambda: c.dbsize() == 51, DEADLINE_S, what="the follower to apply")
    # Keyed reads and writes still answer -MOVED (SPEC), redis-cli -c follows it.
    with follower.client() as c:
        try:
            c.get("one-more")
            raise AssertionError("GET on a follower did not answer MOVED")
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED"), e
    assert cli(follower, "GET", "one-more").strip() == "v"
    # A connection that read the keyspace through the follower reads its keys
    # there too (what --bigkeys does), until READWRITE; writes still MOVED.
    with follower.client(single_connection_client=True) as c:
        assert c.dbsize() == 51
        assert c.get("one-more") == b"v"
        try:
            c.set("one-more", "w")
            raise AssertionError("SET on a follower did not answer MOVED")
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED"), e
        c.execute_command("READWRITE")
        try:
            c.get("one-more")
            raise AssertionError("GET after READWRITE did not answer MOVED")
        except redis.ResponseError as e:
            assert str(e).startswith("MOVED"), e


def test_asking_is_answered_as_a_cluster_node_answers_it(cluster, redis_reference):
    """Cluster clients send ASKING before retrying a command after -ASK. A
    raftcache cluster's slots never move, so it never answers -ASK: ASKING
    is +OK on every node (a Redis Cluster node's reply; redis-server without
    cluster support refuses it) and reads as Redis 7.0's row in COMMAND."""
    for node in cluster.nodes:
        assert node.cli("ASKING") == "OK"
    leader = cluster.leader()
    assert leader.cli("ASKING", "extra") == \
        "ERR wrong number of arguments for 'asking' command"
    ref = redis_reference()

    def cli(port, *args):
        return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                              text=True, timeout=10).stdout

    assert cli(leader.port, "COMMAND", "INFO", "asking") == \
        cli(ref.port, "COMMAND", "INFO", "asking")
    # Redis documents ASKING's complexity too; raftcache's rows carry none.
    docs = cli(leader.port, "COMMAND", "DOCS", "asking").split("\n")
    assert docs[:7] == cli(ref.port, "COMMAND", "DOCS", "asking").split("\n")[:7], docs
