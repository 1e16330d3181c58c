"""Builds Jepsen-style histories by hand for the checkers' unit tests
(test_checker.py, test_cache_checker.py, test_stream_checker.py,
test_script_checker.py), so that each test states the ops it means and the
verdict it expects, with no cluster.

The events are the ones workload.py's History records and the checkers read
(the format is in checker.py's docstring): an invoke is
{"type": "invoke", "process", "f", "time", ...op fields}, and its completion
(History.complete) has the same process and f, a type of "ok", "fail" or
"info", the invoke's fields again and the result on top. A process has at
most one op open. Times are made up, 10 ms apart from 100.0, so that a
history is always the same; the checkers take real-time order from the
events' positions and show "time" only in reports.

HistoryBuilder holds the bookkeeping; each test file subclasses it with the
shorthands of its workload (write, read, take, eval...) and, where its
histories differ, overrides a hook: carried() (the fields a completion
repeats) or errors (the error a fail or an info carries).
"""


class HistoryBuilder:
    """h.invoke(p, f, ...) then h.ok(p, ...) / h.fail(p) / h.info(p); every
    call returns the builder, so a history is one chain. h.events is the
    history; h.open maps a process to its open op, (f, fields), for a test
    that completes ops itself or leaves one open."""

    # The "error" field of a fail or an info completion, by type: the real
    # workloads record the client's error there; none unless a checker
    # reads it.
    errors = {}

    def __init__(self):
        self.events = []
        self.open = {}

    def _emit(self, typ, p, f, fields):
        ev = {"type": typ, "process": p, "f": f, "time": 100.0 + len(self.events) * 0.01}
        ev.update(fields)
        self.events.append(ev)

    def carried(self, f, fields):
        """The fields of the invoke of f that its completion repeats: all of
        them, as History.complete does."""
        return dict(fields)

    def invoke(self, p, f, **fields):
        self.open[p] = (f, fields)
        self._emit("invoke", p, f, fields)
        return self

    def _complete(self, typ, p, **result):
        f, fields = self.open.pop(p)
        done = self.carried(f, fields)
        if typ in self.errors:
            done["error"] = self.errors[typ]
        done.update(result)
        self._emit(typ, p, f, done)
        return self

    def ok(self, p, **result):
        return self._complete("ok", p, **result)

    def fail(self, p):
        return self._complete("fail", p)

    def info(self, p):
        return self._complete("info", p)
