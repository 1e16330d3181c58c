"""TLS on the client port (tls-port, src/net/conn.c and src/tls/tls.h):
redis-cli --tls, redis-py, ioredis and node-redis with client certificates;
refused clients (no certificate, a certificate of another CA, plain text);
tls-auth-clients, tls-protocols, an encrypted key; certificates reloaded by
CONFIG SET and by tls-auto-reload-interval without a restart, a bad new file
refused with the old one kept; a stalled handshake holding nothing; a 3-node
cluster whose nodes all serve TLS clients, the follower proxy included.
Certificates: scripts/gen-test-certs.sh, once per module."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import CLIENTS_DIR, free_port, node_bin, node_modules, wait_until
from raftcluster import SECRET
from test_security import DENIED_REPLY, remote_addr  # noqa: F401 (a fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def certs():
    d = tempfile.mkdtemp(prefix="raftcache-certs-")
    subprocess.run([os.path.join(ROOT, "scripts", "gen-test-certs.sh"), d], check=True,
                   timeout=120)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def tls_directives(certs, port=None, **more):
    d = {"tls-port": port or free_port(),
         "tls-cert-file": f"{certs}/server.crt", "tls-key-file": f"{certs}/server.key",
         "tls-ca-cert-file": f"{certs}/ca.crt"}
    d.update({k.replace("_", "-"): v for k, v in more.items()})
    return d


def tls_client(port, certs, cert="client", **kw):
    kw.setdefault("socket_timeout", 10)
    args = dict(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=f"{certs}/ca.crt",
                ssl_cert_reqs="required", **kw)
    if cert:
        args.update(ssl_certfile=f"{certs}/{cert}.crt", ssl_keyfile=f"{certs}/{cert}.key")
    return redis.Redis(**args)


def cli(port, certs, *args, cert="client", check=False):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--tls", "--cacert", f"{certs}/ca.crt"]
    if cert:
        cmd += ["--cert", f"{certs}/{cert}.crt", "--key", f"{certs}/{cert}.key"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30,
                          check=check)


def server_serial(port, certs):
    """The serial of the certificate a new TLS connection is shown."""
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
    ctx.load_cert_chain(f"{certs}/client.crt", f"{certs}/client.key")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            der = t.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, timeout=10, check=True)
    return out.stdout.decode().strip().split("=", 1)[1].upper()


def test_redis_cli_and_redis_py(start_server, certs):
    srv = start_server(tls_directives(certs))
    port = srv.directives_port = dict(srv.directives)["tls-port"]
    out = cli(port, certs, "SET", "k", "over-tls", check=True)
    assert out.stdout.strip() == "OK"
    assert srv.cli("GET", "k") == "over-tls"  # the plain port sees the same keyspace
    with tls_client(port, certs) as c:
        assert c.ping()
        c.set("big", b"x" * (3 << 20))  # several TLS records each way
        assert c.get("big") == b"x" * (3 << 20)
        pipe = c.pipeline(transaction=False)
        for i in range(2000):
            pipe.incr("n")
        assert pipe.execute()[-1] == 2000
    info = srv.client().info("tls")
    assert info["tls_server_cert_serial"] != "none"
    assert info["tls_server_cert_expire_time"] > time.time()
    assert info["tls_ca_cert_serial"] != "none"


def test_refused_clients(start_server, certs):
    srv = start_server(tls_directives(certs, loglevel="verbose"))
    port = dict(srv.directives)["tls-port"]
    # no client certificate, while tls-auth-clients is yes (the default)
    assert "PONG" not in cli(port, certs, "PING", cert=None).stdout
    # a certificate another CA signed
    assert "PONG" not in cli(port, certs, "PING", cert="rogue").stdout
    with pytest.raises(redis.ConnectionError):
        tls_client(port, certs, cert="rogue").ping()
    # plain text on the TLS port: told so, in plain text, then closed
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        got = s.recv(4096)
        assert got.startswith(b"-ERR this is a TLS port"), got
        assert s.recv(4096) == b""
    out = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True,
                         timeout=30)
    assert "TLS port" in out.stdout + out.stderr
    wait_until(lambda: "spoke plain text" in srv.log_tail(), 10, what="the plain-text log line")
    assert "peer did not return a certificate" in srv.log_tail()
    srv.assert_running()


def test_protected_mode_denies_over_tls(start_server, certs, remote_addr):
    """A remote client on tls-port of a node in protected mode without
    raft-secret reads Redis's -DENIED over TLS once its handshake is done
    (a text in clear would mean nothing to it), then the close."""
    srv = start_server({"bind": "0.0.0.0", **tls_directives(certs)})
    port = dict(srv.directives)["tls-port"]
    ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
    ctx.load_cert_chain(f"{certs}/client.crt", f"{certs}/client.key")
    ctx.check_hostname = False
    with socket.create_connection((remote_addr, port), timeout=10,
                                  source_address=(remote_addr, 0)) as s:
        with ctx.wrap_socket(s) as t:
            data = b""
            while chunk := t.recv(65536):
                data += chunk
    assert data == DENIED_REPLY
    with tls_client(port, certs) as c:  # loopback clients are served
        assert c.ping() is True


def test_auth_clients_modes(start_server, certs):
    srv = start_server(tls_directives(certs))
    port = dict(srv.directives)["tls-port"]
    admin = srv.client()
    admin.config_set("tls-auth-clients", "no")
    assert tls_client(port, certs, cert=None).ping()
    admin.config_set("tls-auth-clients", "optional")
    assert tls_client(port, certs, cert=None).ping()
    assert tls_client(port, certs).ping()
    with pytest.raises(redis.ConnectionError):
        tls_client(port, certs, cert="rogue").ping()  # optional, but checked when presented
    admin.config_set("tls-auth-clients", "yes")
    with pytest.raises(redis.ConnectionError):
        tls_client(port, certs, cert=None).ping()


def test_protocols_and_encrypted_key(start_server, certs):
    srv = start_server(tls_directives(certs))
    port = dict(srv.directives)["tls-port"]
    admin = srv.client()
    admin.config_set("tls-protocols", "TLSv1.3")

    def handshake(version):
        ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
        ctx.load_cert_chain(f"{certs}/client.crt", f"{certs}/client.key")
        ctx.minimum_version = ctx.maximum_version = version
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(b"PING\r\n")
                return t.recv(100)
    assert handshake(ssl.TLSVersion.TLSv1_3) == b"+PONG\r\n"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        handshake(ssl.TLSVersion.TLSv1_2)
    admin.config_set("tls-protocols", "")
    assert handshake(ssl.TLSVersion.TLSv1_2) == b"+PONG\r\n"
    with pytest.raises(redis.ResponseError, match="Invalid tls-protocols specified: TLSv1.4"):
        admin.config_set("tls-protocols", "TLSv1.4")  # refused before any file is read
    # an encrypted key: refused without its passphrase, taken with it
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        admin.config_set("tls-key-file", f"{certs}/server-encrypted.key")
    assert admin.config_get("tls-key-file")["tls-key-file"] == f"{certs}/server.key"
    admin.execute_command("CONFIG", "SET", "tls-key-file-pass", "secret",
                          "tls-key-file", f"{certs}/server-encrypted.key")
    assert tls_client(port, certs).ping()
    assert "bad decrypt" in srv.log_tail()


def test_bad_start_config(start_server, certs):
    for bad, why in ((dict(tls_cert_file=f"{certs}/missing.crt"),
                      "Failed to configure TLS: Failed to load certificate"),
                     (dict(tls_ca_cert_file=""), "tls-ca-cert-file or tls-ca-cert-dir"),
                     (dict(tls_key_file=f"{certs}/client.key"), "key values mismatch")):
        srv = start_server(tls_directives(certs, **bad), start=False)
        srv.expect_exit = True
        with pytest.raises(AssertionError, match=why):
            srv.start(timeout_s=10)
        srv.expect_exit = True
        assert "Raft log loaded" not in srv.log_tail()  # refused before the data loads


def test_rotation_without_restart(start_server, certs):
    """A certificate rotated mid-run, by CONFIG SET and then by a file change
    (tls-auto-reload-interval): the connection open across it keeps working,
    new connections see the new certificate, no write fails; a bad new file
    is refused and the certificate in use stays."""
    d = tempfile.mkdtemp(prefix="raftcache-rot-")
    try:
        for f in ("server.crt", "server.key"):
            shutil.copy(f"{certs}/{f}", f"{d}/{f}")
        srv = start_server(tls_directives(certs, tls_cert_file=f"{d}/server.crt",
                                          tls_key_file=f"{d}/server.key"))
        port = dict(srv.directives)["tls-port"]
        admin = srv.client()
        first = server_serial(port, certs)
        assert admin.info("tls")["tls_server_cert_serial"] == first
        errors, stop, done = [], threading.Event(), [0]

        def writer():
            with tls_client(port, certs) as c:
                while not stop.is_set():
                    try:
                        c.incr("rot")
                        done[0] += 1
                    except redis.RedisError as e:
                        errors.append(repr(e))
                        return
        t = threading.Thread(target=writer)
        t.start()
        try:
            wait_until(lambda: done[0] > 50, 10, what="writes before the rotation")
            # 1. CONFIG SET of the file names
            admin.execute_command("CONFIG", "SET", "tls-cert-file", f"{certs}/server2.crt",
                                  "tls-key-file", f"{certs}/server2.key")
            second = server_serial(port, certs)
            assert second != first
            # 2. the files replaced on disk, picked up by the interval
            admin.execute_command("CONFIG", "SET", "tls-cert-file", f"{d}/server.crt",
                                  "tls-key-file", f"{d}/server.key")
            assert server_serial(port, certs) == first
            admin.config_set("tls-auto-reload-interval", 1)
            for f in ("crt", "key"):
                shutil.copy(f"{certs}/server2.{f}", f"{d}/server.{f}.new")
                os.replace(f"{d}/server.{f}.new", f"{d}/server.{f}")
            wait_until(lambda: server_serial(port, certs) == second, 15,
                       what="the changed files picked up")
            assert admin.info("tls")["tls_server_cert_serial"] == second
            # 3. a bad file: refused, logged, the certificate in use stays
            with open(f"{d}/server.crt", "w") as f:
                f.write("not a certificate\n")
            wait_until(lambda: "cannot be loaded" in srv.log_tail(), 15,
                       what="the refusal of the bad file")
            assert server_serial(port, certs) == second
            n = done[0]
            wait_until(lambda: done[0] > n + 50, 10, what="writes after the rotations")
        finally:
            stop.set()
            t.join(timeout=30)
        assert not errors, errors
        assert int(admin.get("rot")) == done[0]
        assert admin.info("tls")["tls_reloads"] == 3  # two CONFIG SETs, one file change
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_stalled_handshake_holds_nothing(start_server, certs):
    srv = start_server(tls_directives(certs))
    port = dict(srv.directives)["tls-port"]
    stalled = []
    for _ in range(20):  # half a ClientHello each, then silence
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        stalled.append(s)
    try:
        started = time.monotonic()
        with tls_client(port, certs) as c:
            for i in range(100):
                c.set(f"s{i}", i)
        assert time.monotonic() - started < 20  # sanity bound only: served, not queued behind
        # the stalled ones are closed by the node in the end (TLS_HANDSHAKE_MS)
        stalled[0].settimeout(30)
        assert stalled[0].recv(100) == b""
    finally:
        for s in stalled:
            s.close()


def test_over_maxclients_closed_and_freed(start_server, certs):
    """A TLS connection beyond maxclients waits for RAFT.AUTH like any, then
    is closed (before its handshake ends, without the error a plain client
    reads); none is left behind."""
    srv = start_server(tls_directives(certs, maxclients=2))
    port = dict(srv.directives)["tls-port"]
    admin = srv.client()
    admin.ping()
    with tls_client(port, certs) as c:
        c.ping()
        extra = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            extra.append(s)
        for s in extra:  # closed within the 2 s a peer has to present RAFT.AUTH
            s.settimeout(15)
            assert s.recv(100) == b""
            s.close()
        assert c.ping()
        wait_until(lambda: admin.info("clients")["connected_clients"] == 2, 10,
                   what="the refused connections freed")  # admin and c
    srv.assert_running()


@pytest.mark.parametrize("pkg", ["ioredis", "redis4", "redis5", "redis6"])
def test_node_clients(start_server, certs, pkg):
    node_modules()
    srv = start_server(tls_directives(certs))
    port = dict(srv.directives)["tls-port"]
    out = subprocess.run([node_bin(), os.path.join(CLIENTS_DIR, "tls_client.js"), pkg, str(port),
                          f"{certs}/ca.crt", f"{certs}/client.crt", f"{certs}/client.key",
                          f"node-{pkg}"], capture_output=True, text=True, timeout=60,
                         cwd=CLIENTS_DIR)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"value": f"{pkg}-ok"}, (result, out.stderr[-2000:])
    assert srv.cli("GET", f"node-{pkg}") == f"{pkg}-ok"


def test_cluster_serves_tls_on_every_node(make_cluster, certs):
    tls_ports = {i: free_port() for i in (1, 2, 3)}
    common = {k: v for k, v in tls_directives(certs).items() if k != "tls-port"}
    # -MOVED names the leader's port, not its tls-port (the peers do not know
    # it yet): the proxy takes the TLS clients' writes to the leader.
    common["raft-follower-proxy"] = "yes"
    cl = make_cluster(3, directives=common, per_node=lambda i: [("tls-port", tls_ports[i])])
    leader = cl.leader()
    for nd in cl.nodes:  # the followers forward writes (raft-follower-proxy)
        with tls_client(tls_ports[nd.node_id], certs) as c:
            assert c.set(f"via-{nd.node_id}", nd.node_id)
    for nd in cl.nodes:
        with tls_client(tls_ports[nd.node_id], certs) as c:
            for i in (1, 2, 3):
                assert int(c.get(f"via-{i}")) == i
    assert leader.client().info("tls")["tls_server_cert_serial"] != "none"


def tls_cluster(make_cluster, certs, extra=None):
    """A 3-node cluster with tls-cluster yes: the members' addresses are
    their tls-ports; each keeps a plain port for the harness."""
    tls_ports = {i: free_port() for i in (1, 2, 3)}
    common = {k: v for k, v in tls_directives(certs).items() if k != "tls-port"}
    common.update({"tls-cluster": "yes", "tls-replication": "yes",
                   "cluster-members": " ".join(f"{i}=127.0.0.1:{p}" for i, p in tls_ports.items())})
    common.update(extra or {})
    cl = make_cluster(3, directives=common, per_node=lambda i: [("tls-port", tls_ports[i])])
    return cl, tls_ports


class Capture:
    """tcpdump on the loopback interface, of the given ports' traffic."""

    def __init__(self, ports):
        self.path = tempfile.mktemp(prefix="raftcache-cap-", suffix=".pcap")
        expr = " or ".join(f"port {p}" for p in ports)
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", self.path,
                                      expr], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        # sleep: tcpdump says "listening on lo" once its capture is open
        line = self.proc.stderr.readline()
        assert b"listening" in line, line

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        with open(self.path, "rb") as f:
            data = f.read()
        os.unlink(self.path)
        return data


@pytest.mark.skipif(shutil.which("tcpdump") is None or os.geteuid() != 0,
                    reason="needs tcpdump and root (make deps installs tcpdump)")
def test_cluster_links_speak_tls(make_cluster, certs):
    """Every link between nodes is TLS: a capture of the nodes' traffic holds
    no command in clear; writes commit, the follower proxy forwards over
    TLS, -MOVED and CLUSTER SLOTS name tls-ports, a leader kill -9 elects
    another leader over TLS, and a peer on the plain port or without the
    CA's certificate is refused."""
    cl, tls_ports = tls_cluster(make_cluster, certs, {"raft-follower-proxy": "yes"})
    cap = Capture(list(tls_ports.values()))
    try:
        leader = cl.leader()
        with tls_client(tls_ports[leader.node_id], certs) as c:
            for i in range(200):
                c.set(f"secret-key-{i}", f"secret-value-{i}")
        for nd in cl.followers():  # proxied to the leader over a TLS link
            with tls_client(tls_ports[nd.node_id], certs) as c:
                assert c.set(f"via-{nd.node_id}", "secret-value-proxied")
                assert c.get("secret-key-7") == b"secret-value-7"
    finally:
        data = cap.stop()
    assert len(data) > 50_000, len(data)  # the writes went by
    for clear in (b"RAFT.MSG", b"RAFT.AUTH", b"secret-value", b"secret-key", b"PING"):
        assert clear not in data, clear
    # -MOVED and CLUSTER SLOTS name the tls-ports
    follower = cl.followers()[0]
    r = follower.client()
    r.config_set("raft-follower-proxy", "no")
    with pytest.raises(redis.ResponseError, match=f"MOVED .* 127.0.0.1:{tls_ports[leader.node_id]}"):
        r.set("x", 1)
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert slots[0][2][1] == tls_ports[leader.node_id]
    # a peer that comes to the plain port, or with another CA's certificate
    raw = socket.create_connection(("127.0.0.1", leader.port), timeout=10)
    raw.sendall(b"*3\r\n$9\r\nRAFT.AUTH\r\n$" + str(len(SECRET)).encode() + b"\r\n" +
                SECRET.encode() + b"\r\n$2\r\n99\r\n")
    assert b"tls-cluster is on" in raw.recv(1000)
    raw.close()
    assert "PONG" not in cli(tls_ports[leader.node_id], certs, "PING", cert="rogue").stdout
    # the leader dies: the others elect one over their TLS links, and serve
    cl.kill9(leader)
    new = cl.wait_leader(cl.live(), not_node=leader)
    with tls_client(tls_ports[new.node_id], certs) as c:
        assert c.get("secret-key-199") == b"secret-value-199"
        assert c.set("after", "kill")
    cl.start(leader)
    cl.wait_converged()


def test_cluster_tls_rotation(make_cluster, certs):
    """Certificates rotated on every node while writes go on: the links up
    keep their session, new ones (a node restarted, with the certificate of
    its config file) are made with the new certificates, and nothing fails."""
    cl, tls_ports = tls_cluster(make_cluster, certs)
    leader = cl.leader()
    first = server_serial(tls_ports[leader.node_id], certs)
    with tls_client(tls_ports[leader.node_id], certs) as c:
        for nd in cl.nodes:
            nd.client().execute_command("CONFIG", "SET", "tls-cert-file", f"{certs}/server2.crt",
                                        "tls-key-file", f"{certs}/server2.key")
            c.incr("n")
        assert server_serial(tls_ports[leader.node_id], certs) != first
        follower = cl.followers()[0]
        cl.stop(follower)
        cl.start(follower)  # its links are new, to and from the rotated nodes
        for _ in range(50):
            c.incr("n")
        assert int(c.get("n")) == 53
        big = os.urandom(1 << 20) * 30  # 30 MB through the TLS links, in one entry
        assert c.set("big", big)
        assert c.get("big") == big
    cl.wait_converged()
