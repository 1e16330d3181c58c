"""A node that lost state it had acknowledged (docs/storage-safety.md).

- A follower whose data dir was wiped comes back under its old node id with a
  new store incarnation: its peers refuse it until it says it knows it lost its
  state; it then catches up (the leader resends everything) before it votes.
  With two wiped followers and the leader gone, no leader without the data.
- A data dir holding snapshot.rcs but no raftcache.db: the node refuses to
  start, naming the files; with raft-start-from-snapshot yes it starts from the
  snapshot, catches up before voting, and new writes apply.
- One flipped byte in a live WAL frame after kill -9: the node says so loudly,
  keeps a copy of the WAL, does not vote until it caught up with the leader,
  and does catch up (the leader resends what the follower lost).
- A wiped node whose cluster-members names none of the members left: their
  refusal still makes it recover before it votes.
"""

import os
import shutil
import struct
import time


from conftest import wait_until
from raftharness import parse_info
from raftcluster import ELECTION_TIMEOUT_MS

DEADLINE_S = 60


def cmd(nd, *args, timeout_s=30):
    with nd.client(socket_timeout=timeout_s) as c:
        return c.execute_command(*args)


def ok(reply):
    return reply in (True, b"OK", "OK")


def info_of(nd):
    info = nd.raft_info()
    assert info is not None, f"{nd} does not answer RAFT.INFO"
    return info


def peer_line(info, node_id):
    """The node<i> line of RAFT.INFO about node_id, as a dict."""
    for k, v in info.items():
        if k.startswith("node") and k[4:].isdigit():
            fields = dict(kv.split("=", 1) for kv in v.split(","))
            if fields.get("id") == str(node_id):
                return fields
    return None


def write_keys(ld, prefix, n):
    with ld.client() as c:
        pipe = c.pipeline(transaction=False)
        for i in range(n):
            pipe.set(f"{prefix}{i}", i)
        assert all(ok(r) for r in pipe.execute())


def wipe(nd):
    shutil.rmtree(nd.data_dir)
    os.makedirs(nd.data_dir)


def log_text(nd):
    with open(nd.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def readonly_get(nd, key):
    with nd.readonly_client(socket_timeout=5) as c:
        return c.get(key)


def never(predicate, duration_s, what):
    """Polls predicate for duration_s; fails as soon as it holds."""
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        assert not predicate(), what
        time.sleep(0.05)


# ----------------------------------------------------------------- item: wiped


def test_wiped_follower_is_refused_then_catches_up_before_voting(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    write_keys(ld, "w", 100)
    cl.wait_converged()
    f = [nd for nd in cl.nodes if nd is not ld][0]
    cl.kill9(f)
    wipe(f)
    cl.start(f)
    # The leader does not keep the match index of the old incarnation: it
    # resends everything, and the node votes again once caught up.
    digest = cl.wait_converged()
    assert len(digest) == 100
    # Its peers knew it under another incarnation: they refused it until it
    # said it knows it lost its state (and so would not vote until caught up).
    assert "Peers refuse this node" in log_text(f)
    assert "comes back with incarnation" in log_text(ld)
    wait_until(lambda: info_of(f)["recovery"] == "no", DEADLINE_S, what=f"{f} to vote again")
    others = [nd for nd in cl.nodes if nd is not f]

    def seen_as_usual(nd):
        line = peer_line(info_of(nd), f.node_id) or {}
        return (line.get("state"), line.get("recovery")) == ("connected", "no")
    wait_until(lambda: all(seen_as_usual(nd) for nd in others), DEADLINE_S,
               what=f"the others to see {f} as usual")
    write_keys(ld, "after", 10)
    assert len(cl.wait_converged()) == 110


def test_two_wiped_followers_never_elect_a_leader_without_the_data(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    write_keys(ld, "k", 50)
    cl.wait_converged()
    wiped = [nd for nd in cl.nodes if nd is not ld]
    for nd in wiped:
        cl.kill9(nd)
        wipe(nd)
    for nd in wiped:
        cl.start(nd)
    cl.kill9(ld)

    def leader_without_data():
        for nd in wiped:
            info = nd.raft_info() or {}
            if info.get("role") == "leader":
                with nd.client(socket_timeout=5) as c:
                    if c.get("k49") != b"49":
                        return True
        return False
    never(leader_without_data, 10 * ELECTION_TIMEOUT_MS / 1000,
          "the two wiped nodes elected a leader that lacks acknowledged writes")
    for nd in wiped:
        cl.kill9(nd)


# ------------------------------------------------------ item: snapshot, no log


def take_snapshot(nd):
    before = int(info_of(nd)["snapshots_created"])
    assert ok(cmd(nd, "RAFT.DEBUG", "COMPACT"))
    wait_until(lambda: int(info_of(nd)["snapshots_created"]) > before
               and info_of(nd)["snapshot_in_progress"] == "no", DEADLINE_S,
               what=f"a snapshot on {nd}")
    return int(info_of(nd)["snapshot_last_idx"])


def delete_log(nd):
    for name in os.listdir(nd.data_dir):
        if name.startswith("raftcache.db"):
            os.remove(os.path.join(nd.data_dir, name))


def test_snapshot_without_its_log_refuses_to_start(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    write_keys(ld, "s", 100)
    cl.wait_converged()
    f = [nd for nd in cl.nodes if nd is not ld][0]
    snap_index = take_snapshot(f)
    write_keys(ld, "t", 50)  # acknowledged after the snapshot
    cl.wait_converged()
    cl.kill9(f)
    delete_log(f)
    assert os.path.exists(os.path.join(f.data_dir, "snapshot.rcs"))

    f.launch()
    f.expect_exit = True
    f.proc.wait(timeout=30)
    assert f.proc.returncode != 0
    text = log_text(f)
    assert "snapshot.rcs exists" in text and "raftcache.db" in text
    assert "raft-start-from-snapshot" in text

    # Told otherwise: it starts from the snapshot, catches up before voting.
    with open(f.conf_path, "a") as conf:
        conf.write("raft-start-from-snapshot yes\n")
    cl.start(f)
    info = info_of(f)
    assert int(info["first_log_index"]) == snap_index + 1
    digest = cl.wait_converged()
    assert len(digest) == 150
    wait_until(lambda: info_of(f)["recovery"] == "no", DEADLINE_S, what=f"{f} to vote again")
    write_keys(cl.leader(), "u", 10)
    digest = cl.wait_converged()
    assert len(digest) == 160


def test_single_node_snapshot_without_log_starts_only_when_told(start_server):
    srv = start_server({"raft-snapshot-threshold": 1_000_000})
    with srv.client() as c:
        for i in range(100):
            c.set(f"a{i}", i)
        assert ok(c.execute_command("RAFT.DEBUG", "COMPACT"))
        wait_until(lambda: parse_info(c.execute_command("RAFT.INFO").decode())
                   ["snapshots_created"] == "1", DEADLINE_S, what="a snapshot")
    srv.stop()
    delete_log(srv)
    started = True
    try:
        srv.start(timeout_s=10)
    except AssertionError as e:
        assert "exited with status" in str(e), e
        started = False
    assert not started, "started on a snapshot without its log"
    assert "raft-start-from-snapshot" in log_text(srv)
    srv.start(extra_args=["--raft-start-from-snapshot", "yes"])
    with srv.client(socket_timeout=10) as c:
        assert c.get("a99") == b"99"
        assert c.set("new", 1)  # a new index above the snapshot: applied, not TIMEOUT
        assert c.get("new") == b"1"


# ------------------------------------------------------------- item: WAL tail


def flip_byte_in_wal(data_dir):
    """Flips one byte of the page of the middle frame of the live WAL
    generation (frames carrying the header's salts). Returns that frame's
    1-based number."""
    path = os.path.join(data_dir, "raftcache.db-wal")
    with open(path, "r+b") as f:
        head = f.read(32)
        page = struct.unpack(">I", head[8:12])[0]
        salts = head[16:24]
        live = 0
        while True:
            fh = f.read(24)
            if len(fh) < 24 or fh[8:16] != salts:
                break
            f.seek(page, os.SEEK_CUR)
            live += 1
        assert live >= 4, f"only {live} frames in the WAL"
        frame = live // 2
        at = 32 + frame * (24 + page) + 24 + 50
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x40]))
    return frame + 1


def test_damaged_wal_tail_is_reported_and_the_follower_catches_up(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    write_keys(ld, "base", 20)
    cl.wait_converged()
    f = [nd for nd in cl.nodes if nd is not ld][0]
    cl.stop(f)  # a clean stop checkpoints: the WAL below holds only what follows
    cl.start(f)
    cl.wait_converged()
    with ld.client() as c:
        for i in range(300):  # one commit each: many WAL transactions on f
            assert c.set(f"x{i}", i)
    cl.wait_converged()
    cl.kill9(f)
    frame = flip_byte_in_wal(f.data_dir)
    cl.start(f)
    # It lost entries it had acknowledged; the leader resends them.
    digest = cl.wait_converged()
    assert len(digest) == 320
    assert readonly_get(f, "x299") == b"299"
    text = log_text(f)
    assert "DAMAGED RAFT LOG" in text and f"frame {frame} " in text
    assert os.path.exists(os.path.join(f.data_dir, "raftcache.db-wal.damaged"))
    wait_until(lambda: info_of(f)["recovery"] == "no", DEADLINE_S, what=f"{f} to vote again")


def test_wiped_node_refused_by_members_its_config_does_not_name(make_cluster):
    """A wiped node boots from cluster-members, which may name none of the
    members that remember it (the cluster changed since). Their refusal of its
    new store must still stop it from voting until it has caught up: with a
    lagging member and a lost one, its empty log's vote could elect a leader
    without acknowledged writes."""
    from test_membership import add, retrying, wait_voters
    cl = make_cluster(3)
    n1, n2, n3 = cl.nodes
    n4 = cl.new_node(members=[n1, n2, n3])
    add(cl, n4, [n1, n2, n3])
    n5 = cl.new_node(members=[n1, n2, n3, n4])
    add(cl, n5, [n1, n2, n3, n4])
    wait_voters(cl, cl.nodes, 5, 5)
    if cl.leader() is not n4:  # a leader that stays a member and is not wiped
        retrying(f"leadership to move to {n4}",
                 lambda: ok(cmd(cl.leader(), "RAFT.TRANSFER_LEADER", n4.node_id)))
        wait_until(lambda: cl.agreed_leader(cl.nodes) is n4, DEADLINE_S, what=f"{n4} to lead")
    for gone in (n2, n3):
        retrying(f"{gone} to be removed", lambda: ok(cmd(n4, "RAFT.NODE", "REMOVE", gone.node_id)))
        cl.stop(gone)
    group = [n1, n4, n5]
    wait_voters(cl, group, 3, 3)
    write_keys(n4, "w", 100)
    cl.kill9(n1)
    wipe(n1)  # its cluster-members names 1, 2 and 3: none of the members left but itself
    cl.start(n1)
    digest = cl.wait_converged(group)
    assert len(digest) == 100
    assert "Peers refuse this node" in log_text(n1)
    wait_until(lambda: info_of(n1)["recovery"] == "no", DEADLINE_S, what=f"{n1} to vote again")
