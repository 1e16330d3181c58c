"""Debian's /etc/redis/redis.conf, as shipped but for its port and paths,
starts a raftcache node in one try (docs/redis-conf.md): daemonized, with
its pid file and log file, the Redis directives raftcache does not apply
listed once at start."""

import os
import re
import signal
import subprocess

import pytest
import redis

from conftest import BIN, KIND, answers_ping, free_port, pid_alive, wait_until

DEBIAN_CONF = "/etc/redis/redis.conf"
DEADLINE_S = 30

pytestmark = [
    pytest.mark.skipif(KIND != "raftcache", reason="raftcache's own log lines"),
    pytest.mark.skipif(not os.path.exists(DEBIAN_CONF), reason="redis-server's package not installed"),
]


def adjusted(text, port, workdir):
    """Ports and paths only."""
    subs = [(r"(?m)^port .*$", f"port {port}"),
            (r"(?m)^pidfile .*$", f"pidfile {workdir}/redis-server.pid"),
            (r"(?m)^logfile .*$", f"logfile {workdir}/redis-server.log"),
            (r"(?m)^dir .*$", f"dir {workdir}/data")]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n == 1, pattern
    return text


def test_debian_redis_conf_starts_a_node(tmp_path):
    workdir = str(tmp_path)
    os.makedirs(os.path.join(workdir, "data"))
    port = free_port()
    with open(DEBIAN_CONF) as f:
        text = adjusted(f.read(), port, workdir)
    assert re.search(r"(?m)^daemonize yes$", text)  # as shipped
    conf = os.path.join(workdir, "redis.conf")
    with open(conf, "w") as f:
        f.write(text)
    proc = subprocess.run([BIN, conf], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=DEADLINE_S, cwd=workdir)
    assert proc.returncode == 0, proc.stderr.decode()
    pidfile, log = os.path.join(workdir, "redis-server.pid"), os.path.join(workdir, "redis-server.log")
    pid = None
    try:
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().endswith("\n"),
                   DEADLINE_S, what="the pid file")
        pid = int(open(pidfile).read())
        wait_until(lambda: answers_ping(port), DEADLINE_S, what="PING")
        with open(log) as f:
            text = f.read()
        assert "Bad directive" not in text
        assert "not RDB or AOF files; accepted, not applied: " in text
        assert "appendfsync" in text and "repl-diskless-sync" in text
        c = redis.Redis(port=port, socket_timeout=DEADLINE_S)
        # SIGHUP: logged and ignored, as redis-server does
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in open(log).read(), DEADLINE_S, what="the SIGHUP line")
        assert c.ping() is True
        # logrotate's move: the next line goes to a new file at the path
        os.rename(log, log + ".1")
        c.config_set("appendonly", "no")  # one of Redis's accepted directives: a log line
        wait_until(lambda: os.path.exists(log), DEADLINE_S, what="the log reopened at its path")
        # CONFIG REWRITE keeps Debian's file (its comments) and what was set,
        # a memory value in Redis's units
        c.config_set("maxmemory", "64mb")
        assert c.execute_command("CONFIG", "REWRITE") in (b"OK", True)
        with open(conf) as f:
            rewritten = f.read()
        assert "# Redis configuration file example." in rewritten
        assert re.search(r"(?m)^maxmemory 64mb$", rewritten), rewritten[-500:]
        c.close()
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid), DEADLINE_S, what="the node to exit")
        assert not os.path.exists(pidfile)
    finally:
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
