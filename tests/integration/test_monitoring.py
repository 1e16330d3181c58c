"""Monitoring as operators see it: INFO errorstats / commandstats /
latencystats (error replies counted from every path: dispatch, apply,
MOVED, scripts), CONFIG RESETSTAT, SLOWLOG's entries (trimmed, redacted),
the latency monitor (LATENCY LATEST / HISTORY / GRAPH / DOCTOR / RESET),
LATENCY HISTOGRAM, and Debian's prometheus-redis-exporter scraping a node
of a 3-node cluster with conf/prometheus/raft-metrics.lua.

Real raftcache processes on loopback (conftest.py, raftcluster.py); every
wait polls with a deadline and nothing asserts how long something took.
"""

import os
import shutil
import subprocess
import tempfile
import urllib.request

import pytest
import redis

from conftest import free_port, wait_until
from raftharness import parse_info, raft_info_of

DEADLINE_S = 60  # bound on any one wait; never the thing tested
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RAFT_SCRIPT = os.path.join(ROOT, "conf", "prometheus", "raft-metrics.lua")
EXPORTER = "/usr/bin/prometheus-redis-exporter"


def info(c, section):
    """INFO section as the text's fields (redis-py's INFO parsing bypassed)."""
    conn = c.connection_pool.get_connection("INFO")
    try:
        conn.send_command("INFO", section)
        raw = conn.read_response()
    finally:
        c.connection_pool.release(conn)
    return parse_info(raw.decode() if isinstance(raw, bytes) else raw)


def stat_fields(value):
    """'calls=1,usec=2,...' -> {'calls': '1', 'usec': '2', ...}"""
    return dict(kv.split("=", 1) for kv in value.split(","))


def as_dict(reply):
    """A map reply as RESP2 flattens it ([k1, v1, k2, v2, ...]) or a dict."""
    return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))


def error_of(c, *args):
    with pytest.raises(redis.ResponseError) as e:
        c.execute_command(*args)
    return str(e.value)


# ------------------------------------------------------------ error counts


def test_rewritten_commands_count_as_sent_in_and_out_of_transactions(start_server):
    """EXPIRE and SETEX go to the log as PEXPIREAT and SET ... PXAT; they are
    counted as the client sent them, alone, in a pipeline and inside MULTI."""
    srv = start_server()
    c = srv.client(decode_responses=True)
    c.config_resetstat()
    c.setex("a", 100, "v")
    p = c.pipeline(transaction=True)
    p.set("b", "v")
    p.expire("b", 100)
    p.setex("c", 100, "v")
    p.expire("a", 0)
    p.get("b")
    assert p.execute() == [True, True, True, True, "v"]
    p = c.pipeline(transaction=False)
    p.expire("b", 50)
    p.set("d", "v")
    p.execute()
    cmds = info(c, "commandstats")
    calls = {k[len("cmdstat_"):]: stat_fields(v)["calls"] for k, v in cmds.items()}
    assert calls["expire"] == "3" and calls["setex"] == "2", calls
    assert calls["set"] == "2" and calls["get"] == "1" and calls["exec"] == "1", calls
    assert "pexpireat" not in calls, calls
    assert c.exists("a") == 0 and 0 < c.ttl("b") <= 50 and 0 < c.ttl("c") <= 100


def test_errorstats_and_commandstats_count_every_reply_path(start_server):
    srv = start_server()
    c = srv.client(decode_responses=True)
    c.config_resetstat()
    assert info(c, "stats")["total_error_replies"] == "0"
    assert not any(k.startswith("errorstat_") for k in info(c, "errorstats"))

    error_of(c, "NOSUCHCOMMAND", "x")  # unknown: nobody's rejected call
    error_of(c, "SET", "k")  # wrong arity: SET's rejected call
    c.set("str", "v")
    error_of(c, "LPUSH", "str", "x")  # WRONGTYPE replied when applied
    error_of(c, "INCR", "str")  # ERR replied when applied
    errs = info(c, "errorstats")
    assert errs["errorstat_ERR"] == "count=3", errs
    assert errs["errorstat_WRONGTYPE"] == "count=1", errs
    assert info(c, "stats")["total_error_replies"] == "4"
    cmds = info(c, "commandstats")
    assert stat_fields(cmds["cmdstat_set"])["rejected_calls"] == "1"
    assert stat_fields(cmds["cmdstat_set"])["calls"] == "1"
    assert stat_fields(cmds["cmdstat_lpush"])["failed_calls"] == "1"
    assert stat_fields(cmds["cmdstat_incr"])["failed_calls"] == "1"

    # A transaction refused at EXEC: the queued command's error and EXECABORT.
    c.config_resetstat()
    p = c.pipeline(transaction=False)
    p.execute_command("MULTI")
    p.execute_command("SET", "k")
    p.execute_command("EXEC")
    replies = p.execute(raise_on_error=False)
    assert str(replies[2]).startswith("Transaction discarded"), replies
    errs = info(c, "errorstats")
    assert errs["errorstat_ERR"] == "count=1" and errs["errorstat_EXECABORT"] == "count=1", errs
    assert stat_fields(info(c, "commandstats")["cmdstat_exec"])["failed_calls"] == "1"

    # A script: the error of the command it called counts once, where it
    # arose, even when the script passes it on.
    c.config_resetstat()
    assert "WRONGTYPE" in error_of(c, "EVAL", "return redis.call('lpush', KEYS[1], 'x')", 1,
                                   "str")
    assert info(c, "errorstats")["errorstat_WRONGTYPE"] == "count=1"
    assert info(c, "stats")["total_error_replies"] == "1"
    error_of(c, "EVAL", "return redis.error_reply('MY_CODE custom')", 0)
    assert info(c, "errorstats")["errorstat_MY_CODE"] == "count=1"

    # CONFIG RESETSTAT forgets every counter and histogram.
    c.config_resetstat()
    assert info(c, "stats")["total_error_replies"] == "0"
    assert not any(k.startswith("errorstat_") for k in info(c, "errorstats"))
    assert set(info(c, "commandstats")) == {"cmdstat_config|resetstat", "cmdstat_info"}
    assert "latency_percentiles_usec_set" not in info(c, "latencystats")


def test_errors_of_a_follower_and_of_the_leader_count_where_replied(cluster):
    leader = cluster.leader()
    follower = cluster.followers()[0]
    with follower.client(decode_responses=True, socket_timeout=10) as f:
        f.config_resetstat()
        assert error_of(f, "SET", "k", "v").startswith("MOVED")
        assert info(f, "errorstats")["errorstat_MOVED"] == "count=1"
        assert info(f, "stats")["total_error_replies"] == "1"
        assert stat_fields(info(f, "commandstats")["cmdstat_set"])["rejected_calls"] == "1"
    with leader.client(decode_responses=True, socket_timeout=10) as c:
        c.config_resetstat()
        c.set("k", "not a number")
        error_of(c, "INCR", "k")  # fails when the entry is applied
        assert info(c, "errorstats")["errorstat_ERR"] == "count=1"
        st = stat_fields(info(c, "commandstats")["cmdstat_incr"])
        assert st["calls"] == "1" and st["failed_calls"] == "1", st


def test_blocked_calls_count_when_answered(start_server):
    srv = start_server()
    c = srv.client(decode_responses=True)
    c.config_resetstat()
    assert c.blpop(["nolist"], timeout=0.1) is None  # answered by its timeout
    st = stat_fields(info(c, "commandstats")["cmdstat_blpop"])
    assert st["calls"] == "1" and st["failed_calls"] == "0", st
    blocked = srv.client(decode_responses=True)
    bid = blocked.client_id()
    p = blocked.connection_pool.get_connection("BLPOP")
    try:
        p.send_command("BLPOP", "nolist", 0)
        wait_until(lambda: info(c, "clients")["blocked_clients"] == "1", DEADLINE_S,
                   what="the client to block")
        assert c.client_unblock(bid, error=True)
        with pytest.raises(redis.ResponseError) as e:
            p.read_response()
        assert str(e.value).startswith("UNBLOCKED")
    finally:
        blocked.connection_pool.release(p)
    st = stat_fields(info(c, "commandstats")["cmdstat_blpop"])
    assert st["calls"] == "2" and st["failed_calls"] == "1", st
    assert info(c, "errorstats")["errorstat_UNBLOCKED"] == "count=1"


# ---------------------------------------------------------------- slow log


def test_slowlog_entries_are_trimmed_and_redacted(start_server):
    srv = start_server()
    c = srv.client()
    c.config_set("slowlog-log-slower-than", 0)
    c.client_setname("monitor-test")
    c.execute_command("SLOWLOG", "RESET")
    c.sadd("set", *range(40))
    c.sadd("set", b"A" * 200)
    c.config_set("requirepass", "sekret")
    c.config_set("requirepass", "")
    entries = c.execute_command("SLOWLOG", "GET", -1)
    by_cmd = {}
    for e in entries:
        assert len(e) == 6, e
        eid, ts, dur, argv, addr, name = e
        assert eid >= 0 and ts > 0 and dur >= 0
        assert name == b"monitor-test"
        assert addr.startswith(b"127.0.0.1:")
        by_cmd.setdefault((argv[0].lower(), argv[1].lower()), []).append(argv)
    long_call = by_cmd[(b"sadd", b"set")][-1]  # oldest of the two SADDs
    assert len(long_call) == 32
    assert long_call[-1] == b"... (11 more arguments)"
    big = by_cmd[(b"sadd", b"set")][0]
    assert big[2] == b"A" * 128 + b"... (72 more bytes)"
    for argv in by_cmd[(b"config", b"set")]:
        if argv[2] == b"requirepass":
            assert argv[3] == b"(redacted)", argv
    ids = [e[0] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert c.execute_command("SLOWLOG", "LEN") == len(entries) + 1  # the GET itself
    c.config_set("slowlog-max-len", 2)
    c.ping()
    assert c.execute_command("SLOWLOG", "LEN") == 2
    assert "count should be greater than or equal to -1" in error_of(c, "SLOWLOG", "GET", -2)


def test_slowlog_of_a_write_on_the_leader_names_its_client(cluster):
    leader = cluster.leader()
    with leader.client(socket_timeout=10) as c:
        c.config_set("slowlog-log-slower-than", 0)
        c.client_setname("writer")
        c.execute_command("SLOWLOG", "RESET")
        c.set("key", "value")
        entries = c.execute_command("SLOWLOG", "GET", 5)
        writes = [e for e in entries if e[3][0].lower() == b"set"]
        assert writes, entries
        assert writes[0][3][1:] == [b"key", b"value"] and writes[0][5] == b"writer"


# ---------------------------------------------------- latency and histograms


BUSY_SCRIPT = """#!lua flags=no-writes
local n = 0
for i = 1, tonumber(ARGV[1]) do n = n + i end
return n"""


def test_latency_monitor_events(start_server):
    srv = start_server()
    c = srv.client(decode_responses=True)
    assert c.config_get("latency-monitor-threshold") == {"latency-monitor-threshold": "0"}
    assert "off" in c.execute_command("LATENCY", "DOCTOR")
    c.config_set("latency-monitor-threshold", 1)
    c.execute_command("LATENCY", "RESET")
    # Millions of Lua additions take well over the 1 ms threshold.
    c.eval(BUSY_SCRIPT, 0, 20_000_000)
    latest = c.execute_command("LATENCY", "LATEST")
    names = {e[0]: e for e in latest}
    assert "command" in names, latest
    _, t, last_ms, max_ms = names["command"]
    assert last_ms >= 1 and max_ms >= last_ms
    history = c.execute_command("LATENCY", "HISTORY", "command")
    assert history and history[-1][0] == t and history[-1][1] == last_ms
    graph = c.execute_command("LATENCY", "GRAPH", "command")
    assert graph.startswith("command - high")
    assert "command" in c.execute_command("LATENCY", "DOCTOR")
    assert "No samples available" in error_of(c, "LATENCY", "GRAPH", "nosuch")
    # raft-fsync samples, when one reached the threshold, are the log's.
    if "raft-fsync" in names:
        fsync_max_us = int(raft_info_of(c)["fsync_max_microseconds"])
        assert names["raft-fsync"][3] <= fsync_max_us // 1000 + 1
    assert c.execute_command("LATENCY", "RESET", "nosuch") == 0
    assert c.execute_command("LATENCY", "RESET") >= 1
    assert c.execute_command("LATENCY", "LATEST") == []


def test_latencystats_and_histogram(start_server):
    srv = start_server()
    c = srv.client(decode_responses=True)
    c.config_resetstat()
    for i in range(5):
        c.set(f"k{i}", i)
    c.get("k1")
    st = info(c, "latencystats")
    assert [kv.split("=")[0] for kv in st["latency_percentiles_usec_set"].split(",")] == \
        ["p50", "p99", "p99.9"]
    c.config_set("latency-tracking-info-percentiles", "0 50 100")
    assert c.config_get("latency-tracking-info-percentiles") == \
        {"latency-tracking-info-percentiles": "0 50 100"}
    vals = stat_fields(info(c, "latencystats")["latency_percentiles_usec_get"])
    assert list(vals) == ["p0", "p50", "p100"]
    assert float(vals["p0"]) <= float(vals["p50"]) <= float(vals["p100"])
    err = error_of(c, "CONFIG", "SET", "latency-tracking-info-percentiles", "10 101")
    assert err.startswith("CONFIG SET failed"), err
    assert c.config_get("latency-tracking-info-percentiles") == \
        {"latency-tracking-info-percentiles": "0 50 100"}

    histo = as_dict(c.execute_command("LATENCY", "HISTOGRAM", "set", "nosuch"))
    assert list(histo) == ["set"]
    entry = as_dict(histo["set"])
    assert entry["calls"] == 5
    counts = list(as_dict(entry["histogram_usec"]).values())
    assert counts == sorted(counts) and counts[-1] == 5
    # Subcommands come under their container's name.
    c.client_id()
    assert "client|id" in as_dict(c.execute_command("LATENCY", "HISTOGRAM", "client"))

    c.config_set("latency-tracking", "no")
    c.config_resetstat()
    c.set("a", "b")
    assert "latency_percentiles_usec_set" not in info(c, "latencystats")


# --------------------------------------------------------- the exporter


def ensure_exporter():
    if os.path.exists(EXPORTER):
        return
    if os.geteuid() != 0:
        pytest.skip("prometheus-redis-exporter is not installed and installing it needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = subprocess.run(["apt-get", "install", "-y", "-q", "prometheus-redis-exporter"],
                       capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0:
        pytest.skip(f"apt-get install prometheus-redis-exporter failed: {r.stderr[-500:]}")


def same_number(exported, text):
    """An exported sample equals RAFT.INFO's integer: the exporter writes
    samples as floats, so 1000000 and more come out as 1e+06 and the like
    (a slow disk's fsync_max_microseconds does)."""
    return exported is not None and float(exported) == float(int(text))


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    metrics = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            metrics[name] = value
    return metrics


@pytest.fixture
def exporters():
    procs, dirs = [], []

    def start(node_port, script=RAFT_SCRIPT):
        port = free_port()
        d = tempfile.mkdtemp(prefix="raftcache-it-exporter-")
        dirs.append(d)
        log = open(os.path.join(d, "exporter.log"), "wb")
        args = [EXPORTER, "-redis.addr", f"redis://127.0.0.1:{node_port}",
                "-web.listen-address", f"127.0.0.1:{port}"]
        if script:
            args += ["-script", script]
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        procs.append((p, log))

        def up():
            try:
                return scrape(port).get("redis_up") == "1"
            except OSError:
                return False
        try:
            wait_until(up, DEADLINE_S, interval_s=0.2, what="the exporter to scrape the node")
        except AssertionError:
            log.flush()
            with open(os.path.join(d, "exporter.log"), errors="replace") as f:
                raise AssertionError("exporter never reported redis_up 1; its log:\n" +
                                     f.read()[-3000:]) from None
        return port

    yield start
    for p, log in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        log.close()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


RAFT_FIELDS = ("current_term", "commit_index", "last_applied_index", "fsync_count",
               "fsync_avg_microseconds", "fsync_max_microseconds", "leader_id", "node_id")


def test_a_no_writes_allow_stale_script_runs_on_a_follower(cluster):
    follower = cluster.followers()[0]
    with follower.client(decode_responses=True, socket_timeout=10) as f:
        text = f.eval("#!lua flags=no-writes,allow-stale\nreturn redis.call('INFO', 'raft')", 0)
        assert "raft_role:follower" in text and "\nrole:" not in text
        with open(RAFT_SCRIPT) as src:
            pairs = f.eval(src.read(), 0)
        got = dict(zip(pairs[::2], pairs[1::2]))
        assert got["is_leader"] == "0" and got["state_up"] == "1"
        assert got["leader_known"] == "1" and got["term_exhausted"] == "0"
        assert got["current_term"] == raft_info_of(f)["current_term"]
        # Without allow-stale, a read goes to the leader.
        assert error_of(f, "EVAL", "#!lua flags=no-writes\nreturn 1", 0).startswith("MOVED")


def test_prometheus_exporter_exports_raft_health(cluster, exporters):
    ensure_exporter()
    leader = cluster.leader()
    with leader.client(socket_timeout=10) as c:
        c.set("exported", "yes")
    cluster.wait_converged()
    for nd in (leader, cluster.followers()[0]):
        port = exporters(nd.port)
        seen = {}

        def matches():
            # The cluster is idle: RAFT.INFO holds still, but a scrape and a
            # RAFT.INFO read are not one instant, so compare until they agree.
            m = scrape(port)
            with nd.client(socket_timeout=10) as c:
                ri = raft_info_of(c)
            seen["m"], seen["ri"] = m, ri
            return all(same_number(m.get(f'redis_script_values{{key="{f}"}}'), ri[f])
                       for f in RAFT_FIELDS)
        try:
            wait_until(matches, DEADLINE_S, interval_s=0.5,
                       what="the exporter's raft metrics to match RAFT.INFO")
        except AssertionError as e:
            differ = {f: (seen["m"].get(f'redis_script_values{{key="{f}"}}'), seen["ri"][f])
                      for f in RAFT_FIELDS}
            raise AssertionError(f"{e}; last (exported, RAFT.INFO): {differ}") from None
        m, ri = seen["m"], seen["ri"]
        assert m["redis_up"] == "1"
        is_leader = "1" if nd is leader else "0"
        assert m['redis_script_values{key="is_leader"}'] == is_leader
        assert m['redis_script_values{key="state_up"}'] == "1"
        assert int(ri["fsync_count"]) > 0
        # Redis's role, as for redis-server: the "missing master" alerts work.
        info_lines = [k for k in m if k.startswith("redis_instance_info{")]
        role = "master" if nd is leader else "slave"
        assert info_lines and f'role="{role}"' in info_lines[0], info_lines


def test_peer_links_stay_out_of_the_leaders_statistics(make_cluster):
    """The followers' Raft traffic to the leader (RAFT.* commands, the PINGs
    a follower sends while a big entry keeps it busy) is the cluster's own,
    as Redis Cluster's bus is: it is not in SLOWLOG, INFO commandstats or
    the latency monitor, as it is not in MONITOR. Redis's unit/slowlog
    takes the last entries for the test's own commands."""
    cl = make_cluster(3)
    ld = cl.leader()
    with ld.client(socket_timeout=30) as c:
        c.config_set("slowlog-log-slower-than", 0)
        c.config_set("latency-monitor-threshold", 1)
        c.slowlog_reset()
        c.config_resetstat()
        c.set("big", b"x" * (3 << 20))  # followers ping the leader while applying it
        for i in range(50):
            c.set(f"k{i}", i)
        commit = int(raft_info_of(c)["commit_index"])
        wait_until(lambda: all(int(raft_info_of(nd.client())["last_applied_index"]) >= commit
                               for nd in cl.nodes if nd is not ld),
                   DEADLINE_S, what="the followers to apply every write")
        names = {e["command"].split()[0].upper() for e in c.slowlog_get(1000)}
        assert names <= {b"SET", b"CONFIG", b"RAFT.INFO", b"SLOWLOG"}, names
        calls = set(info(c, "commandstats"))
        assert calls <= {"cmdstat_set", "cmdstat_config|resetstat", "cmdstat_raft.info",
                         "cmdstat_slowlog|get"}, calls
