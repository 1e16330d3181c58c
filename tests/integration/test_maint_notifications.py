"""Maintenance notifications (CLIENT MAINT_NOTIFICATIONS, src/server/maint.h):
a client that asked is told where the leader is when it must go there
(MOVING), around a handover (FAILING_OVER, FAILED_OVER), and is never
answered -MOVED meanwhile; node-redis acts on them, and a plain client of
it goes through a rolling restart of every node without a failed write.

Every wait is bounded; nothing asserts on how long something took.
"""

import json
import os
import subprocess

import pytest

from conftest import CLIENTS_DIR, PushRaw, Raw, node_bin, node_modules, wait_until

PUSH_WAIT_S = 15


class Notified(PushRaw):
    """A RESP3 connection with maintenance notifications on."""

    def __init__(self, port, endpoint="internal-ip"):
        super().__init__(port)
        assert self.cmd("HELLO", "3").startswith(b"%")
        assert self.cmd("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type",
                        endpoint) == b"+OK\r\n"

    def push(self, timeout_s=PUSH_WAIT_S):
        return super().push(timeout_s)


def parse_push(frame):
    """A push frame's items: bulk strings as str, integers as int, nulls as
    None, an array of bulks as a list of str."""
    lines = frame.split(b"\r\n")
    assert lines[0].startswith(b">")
    items, i = [], 1
    while i < len(lines) - 1:
        line = lines[i]
        if line.startswith(b"$"):
            items.append(lines[i + 1].decode())
            i += 2
        elif line.startswith(b":"):
            items.append(int(line[1:]))
            i += 1
        elif line == b"_":
            items.append(None)
            i += 1
        elif line.startswith(b"*"):
            n = int(line[1:])
            items.append([lines[i + 2 + 2 * k].decode() for k in range(n)])
            i += 1 + 2 * n
        else:
            raise AssertionError(f"unexpected line {line!r} in {frame!r}")
    return items


def addr(nd):
    return f"127.0.0.1:{nd.port}"


def test_the_command_and_its_errors(server):
    r = Raw(server.port)
    try:
        assert r.cmd("CLIENT", "MAINT_NOTIFICATIONS", "ON").startswith(b"-ERR maintenance "
                                                                       b"notifications are RESP3")
        assert r.cmd("CLIENT", "MAINT_NOTIFICATIONS", "maybe") == b"-ERR syntax error\r\n"
        assert r.cmd("CLIENT", "MAINT_NOTIFICATIONS", "ON", "moving-endpoint-type",
                     "carrier-pigeon").startswith(b"-ERR unknown moving-endpoint-type")
        assert r.cmd("CLIENT", "MAINT_NOTIFICATIONS", "OFF") == b"+OK\r\n"
    finally:
        r.close()
    n = Notified(server.port)  # a node alone leads: nothing to tell
    try:
        assert n.cmd("SET", "k", "v") == b"+OK\r\n"
        assert n.pushes == []
    finally:
        n.close()


def test_a_follower_moves_its_client_and_forwards_meanwhile(make_cluster):
    cl = make_cluster(3)  # raft-follower-proxy no
    ld = cl.leader()
    f1 = cl.followers()[0]
    n = Notified(f1.port)
    try:
        moving = parse_push(n.push())
        assert moving[0] == "MOVING" and moving[3] == addr(ld), moving
        # not -MOVED: forwarded to the leader until it goes
        assert n.cmd("SET", "k", "v") == b"+OK\r\n"
        assert ld.client().get("k") == b"v"
    finally:
        n.close()
    none = Notified(f1.port, endpoint="none")
    try:
        moving = parse_push(none.push())
        assert moving[0] == "MOVING" and moving[3] is None, moving
    finally:
        none.close()
    # RESET ends them: a write is redirected again (raft-follower-proxy no)
    n = Notified(f1.port)
    try:
        assert parse_push(n.push())[0] == "MOVING"
        assert n.cmd("RESET") == b"+RESET\r\n"
        assert n.cmd("SET", "k", "w").startswith(b"-MOVED ")
    finally:
        n.close()
    # a READONLY client reads here on purpose: not moved
    ro = Raw(f1.port)
    try:
        ro.cmd("HELLO", "3")
        assert ro.cmd("READONLY") == b"+OK\r\n"
        assert ro.cmd("CLIENT", "MAINT_NOTIFICATIONS", "ON") == b"+OK\r\n"
        assert ro.cmd("PING") == b"+PONG\r\n"
    finally:
        ro.close()


def test_a_handover_is_announced(make_cluster):
    cl = make_cluster(3)
    ld = cl.leader()
    n = Notified(ld.port)
    try:
        assert n.cmd("RAFT.TRANSFER_LEADER") == b"+OK\r\n"
        failing = parse_push(n.push())
        assert failing[0] == "FAILING_OVER" and failing[3] == ["0"], failing
        new = cl.wait_leader(not_node=ld)
        moving = parse_push(n.push())
        assert moving[0] == "MOVING" and moving[3] == addr(new), moving
        failed = parse_push(n.push())
        assert failed[0] == "FAILED_OVER" and failed[1] > moving[1] > failing[1], failed
    finally:
        n.close()


def writer(pkg, port):
    node_modules()
    env = dict(os.environ, REDIS_EMIT_DIAGNOSTICS="1")
    return subprocess.Popen([node_bin(), os.path.join(CLIENTS_DIR, "maint_writer.js"), pkg,
                             str(port)], cwd=CLIENTS_DIR, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)


def wait_writes(cl, n):
    """Waits until the leader holds at least n more of the writer's keys."""
    with cl.leader().client() as c:
        base = len(c.keys("w:*"))
        wait_until(lambda: len(c.keys("w:*")) >= base + n, 30, what=f"{n} more writes")


@pytest.mark.parametrize("pkg", ["redis5", "redis6"])
def test_node_redis_through_a_rolling_restart(make_cluster, pkg):
    """A plain node-redis client on the leader (no proxy, no cluster mode)
    while every node is restarted in turn with SIGTERM, the leader first:
    each node it is on moves it before stopping, and no write fails."""
    cl = make_cluster(3)
    ld = cl.leader()
    w = writer(pkg, ld.port)
    try:
        wait_writes(cl, 50)
        order = [ld] + [nd for nd in cl.nodes if nd is not ld]
        for nd in order:
            cl.stop(nd)
            cl.wait_leader(nodes=[x for x in cl.nodes if x is not nd])
            wait_writes(cl, 50)
            cl.start(nd)
            cl.wait_leader()
        w.stdin.write("stop\n")
        w.stdin.flush()
        out = json.loads(w.stdout.readline())
        assert out["errors"] == [] and out["moves"] >= 1, out
        with cl.leader().client() as c:
            keys = c.keys("w:*")
            assert len(keys) == out["acked"], (len(keys), out["acked"])
    finally:
        if w.poll() is None:
            w.kill()
        w.wait()
