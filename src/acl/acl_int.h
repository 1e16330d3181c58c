/*
 * src/acl/acl_int.h - private to the ACL module's files (src/acl/acl.c:
 * the users and their rules; src/acl/acl_selector.c: a selector's rules
 * and the categories; src/acl/acl_describe.c: users written back as
 * rules; src/acl/acl_check.c: commands checked against them). Nothing else
 * includes it; the rest of the server uses acl.h, which documents the
 * module.
 */
#ifndef ACL_INT_H
#define ACL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "acl/acl.h"
#include "base/sha256.h"

/* Command bits: one per registry id (src/cmd/registry.c's CMD_ID_MAX), the
 * last one for the commands to come (set only by +@all). */
#define ACL_CMD_BITS 1024
#define ACL_FUTURE_BIT (ACL_CMD_BITS - 1)
#define ACL_CATEGORIES_MAX 32

enum {
    ACL_PERM_READ = 1,
    ACL_PERM_WRITE = 2,
    ACL_PERM_ALL = 3,
};

enum {
    SEL_ROOT = 1,
    SEL_ALLKEYS = 2,
    SEL_ALLCOMMANDS = 4,
    SEL_ALLCHANNELS = 8,
};

enum {
    USER_ENABLED = 1,
    USER_DISABLED = 2,
    USER_NOPASS = 4,
    USER_SANITIZE = 8,
    USER_SANITIZE_SKIP = 16,
};

struct acl_pattern {
    char *p;
    size_t len;
    unsigned perm; /* ACL_PERM_*: keys only */
};

/* The first arguments allowed of one command whose bit is clear. */
struct acl_firstargs {
    int id;
    char **args;
    size_t n;
};

struct acl_selector {
    unsigned flags; /* SEL_* */
    uint64_t allowed[ACL_CMD_BITS / 64];
    struct acl_firstargs *first;
    size_t n_first;
    struct acl_pattern *keys;
    size_t n_keys;
    struct acl_pattern *channels;
    size_t n_channels;
};

struct acl_user {
    char *name;
    size_t len;
    unsigned flags; /* USER_* */
    char (*passwords)[SHA256_HEX_LEN + 1];
    size_t n_passwords;
    struct acl_selector *sel; /* sel[0] is the root selector */
    size_t n_sel;
};

struct acl {
    struct acl_user **users; /* in name order */
    size_t n, cap;
};

/* Why a rule was refused: Redis's errno values, turned into its texts by
 * acl_rule_error(). */
enum acl_rule_err {
    RULE_OK = 0,
    RULE_SYNTAX,       /* EINVAL */
    RULE_UNKNOWN,      /* ENOENT */
    RULE_KEYS_ALL,     /* EEXIST */
    RULE_CHANNELS_ALL, /* EISDIR */
    RULE_NO_PASSWORD,  /* ENODEV */
    RULE_BAD_HASH,     /* EBADMSG */
    RULE_SUB_FIRSTARG, /* ECHILD */
    RULE_LIMIT,        /* past one of acl.h's limits */
};
const char *acl_rule_error(enum acl_rule_err e);

/* acl_selector.c */
void acl_selector_init(struct acl_selector *s, unsigned flags, int pubsub_all);
void acl_selector_free(struct acl_selector *s);
void acl_selector_copy(struct acl_selector *dst, const struct acl_selector *src);
enum acl_rule_err acl_selector_apply(struct acl_selector *s, const char *op, size_t len);
int acl_bit(const struct acl_selector *s, int id);
/* Categories: the bits of command id's categories. */
uint32_t acl_categories_of(int id);
/* The id of the command named so ("config|get" for a subcommand), or -1. */
int acl_command_id(const char *name, size_t len);

/* acl.c */
/* 1 if op[0..len) is word, in any case. */
int acl_word_is(const char *op, size_t len, const char *word);
/* 1 if p[0..len) holds a space, a control space or a NUL (Redis refuses
 * those in user names and patterns). */
int acl_has_space(const char *p, size_t len);
void acl_user_free(struct acl_user *u);
void acl_user_copy(struct acl_user *dst, const struct acl_user *src);
struct acl_user *acl_user_new(const char *name, size_t len, int pubsub_all);
enum acl_rule_err acl_user_apply(struct acl_user *u, const char *op, size_t len, int pubsub_all);

#endif
