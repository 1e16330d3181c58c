/*
 * src/servercmd/cmd_pubsub.c - the pub/sub commands (see cmd_pubsub.h).
 */
#include "servercmd/cmd_pubsub.h"
#include "cmd/cmdarg.h"
#include "node/node.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "transport/transport.h"
#include "raft/raft_assert.h"

/* The count a (un)subscription confirmation carries, as Redis 7.0: shard
 * channels alone, or channels and patterns together. */
static long long confirm_count(const struct client *cl, enum pubsub_kind k)
{
    if (k == PUBSUB_SHARD) return (long long)pubsub_client_count(cl, PUBSUB_SHARD);
    return (long long)(pubsub_client_count(cl, PUBSUB_CHANNEL) +
                       pubsub_client_count(cl, PUBSUB_PATTERN));
}

/* One confirmation: [kind, name or null, count]. A push: CLIENT REPLY
 * OFF/SKIP does not silence it (client_push_out), as in Redis 7.0. */
static void confirm(struct cmd_ctx *c, const char *what, const char *name, size_t len,
                    enum pubsub_kind k)
{
    struct resp_out *o = c->out == &c->client->out ? client_push_out(c->client) : c->out;
    resp_add_push_len(o, 3);
    resp_add_bulk_cstr(o, what);
    if (name)
        resp_add_bulk(o, name, len);
    else
        resp_add_null(o);
    resp_add_int(o, confirm_count(c->client, k));
}

static const char *const sub_word[PUBSUB_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[PUBSUB_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

static void subscribe(struct cmd_ctx *c, enum pubsub_kind k)
{
    /* CMD_NOSCRIPT: only a client's own connection runs it */
    ASSERT(c->client && (unsigned)k < PUBSUB_KINDS);
    for (int i = 1; i < c->argc; i++) {
        pubsub_subscribe(&c->srv->pubsub, c->client, k, c->argv[i].ptr, c->argv[i].len);
        confirm(c, sub_word[k], c->argv[i].ptr, c->argv[i].len, k);
    }
}

struct unsub_all {
    struct cmd_ctx *c;
    enum pubsub_kind k;
    int n;
};

static void unsubscribe_named(void *ud, const char *name, size_t len)
{
    struct unsub_all *u = ud;
    pubsub_unsubscribe(&u->c->srv->pubsub, u->c->client, u->k, name, len);
    confirm(u->c, unsub_word[u->k], name, len, u->k);
    u->n++;
}

/* With names, each is confirmed whether it was subscribed or not; without,
 * every subscription of the kind goes, or one confirmation with a null
 * name says there was none, as in Redis. */
static void unsubscribe(struct cmd_ctx *c, enum pubsub_kind k)
{
    /* CMD_NOSCRIPT: only a client's own connection runs it */
    ASSERT(c->client && (unsigned)k < PUBSUB_KINDS);
    struct unsub_all u = {c, k, 0};
    if (c->argc > 1) {
        for (int i = 1; i < c->argc; i++)
            unsubscribe_named(&u, c->argv[i].ptr, c->argv[i].len);
        return;
    }
    pubsub_client_names(c->client, k, unsubscribe_named, &u);
    if (u.n == 0) confirm(c, unsub_word[k], NULL, 0, k);
}

void cmd_subscribe(struct cmd_ctx *c)
{
    subscribe(c, PUBSUB_CHANNEL);
}

void cmd_psubscribe(struct cmd_ctx *c)
{
    subscribe(c, PUBSUB_PATTERN);
}

void cmd_ssubscribe(struct cmd_ctx *c)
{
    subscribe(c, PUBSUB_SHARD);
}

void cmd_unsubscribe(struct cmd_ctx *c)
{
    unsubscribe(c, PUBSUB_CHANNEL);
}

void cmd_punsubscribe(struct cmd_ctx *c)
{
    unsubscribe(c, PUBSUB_PATTERN);
}

void cmd_sunsubscribe(struct cmd_ctx *c)
{
    unsubscribe(c, PUBSUB_SHARD);
}

/* Delivered here, then sent to every other member, whose subscribers get
 * it too; the reply counts this node's receivers, as Redis Cluster's. */
static void publish(struct cmd_ctx *c, int shard)
{
    const struct resp_arg *ch = &c->argv[1], *msg = &c->argv[2];
    long long n = pubsub_publish(&c->srv->pubsub, shard, ch->ptr, ch->len, msg->ptr, msg->len);
    node_publish(c->srv->node, shard, ch->ptr, ch->len, msg->ptr, msg->len);
    resp_add_int(c->out, n);
}

void cmd_publish(struct cmd_ctx *c)
{
    publish(c, 0);
}

void cmd_spublish(struct cmd_ctx *c)
{
    publish(c, 1);
}

void cmd_raft_publish(struct cmd_ctx *c)
{
    if (!transport_in_sender(c, "RAFT.PUBLISH")) return;
    if (c->argv[2].len != 1 || (c->argv[2].ptr[0] != '0' && c->argv[2].ptr[0] != '1')) {
        resp_add_error(c->out, "ERR RAFT.PUBLISH kind must be 0 (channel) or 1 (shard channel)");
        return;
    }
    c->client->flags |= CLIENT_PUBSUB_LINK;
    pubsub_publish(&c->srv->pubsub, c->argv[2].ptr[0] == '1', c->argv[3].ptr, c->argv[3].len,
                   c->argv[4].ptr, c->argv[4].len);
    resp_add_simple(c->out, "OK");
}

/* --- PUBSUB --- */

struct name_list {
    struct resp_out *out;
    long n;
};

static void reply_name(void *ud, const char *name, size_t len)
{
    struct name_list *l = ud;
    resp_add_bulk(l->out, name, len);
    l->n++;
}

static void channels(struct cmd_ctx *c, enum pubsub_kind k)
{
    const struct resp_arg *pat = c->argc > 2 ? &c->argv[2] : NULL;
    struct name_list l = {c->out, 0};
    resp_deferred d = resp_add_deferred(c->out);
    pubsub_names(&c->srv->pubsub, k, pat ? pat->ptr : NULL, pat ? pat->len : 0, reply_name, &l);
    resp_set_deferred_array_len(c->out, d, l.n);
}

static void numsub(struct cmd_ctx *c, enum pubsub_kind k)
{
    resp_add_array_len(c->out, 2L * (c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        resp_add_bulk(c->out, c->argv[i].ptr, c->argv[i].len);
        resp_add_int(c->out, (long long)pubsub_subscribers(&c->srv->pubsub, k, c->argv[i].ptr,
                                                           c->argv[i].len));
    }
}

void cmd_pubsub_channels(struct cmd_ctx *c)
{
    channels(c, PUBSUB_CHANNEL);
}

void cmd_pubsub_shardchannels(struct cmd_ctx *c)
{
    channels(c, PUBSUB_SHARD);
}

void cmd_pubsub_numsub(struct cmd_ctx *c)
{
    numsub(c, PUBSUB_CHANNEL);
}

void cmd_pubsub_shardnumsub(struct cmd_ctx *c)
{
    numsub(c, PUBSUB_SHARD);
}

void cmd_pubsub_numpat(struct cmd_ctx *c)
{
    resp_add_int(c->out, (long long)pubsub_count(&c->srv->pubsub, PUBSUB_PATTERN));
}

void cmd_pubsub_help(struct cmd_ctx *c)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: "
        "'*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    cmd_reply_help(c, lines);
}
