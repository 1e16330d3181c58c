"""The one harness for a raftcache cluster of real processes.

tests/integration (raftcluster.py: nodes on loopback, configured by a file
each) and tests/chaos (cluster.py: nodes in network namespaces, configured
by arguments, moved around by a nemesis) build on it; what differs between
them is only where a node runs and how it is launched.

Owns what the two suites ask a cluster the same way:
- `wait_until`: every wait polls with a deadline (nothing asserts on how
  long something took; the machines are shared);
- `RaftNode`: one node's process by pid (kill -9, SIGSTOP, SIGCONT), its
  clients (a READONLY one reads a follower's own data), RAFT.INFO, PING
  while it starts, and its keyspace as rows (`digest`);
- `agreed_leader` and `majority_leader`: who leads, as the nodes say;
- `convergence`: one leader agreed on by every node of a group, every node
  applied up to the leader's commit index, equal keyspaces; with the last
  reason it was not, for a failure report.

A subclass of RaftNode gives `host`, `port`, `node_id`, `password` and
`launch()`. Every client call has a socket timeout.
"""

import hashlib
import os
import signal
import subprocess
import time

import redis

ADMIN_TIMEOUT_S = 2
DIGEST_BATCH = 500
# Strings longer than this are compared by SHA-1, read in GETRANGE chunks:
# one GET of a 100 MB value (tests/integration/test_big_writes.py) held the
# node's loop, and a digest of three of them on every node, repeated until
# the cluster agreed, kept it from agreeing.
BIG_STRING = 1 << 20
BIG_STRING_CHUNK = 4 << 20
LOG_TAIL_BYTES = 4000


class HarnessError(Exception):
    """The harness could not do what it needed (not a finding about raftcache)."""


class WaitTimeout(HarnessError, AssertionError):
    """wait_until's deadline passed. An AssertionError too: in a pytest test
    a wait that times out is the test's failure."""


def wait_until(pred, timeout_s, interval_s=0.05, what="condition"):
    """Polls pred() until it returns a truthy value, which is returned;
    raises WaitTimeout after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


def parse_info(text):
    """INFO / RAFT.INFO text as a dict of strings."""
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            info[k] = v
    return info


def raft_info_of(client):
    """RAFT.INFO through a redis-py client, as a dict."""
    raw = client.execute_command("RAFT.INFO")
    return parse_info(raw.decode() if isinstance(raw, bytes) else raw)


def readonly_connect(conn):
    """redis-py connect hook: the usual handshake, then READONLY."""
    conn.on_connect()
    conn.send_command("READONLY")
    if conn.read_response() not in (b"OK", "OK"):
        raise redis.ConnectionError("READONLY refused")


def configuration(info):
    """{node_id: voting} from one node's RAFT.INFO (itself included)."""
    conf = {}
    if info.get("node_id"):
        conf[int(info["node_id"])] = info.get("is_voting") == "yes"
    for k, v in info.items():
        if k.startswith("node") and k[4:].isdigit():
            fields = dict(p.split("=", 1) for p in v.split(",") if "=" in p)
            conf[int(fields["id"])] = fields.get("voting") == "yes"
    return conf


class RaftNode:
    """One node's process and what the harness asks it. The subclass sets
    host, port, node_id and password, and launches the process (launch())
    into self.proc."""

    host = "127.0.0.1"
    port = None
    node_id = None
    password = None
    proc = None
    paused = False

    @property
    def addr(self):
        return f"{self.host}:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout_s=ADMIN_TIMEOUT_S, readonly=False, **kw):
        kw.setdefault("socket_timeout", timeout_s)
        kw.setdefault("socket_connect_timeout", min(timeout_s, 1))
        if readonly:
            kw["redis_connect_func"] = readonly_connect
        if self.password is not None:
            kw.setdefault("password", self.password)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def readonly_client(self, **kw):
        """A client that reads the node's own data, leader or not."""
        kw.setdefault("socket_timeout", 30)
        return self.client(redis_connect_func=readonly_connect, **kw)

    def raft_info(self, timeout_s=ADMIN_TIMEOUT_S):
        """RAFT.INFO as a dict, or None if the node does not answer (or is
        stopped or paused)."""
        if not self.alive() or self.paused:
            return None
        try:
            with self.client(socket_timeout=timeout_s, socket_connect_timeout=1) as c:
                return raft_info_of(c)
        except redis.RedisError:
            return None

    def command(self, *args, timeout_s=ADMIN_TIMEOUT_S):
        """One admin command; returns the reply or the RedisError instance
        (never raises a RedisError)."""
        try:
            with self.client(socket_timeout=timeout_s, socket_connect_timeout=1) as c:
                return c.execute_command(*args)
        except redis.RedisError as e:
            return e

    def pinged(self):
        """True once the node answers PING (-NOAUTH counts, -LOADING does
        not), False not yet, None if its process exited."""
        if not self.alive():
            return None
        r = self.command("PING", timeout_s=1)
        if isinstance(r, redis.ResponseError):
            return not str(r).startswith("LOADING")
        return not isinstance(r, redis.RedisError)

    def kill9(self):
        """SIGKILL by pid and wait for the exit."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise HarnessError(f"{self} (pid {self.proc.pid}) did not die on SIGKILL") from None
        self.paused = False

    def sigstop(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def sigcont(self):
        if self.alive() and self.paused:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def debug_digest(self):
        """(DEBUG DIGEST, DBSIZE) of the node's own keyspace: Redis's digest
        of every key's name, type, value and TTL presence, computed in one
        step on the node's loop (not for huge values)."""
        with self.readonly_client(socket_timeout=10) as c:
            return c.execute_command("DEBUG", "DIGEST"), c.dbsize()

    def digest(self):
        """Sorted (key, type, value, has-ttl) of the node's own keyspace,
        read through SCAN on a READONLY connection, DIGEST_BATCH keys a round
        trip. A value is read by its type: a string's bytes (a long one's
        length and SHA-1), a hash's sorted field/value pairs, a set's members
        in the order SMEMBERS gives (the set's own order, which SPOP draws
        from: replicas must agree on it), a sorted set's members with scores
        in order, a list's elements, a stream's XINFO STREAM FULL. Keys of
        another database than 0 (those INFO keyspace lists) come after,
        named "@N:key"."""
        rows = []
        with self.readonly_client() as c:
            dbs = sorted(int(name[2:]) for name in c.info("keyspace") if name != "db0")
            keys = sorted(set(c.scan_iter(count=1000)))
            for i in range(0, len(keys), DIGEST_BATCH):
                rows += read_rows(c, keys[i:i + DIGEST_BATCH])
        for n in dbs:
            with self.readonly_client(db=n) as c:
                keys = sorted(set(c.scan_iter(count=1000)))
                for i in range(0, len(keys), DIGEST_BATCH):
                    rows += [(b"@%d:" % n + row[0],) + tuple(row[1:])
                             for row in read_rows(c, keys[i:i + DIGEST_BATCH])]
        return rows


def read_rows(c, chunk):
    """The digest rows of the keys of chunk (two pipelined round trips; a
    key gone meanwhile has no row)."""
    pipe = c.pipeline(transaction=False)
    for k in chunk:
        pipe.type(k)
        pipe.pttl(k)
        pipe.strlen(k)  # an error for other types
    heads = pipe.execute(raise_on_error=False)
    pipe = c.pipeline(transaction=False)
    for j, k in enumerate(chunk):
        if not is_big_string(heads[3 * j], heads[3 * j + 2]):
            read_value(pipe, k, heads[3 * j])
    values = iter(pipe.execute(raise_on_error=False))
    rows = []
    for j, k in enumerate(chunk):
        typ, pttl, strlen = heads[3 * j:3 * j + 3]
        for reply in (typ, pttl):
            if isinstance(reply, Exception):
                raise reply
        value = read_big_string(c, k, strlen) if is_big_string(typ, strlen) else next(values)
        if typ == b"none" or pttl == -2:
            continue  # expired between SCAN and TYPE
        if isinstance(value, dict):
            value = sorted(value.items())
        rows.append((k, typ, value, pttl >= 0))
    return rows


def is_big_string(typ, strlen):
    return typ == b"string" and isinstance(strlen, int) and strlen > BIG_STRING


def read_big_string(c, key, length):
    """(length, SHA-1) of a long string, read a chunk at a time."""
    h = hashlib.sha1()
    for off in range(0, length, BIG_STRING_CHUNK):
        h.update(c.getrange(key, off, min(off + BIG_STRING_CHUNK, length) - 1))
    return ("sha1", length, h.hexdigest())


def read_value(pipe, key, typ):
    """Queues the read of key's whole value by its type (digest)."""
    if typ == b"hash":
        pipe.hgetall(key)
    elif typ == b"set":
        pipe.execute_command("SMEMBERS", key)
    elif typ == b"zset":
        pipe.zrange(key, 0, -1, withscores=True)
    elif typ == b"list":
        pipe.lrange(key, 0, -1)
    elif typ == b"stream":  # entries, recorded IDs and counters
        pipe.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0)
    else:
        pipe.get(key)


def describe_diff(digests, limit=10):
    """Where the digests ({name: rows}) differ: the sizes and the first
    `limit` keys whose rows differ."""
    maps = {name: {k: rest for k, *rest in d} for name, d in digests.items()}
    keys = sorted(set().union(*[set(m) for m in maps.values()]))
    diffs = []
    for k in keys:
        vals = {name: m.get(k) for name, m in maps.items()}
        if len({repr(v) for v in vals.values()}) > 1:
            diffs.append(f"{k!r}: {vals}")
            if len(diffs) >= limit:
                break
    sizes = {name: len(d) for name, d in digests.items()}
    return f"sizes {sizes}; " + "; ".join(diffs)


# -- leadership ------------------------------------------------------------------

def agreed_leader(nodes):
    """The leader node if every node of `nodes` answers RAFT.INFO, exactly
    one says role:leader, and all name it as leader_id in the same term;
    else None."""
    infos = {}
    for nd in nodes:
        info = nd.raft_info()
        if info is None:
            return None
        infos[nd] = info
    leaders = [nd for nd, info in infos.items() if info.get("role") == "leader"]
    if len(leaders) != 1:
        return None
    ld = leaders[0]
    terms = {info.get("current_term") for info in infos.values()}
    ids = {info.get("leader_id") for info in infos.values()}
    if ids != {str(ld.node_id)} or len(terms) != 1:
        return None
    return ld


def majority_leader(nodes):
    """The node that says role:leader and is named leader by a majority of
    `nodes` in its term (the others may be cut off or down); or None."""
    infos = {nd: nd.raft_info(timeout_s=1) for nd in nodes}
    infos = {nd: i for nd, i in infos.items() if i}
    for nd, info in infos.items():
        if info.get("role") != "leader":
            continue
        term = info.get("current_term")
        backers = [i for i in infos.values()
                   if i.get("leader_id") == info.get("node_id") and i.get("current_term") == term]
        if len(backers) * 2 > len(nodes):
            return nd
    return None


# -- convergence -----------------------------------------------------------------

def full_digests(group):
    """The keyspace each node of group holds ({node: rows}), and a
    description of the difference if they differ."""
    digests = {nd: nd.digest() for nd in group}
    first = digests[group[0]]
    if any(d != first for d in digests.values()):
        return None, "digests differ: " + describe_diff({repr(n): d for n, d in digests.items()})
    return first, f"{len(group)} nodes, {len(first)} keys"


def convergence(group, compare=full_digests):
    """A predicate for wait_until: the nodes of group agree on one leader,
    have all applied the leader's commit index, and compare(group) finds
    their keyspaces equal. Returns (predicate, last) where the predicate
    returns [what compare returned] once converged and last["why"] says
    what was missing on the latest try."""
    last = {"why": "not checked"}

    def converged():
        ld = agreed_leader(group)
        if ld is None:
            last["why"] = "no leader agreed on by every node"
            return None
        commit = (ld.raft_info() or {}).get("commit_index")
        applied = {repr(nd): (nd.raft_info() or {}).get("last_applied_index") for nd in group}
        if set(applied.values()) != {commit}:
            last["why"] = f"leader {ld} commit_index {commit}, last_applied {applied}"
            return None
        try:
            same, why = compare(group)
        except redis.ResponseError as e:
            # Not yet: a leader answers reads -CLUSTERDOWN until its no-op
            # commits, a node that lost its state until it has caught up
            # (docs/cluster-replies.md, docs/storage-safety.md).
            if not str(e).startswith("CLUSTERDOWN"):
                raise
            last["why"] = f"a node cannot be read yet: {e}"
            return None
        except redis.RedisError as e:
            last["why"] = f"a keyspace read failed: {e!r}"
            return None
        last["why"] = why
        if same is None:
            return None
        if (ld.raft_info() or {}).get("commit_index") != commit:
            last["why"] = "commit index moved while reading the keyspaces"
            return None
        return [same]

    return converged, last
