"""The nemesis: faults on a seeded random schedule, each healed after a few
seconds (2-5 s, then 1-2 s of quiet), every action logged with its time.

Owns the choice of faults (random.Random(seed)), their injection through
netns.Network (cuts) and cluster.Cluster (processes, admin commands), and
heal_all(), which returns the cluster to: no cuts, every wanted slot's node
running and not paused, every wanted node a voter and no other node in the
configuration. One fault at a time; between faults a quiet gap.

Fault kinds:
  partition-halves      random majority/minority split, both ways
  partition-leader      the leader alone on one side
  partition-bridge      two halves that only talk through one node
  partition-ring        majorities ring: each node sees a majority, no two
                        the same (5 nodes); with 3 nodes a one-way ring
  partition-kill        majority/minority split, then kill -9 of a node of
                        the majority (half the time its leader)
  cut-one-way           random one-way cuts, or a deaf or a mute node
  kill-one              kill -9 of one node (sometimes the leader), restart
  kill-leader           kill -9 of the leader, restart
  kill-all              kill -9 of every node at once, restart
  pause-one             SIGSTOP of one node, SIGCONT
  pause-leader          SIGSTOP of the leader, SIGCONT
  member-readd          RAFT.NODE REMOVE of a follower, then that slot joins
                        again (RAFT.CLUSTER JOIN) as a fresh node, same or
                        new id (only while that keeps 3 voters)
  member-replace        a fresh node in the spare slot joins, then a follower
                        is removed and its slot becomes the spare
  transfer-leader       RAFT.TRANSFER_LEADER to a random or the best voter

During the first partition of each kind that leaves a minority, a probe SET
is sent to each minority node and its reply logged: it must not be +OK (a
check that the cut took effect).
"""

import datetime
import random
import threading
import time
from collections import Counter

import redis

from cluster import HarnessError, NoLeader, wait_until

# The schedule deals kinds from a shuffled deck holding each kind this many
# times, reshuffled when empty: every kind comes up once per round (a 90 s
# run sees nearly all), the common ones more often.
FAULT_DECK = [
    ("partition-halves", 2), ("partition-leader", 2), ("partition-bridge", 1),
    ("partition-ring", 1), ("partition-kill", 1), ("cut-one-way", 1), ("kill-one", 2),
    ("kill-leader", 1),
    ("kill-all", 1), ("pause-one", 1), ("pause-leader", 1), ("member-readd", 1),
    ("member-replace", 1), ("transfer-leader", 1),
]
WARMUP_S = 3
QUIESCE_TIMEOUT_S = 5
JOIN_DEADLINE_S = 40


class Nemesis(threading.Thread):
    def __init__(self, cluster, net, seed, run_s, log_file, t0, workers_fn, kinds=None):
        super().__init__(daemon=True, name="nemesis")
        self.cl = cluster
        self.net = net
        self.rng = random.Random(f"{seed}/nemesis")
        self.run_s = run_s
        self.log_file = log_file
        self.t0 = t0
        self.workers_fn = workers_fn   # -> current worker threads (for quiescing)
        self.stop = threading.Event()
        self.counts = Counter()        # kind -> times injected
        self.events = []               # (t, text)
        self.error = None
        self.probed = set()
        self.probes = []               # (node, acknowledged?, reply)
        self.deck = []
        self.kinds = set(kinds) if kinds else None  # None: every kind of FAULT_DECK
        for s in cluster.slots:
            s.wanted = s.node_id is not None

    # -- logging and waiting --------------------------------------------------------
    def log(self, msg):
        t = time.monotonic()
        line = f"{t - self.t0:8.3f} {stamp()}  {msg}"
        self.events.append((t, msg))
        self.log_file.write(line + "\n")
        self.log_file.flush()
        print(f"[nemesis] {line}", flush=True)

    def hold(self, seconds):
        """The fault's own duration (ends early on stop); notices crashes."""
        end = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < end:
            self.stop.wait(min(0.25, max(0, end - time.monotonic())))
            for _, who, rc, _ in self.cl.check_crashes():
                self.log(f"CRASH {who} exited by itself with status {rc}")

    def time_left(self):
        return self.run_s - (time.monotonic() - self.t0)

    # -- main loop ------------------------------------------------------------------
    def run(self):
        try:
            self.hold(WARMUP_S)
            while not self.stop.is_set() and self.time_left() > 4:
                kind = self.pick_kind()
                getattr(self, "f_" + kind.replace("-", "_"))()
                self.heal_all(final=False)
                self.hold(self.rng.uniform(1, 2))
            self.hold(self.time_left())  # no fault starts this close to the end
        except Exception as e:  # noqa: BLE001 - a harness error, reported by run.py
            self.error = f"{type(e).__name__}: {e}"
            self.log(f"HARNESS ERROR: {self.error}")

    def pick_kind(self):
        while True:
            if not self.deck:
                self.deck = [k for k, n in FAULT_DECK for _ in range(n)
                             if self.kinds is None or k in self.kinds]
                self.rng.shuffle(self.deck)
            kind = self.deck.pop()
            if kind == "member-readd" and sum((self.config() or {}).values()) < 4:
                continue  # would leave fewer than 3 voters
            if kind == "member-replace" and not self.spares():
                continue
            return kind

    def duration(self):
        return self.rng.uniform(2, 5)

    def wanted(self):
        return [s for s in self.cl.slots if s.wanted]

    def spares(self):
        return [s for s in self.cl.slots if not s.wanted]

    def leader(self, timeout_s=10):
        try:
            return self.cl.wait_leader(timeout_s)
        except HarnessError:
            return None

    # -- partitions -----------------------------------------------------------------
    def partition(self, kind, groups, why):
        """Cuts every link between different groups, both ways."""
        self.counts[kind] += 1
        for i, a in enumerate(groups):
            for b in groups[i + 1:]:
                for x in a:
                    for y in b:
                        self.net.cut_both(x.index, y.index)
        self.log(f"{kind}: {why}: " + " | ".join(" ".join(map(repr, g)) for g in groups))
        minority = [g for g in groups if 2 * len(g) < len(self.wanted())]
        if minority and kind not in self.probed:
            self.probed.add(kind)
            self.hold(1.5)
            self.probe([s for g in minority for s in g])
        self.hold(self.duration())

    def probe(self, slots):
        for s in slots:
            r = s.command("SET", probe_key(s), str(time.monotonic()), timeout_s=1)
            ok = r is True or r == b"OK"
            self.probes.append((repr(s), ok, str(r)))
            self.log(f"probe: SET on minority node {s} -> "
                     f"{'OK (UNEXPECTED: a minority node committed a write)' if ok else repr(r)}")

    def f_partition_halves(self):
        nodes = self.running()
        self.rng.shuffle(nodes)
        k = self.rng.randint(1, (len(nodes) - 1) // 2)
        self.partition("partition-halves", [nodes[:k], nodes[k:]], "majority/minority")

    def f_partition_kill(self):
        """A majority/minority split, then kill -9 of a majority node (maybe
        its leader) while it lasts: an election inside a partition."""
        nodes = self.running()
        self.rng.shuffle(nodes)
        k = self.rng.randint(1, (len(nodes) - 1) // 2)
        minority, majority = nodes[:k], nodes[k:]
        self.counts["partition-kill"] += 1
        for x in minority:
            for y in majority:
                self.net.cut_both(x.index, y.index)
        self.log(f"partition-kill: {' '.join(map(repr, minority))} | "
                 f"{' '.join(map(repr, majority))}")
        self.hold(self.rng.uniform(1, 2))
        ld = self.cl.leader(majority)
        victim = ld if ld is not None and self.rng.random() < 0.5 else self.rng.choice(majority)
        self.cl.kill9(victim)
        self.log(f"partition-kill: kill -9 {victim}{' (leader)' if victim is ld else ''}")
        self.hold(self.duration())

    def f_partition_leader(self):
        ld = self.leader()
        if ld is None:
            return self.skip("partition-leader", "no leader")
        self.partition("partition-leader", [[ld], [s for s in self.running() if s is not ld]],
                       f"leader {ld} isolated")

    def f_partition_bridge(self):
        nodes = self.running()
        self.rng.shuffle(nodes)
        bridge, rest = nodes[0], nodes[1:]
        half = len(rest) // 2
        a, b = rest[:half], rest[half:]
        self.counts["partition-bridge"] += 1
        for x in a:
            for y in b:
                self.net.cut_both(x.index, y.index)
        self.log(f"partition-bridge: {' '.join(map(repr, a))} | {' '.join(map(repr, b))}, "
                 f"both reach {bridge}")
        self.hold(self.duration())

    def f_partition_ring(self):
        nodes = self.running()
        self.rng.shuffle(nodes)
        n = len(nodes)
        self.counts["partition-ring"] += 1
        if n >= 5:
            reach = (n // 2) // 2  # neighbours each side: itself + 2*reach is a majority
            for i in range(n):
                for j in range(i + 1, n):
                    d = min(j - i, n - (j - i))
                    if d > reach:
                        self.net.cut_both(nodes[i].index, nodes[j].index)
            self.log(f"partition-ring: majorities ring {' - '.join(map(repr, nodes))} "
                     f"(each sees its {reach} neighbours each side)")
        else:
            for i in range(n):
                self.net.cut(nodes[i].index, nodes[(i + 1) % n].index)
            self.log(f"partition-ring: one-way ring, each node cannot send to the next: "
                     f"{' -> '.join(map(repr, nodes + nodes[:1]))}")
        self.hold(self.duration())

    def f_cut_one_way(self):
        nodes = self.running()
        self.counts["cut-one-way"] += 1
        mode = self.rng.choice(["pairs", "deaf", "mute"])
        if mode == "pairs":
            pairs = set()
            for _ in range(self.rng.randint(1, 3)):
                a, b = self.rng.sample(nodes, 2)
                pairs.add((a, b))
            for a, b in pairs:
                self.net.cut(a.index, b.index)
            desc = ", ".join(f"{a}->{b}" for a, b in sorted(pairs, key=lambda p: (p[0].index, p[1].index)))
        else:
            ld = self.leader(5)
            x = ld if ld is not None and self.rng.random() < 0.5 else self.rng.choice(nodes)
            for y in nodes:
                if y is not x:
                    if mode == "deaf":
                        self.net.cut(y.index, x.index)
                    else:
                        self.net.cut(x.index, y.index)
            desc = f"{x}{' (leader)' if x is ld else ''} {'receives' if mode == 'mute' else 'sends'} only"
        self.log(f"cut-one-way: {mode}: {desc}")
        self.hold(self.duration())

    def running(self):
        return [s for s in self.wanted() if s.alive()]

    def skip(self, kind, why):
        self.log(f"{kind}: skipped ({why})")

    # -- processes ------------------------------------------------------------------
    def f_kill_one(self):
        ld = self.leader(5)
        nodes = self.running()
        s = ld if ld is not None and self.rng.random() < 0.4 else self.rng.choice(nodes)
        self.counts["kill-one"] += 1
        self.cl.kill9(s)
        self.log(f"kill-one: kill -9 {s}{' (leader)' if s is ld else ''}")
        self.hold(self.duration())

    def f_kill_leader(self):
        ld = self.leader()
        if ld is None:
            return self.skip("kill-leader", "no leader")
        self.counts["kill-leader"] += 1
        self.cl.kill9(ld)
        self.log(f"kill-leader: kill -9 {ld} (leader)")
        self.hold(self.duration())

    def f_kill_all(self):
        self.counts["kill-all"] += 1
        for s in self.running():
            self.cl.kill9(s)
        self.log("kill-all: kill -9 of every node")
        self.hold(self.rng.uniform(0.5, 3))

    def f_pause_one(self):
        s = self.rng.choice(self.running())
        self.pause("pause-one", s, "")

    def f_pause_leader(self):
        ld = self.leader()
        if ld is None:
            return self.skip("pause-leader", "no leader")
        self.pause("pause-leader", ld, " (leader)")

    def pause(self, kind, s, note):
        self.counts[kind] += 1
        self.cl.pause(s)
        self.log(f"{kind}: SIGSTOP {s}{note}")
        self.hold(self.duration())

    # -- leadership -----------------------------------------------------------------
    def f_transfer_leader(self):
        ld = self.leader()
        if ld is None:
            return self.skip("transfer-leader", "no leader")
        others = [s for s in self.running() if s is not ld]
        target = self.rng.choice(others + [None])
        self.counts["transfer-leader"] += 1
        args = ["RAFT.TRANSFER_LEADER"] + ([target.node_id] if target else [])
        r = ld.command(*args, timeout_s=5)
        self.log(f"transfer-leader: {ld} -> {target or 'best voter'}: {r!r}")
        new = None
        try:
            new = wait_until(lambda: self.leader_other_than(ld), 5, what="a new leader")
        except HarnessError:
            pass
        self.log(f"transfer-leader: leader now {new or 'unchanged/unknown'}")
        self.hold(self.rng.uniform(1, 2))

    def leader_other_than(self, old):
        ld = self.cl.leader()
        return ld if ld is not None and ld is not old else None

    # -- membership -----------------------------------------------------------------
    def config(self):
        """{node_id: voting} per the leader, or None."""
        try:
            return self.cl.configuration(timeout_s=10)[1]
        except HarnessError:
            return None

    def quiesce(self, s):
        """Waits until no client op is in flight to slot s (s already left
        the members, so no new op goes there)."""
        try:
            wait_until(lambda: all(w.current_slot is not s for w in self.workers_fn()),
                       QUIESCE_TIMEOUT_S, interval_s=0.05, what=f"client ops on {s} to end")
        except HarnessError as e:
            self.log(f"warning: {e}")

    def remove(self, s, kind):
        """Takes s out of the client members and the configuration, kills it
        and wipes its dir. False if the removal did not take effect."""
        self.cl.set_member(s, False)
        self.quiesce(s)
        node_id = s.node_id
        ld = self.leader()
        if ld is None:
            self.cl.set_member(s, True)
            self.log(f"{kind}: removal of {s} skipped (no leader)")
            return False
        r = ld.command("RAFT.NODE", "REMOVE", node_id, timeout_s=8)
        self.log(f"{kind}: RAFT.NODE REMOVE {node_id} on {ld}: {r!r}")
        refused = isinstance(r, redis.ResponseError) and not str(r).startswith("TIMEOUT")
        try:
            wait_until(lambda: (lambda c: c is not None and node_id not in c)(self.config()),
                       1 if refused else 15, interval_s=0.2,
                       what=f"node {node_id} to leave the configuration")
        except HarnessError as e:
            self.log(f"{kind}: {e}; {s} stays a member")
            self.cl.set_member(s, True)
            return False
        self.cl.kill9(s)
        self.cl.wipe(s)
        s.wanted = False
        self.log(f"{kind}: {s} removed, killed, dir wiped")
        return True

    def join_fresh(self, s, node_id, kind, interruptible=True):
        """Starts a fresh node with node_id in slot s (no cluster-members) and
        JOINs it; True once it is a voter (then it is a client member).
        interruptible: gives up when the run's time is over."""
        s.node_id = node_id
        s.members_arg = None
        s.wanted = True
        self.cl.wipe(s)
        self.cl.launch(s)
        if not self.cl.wait_ping(s):
            for _, who, rc, _ in self.cl.check_crashes():
                self.log(f"CRASH {who} exited with status {rc} while starting fresh")
            return False
        deadline = time.monotonic() + JOIN_DEADLINE_S
        while time.monotonic() < deadline and not (interruptible and self.stop.is_set()):
            conf = self.config() or {}
            if conf.get(node_id) is True:
                self.cl.set_member(s, True)
                self.log(f"{kind}: {s} is a voter")
                return True
            if node_id not in conf:
                addrs = [m.addr for m in self.cl.member_slots()]
                r = s.command("RAFT.CLUSTER", "JOIN", *addrs, timeout_s=10)
                self.log(f"{kind}: RAFT.CLUSTER JOIN {' '.join(addrs)} on {s}: {r!r}")
            if interruptible:
                self.hold(0.5)
            else:
                time.sleep(0.5)  # poll interval of this deadline loop
        self.log(f"{kind}: {s} did not become a voter within {JOIN_DEADLINE_S}s")
        return False

    def new_id(self):
        i = self.cl.next_id
        self.cl.next_id += 1
        return i

    def follower(self, exclude=None):
        ld = self.leader()
        conf = self.config() or {}
        cands = [s for s in self.running()
                 if s is not ld and s is not exclude and conf.get(s.node_id)]
        return self.rng.choice(cands) if cands else None

    def f_member_readd(self):
        s = self.follower()
        if s is None:
            return self.skip("member-readd", "no follower")
        self.counts["member-readd"] += 1
        old = s.node_id
        if not self.remove(s, "member-readd"):
            return
        node_id = old if self.rng.random() < 0.5 else self.new_id()
        self.log(f"member-readd: slot {s.index} rejoins as a fresh node with id {node_id}")
        self.join_fresh(s, node_id, "member-readd")

    def f_member_replace(self):
        spare = self.rng.choice(self.spares())
        self.counts["member-replace"] += 1
        node_id = self.new_id()
        self.log(f"member-replace: fresh node {node_id} in spare slot {spare.index} joins")
        if not self.join_fresh(spare, node_id, "member-replace"):
            return
        victim = self.follower(exclude=spare)
        if victim is None:
            return self.skip("member-replace", "no follower to remove")
        self.remove(victim, "member-replace")

    # -- healing --------------------------------------------------------------------
    def heal_all(self, final=True):
        """No cuts, every wanted node running and continued, the
        configuration equal to the wanted nodes (as voters)."""
        if self.net.cuts:
            self.net.heal()
            self.log("heal: every cut removed")
        for s in self.cl.slots:
            if s.paused:
                self.cl.resume(s)
                self.log(f"heal: SIGCONT {s}")
        for _, who, rc, _ in self.cl.check_crashes():
            self.log(f"CRASH {who} exited by itself with status {rc}")
        restarted = []
        for s in self.wanted():
            if not s.alive():
                self.cl.launch(s)
                restarted.append(s)
        for s in restarted:
            if not self.cl.wait_ping(s):
                for _, who, rc, _ in self.cl.check_crashes():
                    self.log(f"CRASH {who} exited with status {rc} while restarting")
        if restarted:
            self.log(f"heal: restarted {' '.join(map(repr, restarted))}")
        if final:
            self.reconcile_membership()

    def reconcile_membership(self):
        """After the run: wanted nodes that are not voters join again (fresh),
        configuration entries of no wanted node are removed."""
        for _ in range(3):
            conf = self.config()
            if conf is None:
                raise NoLeader("no leader after healing")
            wanted_ids = {s.node_id for s in self.wanted()}
            if set(conf) == wanted_ids and all(conf.values()):
                return
            self.log(f"heal: configuration {conf} differs from the wanted nodes {sorted(wanted_ids)}")
            for node_id in set(conf) - wanted_ids:
                ld = self.leader()
                r = ld.command("RAFT.NODE", "REMOVE", node_id, timeout_s=8) if ld else "no leader"
                self.log(f"heal: RAFT.NODE REMOVE {node_id}: {r!r}")
            for s in self.wanted():
                if s.node_id not in conf:
                    self.cl.set_member(s, False)
                    self.cl.kill9(s)
                    self.join_fresh(s, s.node_id, "heal", interruptible=False)
            try:
                wait_until(lambda: (lambda c: c is not None and all(c.get(i) for i in wanted_ids))(
                    self.config()), 20, interval_s=0.3, what="wanted nodes to be voters")
            except HarnessError as e:
                self.log(f"heal: {e}")
        raise HarnessError("could not restore the configuration to the wanted nodes")


def stamp():
    """Wall-clock time as the node logs print it (to line the two up)."""
    return datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]


def probe_key(s):
    return f"probe:{s.index}:{s.generation}"


def describe_counts(counts):
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

