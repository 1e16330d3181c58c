/*
 * src/server/replof_link.c - REPLICAOF's link: the leader's connection to
 * the Redis master, its handshake, the full sync's RDB and the stream cut
 * into the log's entries (see replof.h, THE LINK).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/info.h"
#include "base/log.h"
#include "base/text.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/cmdarg.h"
#include "node/node.h"
#include "raft/raft.h"
#include "raft/raft_assert.h"
#include "resp/parser.h"
#include "server/import.h"
#include "server/replof.h"
#include "server/server.h"
#include "transport/transport.h"

enum lstate {
    L_IDLE,      /* no link: one opens once due */
    L_HANDSHAKE, /* replies to AUTH, REPLCONF and PSYNC */
    L_BULK_HEAD, /* after +FULLRESYNC: the RDB's $ line */
    L_BULK,      /* the RDB, into the temp file */
    L_LOADING,   /* the file loads through the log; reading stopped */
    L_STREAM,    /* the master's commands */
};

/* The stream's commands of the entry being built, flattened as the entry's
 * arguments: each command's argc, then its arguments; ends[i] is where
 * argument i ends in bytes. */
struct builder {
    struct text bytes;
    size_t *ends;
    size_t n, cap;
    long long start; /* the stream offset the entry starts at */
    size_t cmds;
    int in_multi; /* a MULTI without its EXEC yet */
};

struct replof_link {
    enum lstate st;
    struct transport_stream *stream;
    uint64_t term, epoch;  /* the term it opened in, the state's epoch it serves */
    int64_t last_io_ms;    /* the master's last byte */
    int64_t retry_at_ms;   /* L_IDLE: not before */
    int64_t down_since_ms; /* not streaming since (0: streaming) */
    int64_t last_ack_ms;
    long long acked; /* the offset the last ACK said */
    int replies_left;
    int auth_reply; /* the next handshake reply is AUTH's */
    char why[256];  /* the last failure: logged once while it repeats */
    /* a full sync */
    char sync_id[REPLOF_ID_LEN + 1];
    long long sync_offset;
    int fd;
    char path[4096];
    long long bulk_left; /* -1: up to the EOF mark */
    char mark[REPLOF_ID_LEN];
    char tail[REPLOF_ID_LEN]; /* the last bytes written, to find the mark */
    size_t tail_len;
    long long bulk_bytes, bulk_total; /* total -1: not known (EOF mark) */
    int64_t sync_started_ms;
    /* the stream */
    long long stream_off; /* the offset of the last byte taken */
    struct resp_parser parser;
    struct builder b;
    uint64_t inflight[REPLOF_INFLIGHT_MAX]; /* log indexes proposed, not applied */
    size_t n_inflight;
    int paused; /* reading stopped for room in the log */
    uint64_t full_syncs, partial_syncs;
};

static struct replof_link *link_get(struct server *srv)
{
    if (!srv->replof->link) {
        struct replof_link *l = util_xcalloc(1, sizeof *l);
        l->fd = -1;
        struct resp_limits lim = {.bulk_len_max = (size_t)srv->cfg.proto_max_bulk_len,
                                  .args_max = 1024 * 1024,
                                  .inline_len_max = 64 * 1024};
        resp_parser_init(&l->parser, &lim);
        l->down_since_ms = clock_ms();
        srv->replof->link = l;
    }
    return srv->replof->link;
}

/* ------------------------------------------------------------ the end */

static void builder_reset(struct builder *b, long long start)
{
    b->bytes.len = 0;
    b->n = b->cmds = 0;
    b->start = start;
    b->in_multi = 0;
}

static void close_file(struct replof_link *l, int remove)
{
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
    if (remove && l->path[0]) unlink(l->path);
}

/* Closes the link (why: logged, unless the same as the last failure's);
 * another opens after REPLOF_RETRY_MS. */
static void link_down(struct server *srv, struct replof_link *l, const char *why)
{
    if (l->st == L_LOADING) import_cancel(srv, "REPLICAOF's link closed");
    if (l->stream) transport_stream_close(l->stream);
    l->stream = NULL;
    close_file(l, 1);
    if (strncmp(l->why, why, sizeof l->why - 1) != 0)
        LOG_WARNING("REPLICAOF %s:%d: %s", srv->replof->state.host, srv->replof->state.port, why);
    snprintf(l->why, sizeof l->why, "%s", why);
    if (l->st == L_STREAM) l->down_since_ms = clock_ms();
    l->st = L_IDLE;
    l->paused = 0;
    l->retry_at_ms = clock_ms() + REPLOF_RETRY_MS;
    resp_parser_reset(&l->parser);
    builder_reset(&l->b, 0);
}

/* ------------------------------------------------------------ proposing */

static void propose(struct server *srv, struct replof_link *l, int argc,
                    const struct resp_arg *argv)
{
    ASSERT(l->n_inflight < REPLOF_INFLIGHT_MAX);
    node_write(srv->node, NULL, 0, cmd_lookup_name(argv[0].ptr, argv[0].len), argc, argv);
    node_write_flush(srv->node);
    l->inflight[l->n_inflight++] = raft_last_index(node_core(srv->node));
}

static void propose_sync(struct server *srv, struct replof_link *l, int done)
{
    char epoch[UTIL_LL_STR_SIZE], off[UTIL_LL_STR_SIZE];
    struct resp_arg argv[5] = {
        {"raftcache.replsync", 18},
        {epoch, util_ull2str(epoch, sizeof epoch, l->epoch)},
        {done ? "DONE" : "BEGIN", done ? 4u : 5u},
        {l->sync_id, REPLOF_ID_LEN},
        {off, util_ll2str(off, sizeof off, l->sync_offset)},
    };
    propose(srv, l, done ? 5 : 3, argv);
}

static void builder_arg(struct builder *b, const char *p, size_t len)
{
    text_put(&b->bytes, p, len);
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->ends = util_xrealloc(b->ends, b->cap * sizeof *b->ends);
    }
    b->ends[b->n++] = b->bytes.len;
}

/* The entry built so far (the stream up to stream_off), proposed. */
static void flush_entry(struct server *srv, struct replof_link *l)
{
    struct builder *b = &l->b;
    if (l->stream_off == b->start) return;
    ASSERT(!b->in_multi);
    char num[3][UTIL_LL_STR_SIZE];
    struct resp_arg *argv = util_xmalloc((b->n + 4) * sizeof *argv);
    argv[0] = (struct resp_arg){"raftcache.replapply", 19};
    argv[1] = (struct resp_arg){num[0], util_ull2str(num[0], sizeof num[0], l->epoch)};
    argv[2] = (struct resp_arg){num[1], util_ll2str(num[1], sizeof num[1], b->start)};
    argv[3] = (struct resp_arg){num[2], util_ll2str(num[2], sizeof num[2], l->stream_off)};
    for (size_t i = 0, at = 0; i < b->n; at = b->ends[i++])
        argv[4 + i] = (struct resp_arg){b->bytes.p + at, b->ends[i] - at};
    propose(srv, l, (int)b->n + 4, argv);
    free(argv);
    builder_reset(b, l->stream_off);
}

static void send_ack(struct replof_link *l, long long off)
{
    char num[UTIL_LL_STR_SIZE];
    struct resp_arg argv[3] = {
        {"REPLCONF", 8}, {"ACK", 3}, {num, util_ll2str(num, sizeof num, off)}};
    transport_stream_send(l->stream, 3, argv);
    l->acked = off;
    l->last_ack_ms = clock_ms();
}

/* ------------------------------------------------------------ the stream */

/* One command of the master's stream: into the entry, or answered here. */
static void take_command(struct server *srv, struct replof_link *l, size_t argc,
                         const struct resp_arg *argv)
{
    struct builder *b = &l->b;
    if (cmd_arg_is(&argv[0], "replconf")) {
        if (argc >= 2 && cmd_arg_is(&argv[1], "getack")) send_ack(l, srv->replof->state.offset);
        return;
    }
    if (cmd_arg_is(&argv[0], "ping")) return;
    if (cmd_arg_is(&argv[0], "multi")) {
        b->in_multi = 1;
        return;
    }
    if (cmd_arg_is(&argv[0], "exec")) {
        b->in_multi = 0;
        return;
    }
    if (!cmd_arg_is(&argv[0], "select")) {
        const struct command *parent;
        const struct command *cmd = cmd_lookup(argv, (int)argc, &parent);
        if (!cmd || !(cmd->flags & CMD_WRITE)) return; /* PUBLISH: not applied (cmd_replof.h) */
    }
    char num[UTIL_LL_STR_SIZE];
    builder_arg(b, num, util_ull2str(num, sizeof num, argc));
    for (size_t i = 0; i < argc; i++)
        builder_arg(b, argv[i].ptr, argv[i].len);
    b->cmds++;
}

static int entry_full(const struct builder *b)
{
    return !b->in_multi && (b->bytes.len >= REPLOF_ENTRY_BYTES || b->cmds >= REPLOF_ENTRY_CMDS);
}

/* The stream's bytes: whole commands into entries while the log has room. */
static size_t stream_bytes(struct server *srv, struct replof_link *l, const char *p, size_t len)
{
    size_t used = 0;
    while (used < len) {
        if (l->n_inflight == REPLOF_INFLIGHT_MAX) {
            l->paused = 1;
            transport_stream_pause(l->stream, 1);
            break;
        }
        size_t n = 0;
        enum resp_parse_status st = resp_parser_feed(&l->parser, p + used, len - used, &n);
        used += n;
        l->stream_off += (long long)n;
        if (st == RESP_PARSE_NEED_MORE) break;
        if (st == RESP_PARSE_ERROR) {
            char why[200];
            snprintf(why, sizeof why, "the master's stream does not parse: %s", l->parser.errmsg);
            link_down(srv, l, why);
            return used;
        }
        take_command(srv, l, l->parser.argc, l->parser.argv);
        if (entry_full(&l->b)) flush_entry(srv, l);
        if (l->b.bytes.len > (size_t)srv->cfg.proto_max_bulk_len) { /* one entry at most */
            link_down(srv, l,
                      "a transaction in the master's stream is over "
                      "proto-max-bulk-len bytes");
            return used;
        }
    }
    if (!l->b.in_multi && l->n_inflight < REPLOF_INFLIGHT_MAX) flush_entry(srv, l);
    return used;
}

/* ------------------------------------------------------------ full sync */

static void sync_loading(struct server *srv, void *ud)
{
    struct replof_link *l = ud;
    if (l->st == L_LOADING) propose_sync(srv, l, 0);
}

static void sync_ended(struct server *srv, void *ud, bool done, const char *why)
{
    struct replof_link *l = ud;
    if (l->st != L_LOADING) return;
    close_file(l, 1);
    if (!done) {
        char msg[256];
        snprintf(msg, sizeof msg, "the master's RDB did not load: %s", why);
        l->st = L_BULK; /* the import ended itself */
        link_down(srv, l, msg);
        return;
    }
    propose_sync(srv, l, 1);
    l->full_syncs++;
    LOG_NOTICE("REPLICAOF %s:%d: full sync done (%lld bytes of RDB in %.3f s); streaming from "
               "offset %lld",
               srv->replof->state.host, srv->replof->state.port, l->bulk_bytes,
               (double)(clock_ms() - l->sync_started_ms) / 1000.0, l->sync_offset);
    l->st = L_STREAM;
    l->down_since_ms = 0;
    l->why[0] = '\0';
    l->stream_off = l->sync_offset;
    builder_reset(&l->b, l->sync_offset);
    transport_stream_pause(l->stream, 0);
}

/* The RDB is in the file: it loads through the log (src/server/import.h). */
static void bulk_done(struct server *srv, struct replof_link *l)
{
    if (l->bulk_left < 0) { /* the mark is not the RDB's */
        l->bulk_bytes -= REPLOF_ID_LEN;
        if (ftruncate(l->fd, (off_t)l->bulk_bytes) != 0) {
            link_down(srv, l, "cannot truncate the RDB's temp file");
            return;
        }
    }
    close_file(l, 0);
    l->st = L_LOADING;
    transport_stream_pause(l->stream, 1);
    struct import_hooks h = {sync_loading, sync_ended, l};
    char err[300], msg[360];
    if (import_start_hooked(srv, l->path, &h, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "cannot load the master's RDB: %s", err);
        l->st = L_BULK;
        link_down(srv, l, msg);
    }
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The last REPLOF_ID_LEN bytes written, with p[0..len) after them. */
static void keep_tail(struct replof_link *l, const char *p, size_t len)
{
    if (len >= REPLOF_ID_LEN) {
        memcpy(l->tail, p + len - REPLOF_ID_LEN, REPLOF_ID_LEN);
        l->tail_len = REPLOF_ID_LEN;
        return;
    }
    size_t keep = l->tail_len + len > REPLOF_ID_LEN ? REPLOF_ID_LEN - len : l->tail_len;
    memmove(l->tail, l->tail + l->tail_len - keep, keep);
    memcpy(l->tail + keep, p, len);
    l->tail_len = keep + len;
}

static size_t bulk_bytes(struct server *srv, struct replof_link *l, const char *p, size_t len)
{
    size_t n = len;
    if (l->bulk_left >= 0 && (long long)n > l->bulk_left) n = (size_t)l->bulk_left;
    if (write_all(l->fd, p, n) != 0) {
        char why[4400];
        snprintf(why, sizeof why, "cannot write %s: %s", l->path, strerror(errno));
        link_down(srv, l, why);
        return len;
    }
    l->bulk_bytes += (long long)n;
    if (l->bulk_left >= 0) {
        l->bulk_left -= (long long)n;
        if (l->bulk_left == 0) bulk_done(srv, l);
    } else {
        keep_tail(l, p, n);
        if (l->tail_len == REPLOF_ID_LEN && memcmp(l->tail, l->mark, REPLOF_ID_LEN) == 0)
            bulk_done(srv, l);
    }
    return n;
}

/* The $ line before the RDB: $<len> or $EOF:<mark>. */
static void bulk_head(struct server *srv, struct replof_link *l, const char *line, size_t len)
{
    long long n = -1;
    if (len == 5 + REPLOF_ID_LEN && memcmp(line, "$EOF:", 5) == 0) {
        memcpy(l->mark, line + 5, REPLOF_ID_LEN);
        l->bulk_left = -1;
    } else if (len < 2 || line[0] != '$' || !util_str2ll(line + 1, len - 1, &n) || n < 0) {
        link_down(srv, l, "the master's reply to PSYNC is not followed by an RDB");
        return;
    } else {
        l->bulk_left = n;
    }
    l->bulk_total = n;
    snprintf(l->path, sizeof l->path, "%s/%s", srv->cfg.dir, REPLOF_TEMP_FILE);
    l->fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (l->fd < 0) {
        char why[4400];
        snprintf(why, sizeof why, "cannot create %s: %s", l->path, strerror(errno));
        link_down(srv, l, why);
        return;
    }
    l->bulk_bytes = 0;
    l->tail_len = 0;
    l->st = L_BULK;
    if (n == 0) bulk_done(srv, l);
}

/* ------------------------------------------------------------ handshake */

static void send_psync(struct server *srv, struct replof_link *l);

/* PSYNC's reply. */
static void psync_reply(struct server *srv, struct replof_link *l, const char *line, size_t len)
{
    char text[REPLOF_LINE_MAX + 1];
    memcpy(text, line, len);
    text[len] = '\0';
    char id[REPLOF_ID_LEN + 2];
    long long off;
    if (sscanf(text, "+FULLRESYNC %41s %lld", id, &off) == 2 && strlen(id) == REPLOF_ID_LEN &&
        off >= 0) {
        memcpy(l->sync_id, id, REPLOF_ID_LEN + 1);
        l->sync_offset = off;
        l->sync_started_ms = clock_ms();
        l->st = L_BULK_HEAD;
        LOG_NOTICE("REPLICAOF %s:%d: full sync from replication id %s offset %lld",
                   srv->replof->state.host, srv->replof->state.port, id, off);
        return;
    }
    if (strncmp(text, "+CONTINUE", 9) == 0) {
        l->st = L_STREAM;
        l->partial_syncs++;
        l->down_since_ms = 0;
        l->why[0] = '\0';
        l->stream_off = srv->replof->state.offset;
        builder_reset(&l->b, l->stream_off);
        LOG_NOTICE("REPLICAOF %s:%d: partial sync from offset %lld", srv->replof->state.host,
                   srv->replof->state.port, l->stream_off);
        return;
    }
    char why[REPLOF_LINE_MAX + 40];
    snprintf(why, sizeof why, "the master refused PSYNC: %s", text);
    link_down(srv, l, why);
}

/* One line of the handshake or before the RDB (a bare newline is the
 * master's keepalive). */
static void take_line(struct server *srv, struct replof_link *l, const char *line, size_t len)
{
    if (len == 0) return;
    if (l->st == L_BULK_HEAD) {
        bulk_head(srv, l, line, len);
        return;
    }
    if (l->replies_left == 0) {
        psync_reply(srv, l, line, len);
        return;
    }
    l->replies_left--;
    int auth = l->auth_reply;
    l->auth_reply = 0;
    if (line[0] == '-') {
        char why[REPLOF_LINE_MAX + 40];
        snprintf(why, sizeof why, "the master refused %s: %.*s",
                 auth ? "AUTH (masterauth)" : "REPLCONF", (int)len, line);
        if (auth || strncmp(line, "-NOAUTH", 7) == 0) {
            link_down(srv, l, why);
            return;
        }
        /* REPLCONF's other errors leave the handshake going, as in Redis */
    }
    if (l->replies_left == 0) send_psync(srv, l);
}

static size_t line_bytes(struct server *srv, struct replof_link *l, const char *p, size_t len)
{
    const char *nl = memchr(p, '\n', len);
    if (!nl) {
        if (len > REPLOF_LINE_MAX) link_down(srv, l, "a reply line from the master is too long");
        return 0;
    }
    size_t n = (size_t)(nl - p);
    if (n > REPLOF_LINE_MAX) {
        link_down(srv, l, "a reply line from the master is too long");
        return len;
    }
    take_line(srv, l, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);
    return n + 1;
}

/* ------------------------------------------------------------ callbacks */

static void on_connected(void *ud)
{
    (void)ud;
}

static size_t on_bytes(void *ud, const char *p, size_t len)
{
    struct server *srv = ud;
    struct replof_link *l = srv->replof->link;
    l->last_io_ms = clock_ms();
    size_t used = 0;
    while (used < len && l->stream) {
        enum lstate st = l->st;
        size_t n = 0;
        if (st == L_HANDSHAKE || st == L_BULK_HEAD)
            n = line_bytes(srv, l, p + used, len - used);
        else if (st == L_BULK)
            n = bulk_bytes(srv, l, p + used, len - used);
        else if (st == L_STREAM)
            n = stream_bytes(srv, l, p + used, len - used);
        used += n;
        if (n == 0 && l->st == st) break; /* waits for more, or for room */
        if (st == L_STREAM || l->st == L_LOADING) break;
    }
    return used > len ? len : used;
}

static void on_lost(void *ud, const char *why)
{
    struct server *srv = ud;
    struct replof_link *l = srv->replof->link;
    l->stream = NULL; /* freed by the transport */
    char msg[300];
    snprintf(msg, sizeof msg, "the link to the master is lost: %s", why);
    link_down(srv, l, msg);
}

static const struct transport_stream_ops link_ops = {on_connected, on_bytes, on_lost};

/* ------------------------------------------------------------ opening */

static void send_handshake(struct server *srv, struct replof_link *l)
{
    const struct config *cfg = &srv->cfg;
    l->replies_left = 2;
    if (cfg->masterauth.len) {
        struct resp_arg a[3] = {{"AUTH", 4}};
        int n = 1;
        if (cfg->masteruser[0])
            a[n++] = (struct resp_arg){cfg->masteruser, strlen(cfg->masteruser)};
        a[n++] = (struct resp_arg){cfg->masterauth.ptr, cfg->masterauth.len};
        transport_stream_send(l->stream, n, a);
        l->replies_left++;
        l->auth_reply = 1;
    }
    char port[UTIL_LL_STR_SIZE];
    struct resp_arg lp[3] = {
        {"REPLCONF", 8}, {"listening-port", 14}, {port, util_ll2str(port, sizeof port, cfg->port)}};
    transport_stream_send(l->stream, 3, lp);
    struct resp_arg capa[5] = {
        {"REPLCONF", 8}, {"capa", 4}, {"eof", 3}, {"capa", 4}, {"psync2", 6}};
    transport_stream_send(l->stream, 5, capa);
}

/* PSYNC, once the replies before it came (Redis refuses it with replies
 * pending: "SYNC and PSYNC are invalid with pending output"). */
static void send_psync(struct server *srv, struct replof_link *l)
{
    const struct replof_state *s = &srv->replof->state;
    char off[UTIL_LL_STR_SIZE];
    struct resp_arg psync[3] = {{"PSYNC", 5}, {"?", 1}, {"-1", 2}};
    if (s->replid[0] && !s->loading) {
        psync[1] = (struct resp_arg){s->replid, REPLOF_ID_LEN};
        psync[2] = (struct resp_arg){off, util_ll2str(off, sizeof off, s->offset + 1)};
    }
    transport_stream_send(l->stream, 3, psync);
}

/* This node leads, its term's first entry is applied (the state is the
 * log's last word) and none of its entries is in flight. */
static int ready(const struct server *srv, const struct replof_link *l)
{
    const struct raft *r = node_core(srv->node);
    return l->n_inflight == 0 && raft_log_term(r, node_applied(srv->node)) == raft_term_of(r);
}

static void link_open(struct server *srv, struct replof_link *l)
{
    const struct replof_state *s = &srv->replof->state;
    l->term = raft_term_of(node_core(srv->node));
    l->epoch = s->epoch;
    l->stream = transport_stream_open(node_links(srv->node), s->host, s->port, &link_ops, srv);
    if (!l->stream) {
        link_down(srv, l, "cannot connect (the address does not resolve, or no socket)");
        return;
    }
    l->st = L_HANDSHAKE;
    l->last_io_ms = clock_ms();
    resp_parser_reset(&l->parser);
    send_handshake(srv, l);
}

/* ------------------------------------------------------------ the step */

static void settle(struct server *srv, struct replof_link *l)
{
    uint64_t applied = node_applied(srv->node);
    size_t k = 0;
    while (k < l->n_inflight && l->inflight[k] <= applied)
        k++;
    memmove(l->inflight, l->inflight + k, (l->n_inflight - k) * sizeof l->inflight[0]);
    l->n_inflight -= k;
}

static void stream_step(struct server *srv, struct replof_link *l)
{
    const struct replof_state *s = &srv->replof->state;
    if (l->paused && l->n_inflight < REPLOF_INFLIGHT_MAX) {
        if (!l->b.in_multi) flush_entry(srv, l);
        l->paused = 0;
        transport_stream_pause(l->stream, 0); /* what waited comes now */
        if (!l->stream) return;
    }
    if (s->loading || !s->replid[0]) return; /* DONE not applied yet */
    if (s->offset != l->acked || clock_ms() - l->last_ack_ms >= REPLOF_ACK_MS)
        send_ack(l, s->offset);
}

bool replof_step(struct server *srv)
{
    const struct replof_state *s = &srv->replof->state;
    struct replof_link *l = srv->replof->link;
    bool leads = node_is_leader(srv->node);
    if (!s->port || !leads) {
        if (l && l->st != L_IDLE)
            link_down(srv, l, s->port ? "this node stopped leading" : "REPLICAOF NO ONE");
        if (l) l->n_inflight = 0;
        return false;
    }
    l = link_get(srv);
    if (l->st != L_IDLE && (l->term != raft_term_of(node_core(srv->node)) || l->epoch != s->epoch))
        link_down(srv, l, "the master changed (REPLICAOF), or this node's term");
    settle(srv, l);
    if (l->st == L_IDLE) {
        if (clock_ms() >= l->retry_at_ms && ready(srv, l)) link_open(srv, l);
        return false;
    }
    if (l->st != L_LOADING && clock_ms() - l->last_io_ms > srv->cfg.repl_timeout * 1000) {
        link_down(srv, l, "no data from the master within repl-timeout");
        return false;
    }
    if (l->st == L_STREAM) stream_step(srv, l);
    return false;
}

/* ------------------------------------------------------------ INFO */

/* What INFO and ROLE say of the link: on the leader its own; a follower
 * knows only that the leader holds it. */
struct link_view {
    int up, syncing;
    long long read_off, io_secs;
};

static void view(const struct server *srv, struct link_view *v)
{
    const struct replof_state *s = &srv->replof->state;
    const struct replof_link *l = srv->replof->link;
    *v = (struct link_view){0, s->loading, s->offset, -1};
    if (node_is_leader(srv->node) && l) {
        v->up = l->st == L_STREAM && !s->loading;
        v->syncing = v->syncing || l->st == L_BULK_HEAD || l->st == L_BULK || l->st == L_LOADING;
        if (l->st == L_STREAM) v->read_off = l->stream_off;
        if (l->st != L_IDLE) v->io_secs = (clock_ms() - l->last_io_ms) / 1000;
    } else {
        v->up = node_last_leader(srv->node) != 0 && !s->loading && s->replid[0];
        v->io_secs = v->up ? 0 : -1;
    }
}

void replof_role(const struct server *srv, struct resp_out *out)
{
    const struct replof_state *s = &srv->replof->state;
    struct link_view v;
    view(srv, &v);
    resp_add_array_len(out, 5);
    resp_add_bulk_cstr(out, "slave");
    resp_add_bulk_cstr(out, s->host);
    resp_add_int(out, s->port);
    resp_add_bulk_cstr(out, v.up ? "connected" : v.syncing ? "sync" : "connect");
    resp_add_int(out, v.up ? s->offset : -1);
}

void replof_info(const struct server *srv, struct info_text *t)
{
    const struct replof_state *s = &srv->replof->state;
    const struct replof_link *l = srv->replof->link;
    int64_t now = clock_ms();
    struct link_view v;
    view(srv, &v);
    int up = v.up, syncing = v.syncing;
    long long read_off = v.read_off, io = v.io_secs;
    info_addf(t,
              "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
              "master_last_io_seconds_ago:%lld\r\nmaster_sync_in_progress:%d\r\n"
              "slave_read_repl_offset:%lld\r\nslave_repl_offset:%lld\r\n",
              s->host, s->port, up ? "up" : "down", io, syncing, read_off, s->offset);
    if (syncing && l && (l->st == L_BULK || l->st == L_LOADING))
        info_addf(t,
                  "master_sync_total_bytes:%lld\r\nmaster_sync_read_bytes:%lld\r\n"
                  "master_sync_left_bytes:%lld\r\nmaster_sync_last_io_seconds_ago:%lld\r\n",
                  l->bulk_total, l->bulk_bytes,
                  l->bulk_total < 0 ? -1LL : l->bulk_total - l->bulk_bytes,
                  (long long)((now - l->last_io_ms) / 1000));
    if (!up && l && l->down_since_ms)
        info_addf(t, "master_link_down_since_seconds:%lld\r\n",
                  (long long)((now - l->down_since_ms) / 1000));
    info_addf(t,
              "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n"
              "connected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
              "master_replid:%s\r\n"
              "master_replid2:0000000000000000000000000000000000000000\r\n"
              "master_repl_offset:%lld\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
              "repl_backlog_size:0\r\nrepl_backlog_first_byte_offset:0\r\n"
              "repl_backlog_histlen:0\r\n"
              "raftcache_replicaof_full_syncs:%llu\r\nraftcache_replicaof_partial_syncs:%llu\r\n"
              "raftcache_replicaof_last_error:%s\r\n",
              s->replid[0] ? s->replid : "0000000000000000000000000000000000000000", s->offset,
              l ? (unsigned long long)l->full_syncs : 0ULL,
              l ? (unsigned long long)l->partial_syncs : 0ULL, l ? l->why : "");
}

void replof_link_free(struct server *srv)
{
    struct replof_link *l = srv->replof->link;
    if (!l) return;
    if (l->stream) transport_stream_close(l->stream);
    close_file(l, 1);
    resp_parser_free(&l->parser);
    free(text_take(&l->b.bytes));
    free(l->b.ends);
    free(l);
    srv->replof->link = NULL;
}
