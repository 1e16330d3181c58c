"""ACL users as an operator sets them up and an application meets them:
Redis 7.0's users, rules, NOPERM errors and ACL LOG, replicated through the
Raft log (docs/security.md, "ACL"; src/server/aclstate.h).

A 3-node cluster: users created on the leader (a read-only user with a key
pattern, an application user without FLUSHALL and CONFIG) are enforced on
every node, after the leader is killed with SIGKILL, after a follower
installs a snapshot, and on a node that joins afterwards; failed logins
are in ACL LOG. A single node: the user directives, the aclfile (ACL LOAD,
ACL SAVE), the start-up refusals, scripts and transactions checked as the
user, deleted users' clients closed, users kept across a restart from the
log and from a snapshot.

No sleeps: every wait polls with a deadline (conftest.wait_until).
"""

import os
import signal

import pytest
import redis

from conftest import config_text, wait_until
from raftharness import raft_info_of
from test_membership import join, wait_voters
from test_security import start_refused

DEADLINE_S = 60
NOPERM_KEY = "this user has no permissions to access one of the keys used as arguments"


def noperm_cmd(name):
    return f"this user has no permissions to run the '{name}' command"


def error_of(fn, *args):
    """The error text (redis-py drops a NOPERM prefix: it raises
    NoPermissionError for it, checked here)."""
    try:
        fn(*args)
    except redis.RedisError as e:
        if str(e).startswith("this user has no permissions"):
            assert isinstance(e, redis.exceptions.NoPermissionError), repr(e)
        return str(e)
    raise AssertionError(f"{args} succeeded")


def as_user(nd, user, password, **kw):
    kw.setdefault("socket_timeout", 10)
    return redis.Redis(host="127.0.0.1", port=nd.port, username=user, password=password,
                       decode_responses=True, **kw)


def ok(reply):
    return reply in (True, b"OK", "OK")


def setup_users(c):
    assert ok(c.execute_command("ACL", "SETUSER", "reader", "on", ">rpw", "%R~app:*", "+@read"))
    assert ok(c.execute_command("ACL", "SETUSER", "app", "on", ">apw", "~*", "&*", "+@all",
                                "-flushall", "-config"))


def check_enforced(nd):
    """The two users' rules, as seen through node nd."""
    with as_user(nd, "reader", "rpw") as r:
        r.get("app:1")  # allowed: a read of a key of the pattern
        assert error_of(r.get, "other") == NOPERM_KEY
        assert error_of(r.set, "app:1", "x") == noperm_cmd("set")
    with as_user(nd, "app", "apw") as a:
        assert a.execute_command("ACL", "WHOAMI") == "app"
        assert error_of(a.flushall) == noperm_cmd("flushall")
        assert error_of(a.config_get, "maxmemory") == noperm_cmd("config|get")
    with pytest.raises(redis.RedisError, match="WRONGPASS"):
        as_user(nd, "reader", "wrong").ping()


def compact(c):
    """A snapshot of the node, waited for."""
    before = int(raft_info_of(c)["snapshots_created"])
    assert ok(c.execute_command("RAFT.DEBUG", "COMPACT"))
    wait_until(lambda: int(raft_info_of(c)["snapshots_created"]) > before and
               raft_info_of(c)["snapshot_in_progress"] == "no", DEADLINE_S, what="a snapshot")


def wait_users_everywhere(cl, nodes, names):
    def seen():
        for nd in nodes:
            with nd.client(decode_responses=True) as c:
                if not set(names) <= set(c.execute_command("ACL", "USERS")):
                    return False
        return True
    wait_until(seen, DEADLINE_S, what=f"users {names} on {nodes}")


def test_users_enforced_on_every_node_through_failover_snapshot_and_join(make_cluster):
    cl = make_cluster(3, directives={"raft-snapshot-threshold": 1_000_000,
                                    "raft-follower-proxy": "yes"})
    ld = cl.leader()
    follower = cl.followers()[0]
    # created through a follower: forwarded to the leader like any write
    with follower.client() as c:
        setup_users(c)
    wait_users_everywhere(cl, cl.nodes, ["reader", "app"])
    for nd in cl.nodes:
        check_enforced(nd)
    # failed logins are in the node's ACL LOG
    with ld.client(decode_responses=True) as c:
        entries = c.execute_command("ACL", "LOG")
        assert any(dict(zip(e[::2], e[1::2]))["reason"] == "auth" for e in entries)
    # the leader killed: the users survive there and on the new leader
    cl.kill9(ld)
    new = cl.wait_leader(cl.live())
    check_enforced(new)
    cl.start(ld)
    wait_users_everywhere(cl, cl.nodes, ["reader", "app"])
    check_enforced(ld)
    # a snapshot carries them to a follower that installs it, and to a
    # node that joins
    new = cl.wait_leader(cl.live())
    lagging = [nd for nd in cl.nodes if nd is not new][0]
    cl.stop(lagging)
    with as_user(new, "app", "apw") as a:
        for i in range(50):
            a.set(f"k{i}", i)
    with new.client() as c:
        assert ok(c.execute_command("ACL", "SETUSER", "late", "on", "nopass", "+ping"))
        compact(c)
    cl.start(lagging)
    wait_users_everywhere(cl, cl.nodes, ["reader", "app", "late"])
    check_enforced(lagging)
    joined = cl.new_node()
    join(joined, [new])
    wait_voters(cl, cl.nodes, 4, 4)
    wait_users_everywhere(cl, [joined], ["reader", "app", "late"])
    check_enforced(joined)


def test_acl_log_and_dryrun_and_getuser(server):
    c = server.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "u", "on", ">p", "~k*", "+get", "(~w* +set)"))
    got = c.execute_command("ACL", "GETUSER", "u")
    fields = dict(zip(got[::2], got[1::2]))
    assert fields["flags"] == ["on"]
    assert fields["keys"] == "~k*"
    assert fields["commands"] == "-@all +get"
    sel = dict(zip(fields["selectors"][0][::2], fields["selectors"][0][1::2]))
    assert sel["keys"] == "~w*" and sel["commands"] == "-@all +set"
    assert c.execute_command("ACL", "DRYRUN", "u", "GET", "k1") == "OK"
    assert c.execute_command("ACL", "DRYRUN", "u", "SET", "k1", "v") == \
        "This user has no permissions to access the 'k1' key"
    assert c.execute_command("ACL", "DRYRUN", "u", "DEL", "k1") == \
        "This user has no permissions to run the 'del' command"
    with as_user(server, "u", "p") as u:
        assert error_of(u.set, "k1", "v") == NOPERM_KEY
        assert u.set("w1", "v") is True
    entries = c.execute_command("ACL", "LOG")
    top = dict(zip(entries[0][::2], entries[0][1::2]))
    assert (top["reason"], top["object"], top["username"], top["context"]) == \
        ("key", "k1", "u", "toplevel")
    assert ok(c.execute_command("ACL", "LOG", "RESET"))
    assert c.execute_command("ACL", "LOG") == []


def test_deleted_user_closes_its_clients_changed_user_keeps_them(server):
    c = server.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "gone", "on", ">p", "~*", "+@all"))
    assert ok(c.execute_command("ACL", "SETUSER", "kept", "on", ">p", "~*", "+@all"))
    g, k = as_user(server, "gone", "p"), as_user(server, "kept", "p")
    g.ping()
    k.ping()
    assert c.execute_command("ACL", "DELUSER", "gone") == 1
    assert ok(c.execute_command("ACL", "SETUSER", "kept", "-get"))
    # closed: redis-py's reconnection then finds the user gone
    with pytest.raises(redis.RedisError, match="Connection closed|WRONGPASS"):
        g.ping()
    assert error_of(k.get, "x") == noperm_cmd("get")  # the same connection, new rules
    assert error_of(c.execute_command, "ACL", "DELUSER", "default") == \
        "The 'default' user cannot be removed"
    g.close()
    k.close()


def test_scripts_and_transactions_checked_as_the_user(server):
    c = server.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "s", "on", ">p", "~ok:*", "+@all", "-del"))
    with as_user(server, "s", "p") as s:
        assert s.eval("return redis.call('set', KEYS[1], 'v')", 1, "ok:1") == "OK"
        # a declared key is checked before the script runs, as Redis does;
        # one the script makes up, when it calls the command
        assert error_of(s.eval, "return 1", 1, "no:1") == NOPERM_KEY
        err = error_of(s.eval, "return redis.call('set', ARGV[1], 'v')", 0, "no:1")
        assert "can't access at least one of the keys" in err
        err = error_of(s.eval, "return redis.call('del', 'ok:1')", 0)
        assert "can't run this command or subcommand" in err
        pipe = s.pipeline(transaction=True)
        pipe.set("ok:2", "v")
        pipe.delete("ok:2")
        with pytest.raises(redis.RedisError, match="no permissions to run the 'del' command"):
            pipe.execute()  # the queued DEL refused: EXEC then discards the transaction
    entries = c.execute_command("ACL", "LOG")
    contexts = {dict(zip(e[::2], e[1::2]))["context"] for e in entries}
    assert {"lua", "multi"} <= contexts


RULES_CHANGED = ("ACLs rules changed between the moment the transaction was accumulated and "
                 "the EXEC call. This command is no longer allowed for the following reason: ")


def exec_after_rules_change(c_admin, s, wait_changed):
    """s queues SET, GET and an EVAL; its user loses SET, then EXEC: SET's
    place in the reply is Redis 7.0's NOPERM, the others run."""
    s.response_callbacks.clear()  # the replies as sent
    s.execute_command("MULTI")
    assert s.execute_command("SET", "ok:t", "1") == "QUEUED"
    assert s.execute_command("GET", "ok:t") == "QUEUED"
    assert s.execute_command("EVAL", "return redis.call('set', KEYS[1], 'x')", 1,
                             "ok:s") == "QUEUED"
    assert ok(c_admin.execute_command("ACL", "SETUSER", "s", "-set"))
    wait_changed()
    replies = s.execute_command("EXEC")
    assert isinstance(replies[0], redis.ResponseError), replies
    assert str(replies[0]) == RULES_CHANGED + "no permission to execute the command or subcommand"
    assert replies[1] is None  # SET never ran
    assert isinstance(replies[2], redis.ResponseError) and \
        "can't run this command or subcommand" in str(replies[2])  # checked as s, applied
    assert ok(c_admin.execute_command("ACL", "SETUSER", "s", "+set"))


def test_exec_checks_the_queue_again(server):
    c = server.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "s", "on", ">p", "~ok:*", "+@all"))
    with as_user(server, "s", "p") as s:
        exec_after_rules_change(c, s, lambda: None)
    entries = [dict(zip(e[::2], e[1::2])) for e in c.execute_command("ACL", "LOG")]
    assert any(e["context"] == "multi" and e["object"] == "set" for e in entries), entries


def test_scripts_and_transactions_through_a_follower(make_cluster):
    """A follower forwards a restricted user's script behind its user: the
    leader applies it checked as that user, as if sent to the leader."""
    cl = make_cluster(3, directives={"raft-follower-proxy": "yes"})
    ld = cl.leader()
    follower = cl.followers()[0]
    with ld.client(decode_responses=True) as c:
        assert ok(c.execute_command("ACL", "SETUSER", "s", "on", ">p", "~ok:*", "+@all",
                                    "-del"))
        wait_users_everywhere(cl, cl.nodes, ["default", "s"])
        with as_user(follower, "s", "p") as s:
            assert s.eval("return redis.call('set', KEYS[1], 'v')", 1, "ok:1") == "OK"
            err = error_of(s.eval, "return redis.call('del', KEYS[1])", 1, "ok:1")
            assert "can't run this command or subcommand" in err
            pipe = s.pipeline(transaction=True)
            pipe.eval("return redis.call('del', KEYS[1])", 1, "ok:1")
            pipe.get("ok:1")
            replies = pipe.execute(raise_on_error=False)
            assert "can't run this command or subcommand" in str(replies[0])
            assert replies[1] == "v"

            def changed():
                with follower.client(decode_responses=True) as f:
                    wait_until(lambda: "-set" in " ".join(
                        f.execute_command("ACL", "LIST")), DEADLINE_S, what="-set on follower")
            exec_after_rules_change(c, s, changed)


def test_user_directives_and_requirepass(start_server):
    srv = start_server({"requirepass": "defpw"}, start=False)
    with open(srv.conf_path, "a") as f:
        f.write(config_text([("user", "alice on >apw ~a:* +@all"),
                             ("user", "bob off >bpw +@read")]))
    srv.password = "defpw"
    srv.start()
    c = srv.client(decode_responses=True)
    listed = c.execute_command("ACL", "LIST")
    assert any(line.startswith("user alice on #") for line in listed)
    assert any(line.startswith("user bob off #") for line in listed)
    with as_user(srv, "alice", "apw") as a:
        assert a.set("a:1", "x") is True
        assert error_of(a.set, "b:1", "x") == NOPERM_KEY
    with pytest.raises(redis.RedisError, match="WRONGPASS"):
        as_user(srv, "bob", "bpw").ping()  # off
    # CONFIG SET requirepass is the default user's password, through the log
    assert ok(c.config_set("requirepass", "newpw"))
    with pytest.raises(redis.RedisError, match="WRONGPASS"):
        as_user(srv, "default", "defpw").ping()
    assert as_user(srv, "default", "newpw").ping() is True
    assert error_of(c.execute_command, "CONFIG", "SET", "requirepass", "x", "maxmemory", "1mb") \
        .startswith("requirepass changes the default user on every node")


def test_start_refusals(tmp_path):
    out, _ = start_refused(tmp_path, "user alice on\naclfile users.acl\n")
    assert "users defined in redis.conf and at the same setting an ACL file" in out, out
    out, _ = start_refused(tmp_path, "user alice on +nosuchcommand\n")
    assert "Error in user declaration 'alice'" in out, out
    assert "Unknown command or category name in ACL" in out, out
    out, _ = start_refused(tmp_path, "aclfile /nonexistent/users.acl\n")
    assert "Error loading ACLs, opening file '/nonexistent/users.acl'" in out, out
    acl = tmp_path / "bad.acl"
    acl.write_text("user ok on\nuser bad on ~a allkeys ~b\n")
    out, _ = start_refused(tmp_path, f"aclfile {acl}\n")
    assert f"{acl}:2: Adding a pattern after the * pattern" in out, out


def test_aclfile_load_and_save(start_server):
    srv = start_server(start=False)
    path = os.path.join(srv.workdir, "users.acl")
    with open(path, "w") as f:
        f.write("user default on nopass ~* &* +@all\nuser carol on >cpw ~c:* +@all\n")
    with open(srv.conf_path, "a") as f:
        f.write(config_text([("aclfile", path)]))
    srv.start()
    c = srv.client(decode_responses=True)
    assert as_user(srv, "carol", "cpw").set("c:1", "x") is True
    assert ok(c.execute_command("ACL", "SETUSER", "dave", "on", ">dpw", "+ping"))
    assert ok(c.execute_command("ACL", "SAVE"))
    with open(path) as f:
        saved = f.read()
    assert "user dave on #" in saved and "user carol on #" in saved
    # a wrong file is refused, and nothing changes
    with open(path, "w") as f:
        f.write("user erin on +nosuchcommand\n")
    err = error_of(c.execute_command, "ACL", "LOAD")
    assert "Error in applying operation '+nosuchcommand'" in err
    assert "dave" in c.execute_command("ACL", "USERS")
    with open(path, "w") as f:
        f.write(saved.replace("user dave", "user frank"))
    assert ok(c.execute_command("ACL", "LOAD"))
    users = c.execute_command("ACL", "USERS")
    assert "frank" in users and "dave" not in users


def test_users_survive_restart_from_log_and_snapshot(start_server):
    srv = start_server({"raft-snapshot-threshold": 1_000_000})
    c = srv.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "logged", "on", ">p", "+@all", "~*"))
    srv.stop(signal.SIGKILL)
    srv.start()
    assert as_user(srv, "logged", "p").ping() is True
    c = srv.client(decode_responses=True)
    assert ok(c.execute_command("ACL", "SETUSER", "snap", "on", ">p", "+@all", "~*"))
    compact(c)
    srv.stop(signal.SIGKILL)
    srv.start()
    assert as_user(srv, "snap", "p").ping() is True
    assert as_user(srv, "logged", "p").ping() is True


def test_peer_links_are_no_user(make_cluster):
    """The default user locked down to nothing: the cluster still replicates
    (its links run as no user), followers still forward."""
    cl = make_cluster(3, directives={"raft-follower-proxy": "yes"})
    ld = cl.leader()
    follower = cl.followers()[0]  # asked while default may still ask
    with ld.client() as c:
        assert ok(c.execute_command("ACL", "SETUSER", "admin", "on", ">adm", "~*", "&*",
                                    "+@all"))
        assert ok(c.execute_command("ACL", "SETUSER", "default", "resetpass", "-@all"))
    with as_user(follower, "admin", "adm") as a:
        for i in range(20):
            assert a.set(f"p{i}", i) is True  # forwarded by the follower's proxy
    for nd in cl.nodes:
        with redis.Redis(host="127.0.0.1", port=nd.port, socket_timeout=10) as anon:
            # default has no password now (resetpass): a new connection is
            # not authenticated
            wait_until(lambda: "Authentication required" in error_of(anon.get, "p1"),
                       DEADLINE_S, what=f"default locked down on {nd}")
        with as_user(nd, "admin", "adm") as a:
            assert a.execute_command("ACL", "USERS") == ["admin", "default"]
    # as it was, for the fixture's convergence check
    with as_user(ld, "admin", "adm") as a:
        assert ok(a.execute_command("ACL", "SETUSER", "default", "nopass", "+@all"))
