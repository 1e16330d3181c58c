/*
 * src/base/info.h - building INFO-style text ("field:value\r\n" lines in
 * "# Section" groups), shared by INFO (src/servercmd/cmd_info.c), RAFT.INFO and the
 * CLUSTER replies (src/servercmd/cmd_cluster.c) and ROLE's section (src/servercmd/cmd_role.c).
 */
#ifndef INFO_H
#define INFO_H

#include <stddef.h>

/* A growing text; p is malloc'd (NULL while empty) and owned by the caller. */
struct info_text {
    char *p;
    size_t len, cap;
};

/* Appends printf-style text; allocation failure aborts. */
void info_addf(struct info_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
