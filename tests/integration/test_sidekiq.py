"""Sidekiq, a real job library (Debian's ruby-sidekiq 6.4 on ruby-redis 4.8),
on a 3-node raftcache cluster: jobs pushed with Sidekiq::Client
(tests/clients/sidekiq_push.rb) and run by the `sidekiq` executable
(tests/clients/sidekiq_worker.rb), each job's side effect seen exactly once;
then the same while leadership moves under the worker, the leader killed
(kill -9) or handing over (RAFT.TRANSFER_LEADER), once while the worker is
busy with jobs and once while its fetches are blocked on the empty queue.

How Sidekiq finds the leader. Sidekiq talks to Redis through redis-rb, and
redis-rb 4.8 has a cluster mode: `config.redis = { cluster: [every node] }`.
That is what raftcache tells users of cluster-aware clients to do (README.md):
CLUSTER SLOTS puts every slot on the leader, a follower (or a former leader)
answers -MOVED to the leader, which redis-rb follows, and when a connection
fails redis-rb reloads CLUSTER SLOTS from a node that answers. So the worker
needs no proxy and no restart. When the leader is killed, the fetches in
flight fail, Sidekiq logs "Error fetching job" and fetches again a second
later, and redis-rb's next BRPOP goes to the new leader. On a transfer, a
fetch that meets -MOVED is retried on the new leader by redis-rb without
Sidekiq noticing (the blocked fetches too: the old leader answers them
-MOVED once it knows the new leader); one answered -TRYAGAIN (a fetch
proposed while the transfer is in flight) is a fetch error, retried a
second later. Sidekiq is not made for Redis Cluster
(its MULTIs and pipelines name keys of different slots); it works here
because raftcache is a single shard, so all of those keys live on one node. The
alternatives were a TCP proxy in the test that follows the leader
(something a user would have to build or configure, e.g. HAProxy checking
`role:master`) or restarting the worker with the new leader's address (an
operator's step); the client's own cluster mode is what a user would try
first.

Side effect: each job appends "i jid" to a local file (one O_APPEND write),
so a job run twice shows twice and a job never run not at all, and
recording it cannot fail or be retried with the cluster.

What a change of leader can cost. Open-source Sidekiq 6.4 has only
BasicFetch: BRPOP, at most once; reliable fetch (super_fetch, which moves
each job into a private list until it is done) is Sidekiq Pro's, not in
Debian. A job whose BRPOP was committed but whose reply died with the
leader (or, on a transfer, was answered -TIMEOUT because it was in the log
when the leader stepped down: docs/data-types.md) is lost - with
redis-server too, when a connection drops. So with a fault the test asserts:
every acknowledged push is run exactly once, except jobs whose fetch was in
flight at the fault, which may be lost: at most one per processor thread
(CONCURRENCY), taken from the queue's front at that moment (LPUSH, BRPOP:
first in, first out), so within CONCURRENCY consecutive ids, and behind all
but at most CONCURRENCY - 1 of the jobs done before the fault (a job lost
earlier, or a failed one, is not excused); never a duplicate, never a job
not pushed; the queue ends empty. raftcache answers a pop only once it is
committed, so a fetched job can never come back to be run twice. (Of 44
kills of a busy worker, 3 lost a job, each time the one fetch in flight;
33 transfers lost none; the test prints what it saw.) When the change
comes while every fetch is blocked on the empty queue, no fetch holds a
job, and no job may be lost.

Pushes happen with a stable leader (before the worker starts, or after the
change of leader): a push whose reply is lost would be retried once by
redis-rb (Sidekiq sets reconnect_attempts 1) and could be queued twice, with
Redis as well.

Not exercised: Sidekiq's retry and scheduled sets. Its poller moves due jobs
back to their queue with a Lua script (SCRIPT LOAD / EVALSHA), and raftcache
has no scripting, so pushes turn retries off (a failing job shows as
missing) and the poller, which first runs 10-15 s after start, logs
"unknown command" if a run lasts that long.

Every wait polls with a deadline; the worker is stopped by pid, even on a
failure; its log is attached to a failure.
"""

import collections
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import ROOT, wait_until

RUBY = shutil.which("ruby")
SIDEKIQ = shutil.which("sidekiq")
PUSH_RB = os.path.join(ROOT, "tests", "clients", "sidekiq_push.rb")
WORKER_RB = os.path.join(ROOT, "tests", "clients", "sidekiq_worker.rb")

JOBS = 300
CONCURRENCY = 4  # Sidekiq processor threads: at most this many fetches in flight
QUEUE = "queue:default"
DEADLINE_S = 60  # bounds a hang; nothing asserts how long anything took
QUIET_S = 1.0  # no new job done for this long, the queue empty: the worker is idle
LOG_TAIL_LINES = 120


@pytest.fixture
def sidekiq_installed():
    missing = [name for name, path in (("ruby", RUBY), ("sidekiq", SIDEKIQ)) if path is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not found: `make deps` installs ruby and "
                    "ruby-sidekiq (scripts/deps.sh)")


def nodes_arg(cl):
    return ",".join(nd.addr for nd in cl.nodes)


def ruby_env(**extra):
    """The environment of the Ruby processes: Sidekiq would take a REDIS_URL
    (or REDIS_PROVIDER) of the caller's as its server."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_PROVIDER")}
    env.update(extra)
    return env


def on_leader(cl, fn):
    """fn(client of the agreed leader), or None while there is none or it
    does not answer."""
    ld = cl.agreed_leader(cl.live())
    if ld is None:
        return None
    try:
        with ld.client(socket_timeout=2, socket_connect_timeout=1) as c:
            return fn(c)
    except redis.RedisError:
        return None


class Worker:
    """One `sidekiq` process; its log and the jobs' done file in workdir."""

    def __init__(self, cl, workdir):
        self.log_path = os.path.join(workdir, "sidekiq.log")
        self.done_path = os.path.join(workdir, "done.txt")
        env = ruby_env(RAFTCACHE_NODES=nodes_arg(cl), SIDEKIQ_DONE_FILE=self.done_path)
        self._log = open(self.log_path, "wb")
        # -t: seconds a stopping Sidekiq waits for running jobs before it
        # pushes them back; the queue is empty and jobs take 10 ms when the
        # test stops it.
        self.proc = subprocess.Popen(
            [SIDEKIQ, "-r", WORKER_RB, "-q", "default", "-c", str(CONCURRENCY), "-t", "10"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=workdir, env=env)

    def assert_running(self):
        rc = self.proc.poll()
        assert rc is None, f"sidekiq exited with status {rc}\n{self.log_tail()}"

    def done(self):
        """[(i, jid)] in the order the jobs finished."""
        try:
            with open(self.done_path) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            i, jid = line.split()
            rows.append((int(i), jid))
        return rows

    def stop(self):
        """SIGTERM (Sidekiq's graceful stop) and the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sidekiq did not exit within {DEADLINE_S}s of SIGTERM\n"
                                 f"{self.log_tail()}") from None

    def kill(self):
        """Teardown, by pid, whatever happened."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()

    def log_lines(self):
        with open(self.log_path, errors="replace") as f:
            return f.read().splitlines()

    def log_tail(self):
        return log_tail(self.log_lines())


def log_tail(lines):
    """A Sidekiq log's last lines without job start/done lines or backtraces."""
    keep = [ln for ln in lines
            if not ln.endswith(("INFO: start", "INFO: done")) and not ln.startswith("/")]
    return "--- sidekiq log (job lines and backtraces left out) ---\n" + \
        "\n".join(keep[-LOG_TAIL_LINES:])


def push_jobs(cl, n):
    """Runs sidekiq_push.rb; returns {i: jid} of the acknowledged pushes."""
    out = subprocess.run([RUBY, PUSH_RB, nodes_arg(cl), str(n)], capture_output=True, text=True,
                         timeout=DEADLINE_S, stdin=subprocess.DEVNULL, env=ruby_env())
    assert out.returncode == 0, (f"sidekiq_push.rb exited with status {out.returncode}\n"
                                 f"{out.stderr[-4000:]}")
    pushed = {}
    for line in out.stdout.splitlines():
        i, jid = line.split()
        pushed[int(i)] = jid
    assert sorted(pushed) == list(range(n)), f"pushes acknowledged: {len(pushed)} of {n}"
    assert len(set(pushed.values())) == n, "Sidekiq::Client handed out a jid twice"
    return pushed


def wait_idle(cl, worker):
    """Waits until the queue is empty on the leader and no job finished for
    QUIET_S: every fetched job has run (jobs take 10 ms), so a graceful stop
    has nothing left to push back."""
    state = {"n": -1, "since": time.monotonic()}

    def idle():
        worker.assert_running()
        n = len(worker.done())
        now = time.monotonic()
        if n != state["n"]:
            state["n"], state["since"] = n, now
            return False
        return now - state["since"] >= QUIET_S and on_leader(cl, lambda c: c.llen(QUEUE)) == 0
    wait_until(idle, DEADLINE_S, interval_s=0.1,
               what="the queue to drain and the worker to go idle")


def check_done(pushed, done, log):
    """No duplicate and no job not pushed; returns the ids never run."""
    counts = collections.Counter(i for i, _ in done)
    dups = {i: k for i, k in counts.items() if k > 1}
    assert not dups, f"jobs run more than once (id: times): {dups}\n{log_tail(log)}"
    strangers = [(i, jid) for i, jid in done if pushed.get(i) != jid]
    assert not strangers, \
        f"jobs run that were never pushed (id, jid): {strangers[:10]}\n{log_tail(log)}"
    return sorted(set(pushed) - set(counts))


def heartbeat_seen(cl):
    """Sidekiq's heartbeat (a MULTI over several keys) registered the process."""
    return on_leader(cl, lambda c: c.smembers("processes"))


def move_leadership(cl, fault):
    """kill9: SIGKILL the leader; transfer: RAFT.TRANSFER_LEADER to a
    follower. Returns the old leader once another one is agreed on."""
    old = cl.leader()
    if fault == "kill9":
        cl.kill9(old)
    else:
        target = next(nd for nd in cl.live() if nd is not old)
        with old.client(socket_timeout=10) as c:
            c.execute_command("RAFT.TRANSFER_LEADER", target.node_id)
    cl.wait_leader(not_node=old)
    return old


def blocked_clients(cl):
    return on_leader(cl, lambda c: int(c.info("clients")["blocked_clients"]))


def run_sidekiq(cl, fault=None, when="busy"):
    """Runs a worker until the queue of JOBS jobs drains and stops it
    gracefully. fault (kill9 or transfer) moves leadership: when "busy",
    once a third of the jobs pushed beforehand is done; when "idle", before
    any job is pushed, while the worker's fetches are blocked on the empty
    queue. Returns (pushed, done, jobs done just before the fault, old
    leader, log)."""
    if when == "busy":
        pushed = push_jobs(cl, JOBS)
        assert on_leader(cl, lambda c: c.llen(QUEUE)) == JOBS
    workdir = tempfile.mkdtemp(prefix="raftcache-it-sidekiq-")
    worker = Worker(cl, workdir)
    before_fault = old_leader = None
    try:
        try:
            wait_until(lambda: worker.assert_running() or heartbeat_seen(cl), DEADLINE_S,
                       what="the Sidekiq process in the `processes` set")
            if fault is not None and when == "busy":
                wait_until(lambda: worker.assert_running() or len(worker.done()) >= JOBS // 3,
                           DEADLINE_S, interval_s=0.01, what=f"{JOBS // 3} jobs done")
                before_fault = len(worker.done())
                old_leader = move_leadership(cl, fault)
            if when == "idle":
                # Sidekiq's BRPOPs time out every 2 s and block again at once.
                wait_until(lambda: worker.assert_running() or
                           blocked_clients(cl) == CONCURRENCY, DEADLINE_S,
                           what=f"{CONCURRENCY} fetches blocked on the leader")
                before_fault = 0
                if fault is not None:
                    old_leader = move_leadership(cl, fault)
                pushed = push_jobs(cl, JOBS)
            wait_idle(cl, worker)
            rc = worker.stop()
            assert rc == 0, f"sidekiq exited with status {rc} on SIGTERM"
            left = on_leader(cl, lambda c: c.lrange(QUEUE, 0, -1))
            assert left == [], f"jobs left in (or pushed back to) the queue: {left}"
            return pushed, worker.done(), before_fault, old_leader, worker.log_lines()
        except AssertionError as e:
            raise AssertionError(f"{e}\n{worker.log_tail()}") from None
    finally:
        worker.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def fetch_errors(log):
    """What Sidekiq's fetches met, from its log."""
    errors = collections.Counter(ln.split("Error fetching job: ", 1)[1] for ln in log
                                 if "Error fetching job: " in ln)
    downtimes = [ln.split("INFO: ", 1)[1] for ln in log if "Redis is online" in ln]
    return f"fetch errors {dict(errors)}; {downtimes}"


def test_sidekiq_runs_every_job_exactly_once(make_cluster, sidekiq_installed):
    cl = make_cluster(3)
    pushed, done, _, _, log = run_sidekiq(cl)
    missing = check_done(pushed, done, log)
    assert not missing, f"{len(missing)} of {JOBS} jobs never run: {missing[:20]}\n{log_tail(log)}"
    # A graceful stop takes the process out of Sidekiq's registry.
    assert on_leader(cl, lambda c: c.smembers("processes")) == set()


@pytest.mark.parametrize("fault", ["kill9", "transfer"])
def test_sidekiq_worker_follows_a_new_leader(make_cluster, sidekiq_installed, fault):
    """Leadership moves while the worker runs jobs."""
    cl = make_cluster(3)
    pushed, done, before, old, log = run_sidekiq(cl, fault)
    missing = check_done(pushed, done, log)
    print(f"sidekiq, {fault} of leader {old}: {JOBS} pushed, {before} done before, "
          f"{len(done)} done in all, lost with the fetches in flight: {missing}; "
          f"{fetch_errors(log)}")
    assert before < JOBS - CONCURRENCY, f"the {fault} came too late to matter: {before} done"
    in_flight = (len(missing) <= CONCURRENCY and
                 (not missing or (missing[-1] - missing[0] < CONCURRENCY and
                                  missing[0] > before - CONCURRENCY)))
    assert in_flight, (f"jobs never run: {missing[:20]}; only the fetches in flight at the "
                       f"{fault} may be lost: at most {CONCURRENCY} consecutive ids, from about "
                       f"id {before} ({before} jobs were done before it)\n{log_tail(log)}")


@pytest.mark.parametrize("fault", ["kill9", "transfer"])
def test_sidekiq_blocked_worker_follows_a_new_leader(make_cluster, sidekiq_installed, fault):
    """Leadership moves while every fetch of the worker is blocked on the
    empty queue (a transfer answers them -MOVED, a kill cuts them); the jobs
    pushed afterwards reach the new leader and are all run, exactly once:
    a blocked fetch holds no job, so none may be lost."""
    cl = make_cluster(3)
    pushed, done, _, old, log = run_sidekiq(cl, fault, when="idle")
    missing = check_done(pushed, done, log)
    print(f"sidekiq, {fault} of leader {old} with the worker blocked: {len(done)} of {JOBS} "
          f"done; {fetch_errors(log)}")
    assert not missing, f"{len(missing)} of {JOBS} jobs never run: {missing[:20]}\n{log_tail(log)}"
