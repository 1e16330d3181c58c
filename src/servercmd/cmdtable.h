/*
 * src/servercmd/cmdtable.h - every command the server offers: the core rows
 * (strings, keys, connection, server, cluster, transactions; src/servercmd/
 * cmdtable.c) and the groups of rows kept beside their handlers (a type's in
 * src/types/cmdtable_<type>.c, the script, function, pub/sub and monitor
 * groups in src/servercmd/), handed to the registry (src/cmd/cmd.h).
 */
#ifndef CMDTABLE_H
#define CMDTABLE_H

/* Hands the registry every group of rows: once, before any lookup. */
void cmdtable_init(void);

#endif
