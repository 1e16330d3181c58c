/*
 * src/types/t_list_block.c - the blocking list commands (Redis 7.0 replies):
 * BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH, on the pop and move workers of
 * src/types/t_list.h.
 *
 * A call that finds every key it waits on absent blocks its client
 * (cmd_block_on, src/server/blocked.h) or, where it may not (inside MULTI, or
 * applied for nobody), replies its null reply as Redis does. Popping is a
 * write: on the leader it reaches the keyspace through the log, so the
 * element a client receives is gone on every replica before it is answered.
 * Arguments are checked in Redis's order (the ends and counts, then the
 * timeout).
 */
#include "cmd/cmdarg.h"
#include "types/t_list.h"

/* What a call waits for: argv[first .. first + n) to hold a list. */
static struct cmd_block on_lists(int first, int n, int null_array, int64_t timeout_ms)
{
    return (struct cmd_block){first, n, KV_LIST, (uint8_t)null_array, timeout_ms};
}

/* BLPOP / BRPOP key [key ...] timeout: [key, element] */
static void bpop_generic(struct cmd_ctx *c, enum ql_end end)
{
    int64_t timeout_ms;
    if (cmd_arg_timeout(c, c->argc - 1, &timeout_ms) < 0) return;
    int n = c->argc - 2;
    struct cmd_block b = on_lists(1, n, 1, timeout_ms);
    if (cmd_block_probe(c, &b)) return;
    if (t_list_pop_generic(c, &c->argv[1], n, end, 1, T_LIST_REPLY_KEY_ONE) == 0)
        cmd_block_on(c, &b);
}

void cmd_blpop(struct cmd_ctx *c)
{
    bpop_generic(c, QL_HEAD);
}

void cmd_brpop(struct cmd_ctx *c)
{
    bpop_generic(c, QL_TAIL);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
void cmd_blmpop(struct cmd_ctx *c)
{
    struct t_list_mpop_args a;
    int64_t timeout_ms;
    if (t_list_mpop_parse(c, 2, &a) < 0 || cmd_arg_timeout(c, 1, &timeout_ms) < 0) return;
    struct cmd_block b = on_lists(a.first_key, a.nkeys, 1, timeout_ms);
    if (cmd_block_probe(c, &b)) return;
    if (t_list_pop_generic(c, &c->argv[a.first_key], a.nkeys, a.end, a.count,
                           T_LIST_REPLY_KEY_MANY) == 0)
        cmd_block_on(c, &b);
}

/* Moves from argv[1] to argv[2], or blocks on argv[1]; the element, or a
 * null bulk when it times out. */
static void bmove_generic(struct cmd_ctx *c, enum ql_end from, enum ql_end to, int timeout_i)
{
    int64_t timeout_ms;
    if (cmd_arg_timeout(c, timeout_i, &timeout_ms) < 0) return;
    struct cmd_block b = on_lists(1, 1, 0, timeout_ms);
    if (cmd_block_probe(c, &b)) return;
    if (t_list_move_generic(c, &c->argv[1], &c->argv[2], from, to) == 0) cmd_block_on(c, &b);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
void cmd_blmove(struct cmd_ctx *c)
{
    enum ql_end from, to;
    if (t_list_arg_end(c, 3, &from) < 0 || t_list_arg_end(c, 4, &to) < 0) return;
    bmove_generic(c, from, to, 5);
}

/* BRPOPLPUSH source destination timeout: BLMOVE ... RIGHT LEFT */
void cmd_brpoplpush(struct cmd_ctx *c)
{
    bmove_generic(c, QL_TAIL, QL_HEAD, 3);
}

/* BLMPOP's keys: timeout numkeys key ... */
int t_list_blmpop_keys(int argc, const struct resp_arg *argv, int *idx, int max)
{
    return t_list_mpop_keys_at(2, argc, argv, idx, max);
}
