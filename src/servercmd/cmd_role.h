/*
 * src/servercmd/cmd_role.h - what src/servercmd/cmd_role.c (ROLE) gives to INFO besides its
 * command (src/cmd/cmd.h).
 */
#ifndef CMD_ROLE_H
#define CMD_ROLE_H

struct info_text;
struct server;

/* Redis's mode (HELLO's mode, INFO's redis_mode): "standalone" while the
 * Raft configuration holds this node alone, as redis-server without
 * replicas is; "cluster" once it has other members. */
const char *role_redis_mode(const struct server *srv);
/* HELLO's role: "master" on the leader, "replica" on every other node. */
const char *role_hello_role(const struct server *srv);

/* The "# Replication" section: the Raft role as Redis replication shows it. */
void role_info_replication(struct info_text *t, const struct server *srv);

#endif
