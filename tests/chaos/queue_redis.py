#!/usr/bin/python3
"""The queue workload's clients against a standalone redis-server: no
cluster, no nemesis, no root. Checks the client loop itself (threads,
sockets, BLMOVE's real blocking and replies) and that it yields a history
queue_checker.py passes - or fails, when a bug is injected behind its back.

    /usr/bin/python3 tests/chaos/queue_redis.py [--time 20] [--faults]
        [--bug lose|duplicate|ghost] [--seed N] [--out DIR] [--redis-server PATH]
    make chaos-queue-redis

Starts redis-server (Debian's 7.0 has LPUSH, BLMOVE, LREM) on a free
loopback port with a temporary dir and no persistence, runs
queue_workload.py's producers and consumers for --time seconds, drains,
reads every list, checks. --faults: now and then every client connection is
killed (CLIENT KILL TYPE normal) or every client paused past the consumers'
socket timeout (CLIENT PAUSE), so outcomes are unknown and consumers restart
and recover their lists. --bug: once, behind the clients' backs, a pending
job is removed (lose), a done job is pushed again (duplicate), or a job
nobody pushed is (ghost); the checker must then fail. The server is stopped
by its pid on every way out.

Exit status: 0 the verdict expected (valid without --bug, invalid with
it), 1 not, 2 a harness error.
"""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import queue_checker  # noqa: E402
from cluster import HarnessError, wait_until  # noqa: E402
from queue_workload import PENDING, QueueWorkload, missing_commands  # noqa: E402

START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 5


class Slot:
    """The one node: what queue_workload's clients need of a cluster slot."""

    index = 1

    def __init__(self, port):
        self.host, self.port = "127.0.0.1", port
        self.addr = f"{self.host}:{self.port}"

    def __repr__(self):
        return f"redis@{self.addr}"

    def client(self, timeout_s=2):
        return redis.Redis(host=self.host, port=self.port, socket_timeout=timeout_s,
                           socket_connect_timeout=1)


class OneNode:
    """A "cluster" of one redis-server that is always its leader."""

    def __init__(self, slot):
        self.lock = threading.Lock()
        self.slot = slot
        self.members = {slot}

    def member_slots(self):
        return [self.slot]

    def slot_by_addr(self, addr):
        return self.slot if addr == self.slot.addr else None

    def leader(self):
        return self.slot


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(binary, tmp):
    port = free_port()
    log = open(os.path.join(tmp, "redis.log"), "ab")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", tmp, "--protected-mode", "no", "--daemonize", "no"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    slot = Slot(port)

    def up():
        if proc.poll() is not None:
            raise HarnessError(f"redis-server exited with status {proc.returncode}")
        try:
            with slot.client(1) as c:
                return c.ping()
        except redis.RedisError:
            return False

    try:
        wait_until(up, START_TIMEOUT_S, what="redis-server to answer PING")
    except BaseException:
        stop_redis(proc)
        raise
    return proc, slot


def stop_redis(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


class Meddler(threading.Thread):
    """Client-side faults (--faults) and the injected bug (--bug)."""

    def __init__(self, slot, qw, rng, faults, bug, stop, log):
        super().__init__(daemon=True, name="meddler")
        self.slot, self.qw, self.rng = slot, qw, rng
        self.faults, self.bug, self.stop = faults, bug, stop
        self.log = log
        self.counts = {"kill": 0, "pause": 0}
        self.bug_done = None
        self.error = None

    def run(self):
        try:
            with self.slot.client(8) as c:
                self.stop.wait(2)
                while not self.stop.is_set():
                    if self.faults:
                        self.fault(c)
                    if self.bug and not self.bug_done:
                        self.inject(c)
                    self.stop.wait(self.rng.uniform(2, 4))
        except Exception as e:  # noqa: BLE001 - reported as a harness error
            self.error = repr(e)

    def fault(self, c):
        if self.rng.random() < 0.5:
            n = c.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            self.counts["kill"] += 1
            self.log(f"CLIENT KILL TYPE normal: {n} connection(s)")
        else:
            ms = self.rng.randint(1500, 4000)
            c.execute_command("CLIENT", "PAUSE", ms, "ALL")
            self.counts["pause"] += 1
            self.log(f"CLIENT PAUSE {ms} ALL")
            self.stop.wait(ms / 1000)

    def inject(self, c):
        if self.bug == "lose":
            # A rogue consumer: blocked clients are served in turn, so within
            # a few pushes one is its, and nobody ever sees it again.
            got = c.brpop(PENDING, timeout=2)
            if got is not None:
                self.bug_done = f"took pending job {got[1].decode()!r} away"
        elif self.bug == "duplicate":
            done = [ev["job"] for ev in self.qw.history.snapshot() if ev.get("f") == "done"]
            if done:
                job = self.rng.choice(done)
                c.lpush(PENDING, job)
                self.bug_done = f"pushed done job {job!r} again"
        elif self.bug == "ghost":
            c.lpush(PENDING, "ghost")
            self.bug_done = "pushed job 'ghost', which no producer pushed"
        if self.bug_done:
            self.log(f"BUG INJECTED: {self.bug_done}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--faults", action="store_true", help="kill and pause client connections")
    ap.add_argument("--bug", choices=("lose", "duplicate", "ghost"), default=None)
    ap.add_argument("--out", default=None, help="dir for queue-history.jsonl")
    ap.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    args = ap.parse_args()
    t0 = time.monotonic()

    def log(msg):
        print(f"[queue-redis] {time.monotonic() - t0:7.2f}  {msg}", flush=True)

    tmp = tempfile.mkdtemp(prefix="queue-redis-")
    proc = None
    stop = threading.Event()
    meddler = None
    try:
        proc, slot = start_redis(args.redis_server, tmp)
        log(f"redis-server pid {proc.pid} on {slot.addr}")
        missing = missing_commands(slot)
        if missing:
            raise HarnessError(f"redis-server does not know {missing}")
        qw = QueueWorkload(OneNode(slot), args.seed, log=log)
        meddler = Meddler(slot, qw, random.Random(f"{args.seed}/meddler"), args.faults,
                          args.bug, stop, log)
        qw.start(stop)
        meddler.start()
        stop.wait(args.time)
        stop.set()
        meddler.join(10)
        qw.join()
        if args.bug and not meddler.bug_done:
            raise HarnessError(f"--bug {args.bug} found nothing to act on in {args.time:g}s")
        errors = qw.errors() + ([f"meddler: {meddler.error}"] if meddler.error else [])
        if errors:
            raise HarnessError("; ".join(errors))
        log(f"workload stopped: {len(qw.history.events)} events; faults {meddler.counts}")
        drained, detail = qw.drain(timeout_s=60)
        log(f"drain: {'done' if drained else 'NOT DONE'}: {detail}")
        qw.history.close()
        unread = qw.final_reads("after drain", timeout_s=20)
        if unread:
            raise HarnessError(f"could not read {unread}")
        events = qw.history.snapshot()
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            qw.history.write_jsonl(os.path.join(args.out, "queue-history.jsonl"))
        result = queue_checker.check(events)
        t_first = events[0]["time"] if events else None
        print(queue_checker.format_report(result, t_first), flush=True)
    except (HarnessError, redis.RedisError, OSError) as e:
        print(f"queue-redis: harness error: {e}", file=sys.stderr, flush=True)
        return 2
    finally:
        stop.set()
        if proc is not None:
            stop_redis(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    expected = (not result["valid"]) if args.bug else (result["valid"] and drained)
    log(f"checker: {'valid' if result['valid'] else 'INVALID'}, drained: {drained}"
        f"{', bug ' + args.bug if args.bug else ''}: "
        f"{'as expected' if expected else 'NOT AS EXPECTED'}")
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
