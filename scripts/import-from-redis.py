#!/usr/bin/python3
"""scripts/import-from-redis.py - copies (or moves) every key of a running
Redis into raftcache with MIGRATE, which the source runs: a standalone
redis-server (every database that holds keys, each into the same database
number) or a Redis Cluster (every master, one slot's keys per MIGRATE, as
Redis Cluster refuses keys of several slots in one). The source serves its
clients meanwhile; a key written there after it was copied is not copied
again (docs/migration.md: for a cut-over without losing writes, stop the
writers first, or copy once and again with --replace).

  scripts/import-from-redis.py --from HOST:PORT --to HOST:PORT
      [--from-user U] [--from-password P] [--to-user U] [--to-password P]
      [--replace] [--move] [--batch N] [--timeout MS]

--to names any raftcache node: the keys go to its cluster's leader, found
with CLUSTER SLOTS. --replace overwrites keys raftcache already holds
(else such a key stops the import with BUSYKEY); --move deletes each key
from the source once raftcache has it (MIGRATE without COPY). Exit status
0 when every key was copied, 1 on the first error (said on stderr).

Needs Debian's python3-redis (run it with /usr/bin/python3).
"""

import argparse
import sys

import redis
from redis.crc import key_slot


def host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def parse_args(argv):
    p = argparse.ArgumentParser(description="copy a running Redis into raftcache")
    p.add_argument("--from", dest="src", type=host_port, required=True)
    p.add_argument("--to", dest="dst", type=host_port, required=True)
    p.add_argument("--from-user")
    p.add_argument("--from-password")
    p.add_argument("--to-user")
    p.add_argument("--to-password")
    p.add_argument("--replace", action="store_true")
    p.add_argument("--move", action="store_true")
    p.add_argument("--batch", type=int, default=100, help="keys per MIGRATE (default 100)")
    p.add_argument("--timeout", type=int, default=10000, help="MIGRATE's timeout, ms")
    return p.parse_args(argv)


def leader_of(args):
    """The raftcache leader's address: CLUSTER SLOTS' master of slot 0."""
    c = redis.Redis(*args.dst, username=args.to_user, password=args.to_password,
                    socket_timeout=10)
    slots = c.execute_command("CLUSTER", "SLOTS")
    master = slots[0][2]
    host = master[0].decode() if isinstance(master[0], bytes) else master[0]
    return host or args.dst[0], int(master[1])


def sources(args):
    """(host, port, [databases]) of every node to copy from."""
    c = redis.Redis(*args.src, username=args.from_user, password=args.from_password,
                    socket_timeout=10)
    info = c.info()
    if not info.get("cluster_enabled"):
        dbs = sorted(int(k[2:]) for k in info if k.startswith("db") and k[2:].isdigit())
        return [(args.src[0], args.src[1], dbs)], False
    nodes = []
    for line in c.execute_command("CLUSTER", "NODES").decode().splitlines():
        fields = line.split()
        flags = fields[2].split(",")
        if "master" in flags and "fail" not in flags and len(fields) > 8:
            addr = fields[1].split("@")[0]
            host, _, port = addr.rpartition(":")
            nodes.append((host or args.src[0], int(port), [0]))
    return nodes, True


def migrate(c, args, target, db, keys):
    extra = [] if args.move else ["COPY"]
    if args.replace:
        extra.append("REPLACE")
    if args.to_password is not None:
        extra += (["AUTH2", args.to_user, args.to_password] if args.to_user
                  else ["AUTH", args.to_password])
    return c.execute_command("MIGRATE", target[0], target[1], "", db, args.timeout, *extra,
                             "KEYS", *keys)


def copy_db(args, target, host, port, db, cluster):
    """Every key of one database of one node; returns how many were sent."""
    c = redis.Redis(host, port, db=db, username=args.from_user, password=args.from_password,
                    socket_timeout=max(30, args.timeout / 1000 * 3))
    sent, cursor = 0, 0
    while True:
        cursor, keys = c.scan(cursor, count=args.batch)
        groups = {}
        for k in keys:
            groups.setdefault(key_slot(k) if cluster else 0, []).append(k)
        for group in groups.values():
            migrate(c, args, target, db, group)
            sent += len(group)
        if cursor == 0:
            return sent


def main(argv):
    args = parse_args(argv)
    target = leader_of(args)
    nodes, cluster = sources(args)
    total = 0
    for host, port, dbs in nodes:
        for db in dbs:
            try:
                n = copy_db(args, target, host, port, db, cluster)
            except redis.RedisError as e:
                print(f"import-from-redis: {host}:{port} db {db}: {e}", file=sys.stderr)
                return 1
            total += n
            print(f"import-from-redis: {host}:{port} db {db}: {n} keys to "
                  f"{target[0]}:{target[1]}")
    print(f"import-from-redis: {total} keys {'moved' if args.move else 'copied'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
