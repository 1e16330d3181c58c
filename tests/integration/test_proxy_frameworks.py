"""Job queues and their workers on followers, with raft-follower-proxy on:
RQ, Celery, Sidekiq's API, BullMQ and bee-queue connect to followers as
plain clients (none follows -MOVED) and must work as on the leader. They
use what a follower used to refuse: MULTI/EXEC, WATCH, blocking pops
(BLPOP, BRPOP, BRPOPLPUSH, BZPOPMIN) and XREAD BLOCK.

The producer and the worker connect to two different followers, so every
job crosses the leader. Each run is bounded (a subprocess timeout, a
result timeout); nothing asserts on how long it took.
"""

import os
import subprocess
import sys

import pytest
import redis

from conftest import CLIENTS_DIR, node_bin, node_modules

PROXY = {"raft-follower-proxy": "yes"}
N = 20
RUN_TIMEOUT_S = 120


@pytest.fixture
def followers(make_cluster):
    """The ports of the two followers of a 3-node cluster with the proxy."""
    cl = make_cluster(3, PROXY)
    a, b = cl.followers()
    return a.port, b.port


def python_env(**extra):
    env = dict(os.environ, PYTHONPATH=CLIENTS_DIR, **extra)
    return env


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, **kw)
    assert p.returncode == 0, f"{cmd[:4]} exited {p.returncode}:\n{p.stdout[-3000:]}{p.stderr[-3000:]}"
    return p.stdout


def test_redis_py_pipelines(followers):
    producer, _ = followers
    c = redis.Redis(port=producer, socket_timeout=30)
    with c.pipeline() as pipe:  # transaction=True: MULTI/EXEC
        for i in range(N):
            pipe.hset(f"h{i}", mapping={"a": i, "b": 2 * i}).expire(f"h{i}", 3600)
        assert pipe.execute() == [2, True] * N
    with c.pipeline(transaction=False) as pipe:
        for i in range(N):
            pipe.hgetall(f"h{i}")
        assert pipe.execute() == [{b"a": b"%d" % i, b"b": b"%d" % (2 * i)} for i in range(N)]


def test_rq(followers):
    import rq
    producer, worker = followers
    sys.path.insert(0, CLIENTS_DIR)
    try:
        q = rq.Queue("proxied", connection=redis.Redis(port=producer, socket_timeout=30))
        jobs = [q.enqueue("proxy_tasks.double", i) for i in range(N)]
        after = q.enqueue("proxy_tasks.double", 100, depends_on=jobs[0])  # WATCH, MULTI
        # not --burst: the worker waits on BLPOP and stops after the jobs
        run([sys.executable, "-m", "rq.cli", "worker", "--url", f"redis://127.0.0.1:{worker}",
             "--max-jobs", str(N + 1), "proxied"], env=python_env())
        for j in jobs + [after]:
            j.refresh()
        assert [j.get_status() for j in jobs + [after]] == ["finished"] * (N + 1)
        assert [j.result for j in jobs] == [2 * i for i in range(N)]
        assert after.result == 200
    finally:
        sys.path.remove(CLIENTS_DIR)


def test_celery(followers):
    producer, worker = followers
    env = python_env(RAFTCACHE_BROKER_URL=f"redis://127.0.0.1:{producer}/0")
    send = ("import proxy_tasks\n"
            f"rs = [proxy_tasks.celery_double.delay(i) for i in range({N})]\n"
            f"print(sum(r.get(timeout={RUN_TIMEOUT_S // 2}) for r in rs))\n")
    w = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proxy_tasks", "worker", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=CLIENTS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=python_env(RAFTCACHE_BROKER_URL=f"redis://127.0.0.1:{worker}/0"))
    try:
        out = run([sys.executable, "-c", send], cwd=CLIENTS_DIR, env=env)
        assert out.split() == [str(N * (N - 1))]
    finally:
        w.terminate()
        try:
            log = w.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            w.kill()
            log = w.communicate()[0]
    assert "Unrecoverable error" not in log and "MOVED" not in log, log[-3000:]


def test_sidekiq_api(followers):
    producer, _ = followers
    assert run(["ruby", os.path.join(CLIENTS_DIR, "sidekiq_api.rb"),
                f"127.0.0.1:{producer}", str(N)]).split() == ["ok"]


@pytest.mark.parametrize("lib", ["bullmq", "bee-queue"])
def test_node_job_queues(followers, lib):
    node_modules()
    producer, worker = followers
    out = run([node_bin(), os.path.join(CLIENTS_DIR, "queues_proxy.js"), lib, str(producer),
               str(worker), str(N)], cwd=CLIENTS_DIR)
    assert out.split()[-2:] == ["ok", str(N * (N - 1))], out
