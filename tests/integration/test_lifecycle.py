"""Starting and stopping: config errors, command-line overrides, SIGTERM."""

import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, KIND, free_port, wait_until


def run_until_exit(args, port, timeout_s=20):
    """Runs the server and watches `port` until it exits. Returns
    (exit status, combined output, whether a connection to port ever succeeded)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        accepted = False
        deadline = time.monotonic() + timeout_s
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        accepted = True
                except OSError:
                    pass
                time.sleep(0.01)
            assert proc.poll() is not None, f"server still running after {timeout_s}s"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        out.seek(0)
        return proc.returncode, out.read().decode("utf-8", "replace"), accepted


def write_conf(tmp, lines):
    path = os.path.join(tmp, "bad.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


BAD_CONFIGS = [
    # (id, bad line, what the message must mention besides the location)
    ("unknown-directive", "no-such-directive yes", "no-such-directive"),
    ("bad-loglevel", "loglevel loud", "loglevel"),
    ("bad-port", "port notaport", "port"),
    ("missing-include", "include /nonexistent/raftcache-missing.conf",
     "/nonexistent/raftcache-missing.conf"),
]


@pytest.mark.parametrize("case,bad_line,mention", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_nonzero_with_location_and_opens_no_port(case, bad_line, mention):
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="raftcache-it-") as tmp:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        conf = write_conf(tmp, ["# a comment", f"port {port}", f"dir {data}",
                                bad_line, "bind 127.0.0.1"])
        rc, out, accepted = run_until_exit([BIN, conf], port)
    assert rc != 0, f"exit status 0 for a bad config; output:\n{out}"
    assert not accepted, "the server accepted a connection despite a bad config"
    if KIND == "redis":
        if case == "missing-include":
            assert "can't open config file" in out, out
        else:
            assert "line 4" in out and bad_line in out, out
    else:
        assert f"{conf}:4" in out, f"no '{conf}:4' in the message:\n{out}"
        assert mention in out, out


def test_missing_config_file_exits_nonzero():
    missing = "/nonexistent/raftcache-test.conf"
    port = free_port()
    rc, out, accepted = run_until_exit([BIN, missing, "--port", str(port)], port)
    assert rc != 0
    assert not accepted
    assert missing in out, out


def test_bad_command_line_directive_exits_nonzero():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="raftcache-it-") as tmp:
        conf = write_conf(tmp, [f"port {port}", f"dir {tmp}"])
        rc, out, accepted = run_until_exit([BIN, conf, "--no-such-directive", "1"], port)
    assert rc != 0
    assert not accepted
    assert "no-such-directive" in out, out


def test_command_line_overrides_config_file(start_server):
    srv = start_server(start=False)
    file_port = srv.port
    srv.port = free_port()
    srv.start(extra_args=["--port", srv.port])
    assert srv.client().ping()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", file_port), timeout=1).close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero(start_server, sig):
    srv = start_server()
    r = srv.client()
    for i in range(100):
        r.set(f"k{i}", i)
    idle = srv.sock()  # an open, idle client must not block the shutdown
    try:
        assert srv.stop(sig, timeout_s=20) == 0, srv.log_tail()
    finally:
        idle.close()
    # No longer listening.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()


@pytest.mark.skipif(KIND != "raftcache", reason="redis-server ignores SIGHUP without a log line")
def test_sighup_is_ignored_and_a_rotated_log_file_is_replaced(start_server):
    """SIGHUP neither stops the node nor goes unsaid; a log file moved away
    (logrotate without copytruncate) is replaced by a new one at its path."""
    def log_has(path, text):
        try:
            with open(path, "rb") as f:
                return text in f.read()
        except FileNotFoundError:
            return False

    srv = start_server({"logfile": "node.log"})  # relative: in the server's working directory
    logfile = os.path.join(srv.workdir, "node.log")
    r = srv.client()
    r.set("k", "v")
    os.kill(srv.proc.pid, signal.SIGHUP)
    wait_until(lambda: log_has(logfile, b"Received SIGHUP"), 10, what="the SIGHUP log line")
    assert r.get("k") == b"v"
    os.rename(logfile, logfile + ".1")
    os.kill(srv.proc.pid, signal.SIGHUP)
    wait_until(lambda: log_has(logfile, b"Received SIGHUP"), 10, what="a new log file")
    assert not log_has(logfile, b"Ready to accept")  # a new file, not the old one moved back
    assert log_has(logfile + ".1", b"Ready to accept")
    assert r.ping()
    assert srv.proc.poll() is None
