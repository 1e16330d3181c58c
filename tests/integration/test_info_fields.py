"""INFO's field list against redis-server 7.0's, section by section, and the
metric names Debian's prometheus-redis-exporter makes of it.

A redis-server (conftest.py's redis_reference: --save '' --appendonly no)
and a single raftcache node run side by side on free ports, in temp dirs;
both are given the same few commands so that the data-dependent lines
(keyspace, commandstats, errorstats, latencystats) exist on both. Every
field name redis-server writes in a section must be in raftcache's section
of the same name (raftcache may have more). Every wait polls with a
deadline; nothing asserts how long anything took.
"""

import redis

from test_monitoring import ensure_exporter, exporters, scrape  # noqa: F401 (fixture)

SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
            "modules", "errorstats", "cluster", "keyspace", "commandstats", "latencystats")


def exercise(port):
    """The same traffic on either server: a key with a TTL, a hit, a miss,
    and an error reply."""
    c = redis.Redis(port=port, socket_timeout=10)
    c.set("k", "v", ex=1000)
    c.get("k")
    c.get("missing")
    try:
        c.execute_command("INCR", "k")
    except redis.ResponseError:
        pass
    return c


def fields_by_section(c):
    c.set_response_callback("INFO", lambda r, **kw: r)  # the text itself
    text = c.execute_command("INFO", "everything")
    if isinstance(text, bytes):
        text = text.decode()
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith("# "):
            current = sections.setdefault(line[2:].strip().lower(), [])
        elif ":" in line and current is not None:
            current.append(line.split(":", 1)[0])
    return sections


def test_every_redis_info_field_is_in_raftcache_info(server, redis_reference):
    ref = redis_reference()
    theirs = fields_by_section(exercise(ref.port))
    ours = fields_by_section(exercise(server.port))
    missing = {}
    for section in SECTIONS:
        assert section in theirs, f"redis-server has no {section} section"
        gone = [f for f in theirs[section] if f not in ours.get(section, [])]
        if gone:
            missing[section] = gone
    assert not missing, f"fields redis-server 7.0 has and raftcache's INFO lacks: {missing}"


def test_instantaneous_ops_follow_traffic(server):
    """The 100 ms sampler sees commands: a steady stream of PINGs shows as a
    non-zero instantaneous_ops_per_sec, with input and output bytes."""
    from conftest import wait_until
    c = redis.Redis(port=server.port, socket_timeout=10)
    before = c.info("stats")

    def busy():
        for _ in range(200):
            c.ping()
        s = c.info("stats")
        return s["instantaneous_ops_per_sec"] > 0 and s["instantaneous_input_kbps"] > 0
    wait_until(busy, 60, what="instantaneous_ops_per_sec above 0")
    after = c.info("stats")
    assert after["total_reads_processed"] > before["total_reads_processed"]
    assert after["total_writes_processed"] > before["total_writes_processed"]
    assert after["total_net_output_bytes"] > before["total_net_output_bytes"]


def test_persistence_describes_snapshots(server):
    """rdb_* describe the Raft snapshots: writes count as changes until a
    snapshot (RAFT.DEBUG COMPACT) is taken, which counts as a save."""
    from conftest import wait_until
    c = redis.Redis(port=server.port, socket_timeout=10)
    p = c.info("persistence")
    assert p["aof_enabled"] == 0 and p["loading"] == 0
    assert p["rdb_last_bgsave_status"] == "ok"
    for i in range(5):
        c.set(f"key{i}", i)
    assert c.info("persistence")["rdb_changes_since_last_save"] >= 5
    saves = p["rdb_saves"]
    c.execute_command("RAFT.DEBUG", "COMPACT")

    def saved():
        q = c.info("persistence")
        return q["rdb_saves"] > saves and q["rdb_bgsave_in_progress"] == 0
    wait_until(saved, 60, what="the snapshot to finish")
    q = c.info("persistence")
    assert q["rdb_changes_since_last_save"] == 0
    assert q["rdb_last_bgsave_time_sec"] >= 0
    assert q["rdb_last_save_time"] >= p["rdb_last_save_time"]


def metric_names(port):
    return {name.split("{", 1)[0] for name in scrape(port)}


def test_exporter_exports_every_metric_it_exports_for_redis(server, redis_reference,
                                                            exporters):  # noqa: F811
    ensure_exporter()
    ref = redis_reference()
    exercise(ref.port)
    exercise(server.port)
    theirs = metric_names(exporters(ref.port, script=None))
    ours = metric_names(exporters(server.port, script=None))
    missing = sorted(theirs - ours)
    assert not missing, (f"metrics exported for redis-server ({len(theirs)}) and not for "
                         f"raftcache ({len(ours)}): {missing}")
