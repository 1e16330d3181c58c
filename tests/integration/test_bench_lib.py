"""scripts/bench-lib.sh's CPU-per-request helpers (make bench and make
bench-cluster print their table): ticks read from /proc, added up per test
and server, turned into microseconds per request and ratios.
"""

import os
import signal
import subprocess
import time

from conftest import ROOT

BENCH_LIB = os.path.join(ROOT, "scripts", "bench-lib.sh")


def bench_lib(script, *args):
    """Runs script after sourcing bench-lib.sh; returns its stdout."""
    proc = subprocess.run(["bash", "-c", f'. "{BENCH_LIB}"; {script}', "bench-lib",
                           *map(str, args)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def ticks(*pids):
    return int(bench_lib('bench_cpu_ticks "$@"', *pids))


def test_cpu_ticks_follow_a_busy_process_and_count_a_gone_one_as_zero():
    busy = subprocess.Popen(["bash", "-c", "while :; do :; done"], start_new_session=True)
    try:
        first = ticks(busy.pid)
        deadline = time.monotonic() + 30
        while ticks(busy.pid) < first + 5:
            assert time.monotonic() < deadline, "a spinning process gained no CPU ticks"
            time.sleep(0.05)
        # Two processes add up; one that does not exist adds nothing.
        assert ticks(busy.pid, busy.pid) >= 2 * (first + 5)
    finally:
        os.killpg(busy.pid, signal.SIGKILL)
        busy.wait()
    assert ticks(busy.pid) == 0


def test_cpu_per_request_adds_rounds_up():
    hz = int(bench_lib("echo $CLK_TCK"))
    out = bench_lib(f"""declare -A CPU_T CPU_N
        bench_cpu_add "SET,redis" {hz // 2} 100000
        bench_cpu_add "SET,redis" {hz // 2} 100000
        bench_cpu_add "SET,raftcache" {hz} 100000
        bench_cpu_us "SET,redis"; bench_cpu_us "SET,raftcache"; bench_cpu_us "GET,redis"
        bench_cpu_ratio "SET,raftcache" "SET,redis"; bench_cpu_ratio "GET,raftcache" "SET,redis"
    """)
    # one second of CPU for 200000 requests, then for 100000
    assert out.split("\n") == ["5.00", "10.00", "-", "2.00", "-"]


def test_cpu_is_not_counted_for_tests_that_fill_their_data():
    out = bench_lib('for t in set lpush lrange_100 lrange_600 lmove xreadgroup xadd; do '
                    'bench_cpu_counts "$t" && echo "$t yes" || echo "$t no"; done')
    assert out.split("\n") == ["set yes", "lpush yes", "lrange_100 no", "lrange_600 no",
                               "lmove no", "xreadgroup no", "xadd yes"]
