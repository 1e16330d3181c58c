/*
 * src/info.h - building INFO-style text ("field:value\r\n" lines in
 * "# Section" groups), shared by INFO (src/cmd_info.c), RAFT.INFO and the
 * CLUSTER replies (src/cmd_cluster.c).
 */
#ifndef INFO_H
#define INFO_H

#include <stddef.h>

struct server;

/* A growing text; p is malloc'd (NULL while empty) and owned by the caller. */
struct info_text {
    char *p;
    size_t len, cap;
};

/* Appends printf-style text; allocation failure aborts. */
void info_addf(struct info_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The "# Raft", "# Log" and "# Snapshot" sections (src/cmd_cluster.c). */
void cluster_info_raft(struct info_text *t, const struct server *srv);

/* The "# Replication" section: the Raft role as Redis replication shows it
 * (src/cmd_role.c). */
void role_info_replication(struct info_text *t, const struct server *srv);

#endif
