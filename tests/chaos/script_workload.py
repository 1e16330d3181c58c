"""The script workload of a chaos run: writing Lua scripts (EVAL) whose
result would depend on the node if raftcache did not make a script's run a
pure function of its log entry, recorded as a history for
script_checker.py.

Every node applies a writing EVAL by running the script itself, so a script
that sees anything node-dependent - a table's address, the order of a hash
table, a Lua setting left behind by an earlier script, the collector, a
random number - would store different values on different nodes, or on one
node before and after a restart or a snapshot install. Each script here
stores what it sees under its KEYS[1] (and returns it); the run's
convergence checks (cluster.py wait_converged: every member's DEBUG DIGEST
of the whole keyspace and every set's member order, after healing and after
the kill -9 and restart of every node) then compare those keys on every
node, together with the other workloads' keys. key_counts() reads how many
script keys each node holds at those points, for the report.

N_CLIENTS threads (workload.py's Client: leader following, -MOVED, outcome
classification, a new process after an unknown outcome) each repeat a
random script of SCRIPTS, with a pause of OP_DELAY_S between ops: a client
deals its scripts from a shuffled deck holding each kind as many times as
SCRIPTS says (the runaway once in 23 cards), reshuffled when empty, so
every kind comes up once in every 23 ops of a client (a few seconds), as
the nemesis deals its faults. Every key of client c carries
the hash tag {c<c>} (one slot per EVAL): KEYS[1], the result key, is
script:{c<c>}:<kind>.<n> (n = the client's op count modulo
RESULT_KEYS_PER_KIND, so the keyspace, which the KEYS script lists, stays
bounded), KEYS[2] the client's set script:{c<c>}:set or hash
script:{c<c>}:hash. The scripts (kinds):

  tostring        tostring({}) .. ' ' .. tostring(function() end)
  pairs           the keys of a table with mixed keys (integers, fractions,
                  huge numbers, strings, booleans) in pairs() order, then a
                  pcall'ed walk of a table with tables as keys (refused in
                  a writing script: its order would differ between nodes;
                  the refusal's text is stored)
  smembers        SADD of SEED_MEMBERS members drawn from ARGV's seed, then
                  SMEMBERS of the whole set (up to 1000 members), joined
  hgetall         HSET of SEED_MEMBERS fields likewise, then HGETALL, joined
  hkeys           the same, then HKEYS
  keys            KEYS script:{c<c>}:* (the client's own keys), joined
  cjson-precision pcall(cjson.encode_number_precision, 2), then
                  cjson.encode({math.pi})   ("[3.1]")
  cjson-default   cjson.encode({math.pi}) only ("[3.1415926535898]": a
                  precision leaked from an earlier run shows here, and as a
                  replica or a restarted node that disagrees)
  random          math.random() and math.random(1000000)
  heap            what shows a node's heap, refused (gcinfo, collectgarbage:
                  their errors stored), and cjson.encode / cmsgpack.pack of
                  a table whose keys once collided with table keys (the
                  encoders' walk order, canonical in a writing run)
  spop            SPOP of the client's set
  runaway         s = s .. 'x' forever, SET KEYS[1] n every 1000 rounds:
                  ends with the budget error ("exceeded its budget") after
                  writing several values; the key's last value must be the
                  same on every node (0.2-1 s of CPU on every node, hence
                  one card of 23)

History (script_checker.py's format, docstring there): an invoke
{"f": "eval", "script": kind, "key": KEYS[1], "node"} and its completion:
"ok" when the script ran - {"reply_type": "string"|"integer"|"nil"|"array"|
"error", "reply": the reply as text (at most REPLY_MAX_CHARS; an array's
items joined with ","), "reply_len"} - an error the script itself ended
with (a Lua error, the budget, a refusal: its text names the script,
"user_script") is such an "ok" with reply_type "error"; "fail" and "info"
as workload.py sorts replies (-OOM: "fail"), with "error".
"""

import random

import redis

from script_checker import KINDS, RUNAWAY
from workload import NOT_RUN, Client, History, join_clients

PREFIX = "script:"
N_CLIENTS = 2
OP_DELAY_S = 0.2                # pause between one client's ops (rate limit: every node
                                # runs every script, the runaway for up to a second)
FAIL_PAUSE_S = 0.1
SOCKET_TIMEOUT_S = 4.0          # the runaway runs up to ~1 s on a loaded node, then commits
RESULT_KEYS_PER_KIND = 50
SEED_MEMBERS = 220              # members/fields a big-collection script adds per run
MEMBER_RANGE = 1000             # they are drawn from this many names
REPLY_MAX_CHARS = 65536
NOT_RUN_SCRIPT = NOT_RUN + ("OOM",)

_ADD_SET = ("local seed = tonumber(ARGV[1]) for i = 1, tonumber(ARGV[2]) do "
            "redis.call('SADD', KEYS[2], 'm' .. ((seed * 31 + i * 17) %% %d)) end " % MEMBER_RANGE)
_ADD_HASH = ("local seed = tonumber(ARGV[1]) for i = 1, tonumber(ARGV[2]) do "
             "redis.call('HSET', KEYS[2], 'f' .. ((seed * 37 + i * 13) %% %d), seed) end "
             % MEMBER_RANGE)
_STORE = " redis.call('SET', KEYS[1], v) return v"

# kind -> (body, second key: "set"|"hash"|None, ARGV builder name, copies in a
# client's deck: 23 cards, the runaway one of them)
SCRIPTS = {
    "tostring": (
        "local v = tostring({}) .. ' ' .. tostring(function() end)" + _STORE, None, None, 2),
    "pairs": (
        "local t = {1, 2, 3, [3.5] = 1, [-0.25] = 1, [1e300] = 1, a = 1, zz = 1, [true] = 1, "
        "[false] = 1} for i = 1, 40 do t['k' .. i] = i t[i * 7] = i t[i + 0.5] = i end "
        "local o = {} for k in pairs(t) do o[#o + 1] = tostring(k) end "
        "local tt = {[{}] = 1, [{}] = 2, x = 3} "
        "local ok, err = pcall(function() local n = 0 for k in pairs(tt) do n = n + 1 end "
        "return n end) "
        "local v = table.concat(o, ',') .. '|' .. tostring(ok) .. ' ' .. tostring(err)" + _STORE,
        None, None, 2),
    "smembers": (
        _ADD_SET + "local v = table.concat(redis.call('SMEMBERS', KEYS[2]), ',')" + _STORE,
        "set", "seed", 2),
    "hgetall": (
        _ADD_HASH + "local v = table.concat(redis.call('HGETALL', KEYS[2]), ',')" + _STORE,
        "hash", "seed", 2),
    "hkeys": (
        _ADD_HASH + "local v = table.concat(redis.call('HKEYS', KEYS[2]), ',')" + _STORE,
        "hash", "seed", 2),
    "keys": (
        "local v = table.concat(redis.call('KEYS', ARGV[1]), ',')" + _STORE, None, "pattern", 2),
    "cjson-precision": (
        "pcall(cjson.encode_number_precision, 2) local v = cjson.encode({math.pi})" + _STORE,
        None, None, 2),
    "cjson-default": ("local v = cjson.encode({math.pi})" + _STORE, None, None, 2),
    "random": (
        "local v = tostring(math.random()) .. ' ' .. tostring(math.random(1000000))" + _STORE,
        None, None, 2),
    "heap": (
        "local a, e1 = pcall(gcinfo) local b, e2 = pcall(collectgarbage, 'count') "
        "local t, ks = {}, {} for i = 1, 30 do ks[i] = {} t[ks[i]] = 1 end "
        "for i = 1, 30 do t['k' .. i] = i end for i = 1, 30 do t[ks[i]] = nil end "
        "local v = tostring(a) .. ' ' .. tostring(b) .. '|' .. cjson.encode(t) .. '|' .. "
        "cmsgpack.pack(t)" + _STORE, None, None, 2),
    "spop": (
        "local v = redis.call('SPOP', KEYS[2]) redis.call('SET', KEYS[1], tostring(v)) return v",
        "set", None, 2),
    "runaway": (
        "local s, n = '', 0 while true do s = s .. 'x' n = n + 1 "
        "if n % 1000 == 0 then redis.call('SET', KEYS[1], n) end end", None, None, 1),
}
assert tuple(SCRIPTS) == KINDS and RUNAWAY in SCRIPTS, "script_checker.KINDS names the kinds"


def is_script_error(msg):
    """An error reply the script itself ended with (Lua error, budget,
    refusal), as opposed to the cluster's (-MOVED, -CLUSTERDOWN, ...)."""
    return "user_script" in msg or "exceeded its budget" in msg


def reply_text(reply):
    """(reply_type, text) of a raw reply (redis-py Connection, no decoding)."""
    if reply is None:
        return "nil", ""
    if isinstance(reply, redis.ResponseError):
        return "error", str(reply)
    if isinstance(reply, int):
        return "integer", str(reply)
    if isinstance(reply, bytes):
        return "string", reply.decode(errors="backslashreplace")
    if isinstance(reply, list):
        return "array", ",".join(reply_text(x)[1] for x in reply)
    return "string", str(reply)


class ScriptClient(Client):
    not_run = NOT_RUN_SCRIPT
    socket_timeout_s = SOCKET_TIMEOUT_S

    def __init__(self, cid, cluster, history, seed, n_procs, copies=None):
        super().__init__(f"script{cid}", cluster, history, random.Random(f"{seed}/script{cid}"),
                         cid, n_procs)
        self.cid = cid
        self.full_deck = [k for k in KINDS
                          for _ in range(SCRIPTS[k][3] if copies is None
                                         else copies.get(k, SCRIPTS[k][3]))]
        self.deck = []
        self.seq = 0
        self.last_reply = None

    def key(self, what):
        return f"{PREFIX}{{c{self.cid}}}:{what}"

    def send(self, slot, cmd):
        # Keeps the raw reply: Client.call reports an unknown error reply as
        # text only, and an error the script itself raised is its outcome.
        self.last_reply = super().send(slot, cmd)
        return self.last_reply

    def command(self, kind):
        body, second, argv, _ = SCRIPTS[kind]
        keys = [self.key(f"{kind}.{self.seq % RESULT_KEYS_PER_KIND}")]
        if second is not None:
            keys.append(self.key(second))
        args = []
        if argv == "seed":
            args = [self.rng.randrange(1 << 20), SEED_MEMBERS]
        elif argv == "pattern":
            args = [self.key("*")]
        return keys[0], ("EVAL", body, len(keys), *keys, *args)

    def step(self, slot):
        if not self.deck:
            self.deck = list(self.full_deck)
            self.rng.shuffle(self.deck)
        kind = self.deck.pop()
        self.seq += 1
        key, cmd = self.command(kind)
        op = self.history.invoke(self.process, "eval", script=kind, key=key, node=slot.addr)
        if op is None:
            return FAIL_PAUSE_S
        self.last_reply = None
        typ, r = self.call(slot, cmd)
        if typ == "info" and isinstance(self.last_reply, redis.ResponseError) \
                and is_script_error(str(self.last_reply)):
            typ, r = "ok", self.last_reply
        if typ == "ok":
            rtype, txt = reply_text(r)
            self.history.complete(op, "ok", reply_type=rtype, reply=txt[:REPLY_MAX_CHARS],
                                  reply_len=len(txt))
            return self.pause()
        self.history.complete(op, typ, error=str(r)[:300])
        if typ == "info":
            self.unknown()
            return self.pause()
        return FAIL_PAUSE_S

    def pause(self):
        return self.rng.uniform(0.5, 1.5) * OP_DELAY_S


class ScriptWorkload:
    """The script clients of one run and their history."""

    name = "script"

    def __init__(self, cluster, seed, log=print, n_clients=N_CLIENTS, copies=None):
        """copies: {kind: copies in the deck} overriding SCRIPTS' (the tests
        against redis-server leave out the runaway, which never ends there)."""
        self.cluster = cluster
        self.log = log
        self.history = History()
        self.script_clients = [ScriptClient(i, cluster, self.history, seed, n_clients, copies)
                               for i in range(n_clients)]

    def clients(self):
        return list(self.script_clients)

    def start(self, stop):
        for c in self.script_clients:
            c.start(stop)

    def join(self):
        join_clients(self.script_clients, SOCKET_TIMEOUT_S + 5, "script")

    def errors(self):
        return [f"{c.name}: {c.error}" for c in self.script_clients if c.error]

    def key_counts(self):
        """{member: number of script keys in its own keyspace} (SCAN on a
        READONLY connection); a node that cannot be read: its error."""
        out = {}
        for s in self.cluster.member_slots():
            try:
                with s.client(timeout_s=10, readonly=True) as c:
                    out[repr(s)] = sum(1 for _ in c.scan_iter(match=PREFIX + "*", count=1000))
            except redis.RedisError as e:
                out[repr(s)] = f"unread: {type(e).__name__}"
        return out
