/*
 * src/cmd_debug.c - DEBUG, with the subcommands raftcache offers: DIGEST
 * and DIGEST-VALUE (Redis 7.0's digests of the dataset and of values,
 * src/digest.h) and HELP.
 *
 * DEBUG reads this node's own keyspace: its row is neither a read nor a
 * write, so the dispatcher runs it on any node, leader or follower, with
 * no ReadIndex round and no -MOVED, and two replicas that applied the same
 * log prefix reply the same digest. Like Redis, it sees what is stored:
 * a key kept past its expiry (not yet deleted by an expire entry) counts.
 * The dispatcher refuses it unless enable-debug-command allows the client
 * (CMD_PROTECTED).
 */
#include <string.h>

#include "cmd.h"
#include "cmdarg.h"
#include "digest.h"
#include "kv.h"
#include "../raft/raft_assert.h"

/* The digest mixes in Redis's type number (OBJ_STRING ... OBJ_HASH), which
 * enum kv_type shares. */
_Static_assert(KV_STRING == 0 && KV_LIST == 1 && KV_SET == 2 && KV_ZSET == 3 && KV_HASH == 4,
               "enum kv_type numbers a type as Redis does");

/* Mixes v into d as Redis's xorObjectDigest: the type as a big-endian
 * 32-bit number, the value, then a marker if the key has a TTL (its
 * time does not count, so replicas agree whatever clock set it). */
static void add_value(const struct kv *kv, const struct kv_val *v, unsigned char d[DIGEST_LEN])
{
    const unsigned char type_be[4] = {0, 0, 0, (unsigned char)v->type};
    digest_mix(d, type_be, sizeof type_be);
    if (v->type == KV_STRING) {
        digest_mix(d, v->data, v->len);
    } else {
        const struct kv_type_ops *ops = kv->types[v->type];
        ASSERT(ops && ops->digest && "a stored value of a type without a digest");
        ops->digest(kv_val_obj(v), d);
    }
    if (v->expire_ms != KV_NO_EXPIRE) digest_xor(d, "!!expire!!", 10);
}

struct dataset {
    const struct kv *kv;
    unsigned char *sum;
};

/* One key: its name mixed, then its value; xored into the sum, so the
 * dict's order does not show. */
static void add_key(void *ud, const char *key, size_t klen, const struct kv_val *v)
{
    struct dataset *ds = ud;
    unsigned char d[DIGEST_LEN] = {0};
    digest_mix(d, key, klen);
    add_value(ds->kv, v, d);
    digest_xor(ds->sum, d, DIGEST_LEN);
}

static void reply_digest(struct cmd_ctx *c, const unsigned char d[DIGEST_LEN])
{
    char hex[DIGEST_HEX_LEN + 1];
    digest_hex(d, hex);
    resp_add_simple(c->out, hex);
}

/* DEBUG DIGEST: zeros for an empty keyspace; else the database number
 * (0, raftcache's only one) mixed in first, then every stored key. */
static void debug_digest(struct cmd_ctx *c)
{
    unsigned char sum[DIGEST_LEN] = {0};
    if (kv_size(c->kv) > 0) {
        const unsigned char db_be[4] = {0, 0, 0, 0};
        digest_mix(sum, db_be, sizeof db_be);
        struct dataset ds = {c->kv, sum};
        kv_foreach(c->kv, add_key, &ds);
    }
    reply_digest(c, sum);
}

/* DEBUG DIGEST-VALUE key...: one digest per key, of its value alone
 * (zeros when not stored). */
static void debug_digest_value(struct cmd_ctx *c)
{
    resp_add_array_len(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[DIGEST_LEN] = {0};
        const struct kv_val *v = kv_lookup_stored(c->kv, c->argv[j].ptr, c->argv[j].len);
        if (v) add_value(c->kv, v, d);
        reply_digest(c, d);
    }
}

static void debug_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}

void cmd_debug(struct cmd_ctx *c)
{
    const struct resp_arg *sub = &c->argv[1];
    if (c->argc == 2 && cmd_arg_is(sub, "help")) {
        debug_help(c);
    } else if (c->argc == 2 && cmd_arg_is(sub, "digest")) {
        debug_digest(c);
    } else if (cmd_arg_is(sub, "digest-value")) {
        debug_digest_value(c);
    } else {
        resp_add_errorf(c->out,
                        "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                        "DEBUG HELP.",
                        (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    }
}
