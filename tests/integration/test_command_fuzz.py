"""Every command of COMMAND LIST (and every subcommand), called with odd
arguments as an attacker or a buggy client would: none, empty strings,
huge and negative numbers, long strings, keys of every type. The server
must answer each call (an error is fine) and stay up: a crash here once
came from `CLIENT FOO` (a container's unknown subcommand).

Seeded (RAFTCACHE_CMD_FUZZ_SEED, default 1) so a failure replays; the
failing call is in the assertion message. Commands that end the process or
the connection on purpose (SHUTDOWN, QUIT...) are left out, and so are the
Raft membership commands (they change the cluster, not parse input).
"""

import os
import random
import socket

import pytest

from conftest import resp_command

# Called elsewhere with real effects: they would stop the run, not test it.
LEFT_OUT = {"shutdown", "quit", "reset", "monitor", "sync", "psync", "debug", "failover",
            "raft.node", "raft.transfer_leader", "raft.cluster", "raft.auth", "raft.msg",
            "raft.publish", "raftcache.serve", "client|kill", "client|pause", "replicaof",
            "slaveof", "auth"}

ODD_ARGS = [b"", b"0", b"-1", b"1", b"2", b"-9223372036854775808", b"9223372036854775807",
            b"18446744073709551616", b"1e309", b"nan", b"-inf", b"+inf", b"0.5", b"x" * 1000,
            b"*", b"[", b"(", b"+", b"-", b"\x00\xff", b"LIMIT", b"COUNT", b"BY", b"GET",
            b"STORE", b"WITHSCORES", b"EX", b"PX", b"KEEPTTL", b"NX", b"XX", b"LEFT", b"RIGHT",
            b"MATCH", b"TYPE", b"k:str", b"k:list", b"k:hash", b"k:set", b"k:zset", b"k:none"]


def command_names(server):
    """COMMAND LIST: every command and subcommand ("client|list"), minus
    LEFT_OUT (a container there takes its subcommands with it)."""
    names = server.cli("COMMAND", "LIST").split()
    return sorted(n for n in names if n not in LEFT_OUT and n.split("|")[0] not in LEFT_OUT)


def call(port, args, timeout_s=0.5):
    """Sends one command on a fresh connection; returns the first reply
    bytes, or None when nothing came in time (a blocking command)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    try:
        s.sendall(resp_command(*args))
        try:
            return s.recv(65536)
        except socket.timeout:
            return None
    finally:
        s.close()


def seed_keys(c):
    c.delete("k:str", "k:list", "k:hash", "k:set", "k:zset")
    c.set("k:str", "v")
    c.rpush("k:list", "a", "b", "c")
    c.hset("k:hash", mapping={"f": "1", "g": "2"})
    c.sadd("k:set", "a", "b", "1")
    c.zadd("k:zset", {"a": 1, "b": 2})


@pytest.mark.parametrize("round_", range(3))
def test_every_command_with_odd_arguments_keeps_the_server_up(server, round_):
    seed = int(os.environ.get("RAFTCACHE_CMD_FUZZ_SEED", "1")) * 100 + round_
    rng = random.Random(seed)
    c = server.client()
    names = command_names(server)
    assert len(names) > 150
    for name in names:
        words = [w.encode() for w in name.split("|")]
        for _ in range(6):
            seed_keys(c)
            args = words + [rng.choice(ODD_ARGS) for _ in range(rng.randrange(0, 7))]
            reply = call(server.port, args)
            assert c.ping() is True, f"server down after {args!r} (seed {seed})"
            assert reply is None or (reply and reply[:1] in b"+-:$*_,#%~>=(!|"), (args, reply)
