"""A slow script that writes (a log entry, run on every node when applied)
turns the node busy past busy-reply-threshold, as a read-only one does:

- other clients get Redis 7.0's -BUSY reply (a function's names FUNCTION
  KILL), plain SHUTDOWN too; the client whose script runs gets its reply;
- SCRIPT KILL and FUNCTION KILL answer -UNKILLABLE and the run goes on to
  its end (stopping it on one node would make the replicas diverge);
- SHUTDOWN NOSAVE ends the process at once; the entry is in the log and a
  restart replays it whole;
- in a 3-node cluster the script completes with the same writes everywhere;
- runaways that an instruction count alone would not stop (a concatenation
  loop, a backtracking pattern, a sort repeated) end on the default budget
  on every node of a cluster with the same writes, the leader unchanged.

The script is made slow by work (a loop whose length is an argument), never
by sleeping; lua-replicated-budget 0 lets it run unbounded.
"""

import time

import pytest
import redis

from conftest import read_reply_line, resp_command, wait_until

# Loop rounds: a few seconds of Lua, far beyond the 50 ms threshold.
SLOW_ROUNDS = 150_000_000
# In a cluster: several election timeouts of the test cluster (500 ms).
CLUSTER_ROUNDS = 600_000_000
BUSY_DEADLINE_S = 30
SLOW_SCRIPT = ("redis.call('SET', KEYS[1], 'started') "
               "local n = 0 for i = 1, tonumber(ARGV[1]) do n = n + 1 end "
               "redis.call('SET', KEYS[1], n) return n")
SLOW_LIBRARY = ("#!lua name=busylib\n"
                "redis.register_function('slow', function(keys, args) "
                "redis.call('SET', keys[1], 'started') "
                "local n = 0 for i = 1, tonumber(args[1]) do n = n + 1 end "
                "redis.call('SET', keys[1], n) return n end)")
BUSY_EVAL = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
             "SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 "SHUTDOWN NOSAVE.")
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the "
              "dataset. You can either wait the script termination or kill the server in a "
              "hard way using the SHUTDOWN NOSAVE command.")
DIRECTIVES = {"busy-reply-threshold": 50, "lua-replicated-budget": 0}


def error_of(fn, *args):
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


def wait_busy(c, text):
    """Polls PING on c until it is answered text (the run is busy)."""
    def busy():
        try:
            c.ping()
            return False
        except redis.ResponseError as e:
            assert str(e) == text
            return True
    wait_until(busy, BUSY_DEADLINE_S, what="the script to turn busy")


def check_busy_node(c, busy_text):
    """What a client sees while a run from the log is busy."""
    wait_busy(c, busy_text)
    assert error_of(c.get, "other") == busy_text
    assert error_of(c.execute_command, "SCRIPT", "KILL") == UNKILLABLE
    assert error_of(c.execute_command, "FUNCTION", "KILL") == UNKILLABLE
    assert error_of(c.execute_command, "SHUTDOWN") == busy_text


@pytest.mark.parametrize("kind", ["script", "function"])
def test_slow_writing_run_turns_busy_and_is_unkillable(start_server, kind):
    srv = start_server(DIRECTIVES)
    c = srv.client()
    if kind == "function":
        c.function_load(SLOW_LIBRARY)
    runner = srv.sock(timeout_s=120)
    call = ("EVAL", SLOW_SCRIPT) if kind == "script" else ("FCALL", "slow")
    runner.sendall(resp_command(*call, 1, "k", SLOW_ROUNDS))
    check_busy_node(c, BUSY_EVAL if kind == "script" else BUSY_FUNCTION)
    assert read_reply_line(runner) == b":%d\r\n" % SLOW_ROUNDS  # it ran to its end
    assert c.get("k") == str(SLOW_ROUNDS).encode()
    assert "No scripts in execution right now" in error_of(c.script_kill)
    runner.close()


def test_shutdown_nosave_during_a_busy_write_replays_it(start_server):
    srv = start_server(DIRECTIVES)
    c = srv.client()
    runner = srv.sock(timeout_s=120)
    runner.sendall(resp_command("EVAL", SLOW_SCRIPT, 1, "k", SLOW_ROUNDS))
    wait_busy(c, BUSY_EVAL)
    srv.expect_exit = True
    with pytest.raises(redis.ConnectionError):
        c.execute_command("SHUTDOWN", "NOSAVE")
    # At once, not after the run: the runner never gets its reply.
    assert read_reply_line(runner) == b""
    srv.proc.wait(timeout=BUSY_DEADLINE_S)
    runner.close()
    srv.start(timeout_s=120)  # the restart replays the entry whole
    assert srv.client().get("k") == str(SLOW_ROUNDS).encode()


def raft_state(nd):
    info = nd.raft_info(timeout_s=30)
    return info["current_term"], info["leader_id"]


def test_slow_writing_script_in_a_cluster(make_cluster):
    cluster = make_cluster(3, DIRECTIVES)
    leader = cluster.leader()
    before = {nd.node_id: raft_state(nd) for nd in cluster.nodes}
    runner = leader.sock(timeout_s=120)
    runner.sendall(resp_command("EVAL", SLOW_SCRIPT, 1, "k", CLUSTER_ROUNDS))
    # Every node turns busy while it applies the entry (a follower answers
    # -BUSY to a local command too); they are polled together, since each
    # runs the entry for its own while.
    clients = {nd.node_id: nd.client() for nd in cluster.nodes}
    seen = set()

    def all_busy():
        for node_id, c in clients.items():
            if node_id in seen:
                continue
            try:
                c.ping()
            except redis.ResponseError as e:
                assert str(e) == BUSY_EVAL
                assert error_of(c.execute_command, "SCRIPT", "KILL") == UNKILLABLE
                seen.add(node_id)
        return len(seen) == len(clients)
    wait_until(all_busy, BUSY_DEADLINE_S, interval_s=0.01, what="every node to turn busy")
    assert read_reply_line(runner) == b":%d\r\n" % CLUSTER_ROUNDS
    runner.close()
    cluster.wait_converged()
    for nd in cluster.nodes:
        assert nd.readonly_client().get("k") == str(CLUSTER_ROUNDS).encode()
    after = {nd.node_id: raft_state(nd) for nd in cluster.nodes}
    assert after == before, f"term/leader before {before}, after {after}"


# Runaways that no instruction count alone would stop: a concatenation loop
# (work in bytes), a pattern whose matching backtracks for hours inside one
# call, a sort of the same table again and again (one instruction each).
RUNAWAYS = [
    "local s, n = '', 0 while true do s = s .. 'x' n = n + 1 "
    "if n % 1000 == 0 then redis.call('SET', KEYS[1], n) end end",
    "local n = 0 while true do n = n + 1 redis.call('SET', KEYS[1], n) "
    "string.find(string.rep('a', 24), string.rep('a*', 24) .. 'b') end",
    "local t = {} for i = 1, 20000 do t[i] = (i * 7919) % 20000 end local n = 0 "
    "while true do n = n + 1 redis.call('SET', KEYS[1], n) table.sort(t) end",
]


def test_runaway_scripts_in_a_cluster(make_cluster):
    """With the default budget, each runaway ends on every node with the
    budget error at the same point (the same last value everywhere), the
    leader keeps its term, and a node polled meanwhile answers -BUSY."""
    cluster = make_cluster(3, {"busy-reply-threshold": 50})
    leader = cluster.leader()
    before = {nd.node_id: raft_state(nd) for nd in cluster.nodes}
    poller = leader.client()
    busy_seen = 0
    for i, body in enumerate(RUNAWAYS):
        runner = leader.sock(timeout_s=120)
        runner.sendall(resp_command("EVAL", body, 1, f"runaway{i}"))
        runner.setblocking(False)
        reply = b""
        deadline = time.monotonic() + BUSY_DEADLINE_S
        while not reply.endswith(b"\r\n"):
            try:
                poller.ping()
            except redis.ResponseError as e:
                assert str(e) == BUSY_EVAL
                busy_seen += 1
            try:
                reply += runner.recv(4096)
            except BlockingIOError:
                pass
            assert time.monotonic() < deadline, f"runaway {i} still running"
        runner.close()
        assert reply.startswith(b"-ERR Script exceeded its budget of 100000000"), reply
    assert busy_seen > 0
    common = cluster.wait_converged()
    values = dict((k, v) for k, _, v, _ in common if k.startswith(b"runaway"))
    assert len(values) == len(RUNAWAYS), values
    after = {nd.node_id: raft_state(nd) for nd in cluster.nodes}
    assert after == before, f"term/leader before {before}, after {after}"
