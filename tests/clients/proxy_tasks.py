"""Jobs for the Python job queues that tests/integration/test_proxy_frameworks.py
runs through a follower's proxy: RQ imports `double` by name; Celery's app
(`app`) reads its broker and result backend from RAFTCACHE_BROKER_URL."""
import os

from celery import Celery


def double(x):
    return 2 * x


app = Celery("proxy_tasks", broker=os.environ.get("RAFTCACHE_BROKER_URL", "redis://"),
             backend=os.environ.get("RAFTCACHE_BROKER_URL", "redis://"))
app.conf.broker_connection_retry_on_startup = True


@app.task(name="proxy_tasks.double")
def celery_double(x):
    return double(x)
