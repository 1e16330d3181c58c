"""The test network: network namespaces, veth links and the cuts between nodes.

Owns everything made with `ip`: one bridge namespace holding a Linux bridge,
one namespace per node slot (each with a veth `eth0` whose peer is a port of
the bridge), and one veth from the root namespace to the bridge so that the
test's clients (in the root namespace) reach every node. All addresses live
in one private /24 chosen per run (10.147.X.0/24, X derived from the pid and
skipped if the root namespace already routes it): the root end is .1, slot k
is .(10 + k).

A cut A -> B is a blackhole route to B's /32 in A's namespace: A's packets
to B are dropped (connect() fails, established connections stall), B's
packets still reach A. A two-way cut is both. Clients in the root namespace
are never cut.

Names carry the run's pid (`rcchaos<pid>-br`, `rcchaos<pid>-s<k>`, root veth
`rcc<pid>`), so concurrent runs do not collide and cleanup_stale() can tell
the leftovers of a crashed run (pid no longer running) from a live run's.
Deleting a namespace destroys its veth ends and so their peers; processes
still inside a namespace are killed first (by pid, from `ip netns pids`).
"""

import os
import signal
import subprocess

PREFIX = "rcchaos"
ROOT_VETH_PREFIX = "rcc"
SUBNET_BASE = "10.147"
CMD_TIMEOUT_S = 10


class NetError(Exception):
    pass


def ip(*args, check=True, ns=None):
    """Runs `ip [-n ns] args...`; returns stdout. Raises NetError on failure
    when check is set."""
    cmd = ["ip"] + (["-n", ns] if ns else []) + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=CMD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise NetError(f"`{' '.join(cmd)}` timed out") from None
    if check and p.returncode != 0:
        raise NetError(f"`{' '.join(cmd)}` failed: {p.stderr.strip()}")
    return p.stdout


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_netns():
    out = ip("netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def kill_ns_processes(ns):
    """SIGKILLs whatever still runs inside ns (it can only be ours)."""
    for tok in ip("netns", "pids", ns, check=False).split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def run_pid_of(name, prefix):
    """The pid embedded in one of our names, or None."""
    if not name.startswith(prefix):
        return None
    digits = name[len(prefix):].split("-")[0]
    return int(digits) if digits.isdigit() else None


def cleanup_stale(log=print):
    """Deletes the namespaces and root veths of earlier runs whose process is
    gone (a crashed or killed run). Live runs' names are left alone."""
    for ns in list_netns():
        pid = run_pid_of(ns, PREFIX)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            log(f"netns: removing stale namespace {ns}")
            kill_ns_processes(ns)
            ip("netns", "del", ns, check=False)
    for line in ip("-o", "link", "show", check=False).splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        pid = run_pid_of(name, ROOT_VETH_PREFIX)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            log(f"netns: removing stale link {name}")
            ip("link", "del", name, check=False)


def pick_subnet(pid):
    """A 10.147.X.0/24 the root namespace does not route yet."""
    routes = ip("-4", "route", "show", "table", "all", check=False)
    for i in range(250):
        x = 1 + (pid + i) % 250
        prefix = f"{SUBNET_BASE}.{x}."
        if prefix not in routes:
            return prefix
    raise NetError(f"no free {SUBNET_BASE}.X.0/24 subnet")


class Network:
    """n_slots node namespaces behind one bridge. Slots are numbered 1..n."""

    def __init__(self, n_slots, log=print):
        self.pid = os.getpid()
        self.log = log
        self.n_slots = n_slots
        self.bridge_ns = f"{PREFIX}{self.pid}-br"
        self.root_veth = f"{ROOT_VETH_PREFIX}{self.pid}"
        self.subnet = None
        self.cuts = set()  # (src_slot, dst_slot)
        self.created = []  # namespaces, in creation order

    def ns(self, slot):
        return f"{PREFIX}{self.pid}-s{slot}"

    def addr(self, slot):
        return f"{self.subnet}{10 + slot}"

    @property
    def client_addr(self):
        return f"{self.subnet}1"

    def create(self):
        self.subnet = pick_subnet(self.pid)
        self._add_ns(self.bridge_ns)
        ip("link", "add", "br0", "type", "bridge", ns=self.bridge_ns)
        ip("link", "set", "br0", "up", ns=self.bridge_ns)
        # Root end: created in the root namespace, its peer moved to the bridge.
        ip("link", "add", self.root_veth, "type", "veth", "peer", "name", "tmp-" + self.root_veth)
        ip("link", "set", "tmp-" + self.root_veth, "netns", self.bridge_ns)
        ip("link", "set", "tmp-" + self.root_veth, "name", "host", ns=self.bridge_ns)
        ip("link", "set", "host", "master", "br0", "up", ns=self.bridge_ns)
        ip("addr", "add", f"{self.client_addr}/24", "dev", self.root_veth)
        ip("link", "set", self.root_veth, "up")
        for slot in range(1, self.n_slots + 1):
            ns = self.ns(slot)
            self._add_ns(ns)
            port = f"s{slot}"
            ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
               ns=self.bridge_ns)
            ip("link", "set", port, "master", "br0", "up", ns=self.bridge_ns)
            ip("addr", "add", f"{self.addr(slot)}/24", "dev", "eth0", ns=ns)
            ip("link", "set", "eth0", "up", ns=ns)
            ip("link", "set", "lo", "up", ns=ns)
        self.log(f"netns: {self.n_slots} node namespaces on {self.subnet}0/24, "
                 f"clients from {self.client_addr}")

    def _add_ns(self, ns):
        ip("netns", "add", ns)
        self.created.append(ns)

    # -- cuts ------------------------------------------------------------------
    def cut(self, src, dst):
        """Drops src's packets to dst (one way)."""
        if (src, dst) in self.cuts or src == dst:
            return
        ip("route", "add", "blackhole", f"{self.addr(dst)}/32", ns=self.ns(src))
        self.cuts.add((src, dst))

    def cut_both(self, a, b):
        self.cut(a, b)
        self.cut(b, a)

    def heal(self):
        """Removes every cut."""
        for src, dst in sorted(self.cuts):
            ip("route", "del", "blackhole", f"{self.addr(dst)}/32", ns=self.ns(src), check=False)
        self.cuts.clear()
        for slot in range(1, self.n_slots + 1):  # belt and braces: none left anywhere
            out = ip("route", "show", "type", "blackhole", ns=self.ns(slot), check=False)
            for line in out.splitlines():
                if line.strip():
                    ip("route", "del", *line.split(), ns=self.ns(slot), check=False)

    def blackholes(self, slot):
        """The blackhole routes currently in slot's namespace (for checks)."""
        return ip("route", "show", "type", "blackhole", ns=self.ns(slot), check=False).split("\n")

    # -- teardown --------------------------------------------------------------
    def teardown(self):
        """Kills what runs inside, deletes every namespace (and so every veth).
        Safe to call twice and after a partial create()."""
        for ns in reversed(self.created):
            kill_ns_processes(ns)
        for ns in reversed(self.created):
            ip("netns", "del", ns, check=False)
        self.created.clear()
        ip("link", "del", self.root_veth, check=False)  # gone with its peer normally
