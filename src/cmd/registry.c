/*
 * src/cmd/registry.c - the command registry (src/cmd/cmd.h): the name index
 * and dense ids over the groups of rows it is handed at start-up, lookup,
 * the arity and subcommand checks, the keys of a call, and calling a
 * handler with its statistics. It knows no row and no handler: the rows
 * live beside their handlers, and src/servercmd/cmdtable.c hands the
 * registry every group (cmdtable_init()).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "base/clock.h"
#include "cmd/client.h"
#include "cmd/cmd.h"
#include "raft/raft_assert.h"

/* name (lower case, NUL-terminated) equals p[0..len) ignoring ASCII case:
 * a byte loop, as names are short and this runs for every command. */
static int name_eq(const char *name, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char a = (unsigned char)name[i], b = (unsigned char)p[i];
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b | 0x20);
        if (a != b) return 0; /* a NUL in name: it is shorter */
    }
    return name[len] == 0;
}

/* Case-insensitive name index over every group: built once by
 * cmd_table_init() before the loop starts, read-only afterwards. Open
 * addressing, power of two, at most half full. */
#define INDEX_SLOTS 1024
static const struct command *name_index[INDEX_SLOTS];
static uint32_t name_index_hash[INDEX_SLOTS]; /* each slot's name_hash(), checked first */

static uint32_t name_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)(p[i] | 0x20)) * 16777619u;
    return h;
}

/* Dense ids: top-level commands group by group, then every subcommand.
 * Each array (group or subcommand list) is a range of consecutive ids, so
 * cmd_id() finds a pointer's id by its array. */
#define CMD_ID_MAX 1024
#define RANGES_MAX 64
static const struct command *by_id[CMD_ID_MAX];
static int id_count, top_count;
static struct id_range {
    const struct command *start;
    int n, base;
} ranges[RANGES_MAX];
static int n_ranges;

static void add_range(const struct command *arr)
{
    ASSERT(n_ranges < RANGES_MAX);
    int base = id_count;
    for (const struct command *c = arr; c->name; c++) {
        ASSERT(id_count < CMD_ID_MAX);
        by_id[id_count++] = c;
    }
    ranges[n_ranges++] = (struct id_range){arr, id_count - base, base};
}

static void assign_ids(const struct command *const *groups, size_t n)
{
    for (size_t g = 0; g < n; g++)
        add_range(groups[g]);
    top_count = id_count;
    for (int i = 0; i < top_count; i++)
        if (by_id[i]->subcommands) add_range(by_id[i]->subcommands);
    ASSERT(top_count > 0 && top_count <= id_count);
}

int cmd_id(const struct command *cmd)
{
    /* The last command asked about: a pipeline's are all one. */
    static const struct command *last;
    static int last_id;
    if (cmd && cmd == last) return last_id;
    for (int r = 0; r < n_ranges; r++)
        if (cmd >= ranges[r].start && cmd < ranges[r].start + ranges[r].n) {
            last = cmd;
            last_id = ranges[r].base + (int)(cmd - ranges[r].start);
            return last_id;
        }
    ASSERT(0 && "command not in the table");
    return -1;
}

int cmd_id_count(void)
{
    return id_count;
}

int cmd_top_count(void)
{
    return top_count;
}

const struct command *cmd_by_id(int id)
{
    return id >= 0 && id < id_count ? by_id[id] : NULL;
}

void cmd_table_init(const struct command *const *groups, size_t n)
{
    ASSERT(n_ranges == 0 && "the registry is built once");
    ASSERT(groups && n > 0);
    assign_ids(groups, n);
    for (int k = 0; k < id_count; k++) /* name_eq() compares with lower-case names */
        for (const char *p = by_id[k]->name; *p; p++)
            ASSERT(!(*p >= 'A' && *p <= 'Z') && "a command name in upper case");
    /* cmd_lookup() matches a subcommand's name past "<container>|". */
    for (int k = 0; k < top_count; k++) {
        const char *parent = by_id[k]->name;
        size_t plen = strlen(parent);
        for (const struct command *s = by_id[k]->subcommands; s && s->name; s++)
            ASSERT(strncmp(s->name, parent, plen) == 0 && s->name[plen] == '|' &&
                   "a subcommand not named <container>|<name>");
    }
    for (int k = 0; k < top_count; k++) {
        const struct command *c = by_id[k];
        ASSERT(!cmd_lookup_name(c->name, strlen(c->name)) && "a command defined twice");
        uint32_t h = name_hash(c->name, strlen(c->name)), i = h & (INDEX_SLOTS - 1);
        while (name_index[i])
            i = (i + 1) & (INDEX_SLOTS - 1);
        name_index[i] = c;
        name_index_hash[i] = h;
    }
}

/* The last name found, as it was spelled, and its command: a pipeline (and
 * the batch applied from it) names one command over and over. */
#define NAME_MEMO_MAX 32
static struct {
    char name[NAME_MEMO_MAX];
    size_t len;
    const struct command *cmd;
} memo;

const struct command *cmd_lookup_name(const char *name, size_t len)
{
    if (len > NAME_MEMO_MAX) return NULL;
    if (len == memo.len && memcmp(name, memo.name, len) == 0) return memo.cmd;
    uint32_t h = name_hash(name, len), i = h & (INDEX_SLOTS - 1);
    for (const struct command *c; (c = name_index[i]) != NULL; i = (i + 1) & (INDEX_SLOTS - 1))
        if (name_index_hash[i] == h && name_eq(c->name, name, len)) {
            memcpy(memo.name, name, len);
            memo.len = len;
            memo.cmd = c;
            return c;
        }
    return NULL;
}

int cmd_count(void)
{
    int n = 0;
    for (int i = 0; i < top_count; i++)
        n += !(by_id[i]->flags & CMD_INTERNAL);
    return n;
}

int cmd_get_keys(const struct command *cmd, int argc, const struct resp_arg *argv, int *idx,
                 int max)
{
    if (cmd->getkeys) return cmd->getkeys(argc, argv, idx, max);
    int first, last, step, n = 0;
    if (!cmd_key_range(cmd, argc, &first, &last, &step)) return 0;
    for (int i = first; i <= last && n < max; i += step)
        idx[n++] = i;
    return n;
}
const struct command *cmd_lookup(const struct resp_arg *argv, int argc,
                                 const struct command **parent)
{
    const struct command *c = cmd_lookup_name(argv[0].ptr, argv[0].len);
    *parent = NULL;
    if (!c || !c->subcommands || argc < 2) return c;
    size_t plen = strlen(c->name);
    for (const struct command *s = c->subcommands; s->name; s++) {
        if (name_eq(s->name + plen + 1, argv[1].ptr, argv[1].len)) {
            *parent = c;
            return s;
        }
    }
    return c; /* container with unknown subcommand: the dispatcher reports it */
}

/* --- resolving and calling --- */

#define ERR_ARGS_SHOWN 128 /* bytes of arguments echoed in "unknown command" */

void cmd_reply_unknown(struct resp_out *out, int argc, const struct resp_arg *argv)
{
    char args[ERR_ARGS_SHOWN * 2 + 64];
    size_t used = 0;
    for (int i = 1; i < argc && used < ERR_ARGS_SHOWN; i++) {
        int room = ERR_ARGS_SHOWN - (int)used;
        int shown = argv[i].len < (size_t)room ? (int)argv[i].len : room;
        int n = snprintf(args + used, sizeof args - used, "'%.*s' ", shown, argv[i].ptr);
        if (n < 0) break;
        used += (size_t)n;
    }
    ASSERT(used < sizeof args); /* ERR_ARGS_SHOWN bounds each append */
    args[used] = 0;
    int nlen = argv[0].len > 128 ? 128 : (int)argv[0].len;
    resp_add_errorf(out, "ERR unknown command '%.*s', with args beginning with: %s", nlen,
                    argv[0].ptr, args);
}

const struct command *cmd_resolve(int argc, const struct resp_arg *argv, struct resp_out *out)
{
    const struct command *parent;
    const struct command *cmd = cmd_lookup(argv, argc, &parent);
    if (!cmd) {
        cmd_reply_unknown(out, argc, argv);
        return NULL;
    }
    return cmd_check(cmd, argc, argv, out);
}

const struct command *cmd_check(const struct command *cmd, int argc, const struct resp_arg *argv,
                                struct resp_out *out)
{
    if ((cmd->flags & CMD_CONTAINER) && argc >= 2) {
        /* A container whose argv[1] names no subcommand. */
        char upper[32];
        size_t n = strlen(cmd->name);
        ASSERT(n < sizeof upper && "a container's name longer than its error's buffer");
        for (size_t i = 0; i <= n && i < sizeof upper; i++)
            upper[i] = (char)toupper((unsigned char)cmd->name[i]);
        upper[sizeof upper - 1] = 0;
        int slen = argv[1].len > 128 ? 128 : (int)argv[1].len;
        resp_add_errorf(out, "ERR unknown subcommand '%.*s'. Try %s HELP.", slen, argv[1].ptr,
                        upper);
        return NULL;
    }
    if (!cmd_arity_ok(cmd, argc) || ((cmd->flags & CMD_CONTAINER) && !cmd->proc)) {
        resp_add_errorf(out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return NULL;
    }
    return cmd;
}
void cmd_call(const struct command *cmd, struct cmd_ctx *ctx, struct monitor *mon, int64_t *mark_us)
{
    struct resp_out *out = ctx->out;
    size_t before = out->len;
    int64_t start = mark_us ? *mark_us : clock_mono_us();
    ASSERT(mon != NULL); /* every caller counts somewhere: monitor_call() below */
    ctx->monitor = mon;
    cmd->proc(ctx);
    int64_t end = clock_mono_us();
    if (mark_us) *mark_us = end;
    const struct client *c = ctx->client;
    /* A peer link's commands (Raft's, and the PINGs a busy follower sends)
     * are the cluster's own traffic, as Redis Cluster's bus is: left out of
     * the statistics, SLOWLOG and the latency monitor, as out of MONITOR
     * (src/server/dispatch.c). */
    if (c && (c->flags & CLIENT_PEER)) return;
    unsigned flags = 0;
    if (cmd->flags & CMD_FAST) flags |= MONITOR_FAST;
    if (cmd->flags & (CMD_SKIP_SLOWLOG | CMD_INTERNAL)) flags |= MONITOR_NO_SLOWLOG;
    if (ctx->blocked) flags |= MONITOR_BLOCKED;
    if (out->len > before && out->data[before] == '-') flags |= MONITOR_FAILED;
    struct monitor_caller who = {c ? c->addr : "", c && c->name ? c->name : ""};
    int id = ctx->counted_as > 0 ? ctx->counted_as - 1 : cmd_id(cmd);
    monitor_call(mon, id, flags, ctx->argc, ctx->argv, end - start, &who);
}
