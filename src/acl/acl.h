/*
 * src/acl/acl.h - Redis 7.0's access control lists: the users, the rules
 * that shape them and the check of a command against them. Pure: no
 * connection, no server, no file, no clock; the same rules applied in the
 * same order give the same users on every node, which is what makes them
 * replicable through the Raft log (docs/security.md, "ACL").
 *
 * USERS. A set (struct acl) of named users, kept in name order (bytes
 * compared, a prefix first: ACL USERS and ACL LIST list them so). A user is
 * on or off, has passwords (stored as the 64 hex digits of their SHA-256,
 * as Redis stores them), or nopass, and one or more selectors: the root
 * selector, then those added with "(...)". A command is allowed when one
 * selector allows it with every key and channel it names.
 *
 * SELECTORS. Each has: a bitmap over the registry's command ids
 * (src/cmd/cmd.h: every command and subcommand has one) plus one bit for
 * the commands that do not exist yet (set by +@all only, as Redis's
 * "future commands"); the first arguments allowed of a command whose bit
 * is clear (+select|0, Redis's deprecated form); key patterns, each for
 * reading, writing or both (~p, %R~p, %W~p); channel patterns (&p); and
 * the allkeys, allchannels and allcommands flags.
 *
 * RULES are Redis's, with its error texts (acl_setuser): on off nopass
 * resetpass >pw <pw #hash !hash reset clearselectors (...) allkeys ~p %R~p
 * %W~p resetkeys allchannels &p resetchannels allcommands nocommands +cmd
 * -cmd +cmd|sub -cmd|sub +@cat -@cat +cmd|firstarg sanitize-payload
 * skip-sanitize-payload. A SETUSER applies all its rules or none.
 * acl-pubsub-default is an argument of each change (pubsub_all) rather
 * than a setting of the set: a user or selector created, or a reset,
 * takes allchannels when it is 1; the log carries the value the leader
 * had, so every node creates the same user.
 *
 * DESCRIBING. acl_describe() writes a user back as rules (ACL LIST, ACL
 * GETUSER, the aclfile, snapshots) with Redis 7.0's algorithm: +@all or
 * -@all, then the categories that best cover the bitmap, then single
 * commands for the difference. Applying the description to a new user
 * gives the same user (ASSERTed for the command bitmap).
 *
 * CHECKING. acl_check() takes a command as the registry resolved it and
 * its arguments: the command bit (or an allowed first argument; commands
 * allowed before AUTH always pass this step), then every key the command's
 * key specs name, with the access they ask (a spec's "access" reads,
 * "insert", "delete", "update" write; a row without key flags reads when
 * read-only, writes otherwise; "not_key" names no key), then the channels
 * of PUBLISH, SPUBLISH, SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE (a pattern
 * subscribed must equal an allowed pattern, a channel must match one).
 *
 * LIMITS. ACL_USERS_MAX users, ACL_NAME_MAX bytes of a user name, and per
 * user ACL_PASSWORDS_MAX passwords, ACL_SELECTORS_MAX selectors; per
 * selector ACL_PATTERNS_MAX key and as many channel patterns of at most
 * ACL_PATTERN_MAX bytes each, and ACL_FIRSTARGS_MAX first arguments. A
 * rule past one is refused with the limit in the error.
 */
#ifndef ACL_H
#define ACL_H

#include <stddef.h>
#include <stdint.h>

#include "resp/parser.h"

struct command;
struct acl;
struct acl_user;

#define ACL_USERS_MAX 100000
#define ACL_NAME_MAX 1024
#define ACL_PASSWORDS_MAX 1024
#define ACL_SELECTORS_MAX 256
#define ACL_PATTERNS_MAX 4096
#define ACL_PATTERN_MAX 4096
#define ACL_FIRSTARGS_MAX 1024

/* acl_check()'s answers (Redis's ACL_* values, which ACL LOG orders by). */
enum acl_result {
    ACL_OK = 0,
    ACL_DENIED_CMD = 1,
    ACL_DENIED_KEY = 2,
    ACL_DENIED_AUTH = 3, /* only in ACL LOG: a failed AUTH */
    ACL_DENIED_CHANNEL = 4,
};

/* A set with the default user: on, nopass, ~*, &*, +@all (Redis's). */
struct acl *acl_new(void);
void acl_free(struct acl *a);

/* The user named so, or NULL. */
struct acl_user *acl_user(const struct acl *a, const char *name, size_t len);
size_t acl_count(const struct acl *a);
/* The i-th user in name order (i < acl_count()). */
struct acl_user *acl_user_at(const struct acl *a, size_t i);
const char *acl_user_name(const struct acl_user *u, size_t *len);
int acl_user_enabled(const struct acl_user *u);
int acl_user_nopass(const struct acl_user *u);

/* ACL SETUSER name ops...: creates the user when absent (off, no
 * password, no command, no key; channels as pubsub_all says), then applies
 * ops in order to a copy and puts the copy in place only when every one
 * was valid. Returns 0, or -1 with Redis's error text in err (without
 * "ERR "). The user keeps its object: what refers to it sees the change
 * (the subscribers whose channels it no longer allows are the caller's:
 * acl_user_may_subscribe()). */
int acl_setuser(struct acl *a, const char *name, size_t len, int argc, const struct resp_arg *ops,
                int pubsub_all, char *err, size_t errlen);
/* The same, from a new user whatever the set holds of that name: a line
 * of an aclfile, a "user" directive, a snapshot's user (the description
 * of "default" applied so gives "default" as described, not merged with
 * the one the set starts with). */
int acl_defuser(struct acl *a, const char *name, size_t len, int argc, const struct resp_arg *ops,
                int pubsub_all, char *err, size_t errlen);
/* Removes the user (not "default": -1). The caller first lets go of every
 * reference to it (the clients authenticated as it); returns 0, or 1 when
 * there was no such user. */
int acl_deluser(struct acl *a, const char *name, size_t len);
/* Replaces every user of dst with those of src (ACL LOAD, a snapshot),
 * keeping the objects of the users both have, so that references to them
 * stay valid; the users src lacks are removed, except "default", which is
 * reset to Redis's default first. The caller lets go of references to the
 * removed ones first (acl_replace_drops() names them). */
void acl_replace(struct acl *dst, const struct acl *src);
/* 1 if acl_replace(dst, src) would remove u (of dst). */
int acl_replace_drops(const struct acl *src, const struct acl_user *u);

/* The rules that make the user (ACL LIST's line without "user <name> "),
 * malloc'd and NUL-terminated; *len gets its length. */
char *acl_describe(const struct acl_user *u, size_t *len);
/* Selector i's parts as ACL GETUSER shows them (0: the root; "selectors"
 * the others), each malloc'd. Returns -1 past the last selector. */
int acl_describe_selector(const struct acl_user *u, int i, char **commands, char **keys,
                          char **channels);
int acl_selector_count(const struct acl_user *u);
/* The flags ACL GETUSER lists ("on", "off", "nopass", ...), in Redis's
 * order: fn(ud, flag) for each. */
void acl_each_flag(const struct acl_user *u, void (*fn)(void *ud, const char *flag), void *ud);
/* The password hashes (64 hex digits each). */
size_t acl_password_count(const struct acl_user *u);
const char *acl_password_at(const struct acl_user *u, size_t i);

/* 1 if pass is one of the user's passwords (or it is nopass); compares
 * hashes in time independent of where they differ. Says nothing of on or
 * off. */
int acl_password_ok(const struct acl_user *u, const char *pass, size_t len);

/* May u run cmd (as resolved: a subcommand's row) with argv[0..argc)?
 * ACL_OK, or what was denied, with *errpos the argument that was (for
 * ACL LOG: the key or channel; 0 for a command). */
enum acl_result acl_check(const struct acl_user *u, const struct command *cmd, int argc,
                          const struct resp_arg *argv, int *errpos);
/* May u hear channel (pattern: a PSUBSCRIBE's pattern)? 1 or 0. */
int acl_user_may_subscribe(const struct acl_user *u, const char *channel, size_t len, int pattern);
/* Does u reach every key for reading and writing, every channel and every
 * command? (Nothing to check: the dispatcher's fast path.) */
int acl_user_unrestricted(const struct acl_user *u);

/* The categories (ACL CAT): the count and each name, in Redis's order. */
int acl_category_count(void);
const char *acl_category_name(int i);
/* The index of a category named so (any case), or -1. */
int acl_category_find(const char *name, size_t len);
/* 1 if cmd is in category i. */
int acl_command_in_category(const struct command *cmd, int i);

/* An aclfile's text (file names it in errors) as a new set: the users its
 * lines "user <name> rules..." make (acl_defuser), with Redis's default
 * user unless a line names "default". NULL when any line is wrong, with
 * every error in *errors (malloc'd; Redis's texts, lines named file:N). */
struct acl *acl_parse_file(const char *text, size_t len, const char *file, int pubsub_all,
                           char **errors);
/* The users as an aclfile (ACL SAVE), malloc'd; *len its length. */
char *acl_file_text(const struct acl *a, size_t *len);

/* Splits an aclfile's or a "user" directive's line into words (spaces
 * and tabs apart; no quoting, as Redis's aclfile has none for rules) and
 * checks it is "user <name> rules...": returns the number of words, or -1
 * with the reason in err. words[] points into line. */
int acl_split_line(const char *line, size_t len, struct resp_arg *words, int max, char *err,
                   size_t errlen);

#endif
