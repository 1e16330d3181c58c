/*
 * src/servercmd/cmd_cluster.h - what src/servercmd/cmd_cluster.c (RAFT.INFO, RAFT.AUTH, the
 * CLUSTER commands) gives to INFO besides its commands (src/cmd/cmd.h).
 */
#ifndef CMD_CLUSTER_H
#define CMD_CLUSTER_H

struct info_text;
struct server;

/* The "# Raft", "# Log" and "# Snapshot" sections; the node's Raft role is
 * the field role_field ("role" in RAFT.INFO, "raft_role" in INFO). */
void cluster_info_raft(struct info_text *t, const struct server *srv, const char *role_field);

#endif
