"""rename-command as Redis's, on the client port only (src/cmd/rename.h):
clients call a renamed command by its new name only, one taken away
(renamed to "") is unknown, and the directives apply in file order; the
Raft log, the peer links, scripts and ACL rules keep the commands' own
names, so nodes renaming differently still replicate the same writes.

No sleeps: every wait polls with a deadline (conftest.wait_until).
"""

import pytest
import redis

from conftest import config_text, wait_until
from test_security import error_of, start_refused

DEADLINE_S = 60


def renamed_server(start_server, lines):
    srv = start_server(start=False)
    with open(srv.conf_path, "a") as f:
        f.write(config_text([("rename-command",) + tuple(pair) for pair in lines]))
    srv.start()
    return srv


def test_renamed_and_taken_away(start_server):
    srv = renamed_server(start_server, [("CONFIG", "RCCONFIG"), ("FLUSHALL", ""),
                                        ("SET", ""), ("GET", "SET")])
    c = srv.client(decode_responses=True)
    c.response_callbacks.clear()  # replies as sent: SET answers as GET here
    # the own name of a renamed or taken-away command is unknown
    assert error_of(c.execute_command, "CONFIG", "GET", "port") == \
        "unknown command 'CONFIG', with args beginning with: 'GET' 'port' "
    assert error_of(c.execute_command, "flushall").startswith("unknown command 'flushall'")
    # the new name runs the command; in file order, SET now means GET
    assert c.execute_command("RCCONFIG", "GET", "port") == ["port", str(srv.port)]
    assert c.execute_command("rcconfig", "get", "port") == ["port", str(srv.port)]
    assert c.execute_command("MSET", "k", "v") == "OK"
    assert c.execute_command("SET", "k") == "v"
    assert "wrong number of arguments for 'get' command" in \
        error_of(c.execute_command, "SET", "k", "x")
    # a transaction naming a command taken away is discarded, as with any
    # unknown command
    p = c.pipeline(transaction=True)
    p.execute_command("FLUSHALL")
    with pytest.raises(redis.RedisError, match="unknown command 'FLUSHALL'"):
        p.execute()
    assert c.exists("k") == 1
    p = c.pipeline(transaction=True)
    p.execute_command("SET", "k")
    p.execute_command("RCCONFIG", "GET", "maxmemory")
    assert p.execute() == ["v", ["maxmemory", "0"]]
    # COMMAND answers by the names clients call
    info = c.execute_command("COMMAND", "INFO", "CONFIG", "RCCONFIG", "FLUSHALL", "SET")
    assert info[0] is None and info[2] is None
    assert info[1][0] == "config" and info[3][0] == "get"
    assert c.execute_command("COMMAND", "INFO", "rcconfig|get")[0][0] == "config|get"
    assert c.execute_command("COMMAND", "INFO", "config|get") == [None]
    listed = c.execute_command("COMMAND", "LIST")
    assert "config" in listed and "flushall" not in listed and "set" not in listed
    assert c.execute_command("COMMAND", "COUNT") == len(listed) - sum(
        "|" in name for name in listed)
    assert c.execute_command("COMMAND", "GETKEYS", "SET", "k") == ["k"]
    assert "Invalid command" in error_of(c.execute_command, "COMMAND", "GETKEYS", "GET", "k")
    # scripts call commands by their own names (the log's): ACL takes a
    # command from scripts too (docs/security.md)
    assert c.eval("return redis.call('get', KEYS[1])", 1, "k") == "v"
    # not a CONFIG GET parameter; CONFIG REWRITE keeps the lines
    assert c.execute_command("RCCONFIG", "GET", "rename-command") == []
    assert c.execute_command("RCCONFIG", "REWRITE") in (True, "OK")
    text = open(srv.conf_path).read()
    assert "rename-command CONFIG RCCONFIG" in text and 'rename-command FLUSHALL ""' in text
    srv.stop()
    srv.start()
    c = srv.client(decode_responses=True)
    c.response_callbacks.clear()
    assert c.execute_command("SET", "k") == "v"
    assert error_of(c.execute_command, "FLUSHALL").startswith("unknown command")


def test_start_refusals(tmp_path):
    out, conf = start_refused(tmp_path, "rename-command NOSUCH foo\n")
    assert f"{conf}:2\n>>> 'rename-command NOSUCH foo'\nNo such command in rename-command" in out
    out, _ = start_refused(tmp_path, "rename-command GET SET\n")
    assert "Target command name already exists" in out, out
    out, _ = start_refused(tmp_path, "rename-command FLUSHALL \"\"\nrename-command FLUSHALL x\n")
    assert "No such command in rename-command" in out, out
    out, _ = start_refused(tmp_path, "rename-command CONFIG|GET x\n")
    assert "not subcommands" in out, out
    out, _ = start_refused(tmp_path, "rename-command GET\n")
    assert "takes a command and its new name" in out, out


def test_nodes_renaming_differently_replicate_the_same_writes(make_cluster):
    """Node 1 calls SET n1set, node 2 n2set, node 3 keeps SET: whichever is
    the leader, writes through each node's own name (forwarded by the
    followers' proxies over peer links, which use the commands' own
    names) reach every node as the same entries."""
    names = {1: "n1set", 2: "n2set", 3: "set"}

    def renames(node_id):
        if names[node_id] == "set":
            return []
        return [("rename-command", "SET", names[node_id])]

    cl = make_cluster(3, directives={"raft-follower-proxy": "yes"}, per_node=renames)
    for nd in cl.nodes:
        with nd.client(decode_responses=True) as c:
            name = names[nd.node_id]
            for i in range(10):
                assert c.execute_command(name, f"{name}:{i}", i) in (True, "OK")
            if name != "set":
                assert error_of(c.execute_command, "SET", "x", "1") \
                    .startswith("unknown command 'SET'")
    for nd in cl.nodes:
        with nd.client(decode_responses=True) as c:
            def all_there():
                c.execute_command("READONLY")
                return all(c.get(f"{n}:{i}") == str(i) for n in names.values()
                           for i in range(10))
            wait_until(all_there, DEADLINE_S, what=f"every write on node {nd.node_id}")
