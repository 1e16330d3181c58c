"""CONFIG GET and SET as a client calls them: a command with about a
million arguments (the parser's limit) is answered, and an odd CONFIG SET
count is a syntax error.

The expected replies are redis-server 7.0's (RAFTCACHE_BIN=redis-server
runs these tests against it). No sleeps: the server is started by the
fixtures, which poll with a deadline.
"""

import pytest
import redis


# ----------------------------------- CONFIG with very many arguments, odd counts


def test_config_with_a_million_arguments_is_answered(server):
    """A command may carry about a million arguments (the parser's limit);
    CONFIG GET and SET with that many once overflowed the node's stack."""
    n = 500_000
    with server.client(socket_timeout=30) as c:
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("CONFIG", "SET", *["timeout", "0"] * n)
        assert str(e.value) == ("CONFIG SET failed (possibly related to argument 'timeout') "
                                "- duplicate parameter")
        assert c.execute_command("CONFIG", "GET", *["maxmemory"] * (2 * n)) == \
            [b"maxmemory", b"0"]
    with server.client() as c:
        assert c.ping() is True


def test_config_set_odd_argument_count_is_a_syntax_error(server):
    with server.client() as c:
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("CONFIG", "SET", "timeout", "0", "maxclients")
        assert str(e.value) == "syntax error"
