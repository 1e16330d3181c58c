/*
 * src/cmd/rename.h - rename-command: the names a node's clients call
 * commands by, when the configuration changes them (Redis's
 * `rename-command <command> <new name>`, and `rename-command <command> ""`
 * taking a command away).
 *
 * The registry (cmd.h) keeps every command under its own name: the Raft
 * log, the snapshots, scripts' redis.call, the ACL rules, the peer links and
 * the follower proxy all use those names, so nodes configured differently
 * still apply the same entries the same way. Only what a client sends on
 * the client port goes through this table first (src/server/dispatch.c):
 * a new name becomes the registry's name, and the registry's name of a
 * command renamed or taken away is an unknown command, as in Redis.
 *
 * The directives apply in file order, as Redis's do: each renames what the
 * name means at that point (after `rename-command SET ""`, `rename-command
 * GET SET` is allowed and SET means GET). Only top-level commands are
 * renamed; a subcommand ("config|get") is refused.
 */
#ifndef CMD_RENAME_H
#define CMD_RENAME_H

#include <stddef.h>
#include <stdint.h>

struct command;

#define CMD_RENAMES_MAX 1024 /* rename-command directives a node takes at most */

struct cmd_rename {
    char *name; /* lower case, malloc'd */
    size_t len;
    const struct command *cmd;
};

struct cmd_renames {
    struct cmd_rename *to; /* the new names */
    int n;
    uint8_t *hidden; /* by top-level id (cmd_id()): 1 = its own name is not callable */
    int active;      /* any directive applied: clients' names go through the table */
};

void cmd_renames_init(struct cmd_renames *r);
void cmd_renames_free(struct cmd_renames *r);
/* Applies one directive (to "" takes the command away): 0, or -1 with
 * Redis's error ("No such command in rename-command", "Target command
 * name already exists") in err. */
int cmd_renames_add(struct cmd_renames *r, const char *from, const char *to, char *err,
                    size_t errlen);
/* The top-level command a client names by name (case-insensitive), or
 * NULL: a name nothing answers to, or a command's own name when it was
 * renamed or taken away. */
const struct command *cmd_renames_find(const struct cmd_renames *r, const char *name, size_t len);
/* 1 if name is a command's own name its clients no longer call it by. */
int cmd_renames_hides(const struct cmd_renames *r, const char *name, size_t len);
/* 1 if clients can call the top-level command cmd by some name (COMMAND
 * lists it: not taken away). */
int cmd_renames_callable(const struct cmd_renames *r, const struct command *cmd);
/* COMMAND COUNT: the top-level commands clients can call. */
int cmd_renames_count(const struct cmd_renames *r);

#endif
