/*
 * src/servercmd/cmd_role.h - what src/servercmd/cmd_role.c (ROLE) gives to INFO besides its
 * command (src/cmd/cmd.h).
 */
#ifndef CMD_ROLE_H
#define CMD_ROLE_H

struct info_text;
struct server;

/* The "# Replication" section: the Raft role as Redis replication shows it. */
void role_info_replication(struct info_text *t, const struct server *srv);

#endif
