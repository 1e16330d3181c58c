"""Fixtures for the integration suite: real raftcache processes on loopback.

`start_server(**directives)` starts a server on a free port in its own temp
dir, from a config file the fixture writes, and returns a `Server` once it
answers PING (and, for raftcache, reports a leader). Every server is stopped
by pid at teardown, even when the test failed, and its log is attached to the
failure report. Every wait polls with a deadline.

Environment:
  RAFTCACHE_BIN   server binary (default build/raftcache)
  RAFTCACHE_KIND  "raftcache" or "redis"; default: "redis" when the binary's
                  name starts with redis-server. The suite is validated against
                  redis-server 7.0; the kind only changes the persistence
                  directives added to the config and the expected error texts
                  where the two differ on purpose (config errors: docs/operations.md).
"""

import fcntl
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The cluster harness, shared with tests/chaos: wait_until is its poll with a
# deadline (an AssertionError when it passes).
sys.path.insert(0, os.path.join(ROOT, "tests", "harness"))
from raftharness import wait_until  # noqa: E402,F401

BIN = os.environ.get("RAFTCACHE_BIN", os.path.join(ROOT, "build", "raftcache"))
KIND = os.environ.get(
    "RAFTCACHE_KIND",
    "redis" if os.path.basename(BIN).startswith("redis-server") else "raftcache",
)
START_TIMEOUT_S = float(os.environ.get("RAFTCACHE_START_TIMEOUT", "30"))
TEST_TIMEOUT_S = int(os.environ.get("RAFTCACHE_TEST_TIMEOUT", "300"))
LOG_TAIL_BYTES = 64 * 1024


CLIENTS_DIR = os.path.join(ROOT, "tests", "clients")
# ioredis 6 and node-redis 6 (tests/clients/package-lock.json) need node 20
# ("engines"); Debian bookworm's nodejs is 18.20. On an older node the client
# programs run on node 20.20.2 from the npm registry, pinned by
# tests/clients/node-runtime/package-lock.json (README.md, Client libraries).
NODE_MIN_MAJOR = 20
NODE_RUNTIME_DIR = os.path.join(CLIENTS_DIR, "node-runtime")
# Its lock file holds one package per CPU (npm ci installs this machine's);
# both name their binary "node", so node_modules/.bin/node is not reliable
# (npm 9 unlinks it again when it skips the other CPU's package).
NODE_RUNTIME_CPU = {"x86_64": "x64", "aarch64": "arm64"}
_node = []
_node_failed = []  # why node_bin() found no node: said once, not retried


def npm_ci(cwd):
    """npm ci in cwd from its package-lock.json, run by node_bin() once that is
    known (npm starts with `#!/usr/bin/env node`). npm takes its proxy for
    the registry (https) from https_proxy or HTTPS_PROXY, and no_proxy, in
    the environment."""
    if shutil.which("npm") is None:
        raise AssertionError("npm is not installed: run make deps (Debian's npm)")
    env = dict(os.environ)
    if _node:
        env["PATH"] = os.path.dirname(_node[0]) + os.pathsep + env.get("PATH", "")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=cwd, check=True, timeout=600,
                   stdout=subprocess.DEVNULL, env=env)


def npm_ci_unless(cwd, done):
    """npm ci in cwd unless done() holds, under a file lock: the suite's
    pytest-xdist workers (scripts/run-integration.sh) may all come here
    at once, and two npm ci in one directory break each other's files."""
    with open(os.path.join(CLIENTS_DIR, ".npm-ci.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done():
            npm_ci(cwd)


def node_major(path):
    """The major version of the node binary at path, or None."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=60).stdout
    except OSError:
        return None
    m = re.match(r"v(\d+)\.", out.strip())
    return int(m.group(1)) if m else None


def node_bin():
    """The node that runs tests/clients/*.js: the system's when it is at least
    NODE_MIN_MAJOR, else tests/clients/node-runtime's, installed by npm ci
    once."""
    if not _node:
        system = shutil.which("node")
        if system and (node_major(system) or 0) >= NODE_MIN_MAJOR:
            _node.append(system)
        else:
            cpu = NODE_RUNTIME_CPU.get(platform.machine())
            assert cpu, (f"node >= {NODE_MIN_MAJOR} is needed (system: {system}) and "
                         f"tests/clients/node-runtime has none for {platform.machine()}")
            path = os.path.join(NODE_RUNTIME_DIR, "node_modules", f"node-linux-{cpu}", "bin",
                                "node")
            if _node_failed:
                raise AssertionError(_node_failed[0])
            npm_ci_unless(NODE_RUNTIME_DIR, lambda: os.path.exists(path))
            if not os.path.exists(path):
                # npm ci skips an optional package it cannot fetch and still
                # exits 0: say why here, once, rather than at every test.
                _node_failed.append(
                    f"node >= {NODE_MIN_MAJOR} is needed (system: {system}) and npm ci in "
                    f"{NODE_RUNTIME_DIR} did not install node-linux-{cpu}: npm could not fetch "
                    "it from the registry (check the network, https_proxy, and the proxy's CA "
                    "certificate: NODE_EXTRA_CA_CERTS; npm's log is in ~/.npm/_logs)")
                raise AssertionError(_node_failed[0])
            major = node_major(path)
            assert major is not None and major >= NODE_MIN_MAJOR, \
                f"{path} is node {major}, not >= {NODE_MIN_MAJOR}"
            _node.append(path)
    return _node[0]


def node_modules():
    """tests/clients/node_modules, installed once from the lock file
    (tests/clients/package.json: ioredis, node-redis, BullMQ and bee-queue,
    pinned) with npm ci, again when one of them is missing,
    under node_bin()."""
    path = os.path.join(CLIENTS_DIR, "node_modules")
    node_bin()
    with open(os.path.join(CLIENTS_DIR, "package.json")) as f:
        wanted = json.load(f)["dependencies"]
    npm_ci_unless(CLIENTS_DIR,
                  lambda: all(os.path.isdir(os.path.join(path, name)) for name in wanted))
    return path


def free_port():
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_command(*args):
    """One command in RESP (a multibulk of bulk strings): bytes are sent as
    they are, anything else as its str()."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Raw:
    """A connection that returns each reply's raw RESP2/RESP3 bytes, as the
    server wrote them (an attribute with the value it describes)."""

    DEPTH_MAX = 16

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self, depth=0):
        assert depth < self.DEPTH_MAX, "reply nested too deep"
        line = self._line()
        kind, n = line[:1], line[1:-2]
        if kind in b"$=!" and int(n) >= 0:
            return line + self._exact(int(n) + 2)
        if kind in b"*~>%|" and int(n) >= 0:
            items = int(n) * (2 if kind in b"%|" else 1) + (1 if kind == b"|" else 0)
            return line + b"".join(self.reply(depth + 1) for _ in range(items))
        return line

    def send(self, *args):
        self.sock.sendall(resp_command(*args))

    def cmd(self, *args):
        self.send(*args)
        return self.reply()


class PushRaw(Raw):
    """A Raw connection for RESP3 pushes: a reply is the command's, the
    push frames (">") that arrive before it are kept, and push() returns
    the next one (None after timeout_s)."""

    def __init__(self, port, host="127.0.0.1"):
        super().__init__(port, host)
        self.pushes = []

    def cmd(self, *args):
        self.send(*args)
        while (r := self.reply()).startswith(b">"):
            self.pushes.append(r)
        return r

    def push(self, timeout_s=15):
        if self.pushes:
            return self.pushes.pop(0)
        self.sock.settimeout(timeout_s)
        try:
            return self.reply()
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(30)


def read_reply_line(s):
    """The first line of a reply on socket s (simple string, error,
    integer), or what came before the server closed the connection."""
    buf = b""
    while not buf.endswith(b"\r\n"):
        try:
            chunk = s.recv(1)
        except ConnectionResetError:
            return buf
        if not chunk:
            return buf
        buf += chunk
    return buf


def pid_alive(pid):
    """True while pid runs (a zombie waiting for init to reap it has exited):
    for processes a test cannot wait for itself (a daemonized node)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def answers_ping(port):
    """True once a server on port answers PING (or asks for AUTH)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def quote(arg):
    """redis.conf quoting for one argument."""
    arg = str(arg)
    if arg and all(c.isalnum() or c in "-_./:*" for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(directives):
    """directives: list of (name, args...) tuples or a dict name -> value."""
    items = directives.items() if isinstance(directives, dict) else directives
    lines = []
    for item in items:
        name, *args = item
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = list(args[0])
        lines.append(" ".join([name] + [quote(a) for a in args]))
    return "\n".join(lines) + "\n"


class Server:
    """One server process. Not started until start()."""

    def __init__(self, workdir, directives=None, password=None):
        self.workdir = workdir
        self.port = free_port()
        self.password = password
        self.data_dir = os.path.join(workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.conf_path = os.path.join(workdir, "server.conf")
        self.log_path = os.path.join(workdir, "server.log")
        base = [("bind", "127.0.0.1"), ("port", self.port), ("dir", self.data_dir),
                ("loglevel", "notice")]
        if KIND == "redis":
            base += [("save", ""), ("appendonly", "no")]
        extra = list(directives.items()) if isinstance(directives, dict) else list(directives or [])
        names = {d[0] for d in extra}
        self.directives = [d for d in base if d[0] not in names] + extra
        with open(self.conf_path, "w") as f:
            f.write(config_text(self.directives))
        self.proc = None
        self.expect_exit = False
        self._log_file = None

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout_s=START_TIMEOUT_S, extra_args=()):
        """Starts (or restarts) the process: BIN CONFIG [extra_args...]."""
        if self._log_file is None:
            self._log_file = open(self.log_path, "ab")
        self.expect_exit = False
        self.proc = subprocess.Popen([BIN, self.conf_path, *map(str, extra_args)],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     cwd=self.workdir)
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s):
        """Up means: PING answers (NOAUTH counts as an answer), and when the
        server reports Raft state, it is up with a known leader; a leader has
        also committed its log up to its no-op (until then it answers reads
        -CLUSTERDOWN, docs/cluster-replies.md)."""
        def pinged():
            self.assert_running("while starting")
            return answers_ping(self.port)
        wait_until(pinged, timeout_s, what=f"PING on port {self.port}")

        def has_leader():
            self.assert_running("while starting")
            try:
                with self.client(socket_timeout=2) as c:
                    info = c.info("raft")
            except redis.RedisError:
                return False
            if not info or "leader_id" not in info:
                return True  # no Raft section: plain Redis
            if info.get("state") != "up" or str(info.get("leader_id")) == "-1":
                return False
            # INFO's raft section names the Raft role raft_role (INFO's
            # role is Redis's master/slave, docs/cluster-replies.md).
            return (info.get("raft_role") != "leader" or
                    int(info["commit_index"]) >= int(info["current_index"]))
        wait_until(has_leader, timeout_s, what="a raft leader")

    def assert_running(self, when=""):
        rc = self.proc.poll()
        if rc is not None:
            raise AssertionError(f"server exited with status {rc} {when}\n{self.log_tail()}")

    def stop(self, sig=signal.SIGTERM, timeout_s=20):
        """Sends sig and waits for the exit; returns the exit status."""
        if self.proc is None:
            return None
        self.expect_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"server did not exit within {timeout_s}s of {sig!r}")
        return self.proc.returncode

    def kill(self):
        """Teardown: SIGKILL by pid if still running (never by name)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    # -- clients ---------------------------------------------------------------
    def client(self, **kw):
        kw.setdefault("socket_timeout", 30)
        if self.password is not None:
            kw.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def sock(self, timeout_s=10, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout_s)
        s.connect(("127.0.0.1", self.port))
        return s

    def cli(self, *args, timeout_s=30, check=True):
        """Runs redis-cli against this server; returns stdout without the final newline."""
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.password is not None:
            cmd += ["--no-auth-warning", "-a", self.password]
        out = subprocess.run(cmd + [str(a) for a in args], capture_output=True,
                             timeout=timeout_s, text=True, check=check)
        return out.stdout.rstrip("\n")

    # -- diagnostics -----------------------------------------------------------
    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"(no log: {e})"

    def vm_hwm_kb(self):
        """Peak resident set size of the process, from the kernel."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")


def stop_servers(servers, workdirs):
    """Teardown of servers a test started: keeps each log for the report
    hook, stops each by pid (SIGTERM, then SIGKILL), removes the work dirs.
    Returns the servers that had died unexpectedly during the test."""
    crashed = []
    for srv in servers:
        if srv.proc is not None and not srv.expect_exit and srv.proc.poll() is not None:
            crashed.append(f"port {srv.port}: exit status {srv.proc.returncode}")
        srv.final_log = srv.log_tail()
        try:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.stop(timeout_s=10)
        except AssertionError:
            pass
        finally:
            srv.kill()
    for d in workdirs:
        shutil.rmtree(d, ignore_errors=True)
    return crashed


@pytest.fixture
def start_server(request):
    """Factory: start_server(directives=None, password=None, start=True) -> Server.
    directives is a dict or a list of (name, args...) tuples added to the base
    config (bind, port, dir, loglevel)."""
    servers = []
    request.node._raftcache_servers = servers
    workdirs = []

    def factory(directives=None, password=None, start=True):
        workdir = tempfile.mkdtemp(prefix="raftcache-it-")
        workdirs.append(workdir)
        srv = Server(workdir, directives, password)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield factory

    crashed = stop_servers(servers, workdirs)
    if crashed:
        pytest.fail("server died during the test: " + "; ".join(crashed))


REDIS_SERVER = shutil.which("redis-server")


class Reference:
    """A redis-server 7.0 beside raftcache, for side-by-side checks: the
    connection helpers of Server (client, sock, cli) against its port."""

    client = Server.client
    sock = Server.sock
    cli = Server.cli

    def __init__(self, workdir, args, password):
        self.port = free_port()
        self.password = password
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", workdir]
        if password is not None:
            cmd += ["--requirepass", password]
        with open(os.path.join(workdir, "redis.log"), "wb") as log:
            self.proc = subprocess.Popen(cmd + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)

        def answers():
            assert self.proc.poll() is None, "redis-server exited"
            return answers_ping(self.port)
        wait_until(answers, START_TIMEOUT_S, what="redis-server to answer PING")


@pytest.fixture
def redis_reference():
    """Factory: redis_reference(*args, password=None) -> Reference, a fresh
    redis-server (extra command-line args) stopped by pid at teardown.
    Skips the test where redis-server is not installed."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    refs, workdirs = [], []

    def factory(*args, password=None):
        workdirs.append(tempfile.mkdtemp(prefix="raftcache-it-redis-"))
        refs.append(Reference(workdirs[-1], args, password))
        return refs[-1]

    yield factory
    for ref in refs:
        if ref.proc.poll() is None:
            ref.proc.kill()
        ref.proc.wait(timeout=10)
    for d in workdirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(start_server):
    return start_server()


@pytest.fixture(autouse=True)
def test_deadline():
    """Fails a test that runs longer than TEST_TIMEOUT_S instead of hanging."""
    def expired(signum, frame):
        raise TimeoutError(f"test exceeded {TEST_TIMEOUT_S}s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def make_cluster(request):
    """Factory: make_cluster(n=3, directives=None, per_node=None) -> raftcluster.Cluster
    (per_node(node_id): directives of that node alone),
    started, with one leader agreed on by all (tests/integration/raftcluster.py).
    At teardown, unless the test failed: the live nodes must converge (same
    applied index, same digest); then every node is stopped by pid (SIGCONT
    first if paused), a node that died unexpectedly or does not exit 0 on
    SIGTERM fails the test, and the logs are attached to a failure report."""
    from raftcluster import Cluster
    servers = []
    request.node._raftcache_servers = servers
    clusters, workdirs = [], []

    def factory(n=3, directives=None, per_node=None):
        workdir = tempfile.mkdtemp(prefix="raftcache-it-cluster-")
        workdirs.append(workdir)
        cl = Cluster(n, workdir, directives, registry=servers, per_node=per_node)
        clusters.append(cl)
        servers.extend(cl.nodes)
        cl.start_all()
        return cl

    yield factory

    problems = []
    rep = getattr(request.node, "_rep_call", None)
    for cl in clusters:
        for nd in cl.nodes:
            if nd.proc is not None and not nd.expect_exit and nd.proc.poll() is not None:
                problems.append(f"{nd} died: exit status {nd.proc.returncode}")
        if rep is not None and rep.passed and not problems:
            for nd in cl.nodes:
                if nd.paused:
                    cl.sigcont(nd)
            live = cl.live()
            if 2 * len(live) > len(cl.nodes):
                try:
                    cl.wait_converged(live)
                except Exception as e:  # noqa: BLE001 - any failure here is reported, never
                    # allowed to skip the stop-by-pid below (a leaked node outlives the run)
                    problems.append(f"live nodes did not converge after the test: {e!r}")
    for srv in servers:
        srv.final_log = srv.log_tail()
        try:
            if srv.proc is not None and srv.proc.poll() is None:
                if srv.paused:
                    srv.proc.send_signal(signal.SIGCONT)
                rc = srv.stop(timeout_s=10)
                if rc != 0:
                    problems.append(f"{srv} exited with status {rc} on SIGTERM")
        except Exception as e:  # noqa: BLE001 - reported; the node is killed below anyway
            problems.append(f"{srv}: {e!r}")
        finally:
            srv.kill()
    for d in workdirs:
        shutil.rmtree(d, ignore_errors=True)
    if problems:
        pytest.fail("cluster teardown: " + "; ".join(problems))


@pytest.fixture
def cluster(make_cluster):
    """A started 3-node cluster with an agreed leader."""
    return make_cluster(3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "_rep_" + rep.when, rep)
    if not rep.failed:
        return
    for i, srv in enumerate(getattr(item, "_raftcache_servers", [])):
        text = getattr(srv, "final_log", None) or srv.log_tail()
        rep.sections.append((f"server {i} log (port {srv.port}, {srv.log_path})", text))


def pytest_report_header(config):
    return f"server: {BIN} (kind {KIND})"


# --- redis-server beside raftcache --------------------------------------------------

# The encoding thresholds, redis-server 7.0's defaults and raftcache's,
# given to the reference explicitly so that both hold every value in the
# same encoding whatever a packaged default says.
ENCODING_LIMITS = ("--hash-max-listpack-entries", "512", "--hash-max-listpack-value", "64",
                   "--zset-max-listpack-entries", "128", "--zset-max-listpack-value", "64",
                   "--set-max-intset-entries", "512")


@pytest.fixture
def reference(redis_reference):
    """Factory: reference(*extra_args) -> a client of a fresh redis-server
    with raftcache's ENCODING_LIMITS (the behaviour raftcache follows),
    stopped by pid at teardown."""
    return lambda *extra: redis_reference(*ENCODING_LIMITS, *extra).client()
