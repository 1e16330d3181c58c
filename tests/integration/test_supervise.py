"""The node among the host's processes (src/net/supervise.h): started by the
shipped systemd unit's command line under a fake NOTIFY_SOCKET (READY=1,
STATUS=, STOPPING=1, the pid file), daemonized as redis-server is, and
supervised without a supervisor."""

import os
import shlex
import signal
import socket
import subprocess

import pytest

from conftest import BIN, KIND, ROOT, answers_ping, pid_alive, wait_until

pytestmark = pytest.mark.skipif(KIND != "raftcache", reason="raftcache's own unit and paths")

UNIT = os.path.join(ROOT, "conf", "raftcache.service")
DEADLINE_S = 30


def unit_exec_args():
    """ExecStart's arguments after the binary and the config file."""
    with open(UNIT) as f:
        line = next(l for l in f if l.startswith("ExecStart="))
    argv = shlex.split(line[len("ExecStart="):])
    assert argv[:2] == ["/usr/bin/raftcache", "/etc/raftcache/raftcache.conf"], argv
    return argv[2:]


class FakeSystemd:
    """The notification socket a Type=notify unit's manager listens on."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(1)
        self.got = []

    def received(self, text):
        """Waits until a datagram holding text has arrived."""
        def seen():
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
            return any(text in m for m in self.got)
        wait_until(seen, DEADLINE_S, interval_s=0, what=f"{text!r} on NOTIFY_SOCKET")

    def close(self):
        self.sock.close()


def test_the_units_command_line_notifies_systemd(start_server, monkeypatch):
    srv = start_server(start=False)
    pidfile = os.path.join(srv.workdir, "raftcache.pid")
    args = [pidfile if a == "/run/raftcache/raftcache.pid" else a for a in unit_exec_args()]
    assert "--supervised" in args and "systemd" in args
    systemd = FakeSystemd(os.path.join(srv.workdir, "notify"))
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", systemd.path)
        srv.start(extra_args=args)
        systemd.received("READY=1")
        assert any("STATUS=Ready to accept connections" in m for m in systemd.got), systemd.got
        with open(pidfile) as f:
            assert int(f.read()) == srv.proc.pid
        assert srv.client().ping()
        assert srv.stop() == 0
        systemd.received("STOPPING=1")
        assert not os.path.exists(pidfile)
    finally:
        systemd.close()


def test_abstract_notify_socket(start_server, monkeypatch):
    srv = start_server(start=False)
    name = f"raftcache-test-{os.getpid()}-{srv.port}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
        sock.settimeout(DEADLINE_S)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        srv.start(extra_args=["--supervised", "auto"])
        got = []
        while not any("READY=1" in m for m in got):
            got.append(sock.recv(4096).decode())  # times out after DEADLINE_S
    finally:
        sock.close()


def test_supervised_systemd_without_a_socket_starts_and_says_so(start_server, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    srv = start_server(start=False)
    srv.start(extra_args=["--supervised", "systemd"])
    assert srv.client().ping()
    wait_until(lambda: "NOTIFY_SOCKET not found" in srv.log_tail(), DEADLINE_S,
               what="the warning")


def test_daemonize_detaches_and_writes_the_pid_file(start_server):
    srv = start_server(start=False)
    pidfile = os.path.join(srv.workdir, "node.pid")
    logfile = os.path.join(srv.workdir, "node.log")
    proc = subprocess.run([BIN, srv.conf_path, "--daemonize", "yes", "--pidfile", pidfile,
                           "--logfile", logfile], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=DEADLINE_S, cwd=srv.workdir)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"" and proc.stderr == b""
    pid = None
    try:
        wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().endswith("\n"),
                   DEADLINE_S, what="the pid file")
        with open(pidfile) as f:
            pid = int(f.read())
        assert pid_alive(pid)
        assert os.getsid(pid) == pid  # its own session: detached from ours
        wait_until(lambda: answers_ping(srv.port), DEADLINE_S, what="PING")
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(pid), DEADLINE_S, what="the daemon to exit")
        assert not os.path.exists(pidfile)
        with open(logfile) as f:
            assert "Ready to accept connections" in f.read()
    finally:
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)

