"""COMMAND against redis-server 7.0: the keys, and where they are.

Cluster clients and tools find a command's keys from COMMAND INFO's key
specs or COMMAND GETKEYS(ANDFLAGS). Every invocation of the follower-proxy
script (tests/integration/test_proxy_replies.py, which covers every command
that reads or writes the keyspace) must give raftcache the keys and flags
it gives redis-server, through GETKEYS and GETKEYSANDFLAGS, and the same key
specs where a command's keys have fixed positions (where a hook finds
them, raftcache's specs say unknown and incomplete). And every command of redis-server's table is raftcache's
or named, with its reason, in docs/compatibility.md.
"""

import os
import re

import pytest
import redis

from conftest import ROOT
from test_proxy_replies import SCRIPT


def pairs(flat):
    """A map as RESP2 sends it (key, value, key, value...) as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


def keys_by_spec(spec, argv):
    """The keys a client finds in argv (name first) from one key spec of
    type index/range, as a cluster client would."""
    spec = pairs(spec)
    bs, fk = pairs(spec["begin_search"]), pairs(spec["find_keys"])
    bs["spec"], fk["spec"] = pairs(bs["spec"]), pairs(fk["spec"])
    assert bs["type"] == "index" and fk["type"] == "range", spec
    first = bs["spec"]["index"]
    last = fk["spec"]["lastkey"]
    last = len(argv) + last if last < 0 else first + last
    return [argv[i] for i in range(first, last + 1, fk["spec"]["keystep"])]


def row(specs, argv):
    """The flags and key specs of argv's command (its subcommand's, for a
    container such as XGROUP: COMMAND lists those as plain rows)."""
    info = specs[argv[0].lower()]
    full = f"{argv[0]}|{argv[1]}".lower() if len(argv) > 1 else None
    for sub in info.get("subcommands") or []:
        if sub[0] == full:
            return sub[2], sub[8]
    return info["flags"], info["key_specifications"]


def getkeys(c, argv, flags=False):
    try:
        return c.execute_command("COMMAND", "GETKEYSANDFLAGS" if flags else "GETKEYS", *argv)
    except redis.ResponseError as e:
        return f"error: {e}"


def client(port):
    """A client whose COMMAND subcommands' replies come as sent (redis-py
    reads every COMMAND reply as COMMAND's table); command() still parses."""
    c = redis.Redis(port=port, decode_responses=True)
    parse = c.response_callbacks["COMMAND"]
    c.set_response_callback("COMMAND", lambda r, **kw: parse(r, **kw) if kw.get("table") else r)
    return c


@pytest.fixture
def pair(server, redis_reference):
    ours, theirs = client(server.port), client(redis_reference().port)
    yield ours, theirs
    ours.close()
    theirs.close()


def table(c):
    return c.execute_command("COMMAND", table=True)


def spec_dict(spec):
    """One key spec as nested dicts, its flags as a set."""
    d = pairs(spec)
    out = {"flags": set(d["flags"])}
    for part in ("begin_search", "find_keys"):
        p = pairs(d[part])
        out[part] = {"type": p["type"], "spec": pairs(p["spec"])}
    return out


def test_keys_are_redis_keys(pair):
    ours, theirs = pair
    specs, their_specs = table(ours), table(theirs)
    checked = 0
    for cmd in SCRIPT:
        argv = [str(a) if a != "{other}" else "3" for a in cmd]
        want = getkeys(theirs, argv)
        if isinstance(want, str) and "no key arguments" in want:
            continue
        got = getkeys(ours, argv)
        assert got == want, f"{argv}: GETKEYS {got!r}, redis-server {want!r}"
        if isinstance(want, str):
            continue
        got_flags = [(k, set(f)) for k, f in getkeys(ours, argv, flags=True)]
        want_flags = [(k, set(f)) for k, f in getkeys(theirs, argv, flags=True)]
        assert got_flags == want_flags, f"{argv}: GETKEYSANDFLAGS {got_flags}, redis-server {want_flags}"
        flags, spec = row(specs, argv)
        if "movablekeys" in flags:
            assert all("incomplete" in pairs(sp)["flags"] for sp in spec), argv
        else:
            assert [spec_dict(sp) for sp in spec] == [
                spec_dict(sp) for sp in row(their_specs, argv)[1]], f"{argv}: key specs"
            if len(spec) == 1:
                assert keys_by_spec(spec[0], argv) == want, f"{argv}: key spec {spec}"
        checked += 1
    assert checked > 150


def test_every_redis_command_is_offered_or_documented(pair):
    ours, theirs = pair
    missing = set(table(theirs)) - set(table(ours))
    with open(os.path.join(ROOT, "docs", "compatibility.md")) as f:
        text = f.read()
    section = text[text.index("Redis 7.0's commands that raftcache does not offer"):]
    listed = set()
    for row in section.split("\n\n")[1].splitlines()[2:]:
        listed |= {w.lower() for w in re.findall(r"`([A-Z-]+)`", row.split("|")[1])}
    assert missing == listed
    assert ours.execute_command("COMMAND", "COUNT") == len(table(ours))
